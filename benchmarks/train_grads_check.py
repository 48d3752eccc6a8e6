#!/usr/bin/env python3
"""One SGD step on a fixed random batch, PyTorch (tools/train/onnx_torch.py) against `segslim train`.

    swift build -c release
    tools/train/.venv/bin/python benchmarks/train_grads_check.py ../shared/models/lraspp_mbv3large_init.bn.onnx \
        [--input 2x3x64x64] [--seed 0] [--segslim .build/release/segslim]
    ... --simulate-ours     # no Swift binary: "ours" is onnx_torch in float32 (tests this script)
    ... --reference-only    # PyTorch half only
    ... --save-reference DIR  # also write the batch and the float64 reference (as float32 .npy/.npz) there

Reference: the whole model in float64, BN in training mode, cross-entropy over `out` (ignore 255,
mean over kept pixels); W1 = W0 − ∂loss/∂W0 for every trainable initializer (tools/train/README.md
gives the rule), BN running statistics updated by that forward.
Ours: `segslim train MODEL --inputs X.npy --labels Y.npy --optimizer sgd --lr 1 --momentum 0
--weight-decay 0 --steps 1 --out OUT.onnx --json` (stdout `{output, report}`); the updated values
are read from OUT.onnx by initializer name, the loss from the report.

Checks (each printed per tensor):
- loss: |ours − ref| ≤ 1e-4·|ref|;
- gradient, recovered as W0 − W1: max|g_ours − g_ref| ≤ 1e-3·max|g_ref| + one float32 ulp of max|W1|
  (the ulp covers storing W1 as float32; it is printed separately);
- updated weights: max|W1_ours − W1_ref| ≤ 1e-3·max|W1_ref|;
- BN running mean/var: max|ours − ref| ≤ 1e-3·max|ref|.
"max|ref|" has a floor of 1e-3 × the largest value of that kind in the whole model (gradients,
updated weights, running means, running vars): some tensors are zero up to float64 rounding by construction (the
bias of a BN whose output only feeds a 1×1 conv followed by a training-mode BN; the running mean
of a BN after a conv of zero-batch-mean channels), and a relative test of 1e-18-sized values
would only compare rounding noise. Rows where the floor applied are marked "floor".
Then (informational) ORT runs OUT.onnx in inference mode next to onnx_torch with the reference weights.
Exit status 0 when everything passes, 1 when a check fails, 2 when our side did not run.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools", "train"))
from onnx_torch import OnnxTorch, cross_entropy  # noqa: E402

IGNORE = 255
LOSS_TOL, GRAD_TOL, WEIGHT_TOL, STATE_TOL = 1e-4, 1e-3, 1e-3, 1e-3
FLOOR = 1e-3


def shape_arg(text):
    return [int(v) for v in text.lower().split("x")]


def num_classes(model, net, shape):
    dim = model.graph.output[0].type.tensor_type.shape.dim
    if len(dim) > 1 and dim[1].HasField("dim_value"):
        return dim[1].dim_value
    with torch.no_grad():
        return int(net.run({model.graph.input[0].name: np.zeros(shape, np.float32)})[0].shape[1])


def make_batch(model, shape, seed):
    net = OnnxTorch(model, dtype=torch.float32)
    classes = num_classes(model, net, [1] + shape[1:])
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, classes, [shape[0]] + shape[2:]).astype(np.uint8)
    y[rng.random(y.shape) < 0.1] = IGNORE
    return x, y


def sgd_step(model, x, y, dtype):
    """Loss, gradients, W − ∂loss/∂W and the BN running stats after the forward, computed in `dtype`."""
    net = OnnxTorch(model, dtype=dtype)
    w0 = {n: net.params[n].detach().double().clone() for n in net.trainable}
    logits = net.run({model.graph.input[0].name: x}, training=True)[0]
    loss = cross_entropy(logits, y)
    loss.backward()
    grads = {n: net.params[n].grad.detach().double() for n in net.trainable}
    return {
        "loss": float(loss.detach()), "trainable": list(net.trainable), "bnState": list(net.bn_state),
        "w0": {n: v.numpy() for n, v in w0.items()},
        "grads": {n: g.numpy() for n, g in grads.items()},
        "w1": {n: (w0[n] - grads[n]).numpy() for n in net.trainable},
        "state": {n: net.params[n].detach().double().numpy() for n in net.bn_state},
    }


def save_reference(folder, args, x, y, ref):
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, "X.npy"), x)
    np.save(os.path.join(folder, "Y.npy"), y)
    arrays = {f"{kind}/{n}": v.astype(np.float32) for kind, key in (("grad", "grads"), ("w1", "w1"), ("state", "state"))
              for n, v in ref[key].items()}
    np.savez(os.path.join(folder, "reference.npz"), **arrays)
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump({"model": os.path.abspath(args.model), "input": args.input, "seed": args.seed, "loss": ref["loss"],
                   "trainable": ref["trainable"], "bnState": ref["bnState"],
                   "npzKeys": "grad/<name> = dloss/dW, w1/<name> = W - dloss/dW, state/<name> = BN running stat "
                              "after the forward"}, f, indent=1)
    print(f"reference written to {folder}")


# ---------------------------------------------------------------------- our side

def run_ours(args, model_path, x, y, work):
    """Runs `segslim train` on the fixed batch; returns (updated initializers, report) or raises."""
    xs, ys, out = os.path.join(work, "X.npy"), os.path.join(work, "Y.npy"), os.path.join(work, "OUT.onnx")
    np.save(xs, x)
    np.save(ys, y)
    cmd = [args.segslim, "train", model_path, "--inputs", xs, "--labels", ys, "--optimizer", "sgd",
           "--lr", "1", "--momentum", "0", "--weight-decay", "0", "--steps", "1", "--out", out, "--json"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    print("ours:", " ".join(cmd))
    if not os.access(args.segslim, os.X_OK):
        raise RuntimeError(f"no executable at {args.segslim} (swift build -c release, or --segslim PATH)")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"segslim train exited {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    try:
        reply = json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"segslim train --json printed no JSON ({e}): {proc.stdout[-500:]!r}")
    path = reply.get("output") or out
    if not os.path.exists(path):
        raise RuntimeError(f"segslim reported output {path!r}, which does not exist")
    trained = onnx.load(path)
    values = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in trained.graph.initializer}
    return values, reply.get("report") or {}, path


def simulate_ours(model, x, y, work):
    """What segslim should produce, computed by onnx_torch in float32: an OUT.onnx and a report."""
    step = sgd_step(model, x, y, torch.float32)
    trained = onnx.ModelProto()
    trained.CopyFrom(model)
    new = {**step["w1"], **step["state"]}
    for init in trained.graph.initializer:
        if init.name in new:
            init.CopyFrom(numpy_helper.from_array(new[init.name].astype(np.float32), init.name))
    path = os.path.join(work, "OUT.onnx")
    onnx.save(trained, path)
    values = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in onnx.load(path).graph.initializer}
    return values, {"steps": 1, "history": [{"loss": step["loss"]}]}, path


def ort_check(model, out_path, ref, x):
    """ORT runs our OUT.onnx in inference mode; its output against the reference weights' (onnx_torch, float64)."""
    import onnxruntime as ort
    trained = onnx.ModelProto()
    trained.CopyFrom(model)
    new = {**ref["w1"], **ref["state"]}
    for init in trained.graph.initializer:
        if init.name in new:
            init.CopyFrom(numpy_helper.from_array(new[init.name].astype(np.float32), init.name))
    net = OnnxTorch(trained, dtype=torch.float64)
    name = model.graph.input[0].name
    with torch.no_grad():
        want = net.run({name: x}, training=False)[0].numpy()
    got = ort.InferenceSession(out_path, providers=["CPUExecutionProvider"]).run(None, {name: x})[0]
    if got.shape != want.shape:
        return f"ORT on our output model: shape {list(got.shape)} != {list(want.shape)}"
    rel = float(np.abs(got - want).max()) / max(float(np.abs(want).max()), 1e-30)
    return f"ORT on our output model (inference mode) vs the reference weights: max diff {rel:.2e} of max |out|"


