#!/usr/bin/env python3
"""Runs an ONNX graph with PyTorch ops and autograd: the reference the Swift training engine is
checked against (developer tooling only; Swift tests read committed fixtures, never this file).

    from onnx_torch import OnnxTorch, cross_entropy
    net = OnnxTorch("model.onnx", dtype=torch.float64)
    logits = net.run({"image": x}, training=True)[0]     # BN uses batch statistics
    loss = cross_entropy(logits, labels)                 # ignore index 255, mean over kept pixels
    loss.backward()                                      # net.params[name].grad for trainable names

- Float initializers become tensors of `dtype` in `net.params`; the trainable ones (see
  `trainable_names`, the rule the Swift engine uses) have requires_grad.
- BatchNormalization with `training=True` normalises with the batch mean and the population
  variance and updates the running statistics in `net.params` as PyTorch does:
  running = m·running + (1 − m)·batch_stat with m the node's ONNX `momentum` (default 0.9) and the
  unbiased (n/(n−1)) batch variance for running_var. The node's own `training_mode` is ignored:
  the caller says which mode it wants.
- Shape subgraphs (Shape/Gather/Slice/Concat/Unsqueeze/Cast/...) run on int64 tensors built from
  the real shapes, so dynamic-shape models run at any input size.

Run as a script it checks the interpreter in eval mode against ONNX Runtime (max abs diff):
    tools/train/.venv/bin/python tools/train/onnx_torch.py [MODEL.onnx ...] [--input 2x3x96x128]
"""
from __future__ import annotations

import argparse
import glob
import math
import os
import sys

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

_FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16,
                onnx.TensorProto.BFLOAT16}
_INT_DTYPES = {
    onnx.TensorProto.INT64: torch.int64, onnx.TensorProto.INT32: torch.int32,
    onnx.TensorProto.INT16: torch.int16, onnx.TensorProto.INT8: torch.int8,
    onnx.TensorProto.UINT8: torch.uint8, onnx.TensorProto.BOOL: torch.bool,
}

# (op type → input positions) whose float initializers are trained. Must match the Swift engine.
TRAINABLE_INPUTS = {
    "Conv": (1, 2), "ConvTranspose": (1, 2), "Gemm": (1, 2), "MatMul": (1,),
    "BatchNormalization": (1, 2), "LayerNormalization": (1, 2),
}


def trainable_names(model: onnx.ModelProto) -> list[str]:
    """Float initializers used as a weight/bias/norm input (TRAINABLE_INPUTS), in initializer order."""
    floats = {i.name for i in model.graph.initializer if i.data_type in _FLOAT_TYPES}
    used = set()
    for node in model.graph.node:
        for pos in TRAINABLE_INPUTS.get(node.op_type, ()):
            if pos < len(node.input) and node.input[pos] in floats:
                used.add(node.input[pos])
    return [i.name for i in model.graph.initializer if i.name in used]


def bn_state_names(model: onnx.ModelProto) -> list[str]:
    """Initializers holding BatchNormalization running mean/var (state: updated, never trained)."""
    inits = {i.name for i in model.graph.initializer}
    names = []
    for node in model.graph.node:
        if node.op_type == "BatchNormalization":
            names += [n for n in node.input[3:5] if n in inits and n not in names]
    return names


def cross_entropy(logits: torch.Tensor, labels, ignore_index: int = 255) -> torch.Tensor:
    """Mean cross-entropy over the pixels whose label is not ignore_index (N×C×H×W vs N×H×W)."""
    if not torch.is_tensor(labels):
        labels = torch.from_numpy(np.asarray(labels))
    return F.cross_entropy(logits, labels.long(), ignore_index=ignore_index, reduction="mean")


