#!/usr/bin/env python3
"""Export SegSlim's model zoo: randomly initialised segmentation models as ONNX files.

Developer tooling, not a test. Every model is built from its constructor/config with random
weights (no downloads: pretrained=False / encoder_weights=None) under a fixed seed, at input
1x3x360x480 and 11 classes (CamVid), with both torch exporters:

  torchscript  torch.onnx.export(..., dynamo=False, opset_version=17)
  dynamo       torch.onnx.export(..., dynamo=True)            (the exporter's default opset)

plus LRASPP with dynamic H/W, QDQ versions (onnxruntime quantize_static, per-channel, MinMax)
of LRASPP and smp Unet, and PaddleSeg PP-LiteSeg / BiSeNetV2 through paddle2onnx when a paddle
venv exists (tools/.venv-zoo-paddle, see setup_venv.sh). A model an exporter cannot produce is
recorded in the manifest with its error instead of stopping the run.

Usage: tools/.venv-zoo/bin/python tools/zoo/export_zoo.py --out /tmp/segslim-zoo [--only NAME ...]
Writes DIR/*.onnx and DIR/manifest.json: [{name, exporter, path, dynamic, quantized, ...}].
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

SEED = 0
H, W = 360, 480
CLASSES = 11
TORCHSCRIPT_OPSET = 17
HERE = Path(__file__).resolve().parent
CAMVID = Path(os.environ.get("SEGSLIM_CAMVID", str(HERE.parent.parent.parent / "shared" / "data" / "camvid")))
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


# ----------------------------------------------------------------------------- model builders

def _torch():
    import torch
    return torch


class _Logits:
    """Wraps a model so forward returns one logits tensor (torchvision dicts, HF outputs)."""

    @staticmethod
    def wrap(model, pick, pad_to: int = 1):
        torch = _torch()
        
        ph, pw = (-H) % pad_to, (-W) % pad_to

        class Wrapped(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model
                # smp encoders/decoders need H and W divisible by 32: the input is extended
                # bottom/right with zeros (Concat with constant zero blocks rather than Pad, so
                # TorchScript's shape inference keeps every shape static: PSPNet's adaptive pooling
                # needs that) and the logits are cropped back to H x W.
                self.register_buffer("pad_bottom", torch.zeros(1, 3, ph, W), persistent=False)
                self.register_buffer("pad_right", torch.zeros(1, 3, H + ph, pw), persistent=False)

            def forward(self, x):
                if ph or pw:
                    if ph:
                        x = torch.cat([x, self.pad_bottom], dim=2)
                    if pw:
                        x = torch.cat([x, self.pad_right], dim=3)
                    return pick(self.model(x))[:, :, :H, :W]
                return pick(self.model(x))

        return Wrapped().eval()


def build_torchvision(arch: str):
    from torchvision.models import segmentation as seg
    ctor = {
        "lraspp_mobilenet_v3": lambda: seg.lraspp_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=CLASSES),
        "deeplabv3_mobilenet_v3": lambda: seg.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None, num_classes=CLASSES, aux_loss=False),
        "fcn_resnet50": lambda: seg.fcn_resnet50(weights=None, weights_backbone=None, num_classes=CLASSES, aux_loss=False),
    }[arch]
    return _Logits.wrap(ctor().eval(), lambda out: out["out"])


SMP_ARCHS = {
    # name: (smp class name, encoder)
    "smp_unet_resnet18": ("Unet", "resnet18"),
    "smp_fpn_resnet18": ("FPN", "resnet18"),
    "smp_deeplabv3plus_mobilenet_v2": ("DeepLabV3Plus", "mobilenet_v2"),
    "smp_pspnet_resnet18": ("PSPNet", "resnet18"),
    "smp_linknet_resnet18": ("Linknet", "resnet18"),
    "smp_pan_resnet18": ("PAN", "resnet18"),
    "smp_unetplusplus_resnet18": ("UnetPlusPlus", "resnet18"),
    "smp_segformer_mit_b0": ("Segformer", "mit_b0"),
}


def build_smp(name: str):
    import segmentation_models_pytorch as smp
    cls, encoder = SMP_ARCHS[name]
    model = getattr(smp, cls)(encoder_name=encoder, encoder_weights=None, in_channels=3, classes=CLASSES).eval()
    return _Logits.wrap(model, lambda out: out, pad_to=32)


def build_hf_segformer_b0():
    from transformers import SegformerConfig, SegformerForSemanticSegmentation
    # SegformerConfig's defaults are the b0 (MiT-b0) hyper-parameters.
    config = SegformerConfig(num_labels=CLASSES)
    model = SegformerForSemanticSegmentation(config).eval()
    return _Logits.wrap(model, lambda out: out.logits)  # logits at 1/4 resolution, as-is


TORCH_MODELS = {
    "tv_lraspp_mobilenet_v3": lambda: build_torchvision("lraspp_mobilenet_v3"),
    "tv_deeplabv3_mobilenet_v3": lambda: build_torchvision("deeplabv3_mobilenet_v3"),
    "tv_fcn_resnet50": lambda: build_torchvision("fcn_resnet50"),
    **{name: (lambda n=name: build_smp(n)) for name in SMP_ARCHS},
    "hf_segformer_b0": build_hf_segformer_b0,
}
DYNAMIC_MODELS = {"tv_lraspp_mobilenet_v3"}
QUANTIZE_MODELS = {"tv_lraspp_mobilenet_v3", "smp_unet_resnet18"}
PADDLE_MODELS = {"paddle_pp_liteseg": "PPLiteSeg", "paddle_bisenetv2": "BiSeNetV2"}


# ----------------------------------------------------------------------------- exporters

def _short(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}".strip()
    lines = [l for l in text.splitlines() if l.strip()]
    return " | ".join(lines[:3])[:600]


def export_torchscript(model, x, path: Path, dynamic: bool):
    torch = _torch()
    kwargs = {}
    if dynamic:
        kwargs["dynamic_axes"] = {"input": {2: "height", 3: "width"}, "logits": {2: "out_height", 3: "out_width"}}
    with torch.no_grad():
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=TORCHSCRIPT_OPSET,
                          input_names=["input"], output_names=["logits"], do_constant_folding=True, **kwargs)


def export_dynamo(model, x, path: Path, dynamic: bool):
    torch = _torch()
    kwargs = {}
    if dynamic:
        kwargs["dynamic_shapes"] = {"x": {2: torch.export.Dim("height", min=64, max=2048),
                                          3: torch.export.Dim("width", min=64, max=2048)}}
    with torch.no_grad():
        program = torch.onnx.export(model, (x,), dynamo=True, input_names=["input"], output_names=["logits"],
                                    external_data=False, **kwargs)
        program.save(str(path), external_data=False)


def onnx_summary(path: Path) -> dict:
    import onnx
    m = onnx.load(str(path), load_external_data=False)
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)
    ops = sorted({(n.domain + "::" if n.domain not in ("", "ai.onnx") else "") + n.op_type for n in m.graph.node})
    dims = lambda vi: [d.dim_param or d.dim_value for d in vi.type.tensor_type.shape.dim]
    inits = {i.name for i in m.graph.initializer}
    return {
        "opset": opset,
        "ops": ops,
        "nodes": len(m.graph.node),
        "inputs": [{"name": i.name, "shape": dims(i)} for i in m.graph.input if i.name not in inits],
        "outputs": [{"name": o.name, "shape": dims(o)} for o in m.graph.output],
        "bytes": path.stat().st_size,
    }


# ----------------------------------------------------------------------------- calibration

def camvid_images(split: str, count: int) -> list[Path]:
    listing = CAMVID / f"{split}.txt"
    if not listing.exists():
        return []
    paths = []
    for line in listing.read_text().splitlines():
        if line.strip():
            p = CAMVID / line.split()[0]
            if p.exists():
                paths.append(p)
    step = max(1, len(paths) // max(count, 1))
    return paths[::step][:count]


def load_image(path: Path, h: int, w: int) -> np.ndarray:
    from PIL import Image
    img = Image.open(path).convert("RGB")
    if img.size != (w, h):
        img = img.resize((w, h), Image.BILINEAR)
    a = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(a.transpose(2, 0, 1)[None])


def calibration_batches(count: int = 8) -> tuple[list[np.ndarray], str]:
    images = camvid_images("train", count)
    if images:
        return [load_image(p, H, W) for p in images], f"{len(images)} CamVid train images"
    rng = np.random.default_rng(SEED)
    return [rng.standard_normal((1, 3, H, W), dtype=np.float32) for _ in range(count)], f"{count} seeded random tensors"


def quantize_qdq(src: Path, dst: Path) -> str:
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)
    from onnxruntime.quantization.shape_inference import quant_pre_process
    import onnx

    batches, source = calibration_batches()
    input_name = next(i.name for i in onnx.load(str(src), load_external_data=False).graph.input)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter([{input_name: b} for b in batches])

        def get_next(self):
            return next(self.it, None)

    pre = dst.with_suffix(".pre.onnx")
    quant_pre_process(str(src), str(pre), skip_symbolic_shape=True)
    try:
        quantize_static(str(pre), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        calibrate_method=CalibrationMethod.MinMax, activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8)
    finally:
        pre.unlink(missing_ok=True)
        for extra in dst.parent.glob("augmented_model*.onnx"):
            extra.unlink(missing_ok=True)
    return f"QDQ, per-channel, MinMax, u8 activations / s8 weights, calibrated on {source}"


# ----------------------------------------------------------------------------- paddle

PADDLE_SCRIPT = r"""
import sys, json, os
import numpy as np
import paddle
paddle.seed(%(seed)d); np.random.seed(%(seed)d)
from paddleseg import models
from paddleseg.models import backbones
arch, out_dir, h, w, classes = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if arch == "PPLiteSeg":
    model = models.PPLiteSeg(num_classes=classes, backbone=backbones.STDC1(pretrained=None), pretrained=None)
