#!/usr/bin/env python3
"""Decode speed of SegImaging against Pillow, side by side in one run.

Builds the release driver `segslim-imaging-bench` (benchmarks/imaging-bench/),
keeps it running as a subprocess, and for each of N CamVid val images
(default 20) alternates: Pillow decodes the JPEG, SegImaging decodes it, Pillow
decodes the label PNG, SegImaging decodes it -- `reps` times each, per-file
medians -- repeated over `rounds` passes. Both decode the same bytes from
memory (file reading is outside the timing). Reports the median over files of
the per-file medians, the ratio ours / Pillow, and PASS/FAIL against the
requirement (ratio <= 2).

  Pillow JPEG: Image.open(BytesIO(b)).load()   -> RGB (libjpeg-turbo, islow, fancy upsampling)
  ours JPEG:   JPEG.decode(bytes)                -> RGB, pixels identical to Pillow's
  Pillow PNG:  Image.open(BytesIO(b)).load()   -> "L" class ids (CamVid labels are 8-bit gray)
  ours PNG:    ImageIO.decodeLabel(bytes)        -> class ids (what `np.asarray(Image.open(...))` gives)

First, every CamVid val JPEG and label (or --verify N of them) is decoded by
both and compared sample for sample (a speed-up must not change a single one);
any difference aborts the run.

    tools/.venv-imaging/bin/python benchmarks/imaging_speed.py [--images 20] [--reps 15] [--rounds 3] [--verify N]

The venv (Pillow + numpy pinned in tools/fixtures/imaging-requirements.txt):
    python3 -m venv tools/.venv-imaging && tools/.venv-imaging/bin/pip install -r tools/fixtures/imaging-requirements.txt
The machine's load moves both sides' times (Pillow's more, in our runs); compare
ratios from one run, not absolute times across runs.
"""
import argparse
import io
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAMVID = os.environ.get("SEGSLIM_CAMVID", os.path.join(ROOT, "..", "shared", "data", "camvid"))
SCRATCH = os.environ.get("SEGIMAGING_BENCH_SCRATCH", ".build-imgperf-rel")
LIMIT = 2.0


def checksum(pixels):
    """The driver's checksum: position-weighted sums of the samples, mod 2^64."""
    p = np.ascontiguousarray(pixels).reshape(-1).astype(np.uint64)
    i = np.arange(p.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h1 = int(((i + np.uint64(1)) * p).sum(dtype=np.uint64))
        h2 = int((((i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)) * p).sum(dtype=np.uint64))
    return f"{h1}:{h2}"


def pillow_decode(data):
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def time_pillow(data, reps):
    times = []
    for _ in range(reps):
        t0 = time.perf_counter_ns()
        pillow_decode(data)
        times.append(time.perf_counter_ns() - t0)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--reps", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--verify", type=int, default=-1, help="images checked against Pillow first (default: all val)")
    ap.add_argument("--no-build", action="store_true")
    a = ap.parse_args()

    if not a.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--scratch-path", SCRATCH, "--product", "segslim-imaging-bench"],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    exe = os.path.join(ROOT, SCRATCH, "release", "segslim-imaging-bench")
    drv = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def ours(kind, path, reps):
        drv.stdin.write(f"{kind} {reps} {path}\n")
        drv.stdin.flush()
        reply = drv.stdout.readline().split()
        if not reply or reply[0] == "error":
            sys.exit(f"driver failed on {kind} {path}: {' '.join(reply)}")
        return int(reply[0]), reply[1]

    all_pairs = [line.split() for line in open(os.path.join(CAMVID, "val.txt")) if line.strip()]
    # Exactness first: every val image (or --verify N of them) decodes to Pillow's pixels.
    checked = 0
    for img, lab in all_pairs[:a.verify if a.verify >= 0 else len(all_pairs)]:
        jp, pp = os.path.join(CAMVID, img), os.path.join(CAMVID, lab)
        jb, pb = open(jp, "rb").read(), open(pp, "rb").read()
        want_j = checksum(np.asarray(pillow_decode(jb).convert("RGB")))
        want_p = checksum(np.asarray(pillow_decode(pb)))
        if ours("jpeg", jp, 1)[1] != want_j:
            sys.exit(f"pixel mismatch against Pillow: {img}")
        if ours("label", pp, 1)[1] != want_p:
            sys.exit(f"pixel mismatch against Pillow: {lab}")
        checked += 1
    files = []
    for img, lab in all_pairs[:a.images]:
        jp, pp = os.path.join(CAMVID, img), os.path.join(CAMVID, lab)
        files.append((jp, open(jp, "rb").read(), pp, open(pp, "rb").read()))
    # Warm both sides up.
    for jp, jb, pp, pb in files[:3]:
        time_pillow(jb, 3), ours("jpeg", jp, 3), time_pillow(pb, 3), ours("label", pp, 3)

    per = {k: [[] for _ in files] for k in ("pil_jpeg", "our_jpeg", "pil_png", "our_png")}
    for _ in range(a.rounds):
        for i, (jp, jb, pp, pb) in enumerate(files):
            per["pil_jpeg"][i].append(time_pillow(jb, a.reps))
            per["our_jpeg"][i].append(ours("jpeg", jp, a.reps)[0])
            per["pil_png"][i].append(time_pillow(pb, a.reps))
            per["our_png"][i].append(ours("label", pp, a.reps)[0])
    drv.stdin.close()
    drv.wait()

    med = {k: statistics.median(statistics.median(v) for v in vs) / 1e6 for k, vs in per.items()}
    # Per-file ratios as well: the worst file tells whether one image type is pathological.
    def worst(kind):
        return max(statistics.median(o) / statistics.median(p)
                   for o, p in zip(per[f"our_{kind}"], per[f"pil_{kind}"]))

    print(f"{len(files)} CamVid val images (480x360 JPEG 4:2:0, 8-bit label PNGs), {a.rounds} rounds x {a.reps} reps, "
          f"interleaved; medians; {checked} val JPEGs + labels decode exactly like Pillow {Image.__version__}")
    ok = True
    for kind, label in (("jpeg", "JPEG decode"), ("png", "PNG label decode")):
        r = med[f"our_{kind}"] / med[f"pil_{kind}"]
        verdict = "PASS" if r <= LIMIT else "FAIL"
        ok &= r <= LIMIT
        print(f"  {label:17s} ours {med[f'our_{kind}']:6.3f} ms  Pillow {med[f'pil_{kind}']:6.3f} ms  "
              f"ratio {r:5.2f} (worst file {worst(kind):5.2f})  {verdict} (<= {LIMIT:g}x)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