class OnnxTorch:
    """An ONNX graph as a PyTorch function of its inputs and `params` (see module docstring)."""

    def __init__(self, model, dtype: torch.dtype = torch.float32, trainable: list[str] | None = None):
        self.model = model if isinstance(model, onnx.ModelProto) else onnx.load(model)
        self.graph = self.model.graph
        self.dtype = dtype
        self.opset = next((o.version for o in self.model.opset_import if o.domain in ("", "ai.onnx")), 17)
        self.trainable = list(trainable) if trainable is not None else trainable_names(self.model)
        self.bn_state = bn_state_names(self.model)
        self.params: dict[str, torch.Tensor] = {}
        self.consts: dict[str, torch.Tensor] = {}
        for init in self.graph.initializer:
            t = self._tensor(numpy_helper.to_array(init), init.data_type)
            if init.data_type in _FLOAT_TYPES:
                self.params[init.name] = t.requires_grad_(init.name in self.trainable)
            else:
                self.consts[init.name] = t
        missing = [n for n in self.trainable if n not in self.params]
        if missing:
            raise ValueError(f"trainable names that are not float initializers: {missing}")
        # Last node index that reads each value, so intermediates are dropped when dead.
        self._last_use: dict[str, int] = {}
        for i, node in enumerate(self.graph.node):
            for name in node.input:
                self._last_use[name] = i
        self._outputs = [o.name for o in self.graph.output]

    # ------------------------------------------------------------------ public

    def trainable_params(self) -> list[torch.Tensor]:
        return [self.params[n] for n in self.trainable]

    def arrays(self, names=None, dtype=np.float32) -> dict[str, np.ndarray]:
        names = self.params.keys() if names is None else names
        return {n: self.params[n].detach().cpu().numpy().astype(dtype) for n in names}

    def zero_grad(self):
        for p in self.trainable_params():
            p.grad = None

    def run(self, feeds: dict, training: bool = False) -> list[torch.Tensor]:
        env: dict[str, torch.Tensor] = {}
        for name, value in feeds.items():
            t = value if torch.is_tensor(value) else torch.from_numpy(np.asarray(value))
            env[name] = t.to(self.dtype) if t.is_floating_point() else t
        for inp in self.graph.input:
            if inp.name not in env and inp.name not in self.params and inp.name not in self.consts:
                raise ValueError(f"missing graph input '{inp.name}'")
        self._training = training
        keep = set(self._outputs)
        for i, node in enumerate(self.graph.node):
            args = [self._lookup(env, n) if n else None for n in node.input]
            fn = getattr(self, "_op_" + node.op_type, None)
            if fn is None or node.domain not in ("", "ai.onnx"):
                raise NotImplementedError(f"op {node.domain or 'ai.onnx'}::{node.op_type} (node '{node.name}')")
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            try:
                outs = fn(node, args, attrs)
            except Exception as e:  # name the node: a bare torch error says nothing about where
                raise RuntimeError(f"node '{node.name}' ({node.op_type}): {e}") from e
            if torch.is_tensor(outs):
                outs = [outs]
            for name, value in zip(node.output, outs):
                if name:
                    env[name] = value
            for name in node.input:
                if name in env and self._last_use.get(name) == i and name not in keep:
                    del env[name]
        return [self._lookup(env, n) for n in self._outputs]

    # ------------------------------------------------------------------ helpers

    def _tensor(self, array: np.ndarray, onnx_type: int) -> torch.Tensor:
        if onnx_type in _FLOAT_TYPES:
            return torch.from_numpy(np.array(array, dtype=np.float64)).to(self.dtype)
        return torch.from_numpy(np.array(array)).to(_INT_DTYPES.get(onnx_type, torch.int64))

    def _lookup(self, env, name):
        if name in env:
            return env[name]
        if name in self.params:
            return self.params[name]
        if name in self.consts:
            return self.consts[name]
        raise KeyError(f"value '{name}' is not computed yet (graph not topologically sorted?)")

    @staticmethod
    def _ints(t) -> list[int]:
        return [int(v) for v in (t.reshape(-1).tolist() if torch.is_tensor(t) else t)]

    @staticmethod
    def _pads(attrs, spatial, kernel, strides, dilations, transposed=False):
        """Begin and end pads per spatial axis from pads/auto_pad (conv and pooling)."""
        nd = len(spatial)
        auto = attrs.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER") and not transposed:
            begin, end = [], []
            for i in range(nd):
                out = -(-spatial[i] // strides[i])
                total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - spatial[i])
                small, large = total // 2, total - total // 2
                begin.append(small if auto == "SAME_UPPER" else large)
                end.append(large if auto == "SAME_UPPER" else small)
            return begin, end
        if auto == "VALID":
            return [0] * nd, [0] * nd
        pads = list(attrs.get("pads", [0] * (2 * nd)))
        return pads[:nd], pads[nd:]

    @staticmethod
    def _torch_pad(begin, end):
        """F.pad's argument (last axis first) for begin/end pads of the trailing axes."""
        out = []
        for b, e in zip(reversed(begin), reversed(end)):
            out += [b, e]
        return out

    # ------------------------------------------------------------------ elementwise

    def _op_Relu(self, n, a, at): return F.relu(a[0])
    def _op_Sigmoid(self, n, a, at): return torch.sigmoid(a[0])
    def _op_Tanh(self, n, a, at): return torch.tanh(a[0])
    def _op_Erf(self, n, a, at): return torch.erf(a[0])
    def _op_Exp(self, n, a, at): return torch.exp(a[0])
    def _op_Log(self, n, a, at): return torch.log(a[0])
    def _op_Sqrt(self, n, a, at): return torch.sqrt(a[0])
    def _op_Neg(self, n, a, at): return -a[0]
    def _op_Abs(self, n, a, at): return torch.abs(a[0])
    def _op_Identity(self, n, a, at): return a[0]
    def _op_HardSwish(self, n, a, at): return F.hardswish(a[0])
    def _op_LeakyRelu(self, n, a, at): return F.leaky_relu(a[0], at.get("alpha", 0.01))
    def _op_Add(self, n, a, at): return a[0] + a[1]
    def _op_Sub(self, n, a, at): return a[0] - a[1]
    def _op_Mul(self, n, a, at): return a[0] * a[1]
    def _op_Pow(self, n, a, at): return torch.pow(a[0], a[1])

    def _op_Div(self, n, a, at):
        if not a[0].is_floating_point() and not a[1].is_floating_point():
            return torch.div(a[0], a[1], rounding_mode="trunc")
        return a[0] / a[1]

    def _op_HardSigmoid(self, n, a, at):
        return torch.clamp(at.get("alpha", 0.2) * a[0] + at.get("beta", 0.5), 0.0, 1.0)

    def _op_Clip(self, n, a, at):
        if self.opset < 11:
            lo, hi = at.get("min"), at.get("max")
        else:
            lo = a[1] if len(a) > 1 and a[1] is not None else None
            hi = a[2] if len(a) > 2 and a[2] is not None else None
            lo = None if lo is None else float(lo.reshape(-1)[0])
            hi = None if hi is None else float(hi.reshape(-1)[0])
        return torch.clamp(a[0], lo, hi)

    def _op_Softmax(self, n, a, at):
        x = a[0]
        if self.opset >= 13:
            return F.softmax(x, dim=at.get("axis", -1))
        axis = at.get("axis", 1) % x.dim()
        flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
        return F.softmax(flat, dim=1).reshape(x.shape)

    def _op_Dropout(self, n, a, at):
        ratio = float(a[1]) if len(a) > 1 and a[1] is not None else at.get("ratio", 0.5)
        train = self._training and ratio > 0
        if train:
            mask = (torch.rand_like(a[0]) >= ratio)
            return [a[0] * mask / (1 - ratio), mask]
        return [a[0], torch.ones_like(a[0], dtype=torch.bool)]

    # ------------------------------------------------------------------ conv / norm / pool

    def _op_Conv(self, n, a, at):
        x, w = a[0], a[1]
        b = a[2] if len(a) > 2 else None
        nd = x.dim() - 2
        strides = list(at.get("strides", [1] * nd))
        dil = list(at.get("dilations", [1] * nd))
        begin, end = self._pads(at, list(x.shape[2:]), list(w.shape[2:]), strides, dil)
        if begin != end:
            x = F.pad(x, self._torch_pad(begin, end))
            begin = [0] * nd
        conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
        return conv(x, w, b, stride=strides, padding=begin, dilation=dil, groups=at.get("group", 1))

    def _op_ConvTranspose(self, n, a, at):
        x, w = a[0], a[1]
        b = a[2] if len(a) > 2 else None
        nd = x.dim() - 2
        group = at.get("group", 1)
        strides = list(at.get("strides", [1] * nd))
        dil = list(at.get("dilations", [1] * nd))
        k = list(w.shape[2:])
        out_pad = list(at.get("output_padding", [0] * nd))
        full = [(x.shape[2 + i] - 1) * strides[i] + (k[i] - 1) * dil[i] + 1 for i in range(nd)]
        auto = at.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if "output_shape" in at or auto in ("SAME_UPPER", "SAME_LOWER"):
            target = list(at["output_shape"])[-nd:] if "output_shape" in at else \
                [x.shape[2 + i] * strides[i] for i in range(nd)]
            begin, end = [], []
            for i in range(nd):
                total = full[i] + out_pad[i] - target[i]
                if auto == "SAME_UPPER":
                    begin.append(total // 2); end.append(total - total // 2)
                else:
                    begin.append(total - total // 2); end.append(total // 2)
        else:
            begin, end = self._pads(at, list(x.shape[2:]), k, strides, dil, transposed=True)
        tconv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        if begin == end and all(0 <= op < max(s, d) for op, s, d in zip(out_pad, strides, dil)) and min(begin) >= 0:
            return tconv(x, w, b, stride=strides, padding=begin, output_padding=out_pad,
                         groups=group, dilation=dil)
        # Asymmetric pads: full transposed conv, then crop (negative pad) or grow the end.
        y = tconv(x, w, None, stride=strides, groups=group, dilation=dil)
        y = F.pad(y, self._torch_pad([-p for p in begin], [op - p for op, p in zip(out_pad, end)]))
        return y if b is None else y + b.reshape([1, -1] + [1] * nd)

    def _op_BatchNormalization(self, n, a, at):
        x, scale, bias, mean, var = a[:5]
        eps = at.get("epsilon", 1e-5)
        m = at.get("momentum", 0.9)
        if not self._training:
            return [F.batch_norm(x, mean, var, scale, bias, training=False, eps=eps)]
        # Running stats live in self.params (no grad); F.batch_norm updates them in place with
        # (1 − torch_momentum)·running + torch_momentum·batch and the unbiased batch variance.
        rm = mean.detach().clone()
        rv = var.detach().clone()
        y = F.batch_norm(x, rm, rv, scale, bias, training=True, momentum=1.0 - m, eps=eps)
        for name, new in ((n.input[3], rm), (n.input[4], rv)):
            if name in self.params:
                self.params[name] = new
        return [y, rm, rv]

    def _op_LayerNormalization(self, n, a, at):
        x, scale = a[0], a[1]
        bias = a[2] if len(a) > 2 else None
        axis = at.get("axis", -1) % x.dim()
        shape = list(x.shape[axis:])
        scale = scale.expand(shape)
        bias = None if bias is None else bias.expand(shape)
        return F.layer_norm(x, shape, scale, bias, eps=at.get("epsilon", 1e-5))

    def _op_GlobalAveragePool(self, n, a, at):
        return a[0].mean(dim=tuple(range(2, a[0].dim())), keepdim=True)

    def _op_GlobalMaxPool(self, n, a, at):
        return a[0].amax(dim=tuple(range(2, a[0].dim())), keepdim=True)

    def _pool_args(self, x, at):
        k = list(at["kernel_shape"])
        nd = len(k)
        strides = list(at.get("strides", [1] * nd))
        dil = list(at.get("dilations", [1] * nd))
        begin, end = self._pads(at, list(x.shape[2:]), k, strides, dil)
        return k, strides, dil, begin, end, bool(at.get("ceil_mode", 0))

    def _op_MaxPool(self, n, a, at):
        x = a[0]
        if len(n.output) > 1 and n.output[1]:
            raise NotImplementedError("MaxPool Indices output")
        k, s, d, begin, end, ceil = self._pool_args(x, at)
        nd = len(k)
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
        if begin != end or any(p > kk // 2 for p, kk in zip(begin, k)):
            x = F.pad(x, self._torch_pad(begin, end), value=-math.inf)
            begin = [0] * nd
        return pool(x, k, s, begin, d, ceil_mode=ceil)

    def _op_AveragePool(self, n, a, at):
        x = a[0]
        k, s, d, begin, end, ceil = self._pool_args(x, at)
        nd = len(k)
        if any(v != 1 for v in d):
            raise NotImplementedError("AveragePool with dilations")
        include = bool(at.get("count_include_pad", 0))
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        if begin == end and all(p <= kk // 2 for p, kk in zip(begin, k)):
            return pool(x, k, s, begin, ceil_mode=ceil, count_include_pad=include)
        if ceil:
            raise NotImplementedError("AveragePool with asymmetric pads and ceil_mode")
        pads = self._torch_pad(begin, end)
        total = pool(F.pad(x, pads), k, s, 0)
        if include:
            return total
        ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype)
        return total / pool(F.pad(ones, pads), k, s, 0)

    # ------------------------------------------------------------------ linear algebra / reduce

    def _op_MatMul(self, n, a, at): return torch.matmul(a[0], a[1])

    def _op_Gemm(self, n, a, at):
        A = a[0].T if at.get("transA", 0) else a[0]
        B = a[1].T if at.get("transB", 0) else a[1]
        y = at.get("alpha", 1.0) * (A @ B)
        if len(a) > 2 and a[2] is not None:
            y = y + at.get("beta", 1.0) * a[2]
        return y

    def _reduce_axes(self, x, a, at, from_input_opset):
        if self.opset >= from_input_opset:
            axes = self._ints(a[1]) if len(a) > 1 and a[1] is not None else None
        else:
            axes = list(at["axes"]) if "axes" in at else None
        if not axes:
            if at.get("noop_with_empty_axes", 0):
                return None
            axes = list(range(x.dim()))
        return tuple(v % x.dim() for v in axes)

    def _op_ReduceMean(self, n, a, at):
        axes = self._reduce_axes(a[0], a, at, 18)
        return a[0] if axes is None else a[0].mean(dim=axes, keepdim=bool(at.get("keepdims", 1)))

    def _op_ReduceSum(self, n, a, at):
        axes = self._reduce_axes(a[0], a, at, 13)
        return a[0] if axes is None else a[0].sum(dim=axes, keepdim=bool(at.get("keepdims", 1)))

    # ------------------------------------------------------------------ shape and data movement

    def _op_Constant(self, n, a, at):
        if "value" in at:
            t = at["value"]
            return self._tensor(numpy_helper.to_array(t), t.data_type)
        if "value_float" in at:
            return torch.tensor(at["value_float"], dtype=self.dtype)
        if "value_floats" in at:
            return torch.tensor(list(at["value_floats"]), dtype=self.dtype)
        if "value_int" in at:
            return torch.tensor(at["value_int"], dtype=torch.int64)
        if "value_ints" in at:
            return torch.tensor(list(at["value_ints"]), dtype=torch.int64)
        raise NotImplementedError(f"Constant attribute {list(at)}")

    def _op_ConstantOfShape(self, n, a, at):
        shape = self._ints(a[0])
        if "value" in at:
            v = numpy_helper.to_array(at["value"])
            t = self._tensor(v, at["value"].data_type).reshape(-1)[0]
            return torch.full(shape, t.item(), dtype=t.dtype)
        return torch.zeros(shape, dtype=self.dtype)

    def _op_Shape(self, n, a, at):
        dims = list(a[0].shape)
        start, end = at.get("start", 0), at.get("end", len(dims))
        return torch.tensor(dims[start:end], dtype=torch.int64)

    def _op_Cast(self, n, a, at):
        to = at["to"]
        if to in _FLOAT_TYPES:
            return a[0].to(self.dtype)
        return a[0].to(_INT_DTYPES.get(to, torch.int64))

    def _op_Gather(self, n, a, at):
        x, idx = a[0], a[1].long()
        axis = at.get("axis", 0) % x.dim()
        idx = torch.where(idx < 0, idx + x.shape[axis], idx)
        out = x.index_select(axis, idx.reshape(-1))
        return out.reshape(tuple(x.shape[:axis]) + tuple(idx.shape) + tuple(x.shape[axis + 1:]))

    def _op_Unsqueeze(self, n, a, at):
        axes = self._ints(a[1]) if self.opset >= 13 else list(at["axes"])
        rank = a[0].dim() + len(axes)
        y = a[0]
        for ax in sorted(v % rank for v in axes):
            y = y.unsqueeze(ax)
        return y

    def _op_Squeeze(self, n, a, at):
        if self.opset >= 13:
            axes = self._ints(a[1]) if len(a) > 1 and a[1] is not None else None
        else:
            axes = list(at["axes"]) if "axes" in at else None
        if axes is None:
            return a[0].squeeze()
        y = a[0]
        for ax in sorted((v % y.dim() for v in axes), reverse=True):
            y = y.squeeze(ax)
        return y

    def _op_Concat(self, n, a, at):
        return torch.cat([t for t in a if t is not None], dim=at["axis"])

    def _op_Reshape(self, n, a, at):
        x, shape = a[0], self._ints(a[1])
        if not at.get("allowzero", 0):
            shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
        return x.reshape(shape)

    def _op_Flatten(self, n, a, at):
        x = a[0]
        axis = at.get("axis", 1) % (x.dim() + 1) if x.dim() else 0
        return x.reshape(int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))

    def _op_Transpose(self, n, a, at):
        perm = list(at.get("perm", reversed(range(a[0].dim()))))
        return a[0].permute(perm)

    def _op_Expand(self, n, a, at):
        shape = self._ints(a[1])
        return a[0] * torch.ones(shape, dtype=a[0].dtype) if a[0].is_floating_point() else \
            a[0].expand(torch.broadcast_shapes(a[0].shape, tuple(shape)))

    def _op_Slice(self, n, a, at):
        x = a[0]
        if self.opset >= 10:
            starts, ends = self._ints(a[1]), self._ints(a[2])
            axes = self._ints(a[3]) if len(a) > 3 and a[3] is not None else list(range(len(starts)))
            steps = self._ints(a[4]) if len(a) > 4 and a[4] is not None else [1] * len(starts)
        else:
            starts, ends = list(at["starts"]), list(at["ends"])
            axes = list(at.get("axes", range(len(starts))))
            steps = [1] * len(starts)
        for start, end, axis, step in zip(starts, ends, axes, steps):
            axis %= x.dim()
            dim = x.shape[axis]
            start = start + dim if start < 0 else start
            end = end + dim if end < 0 else end
            if step > 0:
                start, end = min(max(start, 0), dim), min(max(end, 0), dim)
                if step == 1:
                    x = x.narrow(axis, start, max(end - start, 0))
                    continue
            else:
                start, end = min(max(start, 0), dim - 1), min(max(end, -1), dim - 1)
            idx = torch.tensor(list(range(start, end, step)), dtype=torch.int64)
            x = x.index_select(axis, idx)
        return x

    def _op_Split(self, n, a, at):
        x = a[0]
        axis = at.get("axis", 0) % x.dim()
        if self.opset >= 13 and len(a) > 1 and a[1] is not None:
            sizes = self._ints(a[1])
        elif "split" in at:
            sizes = list(at["split"])
        else:
            count = at.get("num_outputs", len(n.output))
            chunk = -(-x.shape[axis] // count)
            sizes = [min(chunk, x.shape[axis] - i * chunk) for i in range(count)]
        return list(torch.split(x, sizes, dim=axis))

    def _op_Pad(self, n, a, at):
        x = a[0]
        mode = at.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if self.opset >= 11:
            pads = self._ints(a[1])
            value = float(a[2].reshape(-1)[0]) if len(a) > 2 and a[2] is not None else 0.0
            axes = self._ints(a[3]) if len(a) > 3 and a[3] is not None else list(range(x.dim()))
        else:
            pads, value, axes = list(at["pads"]), at.get("value", 0.0), list(range(x.dim()))
        begin, end = [0] * x.dim(), [0] * x.dim()
        for i, ax in enumerate(axes):
            begin[ax % x.dim()] = pads[i]
            end[ax % x.dim()] = pads[i + len(axes)]
        tp = self._torch_pad(begin, end)
        if mode == "constant":
            return F.pad(x, tp, value=value)
        while len(tp) > 2 and tp[-1] == 0 and tp[-2] == 0:
            tp = tp[:-2]
        torch_mode = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}[mode]
        return F.pad(x, tp, mode=torch_mode)

    # ------------------------------------------------------------------ Resize

    def _op_Resize(self, n, a, at):
        x = a[0]
        if self.opset < 11:
            scales_in, sizes_in = a[1], None
        else:
            scales_in = a[2] if len(a) > 2 and a[2] is not None and a[2].numel() else None
            sizes_in = a[3] if len(a) > 3 and a[3] is not None and a[3].numel() else None
        mode = _s(at.get("mode", b"nearest"))
        coord = _s(at.get("coordinate_transformation_mode", b"half_pixel" if self.opset >= 11 else b"asymmetric"))
        nearest = _s(at.get("nearest_mode", b"round_prefer_floor"))
        if at.get("antialias", 0) or "axes" in at or coord in ("tf_crop_and_resize", "half_pixel_symmetric"):
            raise NotImplementedError(f"Resize with antialias/axes/{coord}")
        rank = x.dim()
        if sizes_in is not None:
            out = self._ints(sizes_in)
            scales = [o / i for o, i in zip(out, x.shape)]
        else:
            scales = [float(v) for v in scales_in.reshape(-1).tolist()]
            out = [int(math.floor(i * s)) for i, s in zip(x.shape, scales)]
        if mode == "linear" and rank == 4 and out[:2] == list(x.shape[:2]) and sizes_in is not None and \
                (coord == "half_pixel" or (coord == "pytorch_half_pixel" and min(out[2:]) > 1)
                 or coord == "align_corners"):
            # PyTorch's bilinear kernel is exactly ONNX linear for these modes when sizes are given.
            return F.interpolate(x, size=out[2:], mode="bilinear", align_corners=coord == "align_corners")
        if mode not in ("linear", "nearest"):
            raise NotImplementedError(f"Resize mode {mode}")
        y = x
        for axis in range(rank):
            lin, lout, scale = x.shape[axis], out[axis], scales[axis]
            if lin == lout and scale == 1.0:
                continue
            pos = np.arange(lout, dtype=np.float64)
            if coord == "half_pixel":
                src = (pos + 0.5) / scale - 0.5
            elif coord == "pytorch_half_pixel":
                src = (pos + 0.5) / scale - 0.5 if lout > 1 else np.zeros_like(pos)
            elif coord == "align_corners":
                src = pos * (lin - 1) / (lout - 1) if lout > 1 else np.zeros_like(pos)
            elif coord == "asymmetric":
                src = pos / scale
            elif coord == "tf_half_pixel_for_nn":
                src = (pos + 0.5) / scale
            else:
                raise NotImplementedError(f"Resize coordinate_transformation_mode {coord}")
            if mode == "nearest":
                idx = {"round_prefer_floor": np.ceil(src - 0.5), "round_prefer_ceil": np.floor(src + 0.5),
                       "floor": np.floor(src), "ceil": np.ceil(src)}[nearest]
                idx = np.clip(idx, 0, lin - 1).astype(np.int64)
                y = y.index_select(axis, torch.from_numpy(idx))
            else:
                src = np.clip(src, 0, lin - 1)
                i0 = np.floor(src).astype(np.int64)
                i1 = np.minimum(i0 + 1, lin - 1)
                shape = [1] * rank
                shape[axis] = lout
                w1 = torch.from_numpy(src - i0).to(y.dtype).reshape(shape)
                y = y.index_select(axis, torch.from_numpy(i0)) * (1 - w1) + \
                    y.index_select(axis, torch.from_numpy(i1)) * w1
        return y


def _s(v):
    return v.decode() if isinstance(v, bytes) else v


# ---------------------------------------------------------------------- eval check against ORT

def _shape_arg(text: str) -> list[int]:
    return [int(v) for v in text.lower().split("x")]


def _input_shapes(model, override):
    inp = model.graph.input[0]
    dims = inp.type.tensor_type.shape.dim
    static = all(d.HasField("dim_value") for d in dims)
    if override:
        return [override]
    if static:
        return [[d.dim_value for d in dims]]
    return [[1, 3, 360, 480], [2, 3, 100, 132]]


def check_against_ort(path: str, override=None, seed: int = 0) -> list[tuple[list[int], float, float]]:
    """Eval-mode outputs of the interpreter (float32) against ONNX Runtime: (shape, max abs diff, max |ort|)."""
    import onnxruntime as ort
    model = onnx.load(path)
    net = OnnxTorch(model, dtype=torch.float32)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    name = model.graph.input[0].name
    rows = []
    for shape in _input_shapes(model, override):
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        ref = sess.run(None, {name: x})
        with torch.no_grad():
            ours = net.run({name: x}, training=False)
        diff = max(float(np.abs(o.numpy() - r).max()) for o, r in zip(ours, ref))
        scale = max(float(np.abs(r).max()) for r in ref)
        rows.append((shape, diff, scale))
    return rows


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "models"))
    ap = argparse.ArgumentParser(description="Check the interpreter against ONNX Runtime in eval mode.")
    ap.add_argument("models", nargs="*", help=f"ONNX files (default: {shared}/*.onnx)")
    ap.add_argument("--input", type=_shape_arg, help="input shape, e.g. 2x3x96x128 (default: the model's, "
                                                      "or 1x3x360x480 and 2x3x100x132 for dynamic models)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    models = args.models or sorted(glob.glob(os.path.join(shared, "*.onnx")))
    worst = 0.0
    print(f"{'model':<36} {'input':<14} {'max|ort|':>10} {'max abs diff':>13}")
    for path in models:
        for shape, diff, scale in check_against_ort(path, args.input):
            worst = max(worst, diff / max(scale, 1e-30))
            print(f"{os.path.basename(path):<36} {'x'.join(map(str, shape)):<14} {scale:>10.4g} {diff:>13.3e}")
    print(f"worst diff relative to the output's largest magnitude: {worst:.3e}")
    return 0 if worst < 1e-4 else 1


if __name__ == "__main__":
    sys.exit(main())
