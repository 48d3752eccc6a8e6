#!/usr/bin/env python3
"""Trains the zoo's HF Mask2Former (Swin-tiny, random init: the same module `mask_classification_zoo.py`
builds) on CamVid for a few epochs in PyTorch, then exports it like the zoo does (opset 20, with
PyTorch's outputs on a CamVid val image as the reference) and annotates it with CamVid's classes
and the normalisation it was trained with.

Why: an untrained Mask2Former paints one class nearly everywhere, so "INT8 agrees with FP32 on
99% of pixels" says nothing. A few epochs from scratch give a model whose semantic maps have
several classes and real decision boundaries, which is what the agreement check needs (the
score itself is not the point; no pretrained backbone can be downloaded here).

    tools/.venv-zoo/bin/python tools/zoo/train_mask_classification.py --dataset ../shared/data/camvid \
        --out /tmp/segslim-m2f-trained [--epochs 6] [--threads 1] [--segslim .build/release/segslim]

Resumable: a checkpoint (weights, optimizer, epoch) is written to OUT/ckpt.pt after every epoch
and picked up on the next start. Developer tooling: the Swift tests never run this.
"""
import argparse
import json
import random
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import mask_classification_zoo as zoo  # noqa: E402

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
NAME = "hf_mask2former_swin_tiny"


def load_split(root, split):
    pairs = []
    for line in (root / f"{split}.txt").read_text().split("\n"):
        parts = line.split()
        if len(parts) == 2:
            pairs.append((root / parts[0], root / parts[1]))
    return pairs


def load_pair(image_path, label_path, flip):
    from PIL import Image
    img = Image.open(image_path).convert("RGB").resize((zoo.W, zoo.H), Image.BILINEAR)
    lab = Image.open(label_path).resize((zoo.W, zoo.H), Image.NEAREST)
    x = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
    y = np.asarray(lab, dtype=np.int64)
    if flip:
        x, y = x[:, ::-1], y[:, ::-1]
    return np.ascontiguousarray(x.transpose(2, 0, 1)), np.ascontiguousarray(y)


def targets(y, torch):
    """HF's mask-classification targets for one label map: a binary mask and a class per class present."""
    classes = [c for c in np.unique(y) if c < zoo.CLASSES]
    masks = np.stack([(y == c) for c in classes]).astype(np.float32) if classes else np.zeros((0,) + y.shape, np.float32)
    return torch.from_numpy(masks), torch.tensor(classes, dtype=torch.int64)


def semantic(class_logits, mask_logits, torch):
    """Mask2Former's semantic inference: softmax without no-object x sigmoid masks, argmax over classes."""
    probs = class_logits.softmax(-1)[..., :-1]
    masks = mask_logits.sigmoid()
    return torch.einsum("bqc,bqhw->bchw", probs, masks).argmax(1)


def miou(model, pairs, torch):
    inter = np.zeros(zoo.CLASSES)
    union = np.zeros(zoo.CLASSES)
    with torch.no_grad():
        for ip, lp in pairs:
            x, y = load_pair(ip, lp, False)
            cl, ml = model(torch.from_numpy(x)[None])
            ml = torch.nn.functional.interpolate(ml, size=(zoo.H, zoo.W), mode="bilinear", align_corners=False)
            pred = semantic(cl, ml, torch)[0].numpy()
            valid = y != 255
            for c in range(zoo.CLASSES):
                p, t = (pred == c) & valid, (y == c) & valid
                inter[c] += (p & t).sum()
                union[c] += (p | t).sum()
    present = union > 0
    return float((inter[present] / union[present]).mean())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dataset", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--eval-images", type=int, default=20, help="val images scored after each epoch")
    ap.add_argument("--segslim", type=Path, default=zoo.REPO / ".build/release/segslim")
    args = ap.parse_args()
    import torch
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)

    wrapper = zoo.build(NAME)
    net = wrapper.model
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=0.05)
    train, val = load_split(args.dataset, "train"), load_split(args.dataset, "val")
    steps_per_epoch = len(train) // args.batch
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: (1 - min(s, total - 1) / total) ** 0.9)
    ckpt = args.out / "ckpt.pt"
    start, history = 0, []
    if ckpt.exists():
        state = torch.load(ckpt, weights_only=False)
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start, history = state["epoch"], state["history"]
        print(f"resumed after epoch {start}", flush=True)

    for epoch in range(start, args.epochs):
        rng = random.Random(1000 + epoch)
        order = list(range(len(train)))
        rng.shuffle(order)
        net.train()
        t0, losses = time.time(), []
        for s in range(steps_per_epoch):
            batch = [load_pair(*train[i], rng.random() < 0.5) for i in order[s * args.batch:(s + 1) * args.batch]]
            x = torch.from_numpy(np.stack([b[0] for b in batch]))
            tg = [targets(b[1], torch) for b in batch]
            out = net(pixel_values=x, mask_labels=[t[0] for t in tg], class_labels=[t[1] for t in tg])
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            sched.step()
            losses.append(float(out.loss))
            if s % 20 == 0:
                print(f"epoch {epoch + 1} step {s}/{steps_per_epoch} loss {np.mean(losses[-20:]):.3f} "
                      f"({(time.time() - t0) / (s + 1):.2f} s/step)", flush=True)
        net.eval()
        score = miou(wrapper, val[:args.eval_images], torch)
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "valMiou": score, "seconds": round(time.time() - t0)})
        print(json.dumps(history[-1]), flush=True)
        torch.save({"model": net.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch + 1, "history": history}, ckpt)

    wrapper.eval()
    x, _ = load_pair(*val[0], False)
    path, ref, _ = zoo.write_export(wrapper, torch.from_numpy(x)[None], args.out, NAME)
    manifest = [{"name": NAME, "opset": zoo.OPSET, "input_shape": [1, 3, zoo.H, zoo.W], "classes": zoo.CLASSES,
                 "path": str(path), "bytes": path.stat().st_size, "outputs": [list(r.shape) for r in ref],
                 "trained": history}]
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    # The classes, palette and normalisation it was trained with, so segment/evaluate need no flags.
    annotated = args.out / f"{NAME}.annotated.onnx"
    subprocess.run([str(args.segslim), "annotate", str(path), "--classes-from", str(args.dataset),
                    "--mean", ",".join(map(str, MEAN)), "--std", ",".join(map(str, STD)), "--out", str(annotated), "--overwrite"],
                   check=True)
    annotated.replace(path)
    print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
