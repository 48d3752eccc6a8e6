#!/usr/bin/env python3
"""Writes the training reference fixtures in Tests/SegTrainTests/Fixtures/ (committed; the Swift
tests read them and never run Python).

    tools/train/.venv/bin/python tools/train/make_train_fixtures.py [--out DIR]

Two tiny opset-17 models built with onnx.helper (input `image` 2×3×16×16, output `out` 2×4×16×16
logits), each with a fixed batch and PyTorch's (tools/train/onnx_torch.py) loss, gradients and
one plain SGD step; model tiny_a also has two AdamW steps. Everything is computed in float64 from
the float32 model and inputs and stored as float32 (the loss as a JSON double). The layout and
every JSON key are described in manifest.json and tools/train/README.md.

Before writing, the script checks itself: the interpreter against ONNX Runtime in eval mode,
autograd against central finite differences (float64), and BatchNormalization training
semantics against torch.nn.BatchNorm2d.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import sys

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch import OnnxTorch, bn_state_names, check_against_ort, cross_entropy, trainable_names  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(ROOT, "Tests", "SegTrainTests", "Fixtures")
N, C, H, W, CLASSES = 2, 3, 16, 16, 4
IGNORE = 255
ADAMW = {"lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weightDecay": 1e-2, "steps": 2}


class Builder:
    """Collects nodes and seeded float32 initializers for a helper-built graph."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes, self.inits = [], []
        self.count = 0

    def init(self, name, array):
        self.inits.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    def weight(self, name, shape, fan_in=None):
        fan_in = fan_in or int(np.prod(shape[1:]))
        return self.init(name, (self.rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32))

    def vec(self, name, n, center=0.0, spread=0.2):
        return self.init(name, (center + spread * self.rng.standard_normal(n)).astype(np.float32))

    def ints(self, name, values):
        return self.init(name, np.asarray(values, dtype=np.int64))

    def node(self, op, inputs, outputs=None, **attrs):
        self.count += 1
        outputs = outputs or [f"{op.lower()}_{self.count}"]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=f"{op}_{self.count}", **attrs))
        return outputs[0] if len(outputs) == 1 else outputs

    def bn(self, x, prefix, ch, momentum=None, eps=1e-3):
        # Non-trivial running stats, scale and bias so the update formula and gradients are all visible.
        args = [x, self.vec(f"{prefix}.weight", ch, 1.0, 0.2), self.vec(f"{prefix}.bias", ch, 0.0, 0.2),
                self.vec(f"{prefix}.running_mean", ch, 0.0, 0.3),
                self.init(f"{prefix}.running_var", (0.5 + self.rng.random(ch)).astype(np.float32))]
        attrs = {"epsilon": eps}
        if momentum is not None:
            attrs["momentum"] = momentum
        return self.node("BatchNormalization", args, **attrs)

    def model(self, name, doc):
        graph = helper.make_graph(
            self.nodes, name,
            [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", C, "H", "W"])],
            [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["N", CLASSES, "H", "W"])],
            self.inits)
        m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="make_train_fixtures")
        m.ir_version = 8
        m.doc_string = doc
        onnx.checker.check_model(m, full_check=True)
        return m


