#!/usr/bin/env python3
"""INT8 side by side: ORT FP32, ORT on its own QDQ model, segslim FP32, and segslim on the
same QDQ model with the INT8 path on (per-layer exact GEMM path; forced exact-s16; forced
vpmaddubsw) and off (Q/DQ as float steps around float kernels), in one interleaved run.

Each segslim configuration is a daemon of its own (`SEGSLIM_INT8=0`, `SEGSLIM_QGEMM=...`
are read when a model is compiled). Rounds alternate over every engine so machine noise hits
all alike. Also prints argmax agreement of segslim INT8 vs ORT on the QDQ model over a few
val images, and (with --profile) segslim's per-kind step times for the INT8 run.

    tools/.venv/bin/python benchmarks/make_qdq_model.py            # writes /tmp/lraspp_mbv3_camvid.qdq.onnx
    swift build -c release
    segslim compress ../shared/models/lraspp_mbv3_camvid.onnx --technique quantize \
        --dataset ../shared/data/camvid --calib-count 16 --out /tmp/ours.int8.onnx --overwrite
    tools/.venv/bin/python benchmarks/compare_int8.py [--threads 1 2] [--runs 20] [--profile] [--paths]

`--ours` (default /tmp/ours.int8.onnx, skipped when missing) adds our own quantizer's model,
run by segslim and by ORT: the key row is segslim on it against segslim FP32 and ORT QDQ.
`--paths` adds the forced exact-s16 / vpmaddubsw rows.

Forcing vpmaddubsw on layers whose weights can saturate changes results; that row is a speed
measurement only (its agreement is printed too).
"""
import argparse
import base64
import os
import statistics
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segslim  # noqa: E402
from compare_ort import ort_session  # noqa: E402
from make_qdq_model import images, load_image  # noqa: E402


def run_ours(client, mid, x, name="image"):
    out = client.request("model/run", {"id": mid, "inputs": {name: {"dtype": "f32", "shape": list(x.shape),
                                                                    "data": base64.b64encode(x.tobytes()).decode()}}})
    o = out["outputs"][0]
    return np.frombuffer(base64.b64decode(o["data"]), dtype=np.float32).reshape(o["shape"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fp32", default=os.path.join(ROOT, "..", "shared", "models", "lraspp_mbv3_camvid.onnx"))
    ap.add_argument("--qdq", default="/tmp/lraspp_mbv3_camvid.qdq.onnx")
    ap.add_argument("--ours", default="/tmp/ours.int8.onnx")
    ap.add_argument("--paths", action="store_true", help="also the forced GEMM path rows")
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--images", type=int, default=5, help="val images for argmax agreement")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--daemon", default=os.path.join(ROOT, ".build", "release", "segslimd"))
    args = ap.parse_args()
    fp32, qdq = os.path.abspath(args.fp32), os.path.abspath(args.qdq)
    configs = [  # label, model, environment
        ("segslim FP32", fp32, {}),
        ("segslim QDQ INT8 (auto path)", qdq, {}),
        ("segslim QDQ INT8 off", qdq, {"SEGSLIM_INT8": "0"}),
    ]
    if args.paths:
        configs[2:2] = [("segslim QDQ INT8 (exact s16)", qdq, {"SEGSLIM_QGEMM": "exact"}),
                        ("segslim QDQ INT8 (vpmaddubsw forced)", qdq, {"SEGSLIM_QGEMM": "maddubs"})]
    ours_model = os.path.abspath(args.ours) if args.ours and os.path.exists(args.ours) else None
    if ours_model:
        configs.insert(1, ("segslim ours INT8", ours_model, {}))
    val = [load_image(p) for p in images("val", args.images)]
    for threads in args.threads:
        ort = {"ORT FP32": ort_session(fp32, threads), "ORT QDQ": ort_session(qdq, threads)}
        if ours_model:
            ort["ORT ours"] = ort_session(ours_model, threads)
        x = val[0]
        clients, ids = {}, {}
        for label, path, env in configs:
            c = segslim.Client.spawn(daemon_path=args.daemon, env={**os.environ, **env})
            c.initialize()
            clients[label] = c
            ids[label] = c.request("model/load", {"path": path})["id"]
        times = {k: [] for k in list(ort) + [c[0] for c in configs]}
        per_round = max(1, args.runs // args.rounds)
        for s in ort.values():
            s.run(None, {"image": x})
        for label in clients:
            clients[label].request("model/benchmark", {"id": ids[label], "runs": 1, "warmup": 2, "threads": threads})
        for _ in range(args.rounds):
            for label, s in ort.items():
                for _ in range(per_round):
                    t = time.perf_counter()
                    s.run(None, {"image": x})
                    times[label].append((time.perf_counter() - t) * 1000)
            for label in clients:
                # `threads` given: each call compiles its own plan, whose first run pays for a
                # fresh arena's page faults; one warm-up run keeps that out of the timings.
                r = clients[label].request("model/benchmark", {"id": ids[label], "runs": per_round, "warmup": 1, "threads": threads})
                times[label].append(r["p50Ms"])
        p50 = {k: statistics.median(v) for k, v in times.items()}
        print(f"\n## {threads} thread(s), lraspp_mbv3_camvid 1x3x360x480, p50 of {args.runs} runs\n")
        print("| engine | p50 ms | / segslim FP32 | / ORT QDQ | / ORT FP32 |")
        print("|---|---|---|---|---|")
        for k, v in p50.items():
            print(f"| {k} | {v:.1f} | {v / p50['segslim FP32']:.2f} | {v / p50['ORT QDQ']:.2f} | {v / p50['ORT FP32']:.2f} |")
        # Agreement with ORT on the same QDQ model. (Note: segslim runs use the daemon's own threads setting.)
        print("\n| engine | argmax agreement vs ORT QDQ | max abs diff (logits) |")
        print("|---|---|---|")
        for label in [c[0] for c in configs if c[1] == qdq]:
            agree, worst = [], 0.0
            for img in val:
                ref = ort["ORT QDQ"].run(None, {"image": img})[0]
                ours = run_ours(clients[label], ids[label], img)
                agree.append(float((ours.argmax(1) == ref.argmax(1)).mean()))
                worst = max(worst, float(np.abs(ours - ref).max()))
            print(f"| {label} | {np.mean(agree) * 100:.3f}% | {worst:.4f} |")
        if ours_model:
            agree = []
            for img in val:
                ref = ort["ORT ours"].run(None, {"image": img})[0]
                agree.append(float((run_ours(clients["segslim ours INT8"], ids["segslim ours INT8"], img).argmax(1) == ref.argmax(1)).mean()))
            print(f"| segslim ours INT8 vs ORT ours | {np.mean(agree) * 100:.3f}% | |")
        if args.profile:
            for label in ["segslim QDQ INT8 (auto path)"] + (["segslim ours INT8"] if ours_model else []):
                r = clients[label].request("model/benchmark", {"id": ids[label], "runs": 5, "warmup": 1, "threads": threads, "profile": True})
                print(f"\nprofile ({label}, {threads} threads), kernels: {r.get('kernels')}")
                for row in r["profile"][:14]:
                    print(f"  {row['kind']:<36} {row['msPerRun']:7.2f} ms  {row['fraction'] * 100:5.1f}%")
        for c in clients.values():
            c.close()


if __name__ == "__main__":
    main()
