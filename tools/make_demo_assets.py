#!/usr/bin/env python3
"""Builds the assets `segslim demo` ships with (Sources/segslim/Demo/), from ../shared:

    tools/.venv/bin/python tools/make_demo_assets.py [--shared ../shared]

- lraspp_mbv3_camvid.onnx: the shared LRASPP-MobileNetV3 CamVid model (BN folded) with its
  preprocessing and class names written into metadata_props (segslim.* keys), so it segments
  correctly on its own.
- samples/: four CamVid val images with their labels as a PaddleSeg-style dataset (val.txt,
  dataset.json), small enough to evaluate in seconds.
"""
import argparse
import json
import os
import shutil

import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(os.path.dirname(HERE), "Sources", "segslim", "Demo")
SAMPLES = ["0016E5_07959", "0016E5_08009", "0016E5_08059", "0016E5_08159"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(HERE), "..", "shared"))
    args = ap.parse_args()
    camvid = os.path.join(args.shared, "data", "camvid")
    meta = json.load(open(os.path.join(camvid, "dataset.json")))
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "samples", "images"))
    os.makedirs(os.path.join(OUT, "samples", "labels"))

    model = onnx.load(os.path.join(args.shared, "models", "lraspp_mbv3_camvid.onnx"))
    props = {
        "segslim.classes": json.dumps(meta["classes"]),
        "segslim.palette": json.dumps(meta["palette"]),
        "segslim.mean": json.dumps([0.485, 0.456, 0.406]),
        "segslim.std": json.dumps([0.229, 0.224, 0.225]),
        "segslim.input_size": "360,480",
        "segslim.resize": "stretch",
        "segslim.ignore_index": "255",
        "segslim.source": "torchvision lraspp_mobilenet_v3_large trained on CamVid (see ../shared/models/README.md)",
    }
    del model.metadata_props[:]
    for k, v in props.items():
        model.metadata_props.add(key=k, value=v)
    onnx.save(model, os.path.join(OUT, "lraspp_mbv3_camvid.onnx"))

    val = [l.split() for l in open(os.path.join(camvid, "val.txt")) if l.strip()]
    by_stem = {os.path.splitext(os.path.basename(i))[0]: (i, l) for i, l in val}
    lines = []
    for stem in SAMPLES:
        image, label = by_stem[stem]
        shutil.copy(os.path.join(camvid, image), os.path.join(OUT, "samples", "images", stem + ".jpg"))
        shutil.copy(os.path.join(camvid, label), os.path.join(OUT, "samples", "labels", stem + ".png"))
        lines.append(f"images/{stem}.jpg labels/{stem}.png")
    with open(os.path.join(OUT, "samples", "val.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "samples", "dataset.json"), "w") as f:
        json.dump({"name": "camvid-samples", "classes": meta["classes"], "palette": meta["palette"], "ignore_index": 255}, f, indent=1)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