def model_a():
    """MobileNetV3/LRASPP-like: strided, depthwise, dilated and 1×1 convs, BN, SE, residual, Resize, Concat."""
    b = Builder(1)
    s0 = b.node("Conv", ["image", b.weight("stem.weight", [8, 3, 3, 3])], strides=[2, 2], pads=[1, 1, 1, 1])
    s0 = b.node("HardSwish", [b.bn(s0, "stem.bn", 8, momentum=0.99)])                      # 2×8×8×8
    d1 = b.node("Conv", [s0, b.weight("dw.weight", [8, 1, 3, 3])], group=8, pads=[1, 1, 1, 1])
    d1 = b.node("Relu", [b.bn(d1, "dw.bn", 8)])                                          # default momentum 0.9
    g = b.node("GlobalAveragePool", [d1])
    g = b.node("Conv", [g, b.weight("se.fc1.weight", [4, 8, 1, 1]), b.vec("se.fc1.bias", 4, 0.1, 0.1)])
    g = b.node("Relu", [g])
    g = b.node("Conv", [g, b.weight("se.fc2.weight", [8, 4, 1, 1]), b.vec("se.fc2.bias", 8, 0.0, 0.3)])
    g = b.node("HardSigmoid", [g], alpha=1.0 / 6.0, beta=0.5)
    e1 = b.node("Mul", [d1, g])
    p1 = b.node("Conv", [e1, b.weight("pw.weight", [8, 8, 1, 1])])
    r1 = b.node("Add", [s0, b.bn(p1, "pw.bn", 8, momentum=0.99, eps=1e-5)])               # residual
    h = b.node("Conv", [r1, b.weight("head.dil.weight", [8, 8, 3, 3])], dilations=[2, 2], pads=[2, 2, 2, 2])
    h = b.node("Relu", [b.bn(h, "head.bn", 8, momentum=0.99)])
    s = b.node("GlobalAveragePool", [r1])
    s = b.node("Conv", [s, b.weight("head.scale.weight", [8, 8, 1, 1]), b.vec("head.scale.bias", 8)])
    m = b.node("Mul", [h, b.node("Sigmoid", [s])])                                       # 2×8×8×8
    # Output size from the input's runtime shape, as torch.onnx exports F.interpolate(size=...).
    nc = b.node("Slice", [b.node("Shape", [m]), b.ints("c0", [0]), b.ints("c2", [2]), b.ints("c0b", [0])])
    hw = b.node("Slice", [b.node("Shape", ["image"]), b.ints("c2b", [2]), b.ints("c4", [4]), b.ints("c0c", [0])])
    size = b.node("Concat", [nc, hw], axis=0)
    up = b.node("Resize", [m, "", "", size], mode="linear", coordinate_transformation_mode="half_pixel")
    low = b.node("Conv", ["image", b.weight("low.weight", [4, 3, 1, 1]), b.vec("low.bias", 4)])
    cat = b.node("Concat", [up, low], axis=1)                                            # 2×12×16×16
    b.node("Conv", [cat, b.weight("cls.weight", [CLASSES, 12, 1, 1]), b.vec("cls.bias", CLASSES)], ["out"])
    return b.model("tiny_a", model_a.__doc__)


def model_b():
    """The other ops: Pad, MaxPool, AveragePool, Split, Clip, Tanh, Erf (GELU), Sub/Div broadcast,
    ReduceMean, Unsqueeze, Transpose, LayerNormalization, MatMul, Flatten, Gemm, Softmax, Reshape,
    Slice (channel range and a negative-step flip), ConvTranspose."""
    b = Builder(2)
    f32 = lambda name, v: b.init(name, np.asarray(v, dtype=np.float32))  # noqa: E731
    x = b.node("Pad", ["image", b.ints("pads", [0, 0, 1, 1, 0, 0, 1, 1]), f32("pad_value", 0.0)], mode="constant")
    x = b.node("Conv", [x, b.weight("c1.weight", [8, 3, 3, 3]), b.vec("c1.bias", 8)])   # 2×8×16×16
    x = b.node("LeakyRelu", [x], alpha=0.1)
    p = b.node("MaxPool", [x], kernel_shape=[2, 2], strides=[2, 2])                      # 2×8×8×8
    pa, pb = b.node("Split", [p, b.ints("split", [4, 4])], ["split_a", "split_b"], axis=1)
    ca = b.node("Clip", [pa, f32("clip_min", -0.6), f32("clip_max", 0.6)])
    mean = b.node("Unsqueeze", [b.node("ReduceMean", [ca], axes=[2, 3], keepdims=0), b.ints("hw_axes", [2, 3])])
    centered = b.node("Sub", [ca, mean])
    tb = b.node("Tanh", [pb])
    erf = b.node("Erf", [b.node("Div", [tb, f32("sqrt2", math.sqrt(2.0))])])
    gelu = b.node("Mul", [b.node("Mul", [tb, b.node("Add", [erf, f32("one", 1.0)])]), f32("half", 0.5)])
    q = b.node("Concat", [centered, gelu], axis=1)                                      # 2×8×8×8
    t = b.node("Transpose", [q], perm=[0, 2, 3, 1])
    t = b.node("LayerNormalization", [t, b.vec("ln.weight", 8, 1.0, 0.2), b.vec("ln.bias", 8, 0.0, 0.2)],
               axis=-1, epsilon=1e-5)
    t = b.node("MatMul", [t, b.weight("mix.weight", [8, 8], fan_in=8)])
    t = b.node("Transpose", [t], perm=[0, 3, 1, 2])
    t = b.node("Div", [t, f32("channel_scale", (0.5 + np.arange(8) / 8.0).reshape(1, 8, 1, 1))])
    a = b.node("AveragePool", [t], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=0)
    a = b.node("Gemm", [b.node("Flatten", [a], axis=1), b.weight("fc.weight", [8, 128]), b.vec("fc.bias", 8)],
               transB=1, alpha=0.5)
    a = b.node("Reshape", [b.node("Softmax", [a], axis=1), b.ints("gate_shape", [0, 8, 1, 1])])
    u = b.node("Mul", [t, a])
    v = b.node("Slice", [u, b.ints("s_start", [0]), b.ints("s_end", [6]), b.ints("s_axis", [1])])
    vf = b.node("Slice", [v, b.ints("f_start", [-1]), b.ints("f_end", [-(2 ** 63) + 1]), b.ints("f_axis", [3]),
                          b.ints("f_step", [-1])])
    v = b.node("Add", [v, b.node("Mul", [vf, f32("flip_weight", 0.5)])])
    b.node("ConvTranspose", [v, b.weight("up.weight", [6, CLASSES, 4, 4], fan_in=24), b.vec("up.bias", CLASSES)],
           ["out"], strides=[2, 2], pads=[1, 1, 1, 1])
    return b.model("tiny_b", model_b.__doc__)


