#!/usr/bin/env python3
"""Independent check of `segslim build` against PyTorch (developer tooling, not a test).

For every architecture `segslim build --list` knows:
  1. builds ours with the CLI (11 classes, default 1x3x360x480, seed 0) and runs onnx.checker;
  2. builds the same network in PyTorch: torchvision's own builders for the MobileNetV3 models,
     torchvision's ShuffleNetV2 with stage4 dilated as our builder documents, and GhostNet written
     here from the paper's reference layout (timm's `ghostnet_100` module names);
  3. compares parameter and buffer names, shapes and counts with our initializers, and the
     module counts (Conv2d, BatchNorm2d, activations) with our op counts;
  4. compares our initial weights' statistics with PyTorch's own initialisation of the same layer
     (std per layer, as a ratio);
  5. loads our weights into the PyTorch model and runs both (ours in onnxruntime) on one random
     input: the logits must agree.

Usage: tools/train/.venv/bin/python tools/train/check_build.py [--segslim .build/debug/segslim]
torchvision is not in requirements.txt (PyPI's wheel links CUDA libraries): put one on PYTHONPATH.
Its compiled detection ops may fail to load against a CPU torch; nothing here uses them, so their
meta registrations are skipped.
"""
import argparse
import math
import os
import subprocess
import sys
import tempfile
import types
from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
import torchvision  # noqa: E402
from torchvision.models import mobilenet_v3_large, mobilenet_v3_small, shufflenet_v2_x0_5, shufflenet_v2_x1_0  # noqa: E402
from torchvision.models.segmentation.deeplabv3 import _deeplabv3_mobilenetv3  # noqa: E402
from torchvision.models.segmentation.lraspp import LRASPP, _lraspp_mobilenetv3  # noqa: E402

CLASSES = 11


# MARK: - PyTorch references

class ShuffleNetFeatures(nn.Module):
    """torchvision ShuffleNetV2 without fc; stage4 at stride 1 with dilation 2 (our builder's choice)."""

    def __init__(self, net):
        super().__init__()
        self.conv1, self.maxpool = net.conv1, net.maxpool
        self.stage2, self.stage3, self.stage4, self.conv5 = net.stage2, net.stage3, net.stage4, net.conv5
        for unit in self.stage4:
            dws = [unit.branch2[3]] + ([unit.branch1[0]] if len(unit.branch1) else [])
            for conv in dws:
                conv.stride, conv.dilation, conv.padding = (1, 1), (2, 2), (2, 2)

    def forward(self, x):
        x = self.maxpool(self.conv1(x))
        low = self.stage2(x)
        high = self.conv5(self.stage4(self.stage3(low)))
        return {"low": low, "high": high}


def make_divisible(v, divisor):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


class GhostModule(nn.Module):
    def __init__(self, inp, oup, relu, dilation=1):
        super().__init__()
        self.oup = oup
        init = math.ceil(oup / 2)
        act = [nn.ReLU()] if relu else []
        self.primary_conv = nn.Sequential(nn.Conv2d(inp, init, 1, bias=False), nn.BatchNorm2d(init), *act)
        self.cheap_operation = nn.Sequential(
            nn.Conv2d(init, init, 3, 1, dilation, dilation=dilation, groups=init, bias=False), nn.BatchNorm2d(init), *[nn.ReLU()] * relu)

    def forward(self, x):
        x1 = self.primary_conv(x)
        return torch.cat([x1, self.cheap_operation(x1)], 1)[:, :self.oup]


class SqueezeExcite(nn.Module):
    def __init__(self, chs, ratio):
        super().__init__()
        reduced = make_divisible(chs * ratio, 4)
        self.conv_reduce = nn.Conv2d(chs, reduced, 1)
        self.act1 = nn.ReLU()
        self.conv_expand = nn.Conv2d(reduced, chs, 1)
        self.gate = nn.Hardsigmoid()  # the reference's hard_sigmoid, relu6(x + 3) / 6

    def forward(self, x):
        return x * self.gate(self.conv_expand(self.act1(self.conv_reduce(x.mean((2, 3), keepdim=True)))))


