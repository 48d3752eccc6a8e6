#!/usr/bin/env python3
"""Prune to 50% MACs + fine-tune with channel-wise KD, done with Torch-Pruning + PyTorch, as the
yardstick for `segslim compress --technique prune --param targetMacs=0.5 --technique finetune ...`.

Model: torchvision lraspp_mobilenet_v3_large(num_classes=11) with the weights of
../shared/models/lraspp_mbv3_camvid.bn.onnx (initializer names are torchvision's, prefixed `m.`);
its eval output is checked against onnxruntime on a val image (max |diff| <= 1e-4).

Pruning: Torch-Pruning MagnitudePruner, L1 importance (p=1), uniform per-layer ratio (not global),
the two classifier output convs (low_classifier, high_classifier) ignored, iterative steps until
MACs (tp.utils.count_ops_and_params at 1x3x360x480) <= target x original.
Where this differs from ours: our `prune` with targetMacs and a labelled dataset picks per-layer
ratios from a sensitivity scan; Torch-Pruning has no sensitivity allocation, so this uses a uniform
ratio (the closest the library offers; pass --global-pruning to compare against its global ranking).

Fine-tune (our finetune recipe): AdamW lr 5e-4, wd 1e-4 on weights only (no decay on norms and
biases), cosine to 0 per step, batch 8, random scale 0.75-1.5, 240x320 random crop (padded with
ignore 255), horizontal flip, ImageNet mean/std, BN in eval mode (frozen running statistics),
loss = CE(ignore 255) + 3 x CWD(T=4) from the unpruned teacher in eval mode; val mIoU each epoch at
360x480 (confusion matrix over all val pixels), best epoch kept.

Usage (PYTHONPATH=/tmp/tvdeps holds torchvision 0.28, pillow, torch-pruning; see
tools/train/requirements-bench.txt):
  PYTHONPATH=/tmp/tvdeps tools/train/.venv/bin/python benchmarks/prune_finetune_vs_torch.py \
      --threads 1 [--epochs 10] [--max-steps N --max-val N] [--ours pf.report.json] \
      [--checkpoint /tmp/prune_finetune_vs_torch.ckpt.pt] [--resume]
The checkpoint is written after every epoch; --resume continues from it (same --epochs).
Torch-Pruning steps 4.5% per layer at a time, so it stops at the first step at or below the target
(0.488 of the MACs for 0.5).
"""
import argparse
import datetime
import json
import math
import os
import sys
import time
import types

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F
from onnx import numpy_helper
from PIL import Image

# torchvision's compiled ops do not load against a CPU torch; nothing here uses them.
sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
from torchvision.models.segmentation import lraspp_mobilenet_v3_large  # noqa: E402
import torch_pruning as tp  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared"))
MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
IGNORE = 255


def log(msg):
    print(f"[{datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M:%S')}] {msg}", flush=True)


# MARK: - Data

def read_list(root, split):
    with open(os.path.join(root, f"{split}.txt")) as f:
        return [tuple(os.path.join(root, p) for p in line.split()) for line in f if line.strip()]


def load_pair(img_path, lbl_path):
    img = np.asarray(Image.open(img_path).convert("RGB"), np.float32) / 255.0
    lbl = np.asarray(Image.open(lbl_path), np.uint8)
    return img, lbl


def normalise(img):
    return ((img - MEAN) / STD).transpose(2, 0, 1)


