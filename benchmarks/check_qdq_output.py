#!/usr/bin/env python3
"""Checks a model segslim wrote: onnx.checker (full), ONNX Runtime runs it, and ORT's argmax
agrees with segslim's runtime on the same file over a few val images (the issue's bar: ≥ 99.5%).

    tools/.venv/bin/python benchmarks/check_qdq_output.py /tmp/ada.onnx [--images 10] [--threads 1]
"""
import argparse
import os
import sys

import numpy as np
import onnx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import segslim  # noqa: E402
from compare_int8 import run_ours  # noqa: E402
from compare_ort import ort_session  # noqa: E402
from make_qdq_model import images, load_image  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--images", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--daemon", default=os.path.join(ROOT, ".build", "release", "segslimd"))
    args = ap.parse_args()
    path = os.path.abspath(args.model)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    print(f"onnx.checker (full): ok  {path}")
    sess = ort_session(path, args.threads)
    client = segslim.Client.spawn(daemon_path=args.daemon)
    client.initialize()
    mid = client.request("model/load", {"path": path})["id"]
    agree, worst = [], 0.0
    for p in images("val", args.images):
        x = load_image(p)
        ref = sess.run(None, {"image": x})[0]
        ours = run_ours(client, mid, x)
        agree.append(float((ours.argmax(1) == ref.argmax(1)).mean()))
        worst = max(worst, float(np.abs(ours - ref).max()))
    client.close()
    print(f"argmax agreement segslim vs ORT over {len(agree)} val images: mean {np.mean(agree) * 100:.3f}%, "
          f"min {np.min(agree) * 100:.3f}%; max |logit diff| {worst:.4f}")


if __name__ == "__main__":
    main()