# ---------------------------------------------------------------------- references

def batch(seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W)).astype(np.float32)
    y = rng.integers(0, CLASSES, (N, H, W)).astype(np.uint8)
    y[rng.random((N, H, W)) < 0.1] = IGNORE
    y[0, 0, :4] = IGNORE  # a few for sure
    return x, y


def loss_and_grads(net, x, y):
    net.zero_grad()
    logits = net.run({"image": x}, training=True)[0]
    loss = cross_entropy(logits, y)
    loss.backward()
    return loss, logits, {n: net.params[n].grad.detach().clone() for n in net.trainable}


def finite_difference_check(model, x, y, probes=3, eps=1e-6):
    """Autograd gradients against central differences in float64, a few entries per parameter."""
    net = OnnxTorch(model, dtype=torch.float64)
    state = {n: net.params[n].clone() for n in net.bn_state}
    _, _, grads = loss_and_grads(net, x, y)
    rng = np.random.default_rng(0)
    worst = 0.0
    for name in net.trainable:
        p = net.params[name]
        for flat in rng.choice(p.numel(), size=min(probes, p.numel()), replace=False):
            vals = []
            for sign in (1, -1):
                with torch.no_grad():
                    p.view(-1)[flat] += sign * eps
                    net.params.update({k: v.clone() for k, v in state.items()})
                    vals.append(float(cross_entropy(net.run({"image": x}, training=True)[0], y)))
                    p.view(-1)[flat] -= sign * eps
            fd = (vals[0] - vals[1]) / (2 * eps)
            g = float(grads[name].view(-1)[flat])
            worst = max(worst, abs(fd - g) / max(float(grads[name].abs().max()), 1e-12))
    return worst


def bn_semantics_check():
    """Conv → BN (training mode) through the interpreter against torch.nn: output, grads, running stats."""
    b = Builder(3)
    y = b.bn(b.node("Conv", ["image", b.weight("w", [5, 3, 3, 3])], pads=[1, 1, 1, 1]), "bn", 5, momentum=0.95)
    b.nodes[-1].output[0] = "out"
    graph = helper.make_graph(b.nodes, "bn", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [2, 3, 6, 6])],
                              [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)], b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    del y
    init = {i.name: torch.from_numpy(numpy_helper.to_array(i).astype(np.float64)) for i in model.graph.initializer}
    conv = torch.nn.Conv2d(3, 5, 3, padding=1, bias=False).double()
    bn = torch.nn.BatchNorm2d(5, eps=1e-3, momentum=1 - 0.95).double().train()
    with torch.no_grad():
        conv.weight.copy_(init["w"])
        bn.weight.copy_(init["bn.weight"]); bn.bias.copy_(init["bn.bias"])
        bn.running_mean.copy_(init["bn.running_mean"]); bn.running_var.copy_(init["bn.running_var"])
    x = torch.from_numpy(np.random.default_rng(5).standard_normal((2, 3, 6, 6)))
    ref = bn(conv(x))
    (ref ** 2).sum().backward()
    net = OnnxTorch(model, dtype=torch.float64)
    out = net.run({"image": x}, training=True)[0]
    (out ** 2).sum().backward()
    diffs = [(out - ref).abs().max(), (net.params["w"].grad - conv.weight.grad).abs().max(),
             (net.params["bn.weight"].grad - bn.weight.grad).abs().max(),
             (net.params["bn.running_mean"] - bn.running_mean).abs().max(),
             (net.params["bn.running_var"] - bn.running_var).abs().max()]
    return float(max(diffs))


