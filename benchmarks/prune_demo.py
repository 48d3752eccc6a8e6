#!/usr/bin/env python3
"""Pruning on the demo model: each criterion next to `random`, with and without BN recalibration.

For every criterion: `segslim compress lraspp_mbv3_camvid.bn.onnx --technique prune
--param criterion=C --param targetMacs=0.7 --param recalibrateBN=false` (per-layer ratios chosen
from the sensitivity on the first --sens-limit val images, no fine-tuning), then the *same*
per-layer ratios again with recalibrateBN=true (BN statistics re-estimated on --recal-images train
images), and `segslim evaluate` of both on the full val split. Latency comes from the compress
report (our runtime, same input, before/after, interleaved).

Usage: python3 benchmarks/prune_demo.py [--segslim .build/release/segslim] [--criteria l1 fpgm ...]
Prints a markdown table; writes OUT/prune_demo.json.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(REPO / "tools" / "zoo"))
from prune_zoo import find  # noqa: E402  (first value under a key anywhere in a JSON document)


def run(cmd: list[str]) -> dict:
    t0 = time.time()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}\n{proc.stdout[-2000:]}")
    doc = json.loads(proc.stdout)
    doc["_seconds"] = round(time.time() - t0, 1)
    return doc


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--segslim", default=str(REPO / ".build" / "release" / "segslim"))
    ap.add_argument("--model", default=str(REPO.parent / "shared" / "models" / "lraspp_mbv3_camvid.bn.onnx"))
    ap.add_argument("--dataset", default=str(REPO.parent / "shared" / "data" / "camvid"))
    ap.add_argument("--criteria", nargs="*", default=["l1", "l2", "fpgm", "bnGamma", "random"])
    ap.add_argument("--target", type=float, default=0.7)
    ap.add_argument("--sens-limit", type=int, default=12)
    ap.add_argument("--recal-images", type=int, default=32)
    ap.add_argument("--out", type=Path, default=Path("/tmp/segslim-prune-demo"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    s = args.segslim

    def evaluate(model: str) -> float:
        return float(find(run([s, "evaluate", model, "--dataset", args.dataset, "--split", "val", "--json"]), "miou"))

    base = evaluate(args.model)
    print(f"unpruned mIoU {base:.4f}", flush=True)
    rows = []
    for c in args.criteria:
        plain = str(args.out / f"{c}.onnx")
        doc = run([s, "compress", args.model, "--technique", "prune", "--param", f"criterion={c}",
                   "--param", f"targetMacs={args.target}", "--param", "recalibrateBN=false",
                   "--param", f"sensitivityLimit={args.sens_limit}", "--dataset", args.dataset, "--out", plain, "--overwrite", "--json"])
        per_layer = find(doc, "perLayer")
        details = doc.get("report", doc)["steps"][0]["details"]
        lat = details.get("latency") or {}
        row = {"criterion": c, "macsKept": find(doc, "macsKept"), "paramsBefore": find(doc, "paramsBefore"),
               "paramsAfter": find(doc, "paramsAfter"), "latency": lat, "compress_s": doc["_seconds"],
               "miou": evaluate(plain)}
        recal = str(args.out / f"{c}.recal.onnx")
        doc2 = run([s, "compress", args.model, "--technique", "prune", "--param", f"criterion={c}",
                    "--param", "ratios=" + json.dumps(per_layer), "--param", "recalibrateBN=true",
                    "--param", f"recalibrationImages={args.recal_images}", "--param", "latencyRuns=0",
                    "--dataset", args.dataset, "--calib-count", str(args.recal_images), "--out", recal, "--overwrite", "--json"])
        row["macsKeptRecal"] = find(doc2, "macsKept")
        row["miouRecal"] = evaluate(recal)
        rows.append(row)
        print(f"{c}: macs kept {row['macsKept']:.3f} mIoU {row['miou']:.4f} (recal {row['miouRecal']:.4f}) "
              f"latency {lat.get('beforeMs', 0):.1f} -> {lat.get('afterMs', 0):.1f} ms, {doc['_seconds']}s", flush=True)
    lines = [f"{Path(args.model).name}, targetMacs {args.target}, sensitivity on {args.sens_limit} val images, no fine-tuning; "
             f"mIoU on the 101 val images (unpruned {base:.4f}); recalibration on {args.recal_images} train images", "",
             "| criterion | MACs kept | params M | mIoU | drop | mIoU, BN recalibrated | drop | latency ms before → after (ratio) |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lat = r["latency"]
        lines.append(f"| {r['criterion']} | {r['macsKept']:.3f} | {r['paramsAfter'] / 1e6:.2f} | {r['miou']:.4f} | {base - r['miou']:+.4f} | "
                     f"{r['miouRecal']:.4f} | {base - r['miouRecal']:+.4f} | "
                     f"{lat.get('beforeMs', 0):.1f} → {lat.get('afterMs', 0):.1f} ({lat.get('ratio', 0):.2f}) |")
    text = "\n".join(lines)
    (args.out / "prune_demo.json").write_text(json.dumps({"baseline": base, "rows": rows}, indent=1))
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
