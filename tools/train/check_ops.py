#!/usr/bin/env python3
"""One-node graphs for every op variant onnx_torch.py implements, run by the interpreter and by
ONNX Runtime (eval mode, float32); prints the max abs diff per case and fails above 1e-5·scale.
Also checks each case's input gradient against float64 central differences (a few probes).

    tools/train/.venv/bin/python tools/train/check_ops.py
"""
from __future__ import annotations

import math
import os
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch import OnnxTorch  # noqa: E402

R = np.random.default_rng(0)


def f32(*shape):
    return R.standard_normal(shape).astype(np.float32)


def i64(values):
    return np.asarray(values, dtype=np.int64)


# (label, op, input shape, constant inputs (None = omitted optional input), attributes)
CASES = [
    ("Conv stride2 pad1", "Conv", (2, 3, 9, 9), [f32(4, 3, 3, 3), f32(4)], dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    ("Conv asym pads", "Conv", (1, 3, 8, 8), [f32(4, 3, 3, 3)], dict(pads=[0, 1, 2, 1])),
    ("Conv depthwise dil2", "Conv", (1, 4, 9, 9), [f32(4, 1, 3, 3)], dict(group=4, dilations=[2, 2], pads=[2, 2, 2, 2])),
    ("Conv SAME_UPPER s2", "Conv", (1, 2, 7, 8), [f32(3, 2, 3, 3)], dict(auto_pad="SAME_UPPER", strides=[2, 2])),
    ("ConvTranspose k4 s2 p1", "ConvTranspose", (1, 4, 5, 5), [f32(4, 3, 4, 4), f32(3)], dict(strides=[2, 2], pads=[1, 1, 1, 1])),
    ("ConvTranspose asym op", "ConvTranspose", (1, 4, 5, 5), [f32(4, 3, 3, 3)],
     dict(strides=[2, 2], pads=[0, 1, 1, 0], output_padding=[1, 1])),
    ("ConvTranspose group2", "ConvTranspose", (1, 4, 4, 4), [f32(4, 2, 3, 3)], dict(group=2, strides=[2, 2])),
    ("BatchNormalization", "BatchNormalization", (2, 3, 4, 4),
     [f32(3), f32(3), f32(3), (np.abs(f32(3)) + 0.5)], dict(epsilon=1e-3)),
    ("LayerNormalization", "LayerNormalization", (2, 5, 6), [f32(6), f32(6)], dict(axis=-1)),
    ("HardSwish", "HardSwish", (2, 3, 4, 4), [], {}),
    ("HardSigmoid", "HardSigmoid", (2, 3, 4, 4), [], dict(alpha=1 / 6, beta=0.5)),
    ("LeakyRelu", "LeakyRelu", (2, 3, 4, 4), [], dict(alpha=0.1)),
    ("Clip", "Clip", (2, 3, 4, 4), [np.float32(-0.5), np.float32(0.7)], {}),
    ("Clip max only", "Clip", (2, 3, 4, 4), [None, np.float32(0.0)], {}),
    ("Erf", "Erf", (2, 3, 4), [], {}),
    ("Softmax axis1", "Softmax", (2, 5, 3), [], dict(axis=1)),
    ("Sub bcast", "Sub", (2, 3, 4, 4), [f32(3, 1, 1)], {}),
    ("Div bcast", "Div", (2, 3, 4, 4), [np.abs(f32(1, 3, 1, 4)) + 0.5], {}),
    ("MaxPool k3 s2 p1", "MaxPool", (1, 2, 9, 9), [], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("MaxPool ceil", "MaxPool", (1, 2, 8, 8), [], dict(kernel_shape=[3, 3], strides=[2, 2], ceil_mode=1)),
    ("MaxPool asym", "MaxPool", (1, 2, 8, 8), [], dict(kernel_shape=[2, 2], pads=[0, 0, 1, 1])),
    ("AveragePool excl pad", "AveragePool", (1, 2, 9, 9), [], dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])),
    ("AveragePool incl pad", "AveragePool", (1, 2, 9, 9), [],
     dict(kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1], count_include_pad=1)),
    ("AveragePool asym", "AveragePool", (1, 2, 8, 8), [], dict(kernel_shape=[3, 3], pads=[0, 0, 2, 2])),
    ("GlobalAveragePool", "GlobalAveragePool", (2, 3, 5, 4), [], {}),
    ("ReduceMean keep", "ReduceMean", (2, 3, 5, 4), [], dict(axes=[2, 3])),
    ("ReduceMean drop", "ReduceMean", (2, 3, 5, 4), [], dict(axes=[1], keepdims=0)),
    ("MatMul", "MatMul", (2, 4, 5), [f32(5, 3)], {}),
    ("Gemm transB", "Gemm", (3, 5), [f32(4, 5), f32(4)], dict(transB=1, alpha=0.5, beta=2.0)),
    ("Reshape 0 -1", "Reshape", (2, 3, 4, 4), [i64([0, -1, 8])], {}),
    ("Flatten axis2", "Flatten", (2, 3, 4, 4), [], dict(axis=2)),
    ("Transpose", "Transpose", (2, 3, 4, 5), [], dict(perm=[0, 2, 3, 1])),
    ("Squeeze", "Squeeze", (2, 1, 4, 1), [i64([1, 3])], {}),
    ("Unsqueeze", "Unsqueeze", (2, 4), [i64([1, -1])], {}),
    ("Slice step2", "Slice", (2, 6, 7), [i64([1, -6]), i64([100, 7]), i64([1, 2]), i64([2, 3])], {}),
    ("Slice flip", "Slice", (2, 3, 5), [i64([-1]), i64([-(2 ** 63) + 1]), i64([2]), i64([-1])], {}),
    ("Split", "Split", (2, 6, 3), [i64([2, 4])], dict(axis=1)),
    ("Pad constant", "Pad", (1, 2, 4, 4), [i64([0, 0, 1, 2, 0, 0, 2, 1]), np.float32(0.5)], dict(mode="constant")),
    ("Pad reflect", "Pad", (1, 2, 4, 4), [i64([0, 0, 1, 2, 0, 0, 2, 1])], dict(mode="reflect")),
    ("Pad edge", "Pad", (1, 2, 4, 4), [i64([0, 0, 1, 2, 0, 0, 2, 1])], dict(mode="edge")),
    ("Concat", "Concat", (2, 3, 4), [f32(2, 2, 4)], dict(axis=1)),
    ("Tanh", "Tanh", (2, 3), [], {}),
    ("Sigmoid", "Sigmoid", (2, 3), [], {}),
    ("Relu", "Relu", (2, 3), [], {}),
]
for mode, coord in [("linear", "half_pixel"), ("linear", "align_corners"), ("linear", "asymmetric"),
                    ("linear", "pytorch_half_pixel"), ("nearest", "half_pixel"), ("nearest", "asymmetric"),
                    ("nearest", "align_corners")]:
    for label, size in (("up", [2, 3, 11, 14]), ("down", [2, 3, 3, 5])):
        CASES.append((f"Resize {mode} {coord} {label} sizes", "Resize", (2, 3, 6, 7),
                      [None, None, i64(size)], dict(mode=mode, coordinate_transformation_mode=coord)))
    CASES.append((f"Resize {mode} {coord} scales", "Resize", (2, 3, 6, 7),
                  [None, np.asarray([1, 1, 1.5, 2.25], np.float32)], dict(mode=mode, coordinate_transformation_mode=coord)))