elif arch == "BiSeNetV2":
    model = models.BiSeNetV2(num_classes=classes, pretrained=None)
else:
    raise SystemExit("unknown arch " + arch)
model.eval()

class Export(paddle.nn.Layer):
    def __init__(self, m):
        super().__init__()
        self.m = m
    def forward(self, x):
        return self.m(x)[0]

net = Export(model)
net.eval()
spec = [paddle.static.InputSpec(shape=[1, 3, h, w], dtype="float32", name="x")]
static = paddle.jit.to_static(net, input_spec=spec, full_graph=True)
prefix = os.path.join(out_dir, arch)
paddle.jit.save(static, prefix)
print(json.dumps({"prefix": prefix}))
"""


def export_paddle(out: Path, name: str, arch: str, paddle_python: Path) -> dict:
    work = out / "paddle" / name
    work.mkdir(parents=True, exist_ok=True)
    script = work / "export_paddle.py"
    script.write_text(PADDLE_SCRIPT % {"seed": SEED})
    run = subprocess.run([str(paddle_python), str(script), arch, str(work), str(H), str(W), str(CLASSES)],
                         capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        raise RuntimeError("paddle export failed: " + " | ".join((run.stderr or run.stdout).strip().splitlines()[-3:]))
    prefix = json.loads(run.stdout.strip().splitlines()[-1])["prefix"]
    model_file = next((p for p in (Path(prefix + ".json"), Path(prefix + ".pdmodel")) if p.exists()), None)
    if model_file is None:
        raise RuntimeError(f"paddle.jit.save wrote no model file next to {prefix}")
    path = out / f"{name}.paddle2onnx.onnx"
    p2o = paddle_python.parent / "paddle2onnx"
    conv = subprocess.run([str(p2o), "--model_dir", str(work), "--model_filename", model_file.name,
                           "--params_filename", Path(prefix + ".pdiparams").name, "--save_file", str(path),
                           "--opset_version", str(TORCHSCRIPT_OPSET), "--enable_onnx_checker", "True"],
                          capture_output=True, text=True, timeout=900)
    if conv.returncode != 0 or not path.exists():
        raise RuntimeError("paddle2onnx failed: " + " | ".join((conv.stderr or conv.stdout).strip().splitlines()[-3:]))
    return {"path": path}


# ----------------------------------------------------------------------------- main

def main() -> int:
    global H, W
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, type=Path, help="output directory (outside the repo)")
    ap.add_argument("--only", nargs="*", help="export only these model names")
    ap.add_argument("--exporters", nargs="*", default=["torchscript", "dynamo"], choices=["torchscript", "dynamo"])
    ap.add_argument("--paddle-python", type=Path, default=HERE.parent / ".venv-zoo-paddle" / "bin" / "python")
    ap.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=[H, W],
                    help=f"input height and width of the exports (default {H} {W}; benchmarks at another size, e.g. 256 256)")
    args = ap.parse_args()
    H, W = args.size
    if H < 32 or W < 32:
        ap.error(f"--size: {H}x{W} is smaller than the 32x32 the encoders need")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    warnings.filterwarnings("ignore")

    # The PaddleSeg exports run in their own venv: a paddle-only run needs no torch here.
    torch = None
    if not args.only or any(n not in PADDLE_MODELS for n in args.only):
        torch = _torch()
        torch.set_num_threads(max(1, os.cpu_count() or 1))
    manifest: list[dict] = []
    manifest_path = out / "manifest.json"
    if args.only and manifest_path.exists():  # partial re-export: keep the other entries
        manifest = [e for e in json.loads(manifest_path.read_text()) if e["name"] not in set(args.only)]

    def record(entry: dict):
        manifest.append(entry)
        manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
        status = "ok " if entry.get("path") else "FAIL"
        print(f"[{status}] {entry['name']:<34} {entry['exporter']:<12} "
              f"{'dyn ' if entry['dynamic'] else ''}{'qdq ' if entry['quantized'] else ''}"
              f"{entry.get('seconds', 0):6.1f}s  {entry.get('error') or entry.get('path')}", flush=True)

    def attempt(name: str, exporter: str, dynamic: bool, quantized: bool, path: Path, fn, note: str | None = None):
        entry = {"name": name, "exporter": exporter, "path": None, "dynamic": dynamic, "quantized": quantized,
                 "input_shape": [1, 3, "height" if dynamic else H, "width" if dynamic else W], "classes": CLASSES,
                 "seed": SEED}
        t0 = time.time()
        try:
            buf = io.StringIO()
            with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
                extra = fn()
            entry["path"] = str(path)
            entry.update(onnx_summary(path))
            if isinstance(extra, str):
                note = f"{note}; {extra}" if note else extra
        except Exception as exc:  # record, never crash
            entry["error"] = _short(exc)
            entry["traceback"] = traceback.format_exc()[-4000:]
            path.unlink(missing_ok=True)
        if note:
            entry["note"] = note
        entry["seconds"] = round(time.time() - t0, 1)
        record(entry)
        return entry

    wanted = lambda name: not args.only or name in args.only
    for name, build in TORCH_MODELS.items():
        if not wanted(name):
            continue
        torch.manual_seed(SEED)
        np.random.seed(SEED)
        try:
            model = build()
        except Exception as exc:
            for exporter in args.exporters:
                record({"name": name, "exporter": exporter, "path": None, "dynamic": False, "quantized": False,
                        "error": "build failed: " + _short(exc)})
            continue
        x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(SEED))
        note = "input extended with zeros to a multiple of 32 inside the graph (Concat), logits cropped back" if name.startswith("smp_") else None
        if name == "hf_segformer_b0":
            note = "HF SegformerForSemanticSegmentation, default (b0) config; logits at 1/4 resolution"
        produced = {}
        for exporter in args.exporters:
            fn = export_torchscript if exporter == "torchscript" else export_dynamo
            path = out / f"{name}.{exporter}.onnx"
            e = attempt(name, exporter, False, False, path, lambda: fn(model, x, path, False), note)
            produced[exporter] = e
            if name in DYNAMIC_MODELS:
                dpath = out / f"{name}.{exporter}.dynamic.onnx"
                attempt(name, exporter, True, False, dpath, lambda: fn(model, x, dpath, True), note)
        if name in QUANTIZE_MODELS:
            src = next((e for e in (produced.get("torchscript"), produced.get("dynamo")) if e and e.get("path")), None)
            qpath = out / f"{name}.{(src or {}).get('exporter', 'torchscript')}.qdq.onnx"
            if src is None:
                record({"name": name, "exporter": "torchscript", "path": None, "dynamic": False, "quantized": True,
                        "error": "no float export to quantize"})
            else:
                attempt(name, src["exporter"], False, True, qpath, lambda: quantize_qdq(Path(src["path"]), qpath))
        del model

    for name, arch in PADDLE_MODELS.items():
        if not wanted(name):
            continue
        path = out / f"{name}.paddle2onnx.onnx"
        if not args.paddle_python.exists():
            record({"name": name, "exporter": "paddle2onnx", "path": None, "dynamic": False, "quantized": False,
                    "error": f"skipped: no paddle venv at {args.paddle_python} (paddlepaddle/paddleseg/paddle2onnx "
                             f"did not install; see tools/zoo/README.md)"})
            continue
        attempt(name, "paddle2onnx", False, False, path, lambda: export_paddle(out, name, arch, args.paddle_python) and None,
                f"PaddleSeg {arch}, random init, paddle.jit.save + paddle2onnx opset {TORCHSCRIPT_OPSET}")

    ok = sum(1 for e in manifest if e.get("path"))
    print(f"{ok}/{len(manifest)} exports produced; manifest: {manifest_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
