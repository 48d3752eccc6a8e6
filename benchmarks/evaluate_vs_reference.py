#!/usr/bin/env python3
"""segslim's evaluation next to the Python reference on the same data.

The reference is what the models README describes: PIL decode, ImageNet normalisation, ONNX
Runtime (CPU, same thread count), and a numpy confusion matrix with the void label ignored
(IoU = TP / (TP + FP + FN) per class, a class with an empty union counts 0, mIoU = mean).

It prints both mIoUs, the per-pixel argmax agreement between the two predictions, and
throughput (images/s) of each. Run from the repo root after `swift build -c release`:

    tools/.venv/bin/python benchmarks/evaluate_vs_reference.py \
        --model ../shared/models/lraspp_mbv3_camvid.onnx --dataset ../shared/data/camvid --split val [--limit N]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort
from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def reference(model, dataset, split, limit, threads):
    meta = json.load(open(os.path.join(dataset, "dataset.json")))
    n = meta["num_classes"]
    lines = [l.split() for l in open(os.path.join(dataset, f"{split}.txt")) if l.strip()][:limit]
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    mean = np.array([0.485, 0.456, 0.406], dtype=np.float32)
    std = np.array([0.229, 0.224, 0.225], dtype=np.float32)
    conf = np.zeros((n, n), dtype=np.int64)
    preds = {}
    t0 = time.perf_counter()
    for image, label in lines:
        img = np.asarray(Image.open(os.path.join(dataset, image)).convert("RGB"), dtype=np.float32) / 255.0
        x = ((img - mean) / std).transpose(2, 0, 1)[None].astype(np.float32)
        pred = sess.run(None, {name: x})[0][0].argmax(0)
        lab = np.asarray(Image.open(os.path.join(dataset, label)))
        valid = lab != 255
        np.add.at(conf, (lab[valid].astype(np.int64), pred[valid]), 1)
        preds[os.path.splitext(os.path.basename(image))[0]] = pred.astype(np.uint8)
    seconds = time.perf_counter() - t0
    inter = np.diag(conf).astype(np.float64)
    union = conf.sum(0) + conf.sum(1) - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return {"miou": float(iou.mean()), "pixelAccuracy": float(inter.sum() / conf.sum()), "perClassIoU": iou.tolist(),
            "imagesPerSecond": len(lines) / seconds, "images": len(lines)}, preds, [os.path.join(dataset, l[0]) for l in lines]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--split", default="val")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--segslim", default=os.path.join(ROOT, ".build", "release", "segslim"))
    args = ap.parse_args()
    model, dataset = os.path.abspath(args.model), os.path.abspath(args.dataset)

    ref, ref_preds, images = reference(model, dataset, args.split, args.limit, args.threads)
    print(f"reference (PIL + ORT + numpy): mIoU {ref['miou']:.4f}  pixel acc {ref['pixelAccuracy']:.4f}  {ref['imagesPerSecond']:.2f} images/s")

    cmd = [args.segslim, "evaluate", model, "--dataset", dataset, "--split", args.split, "--json"]
    if args.limit:
        cmd += ["--limit", str(args.limit)]
    ours = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"segslim:                       mIoU {ours['miou']:.4f}  pixel acc {ours['pixelAccuracy']:.4f}  {ours['imagesPerSecond']:.2f} images/s")
    print(f"mIoU difference: {abs(ours['miou'] - ref['miou']):.5f} (target <= 0.002)")

    with tempfile.TemporaryDirectory() as out:
        subprocess.run([args.segslim, "segment", model, *images, "--out", out, "--no-overlay", "--json"], check=True, capture_output=True)
        same = total = 0
        for stem, pred in ref_preds.items():
            mask = np.asarray(Image.open(os.path.join(out, stem + ".mask.png")))
            same += int((mask == pred).sum())
            total += pred.size
    agreement = same / total
    print(f"argmax agreement with the reference: {agreement * 100:.3f}% of {total} pixels (target >= 99.9%)")
    ok = abs(ours["miou"] - ref["miou"]) <= 0.002 and agreement >= 0.999
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