CASES.append(("Resize nearest floor asym", "Resize", (1, 2, 4, 5), [None, None, i64([1, 2, 9, 7])],
              dict(mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")))
CASES.append(("Resize nearest ceil half", "Resize", (1, 2, 4, 5), [None, None, i64([1, 2, 9, 7])],
              dict(mode="nearest", coordinate_transformation_mode="half_pixel", nearest_mode="round_prefer_ceil")))


def build(op, shape, consts, attrs):
    inits, names = [], ["x"]
    for i, c in enumerate(consts):
        if c is None:
            names.append("")
            continue
        names.append(f"c{i}")
        inits.append(numpy_helper.from_array(np.asarray(c), f"c{i}"))
    outputs = ["y", "y2"] if op == "Split" else ["y"]
    node = helper.make_node(op, names, outputs, **attrs)
    graph = helper.make_graph([node], op, [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in outputs], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def grad_check(model, x, probes=4, eps=1e-6):
    net = OnnxTorch(model, dtype=torch.float64)
    xt = torch.from_numpy(x.astype(np.float64)).requires_grad_(True)
    w = [torch.from_numpy(np.random.default_rng(1).standard_normal(o.shape)) for o in net.run({"x": xt})]
    f = lambda t: sum((o * wi).sum() for o, wi in zip(net.run({"x": t}), w))  # noqa: E731
    f(xt).backward()
    worst, scale = 0.0, float(xt.grad.abs().max()) or 1.0
    for flat in np.random.default_rng(2).choice(x.size, size=min(probes, x.size), replace=False):
        vals = []
        for s in (1, -1):
            t = torch.from_numpy(x.astype(np.float64)).clone()
            t.view(-1)[flat] += s * eps
            vals.append(float(f(t).detach()))
        worst = max(worst, abs((vals[0] - vals[1]) / (2 * eps) - float(xt.grad.view(-1)[flat])) / scale)
    return worst


def main():
    torch.set_num_threads(2)
    bad = 0
    print(f"{'case':<44} {'max|ort|':>9} {'fwd diff':>10} {'grad vs fd':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, op, shape, consts, attrs in CASES:
            model = build(op, shape, consts, attrs)
            path = os.path.join(tmp, "m.onnx")
            onnx.save(model, path)
            x = f32(*shape)
            ref = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": x})
            with torch.no_grad():
                ours = [o.numpy() for o in OnnxTorch(model).run({"x": x})]
            shapes_ok = all(o.shape == r.shape for o, r in zip(ours, ref))
            diff = max(float(np.abs(o - r).max()) for o, r in zip(ours, ref)) if shapes_ok else math.inf
            scale = max(float(np.abs(r).max()) for r in ref)
            g = grad_check(model, x)
            ok = diff <= 1e-5 * max(scale, 1.0) and g <= 1e-5
            bad += not ok
            print(f"{label:<44} {scale:>9.3g} {diff:>10.2e} {g:>10.2e}{'' if ok else '  FAIL'}")
    print(f"{len(CASES) - bad}/{len(CASES)} cases agree")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
