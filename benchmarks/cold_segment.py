#!/usr/bin/env python3
"""A first request, end to end: `segslim segment MODEL IMAGE --out DIR` as a fresh process (the CLI
spawns its daemon, which loads the model, compiles the plan, decodes, runs and writes the mask and
overlay PNGs) next to a fresh Python process that does the same with ONNX Runtime (import,
session create, Pillow decode, preprocessing, run, argmax, Pillow PNG write of the mask).

Wall time from spawn to exit, median over rounds; the side going first alternates per round so a
busy machine slows both alike. ORT's own split (import, session create, run) is printed too, and
ours from `segslim bench` (load, compile) when --split is given.

Both sides use their engine's default threads (here: both cores).

Usage: tools/.venv/bin/python benchmarks/cold_segment.py MODEL.onnx IMAGE [--rounds 5]
       [--segslim .build/release/segslim]
"""
import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

ORT_SIDE = r"""
import sys, time, json
t0 = time.perf_counter()
import numpy as np, onnxruntime as ort
from PIL import Image
t1 = time.perf_counter()
model, image, out, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
so = ort.SessionOptions()
if threads > 0:
    so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
s = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
t2 = time.perf_counter()
inp = s.get_inputs()[0]
h, w = inp.shape[2], inp.shape[3]
im = Image.open(image).convert("RGB")
size = im.size
x = np.asarray(im.resize((w, h), Image.BILINEAR) if (im.size != (w, h)) else im, dtype=np.float32) / 255.0
x = ((x - np.array([0.485, 0.456, 0.406], np.float32)) / np.array([0.229, 0.224, 0.225], np.float32)).transpose(2, 0, 1)[None]
t3 = time.perf_counter()
y = s.run(None, {inp.name: np.ascontiguousarray(x)})[0]
t4 = time.perf_counter()
mask = y[0].argmax(0).astype(np.uint8)
m = Image.fromarray(mask, "P")
if mask.shape[::-1] != size:
    m = m.resize(size, Image.NEAREST)
m.save(out)
t5 = time.perf_counter()
print(json.dumps({"importMs": (t1 - t0) * 1e3, "sessionMs": (t2 - t1) * 1e3, "preprocessMs": (t3 - t2) * 1e3,
                  "runMs": (t4 - t3) * 1e3, "writeMs": (t5 - t4) * 1e3}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("image", type=Path)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--segslim", type=Path, default=REPO / ".build" / "release" / "segslim")
    args = ap.parse_args()
    model, image = args.model.resolve(), args.image.resolve()
    ours, theirs, splits = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.rounds):
            def run_ours():
                out = Path(tmp) / f"ours{k}"
                cmd = [str(args.segslim), "segment", str(model), str(image), "--out", str(out), "--json"]
                t = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL)
                ours.append((time.perf_counter() - t) * 1e3)
                if r.returncode != 0:
                    sys.exit(f"segslim failed: {r.stderr.strip()}")

            def run_theirs():
                out = Path(tmp) / f"ort{k}.png"
                t = time.perf_counter()
                r = subprocess.run([sys.executable, "-c", ORT_SIDE, str(model), str(image), str(out), "0"],
                                   capture_output=True, text=True, stdin=subprocess.DEVNULL)
                theirs.append((time.perf_counter() - t) * 1e3)
                if r.returncode != 0:
                    sys.exit(f"ORT side failed: {r.stderr.strip()[-400:]}")
                splits.append(json.loads(r.stdout.strip().splitlines()[-1]))

            for side in ((run_ours, run_theirs) if k % 2 == 0 else (run_theirs, run_ours)):
                side()
    med = statistics.median
    print(f"cold segment of one image, {args.rounds} rounds, median wall from spawn to exit")
    print(f"  segslim segment (CLI + daemon: load, compile, decode, run, mask + overlay PNGs)  {med(ours):8.1f} ms")
    print(f"  python + ONNX Runtime (import, session, Pillow, run, argmax, mask PNG)          {med(theirs):8.1f} ms")
    print(f"  ratio {med(ours) / med(theirs):.3f}")
    print("  ORT's split (median ms): " + ", ".join(f"{k} {med(s[k] for s in splits):.1f}" for k in splits[0]))
    print(json.dumps({"oursMs": med(ours), "ortMs": med(theirs), "ratio": med(ours) / med(theirs),
                      "ortSplitMs": {k: med(s[k] for s in splits) for k in splits[0]}, "rounds": args.rounds}))


if __name__ == "__main__":
    main()