def augment(img, lbl, rng, crop=(240, 320), scale=(0.75, 1.5)):
    s = rng.uniform(*scale)
    h, w = lbl.shape
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    pil = Image.fromarray((img * 255).round().astype(np.uint8)).resize((nw, nh), Image.BILINEAR)
    img = np.asarray(pil, np.float32) / 255.0
    lbl = np.asarray(Image.fromarray(lbl).resize((nw, nh), Image.NEAREST))
    ch, cw = crop
    img = normalise(img)
    ph, pw = max(ch - nh, 0), max(cw - nw, 0)
    if ph or pw:  # pad: image with 0 (the mean after normalising), label with ignore
        img = np.pad(img, ((0, 0), (0, ph), (0, pw)))
        lbl = np.pad(lbl, ((0, ph), (0, pw)), constant_values=IGNORE)
    y = rng.integers(0, img.shape[1] - ch + 1)
    x = rng.integers(0, img.shape[2] - cw + 1)
    img, lbl = img[:, y:y + ch, x:x + cw], lbl[y:y + ch, x:x + cw]
    if rng.random() < 0.5:
        img, lbl = img[:, :, ::-1], lbl[:, ::-1]
    return np.ascontiguousarray(img), np.ascontiguousarray(lbl)


# MARK: - Model

def load_model(onnx_path, classes):
    model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=classes)
    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(onnx_path).graph.initializer}
    sd = model.state_dict()
    prefix = next((p for p in ("", "m.", "model.") if all(p + k in inits for k in sd if not k.endswith("num_batches_tracked"))), None)
    if prefix is None:
        missing = [k for k in sd if k not in inits and "m." + k not in inits][:5]
        raise SystemExit(f"{onnx_path}: initializers do not match torchvision's state dict (missing e.g. {missing})")
    new = {k: (torch.from_numpy(np.array(inits[prefix + k])) if prefix + k in inits else v) for k, v in sd.items()}
    model.load_state_dict(new)
    return model.eval()


class Logits(nn.Module):
    """torchvision returns {'out': ...}; Torch-Pruning and the loss want the tensor."""

    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, x):
        return self.m(x)["out"]


def verify_against_ort(model, onnx_path, img):
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x = normalise(img)[None].astype(np.float32)
    ref = sess.run(None, {sess.get_inputs()[0].name: x})[0]
    with torch.no_grad():
        out = model(torch.from_numpy(x)).numpy()
    diff = float(np.abs(out - ref).max())
    if out.shape != ref.shape or diff > 1e-4:
        raise SystemExit(f"PyTorch model disagrees with onnxruntime: shapes {out.shape} vs {ref.shape}, max |diff| {diff}")
    return diff


# MARK: - Evaluation

@torch.no_grad()
def evaluate(model, val, classes):
    model.eval()
    cm = np.zeros((classes, classes), np.int64)
    for img, lbl in val:
        pred = model(torch.from_numpy(normalise(img)[None])).argmax(1)[0].numpy()
        keep = lbl != IGNORE
        cm += np.bincount(lbl[keep].astype(np.int64) * classes + pred[keep], minlength=classes * classes).reshape(classes, classes)
    inter = np.diag(cm)
    union = cm.sum(0) + cm.sum(1) - inter
    iou = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    return float(iou.mean())


# MARK: - Pruning

def prune(model, ratio_target, global_pruning, shape):
    example = torch.randn(*shape)
    base_macs, base_params = tp.utils.count_ops_and_params(model, example)
    ignored = [model.m.classifier.low_classifier, model.m.classifier.high_classifier]
    steps = 20
    pruner = tp.pruner.MagnitudePruner(
        model, example, importance=tp.importance.MagnitudeImportance(p=1),
        iterative_steps=steps, pruning_ratio=0.9, global_pruning=global_pruning, ignored_layers=ignored)
    macs = base_macs
    for step in range(steps):
        pruner.step()
        macs, params = tp.utils.count_ops_and_params(model, example)
        log(f"prune step {step + 1}: MACs {macs / 1e9:.3f} G ({macs / base_macs:.3f}), params {params / 1e6:.3f} M")
        if macs <= ratio_target * base_macs:
            break
    return base_macs, base_params, macs, params


# MARK: - Fine-tune

