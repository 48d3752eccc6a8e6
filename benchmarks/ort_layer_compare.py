#!/usr/bin/env python3
"""Per-layer time of one model on ONNX Runtime against SegSlim's runtime, conv by conv.

ORT side: `enable_profiling`, each node's median kernel time; a fused or NCHWc Conv node is
keyed by the output of the ONNX Conv it came from, followed through BatchNormalization,
activation, Add and Identity nodes (the names ORT's fusions keep). SegSlim side: `segslim bench
--profile --profile-steps 0 --json`, each step's ms/run. Both are summed per conv shape
("dw 960->960 s1 @23x30", "pw 160->960 ...", "3x3 64->64 s2 ...") and per other op, and the
shapes are listed by how much longer ours takes.

    tools/.venv/bin/python benchmarks/ort_layer_compare.py MODEL.onnx [--threads 1] [--top 20]

Needs `swift build -c release --product segslim` (the CLI and daemon). Profiling adds overhead
on both sides; read the per-shape differences, not the totals, and rerun on a noisy machine.
"""
import argparse, collections, json, os, re, subprocess, sys, tempfile

import numpy as np
import onnx
import onnxruntime as ort
from onnx import shape_inference

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHAIN_OPS = ("Relu", "HardSwish", "Clip", "HardSigmoid", "Add", "Sigmoid", "LeakyRelu", "BatchNormalization", "Identity")


def shape_key(kind_groups, cin, cout, kh, kw, stride, h, w):
    groups = kind_groups
    kind = "dw" if groups > 1 and groups == cin else ("pw" if kh == 1 and kw == 1 else f"{kh}x{kw}")
    return f"{kind} {cin}->{cout} s{stride} @{h}x{w}"


def conv_keys(model: onnx.ModelProto) -> dict:
    """Output name → shape key, for every Conv and the chain of fused-away nodes after it."""
    inits = {i.name: list(i.dims) for i in model.graph.initializer}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(model.graph.value_info) + list(model.graph.input)}
    keys = {}
    for n in model.graph.node:
        if n.op_type != "Conv" or n.input[1] not in inits:
            continue
        w = inits[n.input[1]]
        a = {x.name: onnx.helper.get_attribute_value(x) for x in n.attribute}
        g = a.get("group", 1)
        s = a.get("strides", [1, 1])[0]
        ish = shapes.get(n.input[0], [0, 0, 0, 0])
        keys[n.output[0]] = shape_key(g, w[1] * g, w[0], w[2], w[3], s, ish[2], ish[3])
    for _ in range(4):
        for n in model.graph.node:
            if n.op_type in CHAIN_OPS and n.output[0] not in keys:
                src = next((i for i in n.input if i in keys), None)
                if src is not None:
                    keys[n.output[0]] = keys[src]
    return keys


def ort_times(path: str, threads: int, runs: int, keys: dict) -> dict:
    o = ort.SessionOptions()
    o.intra_op_num_threads = threads
    o.inter_op_num_threads = 1
    o.enable_profiling = True
    o.profile_file_prefix = os.path.join(tempfile.gettempdir(), "ort_layer_compare")
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    i = s.get_inputs()[0]
    x = np.random.default_rng(0).standard_normal([d if isinstance(d, int) else 1 for d in i.shape]).astype(np.float32)
    for _ in range(runs):
        s.run(None, {i.name: x})
    f = s.end_profiling()
    events = json.load(open(f))
    os.remove(f)
    per, ops = collections.defaultdict(list), {}
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            name = e["name"][: -len("_kernel_time")]
            per[name].append(e["dur"])
            ops[name] = e["args"].get("op_name", "")
    out = collections.defaultdict(float)
    for name, durations in per.items():
        ms = float(np.median(durations[min(5, len(durations) - 1):])) / 1e3
        if ops[name] == "Conv":
            out[keys.get(re.sub(r"_nchwc$", "", name), "conv (unmatched)")] += ms
        else:
            out["op " + ops[name]] += ms
    return out


STEP = re.compile(r"Conv\S* (?:\([^)]*\) )?(\d+)→(\d+) (\d+)×(\d+)(?:/(\d+))?(?: d\S+)? g(\d+) @(\d+)×(\d+)")


def our_times(path: str, threads: int, runs: int) -> tuple[float, dict]:
    cli = os.path.join(ROOT, ".build", "release", "segslim")
    out = subprocess.run([cli, "bench", path, "--threads", str(threads), "--runs", str(runs), "--profile",
                          "--profile-steps", "0", "--json"], capture_output=True, text=True, check=True).stdout
    d = json.loads(out)["models"][0]
    times = collections.defaultdict(float)
    for step in d["slowestSteps"]:
        m = STEP.match(step["step"])
        if m:
            cin, cout, kh, kw, s, g, h, w = m.groups()
            times[shape_key(int(g), int(cin), int(cout), int(kh), int(kw), int(s or 1), int(h), int(w))] += step["msPerRun"]
        else:
            times["op " + step["step"].split()[0]] += step["msPerRun"]
    return d["p50Ms"], times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=25)
    ap.add_argument("--top", type=int, default=20)
    args = ap.parse_args()
    if not os.path.exists(args.model):
        print(f"ort_layer_compare: no such model: {args.model}", file=sys.stderr)
        return 2
    model = shape_inference.infer_shapes(onnx.load(args.model))
    theirs = ort_times(args.model, args.threads, args.runs, conv_keys(model))
    p50, ours = our_times(args.model, args.threads, args.runs)
    print(f"{os.path.basename(args.model)}, {args.threads} thread(s): ORT per-node sum {sum(theirs.values()):.2f} ms, "
          f"segslim per-step sum {sum(ours.values()):.2f} ms (p50 {p50:.1f})")
    kinds = collections.defaultdict(lambda: [0.0, 0.0])
    for k, v in theirs.items():
        kinds[k if k.startswith("op ") else k.split()[0]][0] += v
    for k, v in ours.items():
        kinds[k if k.startswith("op ") else k.split()[0]][1] += v
    print(f"\n{'kind':28s} {'ORT ms':>8s} {'ours ms':>8s}")
    for k, (a, b) in sorted(kinds.items(), key=lambda kv: -max(kv[1])):
        print(f"{k:28s} {a:8.2f} {b:8.2f}")
    print(f"\n{'shape':36s} {'ORT ms':>8s} {'ours ms':>8s} {'diff':>7s}")
    for k in sorted(set(theirs) | set(ours), key=lambda k: -(ours.get(k, 0) - theirs.get(k, 0)))[: args.top]:
        print(f"{k:36s} {theirs.get(k, 0):8.2f} {ours.get(k, 0):8.2f} {ours.get(k, 0) - theirs.get(k, 0):+7.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
