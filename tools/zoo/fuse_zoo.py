#!/usr/bin/env python3
"""Fuse every zoo model with `segslim compress --technique fuse` and check the result the way
another tool would (developer tooling, not a test):

For each model of DIR/manifest.json:
  1. `segslim compress MODEL --technique fuse --param ... --out F.onnx --json` (report: rewrite
     counts, op counts before/after);
  2. the same input as compare_zoo.py (a CamVid val image), dynamic models at 288x384;
  3. ORT (CPU, optimisations off) on the source and on F.onnx;
  4. PASS when max|fused - source| <= 1e-4 * max|source| (ORT on both) and argmax agreement
     >= 99.9%.
Prints a markdown table with the node count before/after.

Usage: tools/.venv/bin/python tools/zoo/fuse_zoo.py [--zoo /tmp/segslim-zoo] [--segslim .build/release/segslim]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare_zoo import default_image, make_input, ort_run  # noqa: E402
from prune_zoo import find, run_json  # noqa: E402

RTOL = 1e-4


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", type=Path, default=Path("/tmp/segslim-zoo"))
    ap.add_argument("--segslim", type=Path, default=HERE.parent.parent / ".build" / "release" / "segslim")
    ap.add_argument("--out", type=Path, default=Path("/tmp/segslim-fuse-zoo"))
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    segslim = str(args.segslim.resolve())
    image = default_image()
    print("| model | nodes before → after | rewrites | rel max err (ORT fused vs source) | argmax | result |")
    print("|---|---|---|---|---|---|")
    failures = 0
    for entry in json.loads((args.zoo / "manifest.json").read_text()):
        if not entry.get("path") or (args.only and entry["name"] not in args.only):
            continue
        tag = entry["name"] + (" (dyn)" if entry.get("dynamic") else "") + (" (QDQ)" if entry.get("quantized") else "")
        fused = args.out / (Path(entry["path"]).stem + ".fused.onnx")
        t0 = time.time()
        rc, doc, msg = run_json([segslim, "compress", entry["path"], "--technique", "fuse",
                                 "--out", str(fused), "--overwrite", "--json"], args.timeout)
        if rc != 0 or doc is None:
            failures += 1
            print(f"| {tag} | | | | | FUSE ERROR {msg[:120]} |", flush=True)
            continue
        report = doc.get("report") or {}
        before, after = report.get("before", {}).get("nodes"), report.get("after", {}).get("nodes")
        rewrites = find(doc, "rewrites") or {}
        shape = (entry.get("inputs") or [{}])[0].get("shape") or [1, 3, 360, 480]
        h, w = (288, 384) if entry.get("dynamic") else (int(shape[2]), int(shape[3]))
        x, _ = make_input(image, h, w)
        name = (entry.get("inputs") or [{"name": "input"}])[0]["name"]
        try:
            _, src = ort_run(entry["path"], {name: x}, "disable")
            _, out = ort_run(str(fused), {name: x}, "disable")
        except Exception as exc:
            failures += 1
            print(f"| {tag} | {before} → {after} | | | | ORT ERROR {str(exc).splitlines()[0][:120]} |", flush=True)
            continue
        a, b = src[0].astype(np.float64), out[0].astype(np.float64)
        err = float(np.abs(a - b).max() / (np.abs(a).max() or 1.0)) if a.shape == b.shape else float("inf")
        agree = float((a.argmax(1) == b.argmax(1)).mean() * 100) if a.ndim == 4 and a.shape == b.shape and a.shape[1] > 1 else 100.0
        ok = err <= RTOL and agree >= 99.9
        failures += 0 if ok else 1
        rw = ", ".join(f"{k} {v}" for k, v in sorted(rewrites.items()) if v)
        print(f"| {tag} | {before} → {after} | {rw} | {err:.1e} | {agree:.3f}% | {'PASS' if ok else 'FAIL'} ({time.time() - t0:.0f} s) |", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