def report_loss(report):
    """The step's loss from our report: the first of the keys the Swift side may use."""
    for key in ("loss", "initialLoss", "firstLoss"):
        if isinstance(report.get(key), (int, float)):
            return float(report[key]), f"report.{key}"
    for key in ("losses", "stepLosses"):
        if isinstance(report.get(key), list) and report[key]:
            return float(report[key][0]), f"report.{key}[0]"
    hist = report.get("history")
    if isinstance(hist, list) and hist and isinstance(hist[0], dict) and "loss" in hist[0]:
        return float(hist[0]["loss"]), "report.history[0].loss"
    return None, "absent"


# ---------------------------------------------------------------------- comparison

def compare(ref, ours, our_loss):
    rows, ok = [], True
    if our_loss is None:
        print("loss: ours absent from the report -> FAIL")
        ok = False
    else:
        rel = abs(our_loss - ref["loss"]) / abs(ref["loss"])
        ok &= rel <= LOSS_TOL
        print(f"loss: ref {ref['loss']:.8f}  ours {our_loss:.8f}  rel diff {rel:.2e}  "
              f"{'ok' if rel <= LOSS_TOL else 'FAIL'} (tol {LOSS_TOL})")
    gfloor = FLOOR * max(float(np.abs(g).max()) for g in ref["grads"].values())
    wfloor = FLOOR * max(float(np.abs(w).max()) for w in ref["w1"].values())
    sfloor = {kind: FLOOR * max((float(np.abs(v).max()) for n, v in ref["state"].items() if n.endswith(kind)),
                                default=0.0) for kind in ("mean", "var")}
    for name in ref["trainable"]:
        if name not in ours:
            rows.append((name, "param", "missing", "", "", "", "FAIL"))
            ok = False
            continue
        w1, g_ref = ours[name].reshape(ref["w1"][name].shape), ref["grads"][name]
        gmax, wmax = float(np.abs(g_ref).max()), float(np.abs(ref["w1"][name]).max())
        floor = gmax < gfloor or wmax < wfloor
        gmax, wmax = max(gmax, gfloor), max(wmax, wfloor)
        ulp = float(np.spacing(np.float32(wmax)))
        g_err = float(np.abs((ref["w0"][name] - w1) - g_ref).max())
        w_err = float(np.abs(w1 - ref["w1"][name]).max())
        good = g_err <= GRAD_TOL * gmax + ulp and w_err <= WEIGHT_TOL * wmax
        ok &= good
        rows.append((name, "param", f"{gmax:.3e}", f"{g_err / max(gmax, 1e-30):.2e}", f"{ulp / max(gmax, 1e-30):.1e}",
                     f"{w_err / max(wmax, 1e-30):.2e}", ("ok" if good else "FAIL") + (" floor" if floor else "")))
    for name in ref["bnState"]:
        if name not in ours:
            rows.append((name, "bn", "missing", "", "", "", "FAIL"))
            ok = False
            continue
        r = ref["state"][name]
        smax = float(np.abs(r).max())
        kind_floor = sfloor["mean" if name.endswith("mean") else "var"] if name.endswith(("mean", "var")) else 0.0
        floor = smax < kind_floor
        smax = max(smax, kind_floor)
        err = float(np.abs(ours[name].reshape(r.shape) - r).max())
        good = err <= STATE_TOL * max(smax, 1e-30)
        ok &= good
        rows.append((name, "bn", f"{smax:.3e}", "", "", f"{err / max(smax, 1e-30):.2e}",
                     ("ok" if good else "FAIL") + (" floor" if floor else "")))
    head = ("tensor", "kind", "max|ref|", "grad err/max", "ulp/max", "value err/max", "")
    width = max(len(r[0]) for r in rows + [head])
    print(f"{head[0]:<{width}} {head[1]:<5} {head[2]:>10} {head[3]:>12} {head[4]:>8} {head[5]:>13} {head[6]}")
    for r in rows:
        print(f"{r[0]:<{width}} {r[1]:<5} {r[2]:>10} {r[3]:>12} {r[4]:>8} {r[5]:>13} {r[6]}")
    bad = [r[0] for r in rows if not r[6].startswith("ok")]
    floored = sum(r[6].endswith("floor") for r in rows)
    grad_worst = max((float(r[3]) for r in rows if r[1] == "param" and r[3]), default=0.0)
    state_worst = max((float(r[5]) for r in rows if r[1] == "bn" and r[5]), default=0.0)
    print(f"{len(rows) - len(bad)}/{len(rows)} tensors within tolerance; worst gradient error "
          f"{grad_worst:.2e} of its max (tol {GRAD_TOL}), worst BN-state error {state_worst:.2e} (tol {STATE_TOL}); "
          f"{floored} rows measured against the floor")
    if bad:
        print("failing:", ", ".join(bad[:20]) + (" ..." if len(bad) > 20 else ""))
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("--input", type=shape_arg, default=[2, 3, 64, 64])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--segslim", default=os.path.join(ROOT, ".build", "release", "segslim"))
    ap.add_argument("--threads", type=int, default=0, help="passed to segslim train --threads when > 0")
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--work", help="folder for X.npy, Y.npy, OUT.onnx (default: a temporary one)")
    ap.add_argument("--save-reference", metavar="DIR",
                    help="also write X.npy, Y.npy, reference.json (loss, names) and reference.npz "
                         "(grad/<name>, w1/<name>, state/<name>, float32) there (not for committing: ~4x the model)")
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--simulate-ours", action="store_true", help="our side = onnx_torch in float32")
    group.add_argument("--reference-only", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(max(args.threads, 2))

    model = onnx.load(args.model)
    x, y = make_batch(model, args.input, args.seed)
    ref = sgd_step(model, x, y, torch.float64)
    nparams = sum(v.size for v in ref["w0"].values())
    print(f"model {os.path.basename(args.model)}, input {'x'.join(map(str, args.input))}, seed {args.seed}: "
          f"{len(ref['trainable'])} trainable tensors ({nparams} values), {len(ref['bnState'])} BN state tensors, "
          f"kept pixels {int((y != IGNORE).sum())}/{y.size}")
    print(f"reference (float64): loss {ref['loss']:.8f}")
    if args.save_reference:
        save_reference(args.save_reference, args, x, y, ref)
    if args.reference_only:
        return 0

    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or tmp
        os.makedirs(work, exist_ok=True)
        try:
            if args.simulate_ours:
                print("ours: simulated by onnx_torch in float32 (--simulate-ours)")
                ours, report, out_path = simulate_ours(model, x, y, work)
            else:
                ours, report, out_path = run_ours(args, os.path.abspath(args.model), x, y, work)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            print(f"our side did not run: {e}")
            return 2
        loss, where = report_loss(report)
        print(f"ours: loss from {where}")
        ok = compare(ref, ours, loss)
        try:
            print(ort_check(model, out_path, ref, x), "(informational)")
        except Exception as e:  # a model ORT cannot load is worth a line, not a traceback
            print(f"ORT could not run our output model: {e}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
