#!/usr/bin/env python3
"""Training-step speed and peak memory: PyTorch eager on CPU against `segslim train`, one run.

    swift build -c release
    tools/train/.venv/bin/python benchmarks/train_vs_torch.py [MODEL.onnx] [--threads 1 2] [--steps 10]
        [--warmup 3] [--batch 8] [--crop 240x320] [--dataset ../shared/data/camvid] [--segslim PATH]
        [--rounds R] [--skip-ours] [--json-out FILE]

One optimizer step = forward, cross-entropy (ignore 255), backward, AdamW update (lr 2e-3, weight
decay 1e-4 unless told otherwise). Every configuration runs in a process of its own; its peak RSS
is that process's ru_maxrss (os.wait4), so imports and the model count on both sides alike.

PyTorch yardsticks (the same random batch of `--batch` crops, seeded):
- `onnx_torch`: the ONNX model itself run by tools/train/onnx_torch.py (torch ops, autograd, BN in
  training mode), i.e. exactly the graph segslim trains;
- `torchvision`: torchvision's lraspp_mobilenet_v3_large(num_classes=11), when torchvision is
  installed (the network the shared LRASPP models were exported from; native nn.Modules, no
  interpreter).
ms per step is the median over `--steps` timed steps after `--warmup` steps (with `--rounds R`, every
configuration runs R times, interleaved, and the median of the R medians is reported; peak RSS is
the largest of the R).
Ours: `segslim train MODEL --steps W+N --batch B --crop HxW --dataset DIR --threads T --optimizer adamw
--lr X --weight-decay X --out OUT.onnx --json`, reading `report.stepMsP50` (absent → "n/a").
Ratios are ours / PyTorch (below 1.0: we are faster or smaller).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = os.path.join(ROOT, "..", "shared", "models", "lraspp_mbv3large_init.bn.onnx")
DEFAULT_DATASET = os.path.join(ROOT, "..", "shared", "data", "camvid")


def crop_arg(text):
    h, w = text.lower().split("x")
    return int(h), int(w)


# ---------------------------------------------------------------------- child: one PyTorch configuration

def child(args):
    import numpy as np
    import torch
    torch.set_num_threads(args.threads[0])
    torch.set_num_interop_threads(1)
    torch.manual_seed(args.seed)
    h, w = args.crop
    rng = np.random.default_rng(args.seed)
    x = torch.from_numpy(rng.standard_normal((args.batch, 3, h, w)).astype(np.float32))
    y = rng.integers(0, args.classes, (args.batch, h, w))
    y[rng.random(y.shape) < 0.1] = 255
    y = torch.from_numpy(y)
    if args.child == "onnx_torch":
        sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
        from onnx_torch import OnnxTorch
        net = OnnxTorch(args.model, dtype=torch.float32)
        params = net.trainable_params()
        name = net.graph.input[0].name
        forward = lambda: net.run({name: x}, training=True)[0]  # noqa: E731
    else:
        from torchvision.models.segmentation import lraspp_mobilenet_v3_large
        model = lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=args.classes).train()
        params = [p for p in model.parameters() if p.requires_grad]
        forward = lambda: model(x)["out"]  # noqa: E731
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=args.weight_decay)
    times, losses = [], []
    for i in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = torch.nn.functional.cross_entropy(forward(), y, ignore_index=255)
        loss.backward()
        opt.step()
        dt = (time.perf_counter() - t0) * 1000.0
        losses.append(float(loss.detach()))
        if i >= args.warmup:
            times.append(dt)
    import resource
    print(json.dumps({"stepMs": times, "stepMsP50": statistics.median(times), "losses": losses,
                      "selfMaxRssMB": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                      "torch": torch.__version__, "parameters": int(sum(p.numel() for p in params))}))
    return 0


# ---------------------------------------------------------------------- parent

def run_measured(cmd, timeout):
    """Runs cmd, returns (returncode, stdout, stderr, peak RSS in MB of that process)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return proc.returncode, out.read(), err.read(), usage.ru_maxrss / 1024.0


def torch_config(args, engine, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--child", engine, "--threads", str(threads),
           "--model", args.model, "--steps", str(args.steps), "--warmup", str(args.warmup),
           "--batch", str(args.batch), "--crop", f"{args.crop[0]}x{args.crop[1]}", "--lr", str(args.lr),
           "--weight-decay", str(args.weight_decay), "--classes", str(args.classes), "--seed", str(args.seed)]
    rc, out, err, rss = run_measured(cmd, args.timeout)
    if rc != 0:
        return {"error": f"exit {rc}: {err.strip()[-400:]}"}
    result = json.loads(out.strip().splitlines()[-1])
    result["peakRssMB"] = rss
    return result