def cwd_loss(student, teacher, tau=4.0):
    """Shu et al. 2021: per channel, softmax over the spatial positions; tau^2 KL summed over pixels, mean over N*C."""
    n, c = student.shape[:2]
    s = F.log_softmax(student.reshape(n, c, -1) / tau, dim=2)
    t = F.softmax(teacher.reshape(n, c, -1) / tau, dim=2)
    kl = (t * (torch.log(t.clamp_min(1e-12)) - s)).sum(2)
    return tau * tau * kl.sum() / (n * c)


def finetune(model, teacher, train, val, args, classes, state):
    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": args.wd}, {"params": no_decay, "weight_decay": 0.0}], lr=args.lr)
    steps_per_epoch = len(train) // args.batch
    if args.max_steps:
        steps_per_epoch = min(steps_per_epoch, args.max_steps)
    total = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, total) / total)))
    start = 0
    if state.get("ckpt"):
        opt.load_state_dict(state["ckpt"]["opt"])
        sched.load_state_dict(state["ckpt"]["sched"])
        start = state["ckpt"]["epoch"]
    history = state.setdefault("history", [])
    for epoch in range(start, args.epochs):
        rng = np.random.default_rng(args.seed + epoch)
        order = rng.permutation(len(train))
        model.train()
        for mod in model.modules():  # frozen running statistics, as ours by default
            if isinstance(mod, nn.BatchNorm2d):
                mod.eval()
        t0, losses = time.time(), []
        for step in range(steps_per_epoch):
            batch = [augment(*train[i], rng) for i in order[step * args.batch:(step + 1) * args.batch]]
            x = torch.from_numpy(np.stack([b[0] for b in batch]))
            y = torch.from_numpy(np.stack([b[1] for b in batch]).astype(np.int64))
            with torch.no_grad():
                t_out = teacher(x)
            out = model(x)
            loss = F.cross_entropy(out, y, ignore_index=IGNORE) + args.kd_weight * cwd_loss(out, t_out, args.tau)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step % 10 == 0:
                log(f"epoch {epoch + 1} step {step + 1}/{steps_per_epoch} loss {loss.item():.4f} lr {sched.get_last_lr()[0]:.2e}")
        train_s = time.time() - t0
        miou = evaluate(model, val, classes)
        eval_s = time.time() - t0 - train_s
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)), "valMIoU": miou, "trainSeconds": train_s, "evalSeconds": eval_s})
        log(f"epoch {epoch + 1}: loss {np.mean(losses):.4f} val mIoU {miou:.4f} (train {train_s:.0f} s, eval {eval_s:.0f} s)")
        if miou > state.get("best", -1):
            state["best"], state["best_epoch"] = miou, epoch + 1
            state["best_sd"] = {k: v.clone() for k, v in model.state_dict().items()}
        torch.save({"model": model, "opt": opt.state_dict(), "sched": sched.state_dict(), "epoch": epoch + 1,
                    "state": {k: v for k, v in state.items() if k != "ckpt"}}, args.checkpoint)
    return history


# MARK: - Report

def read_ours(path):
    with open(path) as f:
        rep = json.load(f)
    text = json.dumps(rep)
    return rep, text


def relative_paths(o):
    """Absolute paths in the results (our report records them) made relative to the repository."""
    if isinstance(o, dict):
        return {k: relative_paths(v) for k, v in o.items()}
    if isinstance(o, list):
        return [relative_paths(v) for v in o]
    if isinstance(o, str) and os.path.isabs(o):
        return os.path.relpath(o, ROOT)
    return o


