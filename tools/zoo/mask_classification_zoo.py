#!/usr/bin/env python3
"""Mask-classification models (HF Mask2Former, MaskFormer): export with PyTorch's outputs as the
reference, then run each through `segslim run` and compare.

ONNX Runtime cannot be the oracle here: its CPU provider has no GridSample(20) kernel, which
Mask2Former's multi-scale deformable attention exports to. So `export` saves, beside each model,
the input it was traced with and PyTorch eager's outputs on it; `compare` runs segslim on that
input and reports, per output, max |ours - torch| / (max(torch) - min(torch)).

Models (random init, seed 0, no downloads; 11 classes + no-object, input 1x3xHxW):
    hf_mask2former_swin_tiny   Mask2FormerForUniversalSegmentation, Swin-tiny backbone
                               (embed 96, depths 2-2-6-2), small decoder (hidden 128, 20 queries,
                               4 decoder layers, 2 deformable encoder layers), opset 20
    hf_maskformer_resnet50     MaskFormerForInstanceSegmentation, ResNet-50 backbone,
                               small decoder (20 queries), opset 20

Outputs: class_logits [1, Q, C+1] and mask_logits [1, Q, H/4, W/4], named as such in the graph,
and `segslim.task = mask_classification` in metadata_props.

Usage (tools/.venv-zoo from setup_venv.sh; models > 1 MB stay outside the repository):
    tools/.venv-zoo/bin/python tools/zoo/mask_classification_zoo.py export --out /tmp/segslim-m2f
    tools/.venv-zoo/bin/python tools/zoo/mask_classification_zoo.py compare --out /tmp/segslim-m2f \
        [--segslim .build/release/segslim]
    tools/.venv-zoo/bin/python tools/zoo/mask_classification_zoo.py torch-bench --out /tmp/segslim-m2f [--runs 10]
        # PyTorch eager p50 at 1 and 2 threads; compare with `segslim bench MODEL --threads N`
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CLASSES, SEED = 11, 0
H, W = 256, 320  # multiples of 32 (Swin's patch merging, MaskFormer's FPN); CamVid's 360x480 is resized to it
OPSET = 20


def build(name):
    import torch
    torch.manual_seed(SEED)
    if name == "hf_mask2former_swin_tiny":
        from transformers import Mask2FormerConfig, Mask2FormerForUniversalSegmentation, SwinConfig
        backbone = SwinConfig(embed_dim=96, depths=[2, 2, 6, 2], num_heads=[3, 6, 12, 24], window_size=7,
                              out_features=["stage1", "stage2", "stage3", "stage4"])
        config = Mask2FormerConfig(backbone_config=backbone, num_labels=CLASSES, num_queries=20, decoder_layers=4,
                                   encoder_layers=2, hidden_dim=128, mask_feature_size=128, feature_size=128,
                                   dim_feedforward=512, encoder_feedforward_dim=512, use_pretrained_backbone=False, backbone=None)
        model = Mask2FormerForUniversalSegmentation(config)
    elif name == "hf_maskformer_resnet50":
        from transformers import MaskFormerConfig, MaskFormerForInstanceSegmentation, ResNetConfig
        backbone = ResNetConfig(depths=[3, 4, 6, 3], hidden_sizes=[256, 512, 1024, 2048], layer_type="bottleneck",
                                out_features=["stage1", "stage2", "stage3", "stage4"])
        config = MaskFormerConfig(backbone_config=backbone, num_labels=CLASSES, num_queries=20, fpn_feature_size=128,
                                  mask_feature_size=128, decoder_config={"model_type": "detr", "decoder_layers": 2, "d_model": 128,
                                                                         "encoder_layers": 0, "decoder_attention_heads": 4,
                                                                         "decoder_ffn_dim": 512, "num_queries": 20},
                                  use_pretrained_backbone=False, backbone=None)
        model = MaskFormerForInstanceSegmentation(config)
    else:
        raise KeyError(name)

    class Outputs(torch.nn.Module):
        """forward(x) -> (class logits [B, Q, C+1], mask logits [B, Q, H/4, W/4])."""

        def __init__(self):
            super().__init__()
            self.model = model.eval()

        def forward(self, x):
            out = self.model(pixel_values=x)
            return out.class_queries_logits, out.masks_queries_logits

    return Outputs().eval()


MODELS = ["hf_mask2former_swin_tiny", "hf_maskformer_resnet50"]


def write_export(model, x, out, name):
    """Exports `model` traced on `x` to OUT/NAME.onnx (opset 20, outputs class_logits and
    mask_logits, `segslim.task` in its metadata) with the input and PyTorch's outputs beside it
    as NAME.input.npy and NAME.torch_{0,1}.npy. Returns (path, reference outputs, ONNX model)."""
    import onnx
    import torch
    path = out / f"{name}.onnx"
    with torch.no_grad():
        ref = [t.numpy() for t in model(x)]
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=OPSET, input_names=["input"],
                          output_names=["class_logits", "mask_logits"], do_constant_folding=True)
    m = onnx.load(str(path))
    onnx.helper.set_model_props(m, {"segslim.task": "mask_classification"})
    onnx.save(m, str(path))
    np.save(out / f"{name}.input.npy", x.numpy())
    for i, r in enumerate(ref):
        np.save(out / f"{name}.torch_{i}.npy", r)
    return path, ref, m


def export(args):
    import onnx
    import torch
    warnings.filterwarnings("ignore")
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = []
    for name in args.only or MODELS:
        entry = {"name": name, "opset": OPSET, "input_shape": [1, 3, H, W], "classes": CLASSES}
        t0 = time.time()
        try:
            model = build(name)
            x = torch.randn(1, 3, H, W, generator=torch.Generator().manual_seed(SEED))
            path, ref, m = write_export(model, x, args.out, name)
            ops = sorted({n.op_type for n in m.graph.node})
            entry.update(path=str(path), bytes=path.stat().st_size, ops=ops,
                         outputs=[list(r.shape) for r in ref], params=sum(p.numel() for p in model.parameters()))
        except Exception as exc:  # record, never crash
            entry["error"] = f"{type(exc).__name__}: {exc}"[:600]
        entry["seconds"] = round(time.time() - t0, 1)
        manifest.append(entry)
        print(json.dumps({k: v for k, v in entry.items() if k != "ops"}), flush=True)
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def compare(args):
    manifest = json.loads((args.out / "manifest.json").read_text())
    worst_all = 0.0
    for entry in manifest:
        if not entry.get("path") or (args.only and entry["name"] not in args.only):
            continue
        name = entry["name"]
        with tempfile.TemporaryDirectory(prefix="segslim-m2f-") as tmp:
            cmd = [str(args.segslim), "run", entry["path"], f"input={args.out / (name + '.input.npy')}", "--out", tmp, "--json"]
            t0 = time.time()
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
            seconds = time.time() - t0
            if proc.returncode != 0:
                print(f"{name}: segslim run failed ({proc.returncode}): {(proc.stderr or proc.stdout)[:400]}")
                worst_all = float("inf")
                continue
            doc = json.loads(proc.stdout)
            outs = doc.get("outputs") or doc.get("result", {}).get("outputs") or []
            by_name = {o.get("name"): o.get("path") for o in outs}
            for i, out_name in enumerate(["class_logits", "mask_logits"]):
                ref = np.load(args.out / f"{name}.torch_{i}.npy")
                ours = np.load(by_name[out_name])
                span = float(ref.max() - ref.min()) or 1.0
                rel = float(np.abs(ours.astype(np.float64) - ref).max() / span)
                worst_all = max(worst_all, rel)
                print(f"{name:<28} {out_name:<13} {str(list(ref.shape)):<18} max|diff|/range {rel:.2e}  "
                      f"{'ok' if rel <= 1e-4 else 'FAIL'}  (segslim run {seconds:.1f}s)")
    return 0 if worst_all <= 1e-4 else 1


def torch_bench(args):
    """PyTorch eager p50 of each model's module on its traced input, at 1 and 2 threads (the
    yardstick for `segslim bench MODEL --threads N`, since ONNX Runtime cannot run these)."""
    import torch
    warnings.filterwarnings("ignore")
    for name in args.only or MODELS:
        model = build(name)
        x = torch.from_numpy(np.load(args.out / f"{name}.input.npy"))
        for threads in (1, 2):
            torch.set_num_threads(threads)
            times = []
            with torch.inference_mode():
                for i in range(args.warmup + args.runs):
                    t0 = time.perf_counter()
                    model(x)
                    if i >= args.warmup:
                        times.append((time.perf_counter() - t0) * 1000)
            times.sort()
            print(f"{name:<28} torch eager  threads {threads}  p50 {times[len(times) // 2]:8.1f} ms  min {times[0]:8.1f} ms  ({args.runs} runs)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("command", choices=["export", "compare", "torch-bench"])
    ap.add_argument("--out", required=True, type=Path, help="directory outside the repository")
    ap.add_argument("--only", nargs="*")
    ap.add_argument("--segslim", type=Path, default=REPO / ".build" / "release" / "segslim")
    ap.add_argument("--timeout", type=float, default=900.0)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    args = ap.parse_args()
    args.out = args.out.resolve()
    if args.command == "export":
        export(args)
        return 0
    if args.command == "torch-bench":
        torch_bench(args)
        return 0
    return compare(args)


if __name__ == "__main__":
    sys.exit(main())
