#!/usr/bin/env python3
"""Decodes every CamVid val JPEG with Pillow, then runs the env-gated Swift
test that decodes them with SegImaging (release build) and prints the mean and
max |Δ| against Pillow.

    tools/.venv-imaging/bin/python benchmarks/imaging_jpeg_camvid.py
"""
import io
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAMVID = os.environ.get("SEGSLIM_CAMVID", os.path.join(ROOT, "..", "shared", "data", "camvid"))


def main():
    tmp = tempfile.mkdtemp(prefix="segimaging-jpeg-")
    n = 0
    pil_seconds = 0.0
    for line in open(os.path.join(CAMVID, "val.txt")):
        if not line.strip():
            continue
        path = line.split()[0]
        data = open(os.path.join(CAMVID, path), "rb").read()
        t0 = time.perf_counter()
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        pil_seconds += time.perf_counter() - t0
        open(os.path.join(tmp, os.path.basename(path) + ".rgb"), "wb").write(rgb.tobytes())
        n += 1
    print(f"Pillow decoded {n} val JPEGs into {tmp}: {1000 * pil_seconds / max(n, 1):.2f} ms per decode")
    env = dict(os.environ, SEGIMAGING_JPEG_REF=tmp, SEGSLIM_CAMVID=CAMVID)
    out = subprocess.run(["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing",
                          "--scratch-path", ".build-imaging-release",
                          "--filter", "SegImagingTests.JPEGTests/camvidValAgainstPillow"],
                         cwd=ROOT, env=env, capture_output=True, text=True)
    lines = [l for l in (out.stdout + out.stderr).splitlines() if "CamVid val" in l or "✘" in l or "error:" in l]
    print("\n".join(lines))
    sys.exit(out.returncode)


if __name__ == "__main__":
    main()