def write_report(result, ours, args):
    date = datetime.date.today().isoformat()
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    base = os.path.join(HERE, "results", f"prune_finetune_vs_torch-{date}")
    with open(base + ".json", "w") as f:
        json.dump(relative_paths({"torch": result, "ours": ours}), f, indent=2)
    r = result
    rows = [("val mIoU, unpruned", f"{r['miouBefore']:.4f}"),
            ("val mIoU, pruned (no fine-tune)", f"{r['miouPruned']:.4f}"),
            ("val mIoU, fine-tuned best (epoch)", f"{r['miouBest']:.4f} ({r['bestEpoch']})"),
            ("val mIoU, fine-tuned last", f"{r['miouLast']:.4f}"),
            ("MACs ratio", f"{r['macsRatio']:.3f}"),
            ("params (M)", f"{r['paramsBefore'] / 1e6:.3f} -> {r['paramsAfter'] / 1e6:.3f}"),
            ("pruning wall time (s)", f"{r['pruneSeconds']:.1f}"),
            ("fine-tune wall time (s)", f"{r['finetuneSeconds']:.0f}"),
            ("epochs / threads", f"{r['epochs']} / {r['threads']}")]
    lines = [f"# Prune 50% MACs + fine-tune (CE + 3 x CWD): Torch-Pruning + PyTorch vs segslim ({date})", "",
             "| | Torch-Pruning + PyTorch | segslim |", "|---|---|---|"]
    theirs = ours_rows(ours)
    lines += [f"| {name} | {val} | {theirs.get(name, '-')} |" for name, val in rows]
    lines += ["", "Per-epoch val mIoU (PyTorch): " + ", ".join(f"{h['epoch']}: {h['valMIoU']:.4f}" for h in r["history"]), "",
              "Per-epoch val mIoU (segslim): " + theirs.get("per-epoch", "-"), "",
              f"Command: `{' '.join(sys.argv)}`", "",
              "Torch-Pruning uses a uniform per-layer ratio with the classifier outputs ignored; ours picks per-layer "
              "ratios from a sensitivity scan on the labelled split. BN running statistics frozen in both."]
    with open(base + ".md", "w") as f:
        f.write("\n".join(lines) + "\n")
    log(f"wrote {base}.md and .json")


def find_key(o, key):
    """The first dict under o (depth first) that has key: our report nests each step's details."""
    if isinstance(o, dict):
        if key in o:
            return o
        o = list(o.values())
    if isinstance(o, list):
        for v in o:
            hit = find_key(v, key)
            if hit is not None:
                return hit
    return None


def ours_rows(rep):
    """Our `segslim compress --json` report (CompressMethods / TrainingSetup.report) in this table's rows."""
    if not rep:
        return {}
    rep = rep.get("report", rep)  # the CLI's --json wraps the report: {id, output, path, report}
    ev = rep.get("evaluation", {})
    steps = rep.get("steps", [])
    ft = next((find_key(st.get("details"), "history") for st in steps if st.get("technique") == "finetune"), None) or find_key(rep, "history") or {}
    pr = next((st.get("details") for st in steps if st.get("technique") == "prune"), None) or {}
    hist = ft.get("history") or []
    fmt = lambda v: f"{v:.4f}" if isinstance(v, (int, float)) else "-"
    rows = {"val mIoU, unpruned": fmt(ev.get("before", {}).get("miou")),
            "val mIoU, fine-tuned last": fmt(hist[-1].get("valMiou")) if hist else "-",
            "fine-tune wall time (s)": f"{ft['durationMs'] / 1000:.0f}" if "durationMs" in ft else "-",
            "pruning wall time (s)": f"{pr['durationMs'] / 1000:.1f}" if isinstance(pr, dict) and "durationMs" in pr else "-"}
    if ft.get("bestValMiou") is not None:
        rows["val mIoU, fine-tuned best (epoch)"] = f"{ft['bestValMiou']:.4f} ({ft.get('bestEpoch')})"
    elif ev.get("after", {}).get("miou") is not None:
        rows["val mIoU, fine-tuned best (epoch)"] = fmt(ev["after"]["miou"]) + " (kept)"
    b, a = rep.get("before", {}), rep.get("after", {})
    if b.get("macs") and a.get("macs"):
        rows["MACs ratio"] = f"{a['macs'] / b['macs']:.3f}"
    if b.get("params") and a.get("params"):
        rows["params (M)"] = f"{b['params'] / 1e6:.3f} -> {a['params'] / 1e6:.3f}"
    if hist:
        rows["per-epoch"] = ", ".join(f"{h.get('epoch')}: {fmt(h.get('valMiou'))}" for h in hist)
    return rows


