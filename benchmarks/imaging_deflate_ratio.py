#!/usr/bin/env python3
"""Compares SegImaging's deflate with zlib level 6 on identical inputs:
CamVid label scanlines and colour-overlay scanlines (PNG rows, filter None and
Sub). Writes the inputs to a temp dir, runs the env-gated Swift test that
compresses them, checks that zlib inflates every Swift stream back to the
input, and prints per-kind size ratios (Swift / zlib-6).

    tools/.venv-imaging/bin/python benchmarks/imaging_deflate_ratio.py [N]
"""
import json
import os
import subprocess
import sys
import tempfile
import zlib

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CAMVID = os.environ.get("SEGSLIM_CAMVID", os.path.join(ROOT, "..", "shared", "data", "camvid"))


def rows(arr, sub):
    h = arr.shape[0]
    flat = arr.reshape(h, -1).astype(np.int16)
    if sub:
        bpp = 1 if arr.ndim == 2 else arr.shape[2]
        res = flat.copy()
        res[:, bpp:] = flat[:, bpp:] - flat[:, :-bpp]
        flat = res & 0xFF
    return b"".join(bytes([1 if sub else 0]) + flat[r].astype(np.uint8).tobytes() for r in range(h))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    meta = json.load(open(os.path.join(CAMVID, "dataset.json")))
    palette = np.array(meta["palette"] + [[0, 0, 0]] * (256 - len(meta["palette"])), np.uint8)
    pairs = [line.split() for line in open(os.path.join(CAMVID, "val.txt")) if line.strip()][:n]
    tmp = tempfile.mkdtemp(prefix="segimaging-deflate-")
    for k, (img, lab) in enumerate(pairs):
        label = np.asarray(Image.open(os.path.join(CAMVID, lab)))
        rgb = np.asarray(Image.open(os.path.join(CAMVID, img)).convert("RGB")).astype(np.int32)
        overlay = ((rgb * 128 + palette[label].astype(np.int32) * 128 + 128) >> 8).astype(np.uint8)
        Image.fromarray(label).save(os.path.join(tmp, f"pngfile_label__{k}.png"))
        Image.fromarray(overlay).save(os.path.join(tmp, f"pngfile_overlay__{k}.png"))
        for kind, data in [("label_none", rows(label, False)), ("label_sub", rows(label, True)),
                           ("overlay_none", rows(overlay, False)), ("overlay_sub", rows(overlay, True))]:
            open(os.path.join(tmp, f"{kind}__{k}.raw"), "wb").write(data)
    env = dict(os.environ, SEGIMAGING_DEFLATE_BENCH_DIR=tmp)
    subprocess.run(["swift", "test", "-c", "release", "-Xswiftc", "-enable-testing", "--scratch-path", ".build-imaging-release",
                    "--filter", "SegImagingTests.ZlibTests/deflateBenchmarkDump"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL)
    totals = {}
    for name in sorted(os.listdir(tmp)):
        if not name.endswith(".raw"):
            continue
        raw = open(os.path.join(tmp, name), "rb").read()
        ours = open(os.path.join(tmp, name[:-4] + ".swz"), "rb").read()
        assert zlib.decompress(ours) == raw, f"{name}: zlib cannot inflate our stream back"
        kind = name.split("__")[0]
        t = totals.setdefault(kind, [0, 0, 0.0])
        t[0] += len(ours)
        t[1] += len(zlib.compress(raw, 6))
        t[2] = max(t[2], len(ours) / len(zlib.compress(raw, 6)))
    for name in sorted(os.listdir(tmp)):
        if not name.endswith(".png"):
            continue
        ours_path = os.path.join(tmp, name[:-4] + ".swpng")
        theirs = np.asarray(Image.open(os.path.join(tmp, name)))
        assert np.array_equal(np.asarray(Image.open(ours_path)), theirs), f"{name}: Pillow reads our PNG differently"
        kind = name.split("__")[0]
        t = totals.setdefault(kind, [0, 0, 0.0])
        t[0] += os.path.getsize(ours_path)
        t[1] += os.path.getsize(os.path.join(tmp, name))
        t[2] = max(t[2], os.path.getsize(ours_path) / os.path.getsize(os.path.join(tmp, name)))
    print(f"{len(pairs)} CamVid val pairs; ratio = SegImaging / zlib level 6 on the same bytes "
          f"(pngfile_*: whole PNG files, ours vs Pillow's save)")
    for kind, (ours, ref, worst) in totals.items():
        print(f"  {kind:17s} ours {ours:9d}  reference {ref:9d}  ratio {ours / ref:.3f}  worst file {worst:.3f}")


if __name__ == "__main__":
    main()
