#!/usr/bin/env python3
"""Light mode under load: `model/segment {variant: "auto"}` alone and in bursts of concurrent
requests, against the same burst with `variant: "accurate"` (no degrading), in one daemon.

Loads the demo ladder (FP32, INT8, pruned 50% + KD; Sources/segslim/Demo), makes it a family
with `model/variants` (latency measured on this machine, mIoU on --limit images of the
dataset's val split when --dataset is given), then:

  * one lone request with variant "auto": which member answers (expected: the accurate one);
  * --bursts bursts of --burst concurrent requests (one image each, the same CamVid image),
    with variant "auto" and then "accurate": each request's wall time from send to answer,
    p50/p90 against the target, and which members served.

The target defaults to what a burst can meet at all: 1.25 x burst x a lone request's time on
the fastest member (serving every request of the burst with the accurate member takes burst x
its own time, above that), so "auto" has to degrade to stay within it.
Prints one JSON object. Wall times depend on the machine: run it alone.

    python3 benchmarks/variants_burst.py --daemon .build/release/segslimd \
        [--dataset ../shared/data/camvid] [--burst 8] [--bursts 5] [--target-ms MS] [--variants int8]
        [--extra FILE.onnx ...]   # more members, e.g. a pruned INT8 model from `segslim autocompress`
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "clients" / "python"))
from segslim import Client  # noqa: E402

DEMO = REPO / "Sources" / "segslim" / "Demo"


def p90(values):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(0.9 * (len(s) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--daemon", default=str(REPO / ".build" / "release" / "segslimd"))
    ap.add_argument("--dataset")
    ap.add_argument("--limit", type=int, default=20)
    ap.add_argument("--burst", type=int, default=8)
    ap.add_argument("--bursts", type=int, default=5)
    ap.add_argument("--target-ms", type=float)
    ap.add_argument("--threads", type=int)
    ap.add_argument("--variants", default="int8,pruned50-kd", help="members besides fp32 (int8, pruned50-kd)")
    ap.add_argument("--extra", nargs="*", default=[], help="more member models (ids: their file stems)")
    a = ap.parse_args()
    image = str(sorted((DEMO / "samples").rglob("*.jpg"))[0])
    with Client.spawn(a.daemon, stderr=open(os.devnull, "w")) as c:
        c.initialize()
        ids = {}
        for name, file in [("fp32", "lraspp_mbv3_camvid.onnx"), ("int8", "lraspp_mbv3_camvid.int8.onnx"),
                           ("pruned50-kd", "lraspp_mbv3_camvid.pruned50-kd.onnx")]:
            ids[name] = c.request("model/load", {"path": str(DEMO / file), "id": name})["id"]
        extra = [c.request("model/load", {"path": os.path.abspath(f), "id": Path(f).stem})["id"] for f in a.extra]
        params = {"id": "fp32", "set": a.variants.split(",") + extra, "benchmarkRuns": 10}
        if a.dataset:
            params.update({"dataset": os.path.abspath(a.dataset), "split": "val", "limit": a.limit})
        if a.threads:
            params["threads"] = a.threads
        family = c.request("model/variants", params)["members"]
        accurate = next(m for m in family if m["accurate"])
        request = {"id": "fp32", "images": [image], "mask": True, "overlay": False}
        # Warm every member's plans first, then time a lone request on the fastest member
        # (decode to written mask, as the client sees it).
        for m in family:
            c.request("model/segment", dict(request, variant=m["id"]))
        lone_fastest = []
        for _ in range(5):
            t0 = time.perf_counter()
            c.request("model/segment", dict(request, variant="fastest"))
            lone_fastest.append((time.perf_counter() - t0) * 1000)
        target = a.target_ms or 1.25 * a.burst * statistics.median(lone_fastest)
        lone = c.request("model/segment", dict(request, variant="auto", maxLatencyMs=target))["variant"]
        out = {"family": family, "targetMs": round(target, 2), "lone": lone}
        for policy in ["auto", "accurate"]:
            walls, served = [], collections.Counter()
            for _ in range(a.bursts):
                sent = []
                for _ in range(a.burst):
                    sent.append((time.perf_counter(), c.request_async("model/segment", dict(request, variant=policy, maxLatencyMs=target))))
                for t0, pending in sent:
                    r = pending.result(120)
                    walls.append((time.perf_counter() - t0) * 1000)
                    served[r["variant"]["id"]] += 1
            out[policy] = {"p50Ms": round(statistics.median(walls), 2), "p90Ms": round(p90(walls), 2),
                           "withinTarget": p90(walls) <= target, "served": dict(served), "requests": len(walls)}
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
