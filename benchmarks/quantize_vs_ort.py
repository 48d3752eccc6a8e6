#!/usr/bin/env python3
"""Our static INT8 next to ONNX Runtime's `quantize_static` on the same model and the same
calibration images, plus checks on our QDQ export:

- ORT's MinMax / Entropy / Percentile recipes (per-channel QDQ, U8 activations, S8 weights)
  calibrated on exactly the images our default uses (100 spread evenly over train, as the
  daemon picks them), and our default recipe: mIoU on val, drop vs FP32, pixel agreement with
  FP32, file size ratio. Every model is scored by the same daemon pipeline.
- Our export: onnx.checker passes; ORT runs it; argmax agreement between ORT's run of our file
  and our own INT8 run on --agreement-images val images.

    swift build -c release
    tools/.venv/bin/python benchmarks/quantize_vs_ort.py [--count 100] [--ort-recipes MinMax,Entropy,Percentile]
"""
import argparse
import base64
import os
import sys
import tempfile
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segslim  # noqa: E402
from make_qdq_model import load_image  # noqa: E402

SHARED = os.path.join(ROOT, "..", "shared")


def split_images(dataset, split):
    lines = open(os.path.join(dataset, f"{split}.txt")).read().split("\n")
    return [os.path.join(dataset, l.split()[0]) for l in lines if l.strip()]


def spread(items, count):
    # The daemon's choice (ServerCore.spread): count items evenly over the list.
    if len(items) <= count:
        return items
    return [items[k * len(items) // count] for k in range(count)]


def run_ours(client, mid, x):
    out = client.request("model/run", {"id": mid, "inputs": {"image": {"dtype": "f32", "shape": list(x.shape),
                                                                      "data": base64.b64encode(x.tobytes()).decode()}}})
    o = out["outputs"][0]
    return np.frombuffer(base64.b64decode(o["data"]), dtype=np.float32).reshape(o["shape"])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(SHARED, "models", "lraspp_mbv3_camvid.onnx"))
    ap.add_argument("--dataset", default=os.path.join(SHARED, "data", "camvid"))
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--ort-recipes", default="MinMax,Entropy,Percentile")
    ap.add_argument("--our-recipes", default="default", help="comma-separated names; 'default' is {} (the recipe we stand behind)")
    ap.add_argument("--agreement-images", type=int, default=20)
    ap.add_argument("--out-dir", default=os.path.join(tempfile.gettempdir(), "segslim-vs-ort"))
    ap.add_argument("--daemon", default=os.path.join(ROOT, ".build", "release", "segslimd"))
    a = ap.parse_args()
    os.makedirs(a.out_dir, exist_ok=True)
    calib = spread(split_images(a.dataset, "train"), a.count)
    calib_dir = os.path.join(a.out_dir, "calibration")
    os.makedirs(calib_dir, exist_ok=True)
    for p in calib:
        link = os.path.join(calib_dir, os.path.basename(p))
        if not os.path.exists(link):
            os.symlink(os.path.abspath(p), link)

    models = {}
    for recipe in [r for r in a.ort_recipes.split(",") if r]:
        out = os.path.join(a.out_dir, f"ort_{recipe.lower()}.onnx")
        if not os.path.exists(out):
            class Reader(CalibrationDataReader):
                def __init__(self):
                    self.it = iter(calib)

                def get_next(self):
                    p = next(self.it, None)
                    return None if p is None else {"image": load_image(p)}
            t = time.time()
            quantize_static(a.model, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=getattr(CalibrationMethod, recipe))
            print(f"ORT {recipe}: quantize_static took {time.time() - t:.0f} s", flush=True)
        models[f"ORT {recipe}"] = out

    fp32_size = os.path.getsize(a.model)
    with segslim.Client.spawn(a.daemon) as c:
        c.initialize()
        c.request("model/load", {"path": os.path.abspath(a.model), "id": "fp32"})
        ds = c.request("dataset/open", {"path": os.path.abspath(a.dataset)})["id"]
        for name in [r for r in a.our_recipes.split(",") if r]:
            out = os.path.join(a.out_dir, f"segslim_{name}.onnx")
            t = time.time()
            c.request("model/compress", {"id": "fp32", "technique": "quantize", "params": {}, "dataset": ds, "evaluate": False,
                                         "calibration": {"path": calib_dir}, "newId": f"segslim {name}", "outputPath": out,
                                         "overwrite": True}, timeout=7200)
            print(f"segslim {name}: compress took {time.time() - t:.0f} s", flush=True)
            models[f"segslim {name}"] = out
        print()
        print(f"calibration: {len(calib)} train images spread evenly (the daemon's default choice); scores on val, one pipeline")
        print("| model | mIoU | drop (pt) | pixel agreement vs FP32 | file | size ratio |")
        print("|---|---|---|---|---|---|")
        fp32_miou = None
        for label, path in models.items():
            mid = label
            if mid not in [m["id"] for m in c.request("model/list", {})["models"]]:
                c.request("model/load", {"path": path, "id": mid})
            cmp = c.request("model/compare", {"ids": ["fp32", mid], "dataset": ds, "split": "val"}, timeout=7200)
            if fp32_miou is None:
                fp32_miou = cmp["a"]["miou"]
                print(f"| FP32 | {fp32_miou:.4f} | 0 | 100% | {fp32_size / 1e6:.1f} MB | 1.000 |")
            print(f"| {label} | {cmp['b']['miou']:.4f} | {100 * (fp32_miou - cmp['b']['miou']):.2f} | {100 * cmp['pixelAgreement']:.2f}% | "
                  f"{os.path.getsize(path) / 1e6:.2f} MB | {os.path.getsize(path) / fp32_size:.3f} |", flush=True)

        # Our export, as other tools see it.
        for label, path in models.items():
            if not label.startswith("segslim"):
                continue
            onnx.checker.check_model(onnx.load(path))
            sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
            same = total = 0
            for p in split_images(a.dataset, "val")[: a.agreement_images]:
                x = load_image(p)
                ours = run_ours(c, label, x).argmax(1)
                theirs = sess.run(None, {"image": x})[0].argmax(1)
                same += int((ours == theirs).sum())
                total += ours.size
            print(f"{label}: onnx.checker ok; ORT runs it; argmax agreement ORT vs segslim INT8 on {a.agreement_images} val images: "
                  f"{100 * same / total:.3f}%")


if __name__ == "__main__":
    main()
