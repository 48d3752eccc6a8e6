#!/usr/bin/env python3
"""Exactness sweep for SegImaging's JPEG decoder: random sizes (edge cases
1...3 pixels wide/high included), subsamplings 4:4:4 / 4:2:2 / 4:2:0, gray,
progressive, restart intervals and qualities, encoded by Pillow; every decode
through the release driver `segslim-imaging-bench` must hash like Pillow's.

    tools/.venv-imaging/bin/python benchmarks/imaging_jpeg_sweep.py [N] [seed]
"""
import io
import os
import random
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.environ.get("SEGIMAGING_BENCH_SCRATCH", ".build-imgperf-rel")


def checksum(pixels):
    """The driver's checksum: position-weighted sums of the samples, mod 2^64."""
    p = np.ascontiguousarray(pixels).reshape(-1).astype(np.uint64)
    i = np.arange(p.size, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h1 = int(((i + np.uint64(1)) * p).sum(dtype=np.uint64))
        h2 = int((((i * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)) * p).sum(dtype=np.uint64))
    return f"{h1}:{h2}"


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    subprocess.run(["swift", "build", "-c", "release", "--scratch-path", SCRATCH, "--product", "segslim-imaging-bench"],
                   cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    drv = subprocess.Popen([os.path.join(ROOT, SCRATCH, "release", "segslim-imaging-bench")],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
    tmp = tempfile.mkdtemp(prefix="segimaging-sweep-")
    bad = 0
    for i in range(n):
        w = rng.choice([1, 2, 3, 4, 7, 8, 9, 15, 16, 17]) if rng.random() < 0.5 else rng.randint(1, 90)
        h = rng.choice([1, 2, 3, 4, 7, 8, 9, 15, 16, 17]) if rng.random() < 0.5 else rng.randint(1, 90)
        gray = rng.random() < 0.15
        smooth = rng.random() < 0.5
        arr = np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)
        if smooth:
            yy, xx = np.mgrid[0:h, 0:w]
            arr = np.stack([(xx * 7 + yy * 3) % 256, (xx * 2 + yy * 9) % 256, (xx * yy) % 256], -1).astype(np.uint8)
        im = Image.fromarray(arr)
        if gray:
            im = im.convert("L")
        kw = dict(quality=rng.choice([5, 30, 75, 90, 100]), progressive=rng.random() < 0.3,
                  optimize=rng.random() < 0.3)
        if not gray:
            kw["subsampling"] = rng.choice([0, 1, 2])
        if rng.random() < 0.2:
            kw["restart_marker_blocks"] = rng.randint(1, 5)
        buf = io.BytesIO()
        im.save(buf, "JPEG", **kw)
        path = os.path.join(tmp, f"s{i}.jpg")
        open(path, "wb").write(buf.getvalue())
        want = checksum(np.asarray(Image.open(io.BytesIO(buf.getvalue()))))
        drv.stdin.write(f"jpeg 1 {path}\n")
        drv.stdin.flush()
        reply = drv.stdout.readline().split()
        if reply[0] == "error" or reply[1] != want:
            bad += 1
            print(f"MISMATCH {path}: {w}x{h} gray={gray} {kw} -> {' '.join(reply)}")
    drv.stdin.close()
    drv.wait()
    print(f"{n} random JPEGs: {n - bad} decode exactly like Pillow, {bad} differ")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
