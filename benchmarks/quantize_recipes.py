#!/usr/bin/env python3
"""Static INT8 recipes on one model, side by side: each calibration method (and options),
mIoU on a labelled split against our FP32 run, pixel agreement with FP32, file size.

    python3 benchmarks/quantize_recipes.py --model ../shared/models/lraspp_mbv3_camvid.onnx \
        --dataset ../shared/data/camvid [--recipes mse,minmax,percentile,entropy] [--out-dir /tmp/q]

Uses one warm daemon (release build: `swift build -c release` first). The calibration set is
the daemon's default (100 images spread over the train split) unless --calib-count is given.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "clients", "python"))
import segslim  # noqa: E402

RECIPES = {
    "mse": {"calibration": "mse"},
    "minmax": {"calibration": "minmax"},
    "percentile": {"calibration": "percentile"},
    "entropy": {"calibration": "entropy"},
    "mse-nobc": {"calibration": "mse", "biasCorrection": False},
    "minmax-nobc": {"calibration": "minmax", "biasCorrection": False},
    "default": {},
    "fp16": {"mode": "fp16"},
    "weightOnly": {"mode": "weightOnly"},
    "dynamic": {"mode": "dynamic"},
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--recipes", default="mse,minmax,percentile,entropy")
    ap.add_argument("--recipe", action="append", default=[], metavar="NAME=JSON", help="an extra recipe: name and quantize params as JSON")
    ap.add_argument("--calib-count", type=int)
    ap.add_argument("--limit", type=int, help="score on the first N images of the split only (slow modes such as dynamic)")
    ap.add_argument("--calib-dir", help="a folder of calibration images instead of the dataset's train split")
    ap.add_argument("--out-dir", default="/tmp/segslim-quantize-recipes")
    ap.add_argument("--daemon", default=os.path.join(os.path.dirname(__file__), "..", ".build", "release", "segslimd"))
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    with segslim.Client.spawn(a.daemon) as c:
        c.initialize()
        c.request("model/load", {"path": os.path.abspath(a.model), "id": "fp32"})
        ds = c.request("dataset/open", {"path": os.path.abspath(a.dataset)})["id"]
        fp32_miou = None
        print(f"| recipe | mIoU | drop (pt) | pixel agreement vs FP32 | size ratio | calib s |")
        print(f"|---|---|---|---|---|---|")
        extra = dict(r.split("=", 1) for r in a.recipe)
        names = [n for n in a.recipes.split(",") if n] + list(extra)
        for name in names:
            params = json.loads(extra[name]) if name in extra else RECIPES[name]
            req = {"id": "fp32", "technique": "quantize", "params": params, "dataset": ds, "split": a.split,
                   "newId": name, "evaluate": False, "outputPath": os.path.join(a.out_dir, f"{name}.onnx"), "overwrite": True}
            calibration = {}
            if a.calib_count:
                calibration["count"] = a.calib_count
            if a.calib_dir:
                calibration["path"] = os.path.abspath(a.calib_dir)
            if calibration:
                req["calibration"] = calibration
            t = time.time()
            r = c.request("model/compress", req, timeout=3600)
            took = time.time() - t
            creq = {"ids": ["fp32", name], "dataset": ds, "split": a.split}
            if a.limit:
                creq["limit"] = a.limit
            cmp = c.request("model/compare", creq, timeout=7200)
            if fp32_miou is None:
                fp32_miou = cmp["a"]["miou"]
                print(f"| FP32 | {fp32_miou:.4f} | 0 | 100% | 1.000 | |")
            miou = cmp["b"]["miou"]
            print(f"| {name} | {miou:.4f} | {100 * (fp32_miou - miou):.2f} | {100 * cmp['pixelAgreement']:.2f}% | "
                  f"{r['report']['sizeRatio']:.3f} | {took:.0f} |", flush=True)
            c.request("model/unload", {"id": name})


if __name__ == "__main__":
    main()
