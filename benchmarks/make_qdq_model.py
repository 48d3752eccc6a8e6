#!/usr/bin/env python3
"""ORT's own static QDQ quantization of a CamVid model, for benchmarks/compare_int8.py.

QuantFormat.QDQ, per-channel S8 weights, U8 activations, MinMax calibration on the first N
train images, preprocessed as ../shared/models/README.md says (RGB, /255, ImageNet mean/std,
NCHW). The result is large: write it outside the repository.

    tools/.venv/bin/python benchmarks/make_qdq_model.py [--model M.onnx] [--out /tmp/lraspp_qdq.onnx] [--images 64]
"""
import argparse
import os

import numpy as np
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(ROOT, "..", "shared")
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)


def load_image(path):
    x = np.asarray(Image.open(path).convert("RGB"), np.float32) / 255.0
    return ((x - MEAN) / STD).transpose(2, 0, 1)[None].astype(np.float32)


def images(split, count):
    root = os.path.join(SHARED, "data", "camvid")
    lines = open(os.path.join(root, f"{split}.txt")).read().split("\n")
    paths = [os.path.join(root, l.split()[0]) for l in lines if l.strip()]
    return paths[:count]


def main():
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(SHARED, "models", "lraspp_mbv3_camvid.onnx"))
    ap.add_argument("--out", default="/tmp/lraspp_mbv3_camvid.qdq.onnx")
    ap.add_argument("--images", type=int, default=64)
    args = ap.parse_args()

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(images("train", args.images))

        def get_next(self):
            p = next(self.it, None)
            return None if p is None else {"image": load_image(p)}

    quantize_static(args.model, args.out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.MinMax)
    print(args.out)


if __name__ == "__main__":
    main()