def ours_config(args, threads):
    if not os.access(args.segslim, os.X_OK):
        return {"error": f"no executable at {args.segslim}"}
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [args.segslim, "train", args.model, "--steps", str(args.warmup + args.steps), "--batch", str(args.batch),
               "--crop", f"{args.crop[0]}x{args.crop[1]}", "--dataset", args.dataset, "--threads", str(threads),
               "--optimizer", "adamw", "--lr", str(args.lr), "--weight-decay", str(args.weight_decay),
               "--seed", str(args.seed), "--out", os.path.join(tmp, "OUT.onnx"), "--json"]
        rc, out, err, rss = run_measured(cmd, args.timeout)
    if rc != 0:
        return {"error": f"exit {rc}: {err.strip()[-400:]}", "peakRssMB": rss}
    try:
        report = json.loads(out).get("report") or {}
    except json.JSONDecodeError:
        return {"error": f"no JSON on stdout: {out[-300:]!r}", "peakRssMB": rss}
    p50 = report.get("stepMsP50")
    return {"stepMsP50": p50 if isinstance(p50, (int, float)) else None, "peakRssMB": rss, "report": report}


def have_torchvision():
    try:
        import torchvision.models.segmentation  # noqa: F401
        return True
    except Exception:
        return False


def fmt(v, spec):
    return format(v, spec) if isinstance(v, (int, float)) else "n/a"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", nargs="?", default=DEFAULT_MODEL)
    ap.add_argument("--model", dest="model_opt", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=10, help="timed steps")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=1, help="repeat every configuration; report the median p50")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--crop", type=crop_arg, default=(240, 320))
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--classes", type=int, default=11)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dataset", default=DEFAULT_DATASET)
    ap.add_argument("--segslim", default=os.path.join(ROOT, ".build", "release", "segslim"))
    ap.add_argument("--skip-ours", action="store_true")
    ap.add_argument("--skip-torchvision", action="store_true")
    ap.add_argument("--timeout", type=int, default=3600)
    ap.add_argument("--json-out")
    ap.add_argument("--child", choices=["onnx_torch", "torchvision"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.model = os.path.abspath(args.model_opt or args.model)
    if args.child:
        return child(args)

    engines = ["onnx_torch"] + (["torchvision"] if not args.skip_torchvision and have_torchvision() else [])
    if "torchvision" not in engines:
        print("torchvision: not used (" + ("--skip-torchvision" if args.skip_torchvision else "not installed") + ")")
    print(f"model {os.path.basename(args.model)}, batch {args.batch}, crop {args.crop[0]}x{args.crop[1]}, AdamW "
          f"lr {args.lr} wd {args.weight_decay}, {args.warmup} warm-up + {args.steps} timed steps")
    names = engines + ([] if args.skip_ours else ["segslim"])
    runs = {(t, e): [] for t in args.threads for e in names}
    # Rounds alternate over every configuration so machine noise hits all of them alike.
    for rnd in range(args.rounds):
        for threads in args.threads:
            for engine in names:
                r = ours_config(args, threads) if engine == "segslim" else torch_config(args, engine, threads)
                runs[(threads, engine)].append(r)
                print(f"  round {rnd + 1} threads {threads} {engine:<12} " + (r["error"] if "error" in r else
                      f"p50 {fmt(r.get('stepMsP50'), '.0f')} ms/step, peak RSS {r['peakRssMB']:.0f} MB"), flush=True)
    results = []
    for threads in args.threads:
        row = {"threads": threads}
        for engine in names:
            good = [r for r in runs[(threads, engine)] if "error" not in r]
            p50s = [r["stepMsP50"] for r in good if isinstance(r.get("stepMsP50"), (int, float))]
            row[engine] = {"stepMsP50": statistics.median(p50s) if p50s else None,
                           "peakRssMB": max((r["peakRssMB"] for r in good), default=None), "runs": runs[(threads, engine)]}
        results.append(row)

    print()
    head = f"{'threads':>7} {'engine':<12} {'ms/step p50':>12} {'peak RSS MB':>12}"
    if not args.skip_ours:
        head += f" {'ours/this time':>15} {'ours/this RSS':>14}"
    print(head)
    for row in results:
        ours = row.get("segslim", {})
        for engine in engines + ([] if args.skip_ours else ["segslim"]):
            r = row[engine]
            line = f"{row['threads']:>7} {engine:<12} {fmt(r.get('stepMsP50'), '12.0f'):>12} " \
                   f"{fmt(r.get('peakRssMB'), '12.0f'):>12}"
            if not args.skip_ours and engine != "segslim":
                t = ours.get("stepMsP50")
                m = ours.get("peakRssMB")
                line += f" {fmt(t / r['stepMsP50'] if t and r.get('stepMsP50') else None, '15.2f'):>15}"
                line += f" {fmt(m / r['peakRssMB'] if m and r.get('peakRssMB') else None, '14.2f'):>14}"
            print(line)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump({"model": args.model, "batch": args.batch, "crop": list(args.crop), "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