def snapshot(net, names):
    return {n: net.params[n].detach().numpy().astype(np.float32) for n in names}


def fname(name):
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".npy"


class Writer:
    """Saves arrays under one model's folder and records every file for the manifest."""

    def __init__(self, root, model_dir):
        self.root, self.model_dir, self.files = root, model_dir, []

    def npy(self, rel, array, description):
        path = os.path.join(self.root, self.model_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        np.save(path, array)
        self.files.append({"path": f"{self.model_dir}/{rel}", "description": description,
                           "dtype": str(array.dtype), "shape": list(array.shape)})
        return rel

    def json(self, rel, obj, description):
        path = os.path.join(self.root, self.model_dir, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            json.dump(obj, f, indent=1, sort_keys=False)
            f.write("\n")
        self.files.append({"path": f"{self.model_dir}/{rel}", "description": description})
        return rel

    def params(self, folder, arrays, what):
        return {n: self.npy(f"{folder}/{fname(n)}", a, f"{n} {what}") for n, a in arrays.items()}


def write_model(root, key, model, seed, with_adamw):
    wr = Writer(root, key)
    os.makedirs(os.path.join(root, key), exist_ok=True)
    onnx.save(model, os.path.join(root, key, "model.onnx"))
    wr.files.append({"path": f"{key}/model.onnx", "description": model.doc_string.split("\n")[0]})
    x, y = batch(seed)
    trainable, state = trainable_names(model), bn_state_names(model)

    net = OnnxTorch(model, dtype=torch.float64)
    with torch.no_grad():
        logits_eval = net.run({"image": x}, training=False)[0]
    loss, logits, grads = loss_and_grads(net, x, y)
    sgd_params = {n: (net.params[n].detach() - grads[n]).numpy().astype(np.float32) for n in trainable}
    sgd_state = snapshot(net, state)

    wr.npy("inputs.npy", x, "input `image`, float32 N×C×H×W")
    wr.npy("labels.npy", y, f"labels, uint8 N×H×W, {IGNORE} = ignore")
    wr.npy("logits_eval.npy", logits_eval.numpy().astype(np.float32),
           "output `out` in inference mode (BN running stats of model.onnx)")
    wr.npy("logits_train.npy", logits.detach().numpy().astype(np.float32),
           "output `out` in training mode (BN batch statistics), the logits the loss is taken on")
    grad_files = wr.params("grads", {n: g.numpy().astype(np.float32) for n, g in grads.items()}, "∂loss/∂param")
    kept = int((y != IGNORE).sum())
    wr.json("loss.json", {
        "loss": float(loss.detach()), "pixels": int(y.size), "keptPixels": kept, "ignoreIndex": IGNORE,
        "trainable": trainable, "bnState": state, "gradients": grad_files,
        "gradientMaxAbs": {n: float(g.abs().max()) for n, g in grads.items()},
    }, "loss on the fixed batch (training-mode forward) and gradient file per trainable initializer")
    wr.json("sgd_step/step.json", {
        "optimizer": {"name": "sgd", "lr": 1.0, "momentum": 0.0, "weightDecay": 0.0}, "steps": 1,
        "lossBeforeStep": float(loss.detach()),
        "params": wr.params("sgd_step/params", sgd_params, "after one SGD step (W − ∂loss/∂W)"),
        "bnState": wr.params("sgd_step/bn_state", sgd_state, "running stat after that step's forward"),
    }, "one plain SGD step: updated trainable initializers and BN running statistics")

    summary = {"lossValue": float(loss.detach()), "trainableTensors": len(trainable),
               "trainableValues": int(sum(net.params[n].numel() for n in trainable))}
    if with_adamw:
        net = OnnxTorch(model, dtype=torch.float64)
        opt = torch.optim.AdamW(net.trainable_params(), lr=ADAMW["lr"], betas=tuple(ADAMW["betas"]),
                                eps=ADAMW["eps"], weight_decay=ADAMW["weightDecay"])
        steps = []
        for step in range(1, ADAMW["steps"] + 1):
            opt.zero_grad()
            step_loss = cross_entropy(net.run({"image": x}, training=True)[0], y)
            step_loss.backward()
            opt.step()
            steps.append({
                "step": step, "lossBeforeStep": float(step_loss.detach()),
                "params": wr.params(f"adamw/step{step}/params", snapshot(net, trainable), f"after AdamW step {step}"),
                "bnState": wr.params(f"adamw/step{step}/bn_state", snapshot(net, state),
                                     f"running stat after AdamW step {step}'s forward"),
            })
        wr.json("adamw/adamw.json", {
            "optimizer": {"name": "adamw", **{k: v for k, v in ADAMW.items() if k != "steps"},
                          "semantics": "PyTorch AdamW: p -= lr*wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2; "
                                       "p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps); weight decay on "
                                       "every trainable parameter (norms and biases included); same batch each step"},
            "steps": steps,
        }, "AdamW steps on the fixed batch: updated trainable initializers and BN running statistics per step")
        summary["adamwLosses"] = [s["lossBeforeStep"] for s in steps]
    return wr.files, summary, x, y


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    torch.set_num_threads(2)
    torch.manual_seed(0)

    print(f"BN training semantics vs torch.nn.BatchNorm2d: max diff {bn_semantics_check():.2e}")
    models = {"tiny_a": (model_a(), 10, True), "tiny_b": (model_b(), 20, False)}
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    os.makedirs(args.out)
    manifest = {
        "generator": "tools/train/make_train_fixtures.py (regenerate with tools/train/.venv/bin/python)",
        "torch": torch.__version__, "onnx": onnx.__version__,
        "conventions": {
            "precision": "references computed in float64 from the float32 model and inputs, stored as float32",
            "loss": f"cross-entropy over output `out` (N×C×H×W logits) vs labels N×H×W, ignore index {IGNORE}, "
                    "mean over non-ignored pixels",
            "trainable": "float initializers used as input 1 or 2 of Conv/ConvTranspose/Gemm, input 1 of MatMul, "
                         "input 1 and 2 of BatchNormalization/LayerNormalization",
            "batchNorm": "training mode: batch mean and population variance; running = m*running + (1-m)*batch "
                         "with m the node's momentum attribute (default 0.9), running_var from the unbiased "
                         "(n/(n-1)) batch variance",
            "paths": "relative to this folder; file maps inside loss.json/step.json/adamw.json are relative "
                     "to the model's folder",
        },
        "models": {},
    }
    for key, (model, seed, adamw) in models.items():
        files, summary, x, y = write_model(args.out, key, model, seed, adamw)
        fd = finite_difference_check(model, x, y)
        rows = check_against_ort(os.path.join(args.out, key, "model.onnx"), [N, C, H, W])
        manifest["models"][key] = {
            "model": f"{key}/model.onnx", "input": "image", "output": "out",
            "inputs": f"{key}/inputs.npy", "labels": f"{key}/labels.npy",
            "loss": f"{key}/loss.json", "sgdStep": f"{key}/sgd_step/step.json",
            "adamw": f"{key}/adamw/adamw.json" if adamw else None,
            "ops": sorted({n.op_type for n in model.graph.node}),
            **summary, "files": files,
        }
        print(f"{key}: loss {summary['lossValue']:.6f}, {summary['trainableTensors']} trainable tensors "
              f"({summary['trainableValues']} values), finite differences vs autograd (rel. to max |grad|) "
              f"{fd:.2e}, eval vs ORT max abs diff {rows[0][1]:.2e}")
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(args.out) for f in fs)
    print(f"wrote {args.out} ({total / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
