#!/usr/bin/env python3
"""Find where SegSlim first departs from ONNX Runtime inside one model.

Developer tooling, not a test. Copies MODEL with intermediate tensors added as graph outputs
(by default every output of the op types given by --ops, e.g. QuantizeLinear; or every node),
runs the copy in ORT (optimisations off) and through `segslim run`, and prints, in graph order,
each tensor's max abs difference, the share of elements that differ, and for quantized tensors
the difference in quantization steps. The first rows that stand out point at the node to read.

Usage: tools/.venv-zoo/bin/python tools/zoo/bisect_model.py MODEL.onnx [--ops QuantizeLinear Conv]
           [--image frame.jpg] [--segslim .build/release/segslim] [--top 25]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare_zoo import REPO, default_image, make_input, ort_run  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--ops", nargs="*", default=None, help="op types whose outputs to expose (default: all nodes)")
    ap.add_argument("--image", type=Path, default=None)
    ap.add_argument("--segslim", type=Path, default=REPO / ".build" / "release" / "segslim")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--top", type=int, default=40, help="rows to print (first departures first)")
    args = ap.parse_args()

    import onnx
    from onnx import shape_inference
    model = onnx.load(str(args.model))
    inferred = shape_inference.infer_shapes(model)
    types = {vi.name: vi.type.tensor_type.elem_type for vi in list(inferred.graph.value_info) + list(inferred.graph.output)}
    existing = {o.name for o in model.graph.output}
    scales = {}  # quantized tensor -> (scale, zero point) initializer names
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in model.graph.initializer}
    order = []
    for node in model.graph.node:
        if args.ops and node.op_type not in args.ops:
            continue
        for out in node.output:
            if out and out not in existing and out in types:
                model.graph.output.append(onnx.helper.make_tensor_value_info(out, types[out], None))
                existing.add(out)
                order.append((out, node.name, node.op_type))
                if node.op_type == "QuantizeLinear" and node.input[1] in inits:
                    scales[out] = inits[node.input[1]]
    with tempfile.TemporaryDirectory(prefix="segslim-bisect-") as tmp:
        probe = Path(tmp) / "probe.onnx"
        onnx.save(model, str(probe))
        inp = model.graph.input[0]
        dims = [d.dim_value for d in inp.type.tensor_type.shape.dim]
        x, desc = make_input(args.image or default_image(), dims[2] or 360, dims[3] or 480)
        names, ref = ort_run(str(probe), {inp.name: x}, "disable")
        ref = dict(zip(names, ref))
        np.save(Path(tmp) / "input.npy", x)
        proc = subprocess.run([str(args.segslim), "run", str(probe), f"{inp.name}={Path(tmp) / 'input.npy'}",
                               "--out", str(Path(tmp) / "out"), "--json"], capture_output=True, text=True, timeout=args.timeout)
        if proc.returncode != 0:
            print(proc.stderr or proc.stdout)
            return 1
        ours = {o["name"]: np.load(o["path"]) for o in json.loads(proc.stdout)["outputs"]}
        print(f"input: {desc}; {len(order)} probed tensors")
        print(f"{'#':>4} {'op':<16} {'max abs':>10} {'differ %':>9} {'steps':>6}  tensor / node")
        shown = 0
        for i, (name, node, op) in enumerate(order):
            a, b = ours.get(name), ref.get(name)
            if a is None or b is None or a.shape != b.shape:
                print(f"{i:>4} {op:<16} shape/output mismatch: ours {None if a is None else a.shape} ORT {None if b is None else b.shape}  {name}")
                shown += 1
                continue
            d = np.abs(a.astype(np.float64) - b.astype(np.float64))
            steps = f"{d.max():.0f}" if name in scales else ""
            frac = float((d > 0).mean() * 100)
            if d.max() > 0 or shown < 3:
                print(f"{i:>4} {op:<16} {d.max():>10.3g} {frac:>8.3f}% {steps:>6}  {name} ({node})")
                shown += 1
            if shown >= args.top:
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