class GhostBottleneck(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, se, dw, in_dil, dil):
        super().__init__()
        self.dw = dw
        self.ghost1 = GhostModule(cin, mid, True, in_dil)
        if dw:
            self.conv_dw = nn.Conv2d(mid, mid, k, stride, (k - 1) // 2 * dil, dilation=dil, groups=mid, bias=False)
            self.bn_dw = nn.BatchNorm2d(mid)
        self.se = SqueezeExcite(mid, se) if se > 0 else None
        self.ghost2 = GhostModule(mid, cout, False, dil)
        if cin == cout and not dw:
            self.shortcut = nn.Sequential()
        else:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cin, k, stride, (k - 1) // 2 * dil, dilation=dil, groups=cin, bias=False), nn.BatchNorm2d(cin),
                nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.ghost1(x)
        if self.dw:
            y = self.bn_dw(self.conv_dw(y))
        if self.se is not None:
            y = self.se(y)
        return self.ghost2(y) + self.shortcut(x)


GHOST_CFGS = [
    [[3, 16, 16, 0, 1]], [[3, 48, 24, 0, 2]], [[3, 72, 24, 0, 1]], [[5, 72, 40, 0.25, 2]], [[5, 120, 40, 0.25, 1]],
    [[3, 240, 80, 0, 2]],
    [[3, 200, 80, 0, 1], [3, 184, 80, 0, 1], [3, 184, 80, 0, 1], [3, 480, 112, 0.25, 1], [3, 672, 112, 0.25, 1]],
    [[5, 672, 160, 0.25, 2]],
    [[5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1], [5, 960, 160, 0, 1], [5, 960, 160, 0.25, 1]],
]


class ConvBnAct(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.conv, self.bn1, self.act1 = nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()

    def forward(self, x):
        return self.act1(self.bn1(self.conv(x)))


class GhostNetFeatures(nn.Module):
    """GhostNet 1.0 (Han et al. 2020) trunk; dilated=True: stage 7 at stride 1, dilation 2 from there on."""

    def __init__(self, dilated=True, width=1.0):
        super().__init__()
        c = make_divisible(16 * width, 4)
        self.conv_stem, self.bn1, self.act1 = nn.Conv2d(3, c, 3, 2, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()
        stages = []
        for s, cfg in enumerate(GHOST_CFGS):
            layers = []
            for k, exp, out, se, stride in cfg:
                o, mid = make_divisible(out * width, 4), make_divisible(exp * width, 4)
                d = dilated and s >= 7
                layers.append(GhostBottleneck(c, mid, o, k, 1 if (d and s == 7) else stride, se, stride > 1,
                                              2 if (dilated and s >= 8) else 1, 2 if d else 1))
                c = o
            stages.append(nn.Sequential(*layers))
        stages.append(nn.Sequential(ConvBnAct(c, make_divisible(960 * width, 4))))
        self.blocks = nn.Sequential(*stages)

    def forward(self, x):
        x = self.act1(self.bn1(self.conv_stem(x)))
        low = None
        for i, stage in enumerate(self.blocks):
            x = stage(x)
            if i == 4:
                low = x
        return {"low": low, "high": x}


def ghostnet_classifier_params():
    """GhostNet 1.0 for ImageNet: trunk (undilated) + global pool + conv_head 960->1280 + fc 1280->1000."""
    trunk = sum(p.numel() for p in GhostNetFeatures(dilated=False).parameters())
    return trunk + (960 * 1280 + 1280) + (1280 * 1000 + 1000)


def torch_model(arch):
    if arch == "lraspp-mobilenetv3-large":
        return _lraspp_mobilenetv3(mobilenet_v3_large(dilated=True), CLASSES)
    if arch == "lraspp-mobilenetv3-small":
        return _lraspp_mobilenetv3(mobilenet_v3_small(dilated=True), CLASSES)
    if arch == "deeplabv3-mobilenetv3-large":
        return _deeplabv3_mobilenetv3(mobilenet_v3_large(dilated=True), CLASSES, False)
    if arch == "deeplabv3-mobilenetv3-small":
        return _deeplabv3_mobilenetv3(mobilenet_v3_small(dilated=True), CLASSES, False)
    if arch.startswith("lraspp-shufflenetv2"):
        net = shufflenet_v2_x0_5() if arch.endswith("0.5") else shufflenet_v2_x1_0()
        low = net.stage2[-1].branch2[5].out_channels * 2
        return LRASPP(ShuffleNetFeatures(net), low, 1024, CLASSES)
    if arch == "lraspp-ghostnet":
        return LRASPP(GhostNetFeatures(), 40, 960, CLASSES)
    raise ValueError(arch)


# MARK: - Comparisons

MODULE_OPS = {nn.Conv2d: "Conv", nn.BatchNorm2d: "BatchNormalization", nn.ReLU: "Relu", nn.Hardswish: "HardSwish",
              nn.Hardsigmoid: "HardSigmoid", nn.Sigmoid: "Sigmoid"}


def module_counts(model):
    counts = Counter()
    for m in model.modules():
        for cls, op in MODULE_OPS.items():
            if type(m) is cls:
                counts[op] += 1
    return counts


def check(arch, path, failures):
    print(f"\n== {arch}")
    proto = onnx.load(path)
    onnx.checker.check_model(proto, full_check=True)
    inits = {t.name: onnx.numpy_helper.to_array(t) for t in proto.graph.initializer}
    ops = Counter(n.op_type for n in proto.graph.node)
    print(f"onnx.checker: ok (IR {proto.ir_version}, opset {proto.opset_import[0].version}); "
          f"{sum(a.size for a in inits.values()):,} initializer elements")

    torch.manual_seed(0)
    ref = torch_model(arch).eval()
    state = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    trainable = sum(p.numel() for p in ref.parameters())
    names_ok = set(state) == set(inits) and all(tuple(state[k].shape) == inits[k].shape for k in state)
    count_ours, count_theirs = sum(a.size for a in inits.values()), sum(v.numel() for v in state.values())
    print(f"parameters: ours {count_ours:,}, PyTorch {count_theirs:,} (trainable {trainable:,}); names and shapes "
          f"{'identical' if names_ok else 'DIFFER'}")
    if not names_ok or count_ours != count_theirs:
        failures.append(f"{arch}: parameters differ ({sorted(set(state) ^ set(inits))[:6]})")

    modules = module_counts(ref)
    # torchvision's heads reuse no modules, but SE blocks apply their own ReLU/Hardsigmoid; a ghost
    # module without ReLU has none: both sides count layers, so the counts must agree exactly.
    mine = {op: ops.get(op, 0) for op in modules}
    print(f"layers: PyTorch {dict(modules)}; ours {mine}")
    if mine != dict(modules):
        failures.append(f"{arch}: layer counts differ")

    # Initialisation: per conv, our std over PyTorch's own draw for the same layer.
    ratios = []
    for k, v in state.items():
        if k.endswith(".weight") and v.dim() == 4 and v.numel() >= 256:
            ratios.append(inits[k].std() / v.float().std().item())
    ratios = np.array(ratios)
    print(f"init: conv weight std ours/PyTorch over {len(ratios)} layers: median {np.median(ratios):.3f}, "
          f"range {ratios.min():.3f}..{ratios.max():.3f}")
    if not (0.9 < np.median(ratios) < 1.1 and ratios.min() > 0.75 and ratios.max() < 1.3):
        failures.append(f"{arch}: init statistics differ from PyTorch's")

    # Same weights in both: the logits must agree.
    ref.load_state_dict({k: torch.from_numpy(np.array(inits[k])) for k in state}, strict=False)
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(0).standard_normal(dims).astype(np.float32)
    with torch.no_grad():
        theirs = ref(torch.from_numpy(x))["out"].numpy()
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    ours = sess.run(["out"], {"image": x})[0]
    scale = float(np.abs(theirs).max())
    diff = float(np.abs(ours - theirs).max())
    agree = float((ours.argmax(1) == theirs.argmax(1)).mean())
    print(f"onnxruntime vs PyTorch with our weights: out {list(ours.shape)}, max |diff| {diff:.2e} (max |logit| {scale:.2e}), "
          f"argmax agreement {agree * 100:.3f}%")
    if ours.shape != theirs.shape or not np.isfinite(ours).all() or diff > 1e-4 * max(1.0, scale):
        failures.append(f"{arch}: outputs differ ({diff:.2e})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--segslim", default=".build/debug/segslim")
    ap.add_argument("--out", default=None, help="folder for the built models (default: a temporary one)")
    args = ap.parse_args()
    torch.set_num_threads(2)
    out = args.out or tempfile.mkdtemp(prefix="segslim-build-")
    listing = subprocess.run([args.segslim, "build", "--list"], check=True, capture_output=True, text=True).stdout
    print(listing)
    archs = [line.split()[0] for line in listing.splitlines()[2:] if line.strip()]
    failures = []
    for arch in archs:
        path = os.path.join(out, arch + ".onnx")
        subprocess.run([args.segslim, "build", arch, "--classes", str(CLASSES), "--out", path, "--overwrite", "--json"],
                       check=True, capture_output=True)
        check(arch, path, failures)

    print("\n== published sizes (ImageNet classifiers, 1000 classes)")
    for name, fn, published in [("shufflenet_v2_x0_5", shufflenet_v2_x0_5, 1_366_792), ("shufflenet_v2_x1_0", shufflenet_v2_x1_0, 2_278_604)]:
        n = sum(p.numel() for p in fn().parameters())
        print(f"{name}: torchvision {n:,}, published {published:,}; backbone without fc {n - 1024 * 1000 - 1000:,}")
        if n != published:
            failures.append(f"{name}: {n} != published {published}")
    g = ghostnet_classifier_params()
    print(f"GhostNet 1.0 (trunk here + conv_head + fc): {g:,}; the paper reports 5.2 M")
    if abs(g - 5.2e6) > 0.05e6:
        failures.append(f"GhostNet: {g} is not 5.2 M")

    print("\n" + ("all checks passed" if not failures else "FAILURES:\n  " + "\n  ".join(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