# MARK: - Main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.path.join(SHARED, "models", "lraspp_mbv3_camvid.bn.onnx"))
    ap.add_argument("--dataset", default=os.path.join(SHARED, "data", "camvid"))
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--max-steps", type=int, default=0, help="debug: at most this many steps per epoch")
    ap.add_argument("--max-val", type=int, default=0, help="debug: at most this many val images")
    ap.add_argument("--target-macs", type=float, default=0.5)
    ap.add_argument("--global-pruning", action="store_true")
    ap.add_argument("--lr", type=float, default=5e-4)
    ap.add_argument("--wd", type=float, default=1e-4)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--kd-weight", type=float, default=3.0)
    ap.add_argument("--tau", type=float, default=4.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--checkpoint", default="/tmp/prune_finetune_vs_torch.ckpt.pt")
    ap.add_argument("--resume", action="store_true", help="continue from --checkpoint")
    ap.add_argument("--ours", help="our `segslim compress ... --json` report to put beside")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with open(os.path.join(args.dataset, "dataset.json")) as f:
        meta = json.load(f)
    classes = meta.get("num_classes") or len(meta.get("classes") or meta.get("class_names"))
    train = [load_pair(*p) for p in read_list(args.dataset, "train")]
    val = [load_pair(*p) for p in read_list(args.dataset, "val")]
    if args.max_val:
        val = val[:args.max_val]
    log(f"{len(train)} train, {len(val)} val images, {classes} classes, {args.threads} thread(s)")

    teacher = Logits(load_model(args.model, classes)).eval()
    diff = verify_against_ort(teacher, args.model, val[0][0])
    log(f"PyTorch vs onnxruntime on val[0]: max |diff| {diff:.2e}")
    state = {}
    if args.resume:
        ck = torch.load(args.checkpoint, weights_only=False)
        model, state = ck["model"], ck["state"]
        state["ckpt"] = ck
        log(f"resumed after epoch {ck['epoch']}")
    else:
        model = Logits(load_model(args.model, classes))
        t0 = time.time()
        miou_before = evaluate(teacher, val, classes)
        log(f"unpruned val mIoU {miou_before:.4f}")
        t0 = time.time()
        base_macs, base_params, macs, params = prune(model, args.target_macs, args.global_pruning, (1, 3, 360, 480))
        prune_s = time.time() - t0
        miou_pruned = evaluate(model, val, classes)
        log(f"pruned val mIoU {miou_pruned:.4f}, MACs ratio {macs / base_macs:.3f}, pruning {prune_s:.1f} s")
        state.update(miouBefore=miou_before, miouPruned=miou_pruned, macsRatio=macs / base_macs, macsBefore=base_macs,
                     macsAfter=macs, paramsBefore=base_params, paramsAfter=params, pruneSeconds=prune_s, finetuneSeconds=0.0)
    for p in teacher.parameters():
        p.requires_grad_(False)
    history = finetune(model, teacher, train, val, args, classes, state)
    # Summed per epoch so a resumed run still reports the whole fine-tune.
    state["finetuneSeconds"] = sum(h["trainSeconds"] + h["evalSeconds"] for h in history)
    result = {k: v for k, v in state.items() if k not in ("ckpt", "best_sd", "best", "best_epoch")}
    result.update(miouBest=state["best"], bestEpoch=state["best_epoch"], miouLast=history[-1]["valMIoU"], history=history,
                  epochs=args.epochs, threads=args.threads, torchPruning=tp.__version__ if hasattr(tp, "__version__") else "1.6.0",
                  torch=torch.__version__, ortMaxDiff=diff)
    ours = read_ours(args.ours)[0] if args.ours else None
    write_report(result, ours, args)


if __name__ == "__main__":
    main()
