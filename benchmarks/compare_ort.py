#!/usr/bin/env python3
"""SegSlim's compiled runtime next to ONNX Runtime, each side warm and alone while it is timed.

For each model, thread count and batch: rounds alternate between the two sides. An ORT round is a
fresh Python process (CPU provider, intra_op_num_threads = N, sequential execution, all graph
optimizations) that creates its session, warms up, times its runs and exits; a segslim round is
one `model/benchmark` request to a daemon spawned for the model (same thread count, two warmup
runs on a freshly compiled plan, as ORT's rounds get two). So neither side's threads run, or spin, while the other is
timed: a small model read 2.31x ORT when ORT's session stayed alive in this process between its
runs (its pool threads spinning on our 2 cores) and 1.08x measured this way. The side that goes
first alternates round by round so drift in machine load hits both alike. Prints the medians
of all timed runs, their ratio (segslim / ORT; below 1.0 is faster), ORT's session-create time,
peak RSS of each side (VmHWM of ORT's first round process; the daemon's own reading in a fresh
daemon), and the max |segslim - ORT| on one input.

    swift build -c release
    tools/.venv/bin/python benchmarks/compare_ort.py [MODEL.onnx ...] [--threads 1 2] [--runs 20] [--batch 1 4] [--shape H W]

Default models: ../shared/models/*.onnx. Needs onnxruntime and numpy (tools/.venv).
"""
import argparse
import base64
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import segslim  # noqa: E402

# One ORT round, run as `python -c WORKER request.json`: session, warmup, timed runs, and (when
# asked) the output on the shared input, written as .npy. Prints one JSON line.
WORKER = r"""
import json, sys, time
import numpy as np, onnxruntime as ort
req = json.load(open(sys.argv[1]))
so = ort.SessionOptions()
so.intra_op_num_threads = req["threads"]
so.inter_op_num_threads = 1
so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
t = time.perf_counter()
s = ort.InferenceSession(req["path"], so, providers=["CPUExecutionProvider"])
create_ms = (time.perf_counter() - t) * 1000
inp = s.get_inputs()[0]
if req.get("shapeOnly"):
    print(json.dumps({"name": inp.name, "dims": [d if isinstance(d, int) else None for d in inp.shape]}))
    sys.exit(0)
x = np.load(req["input"])
feed = {inp.name: x}
for _ in range(req["warmup"]):
    s.run(None, feed)
times = []
for _ in range(req["runs"]):
    t = time.perf_counter()
    out = s.run(None, feed)
    times.append((time.perf_counter() - t) * 1000)
if req.get("output"):
    np.save(req["output"], s.run(None, feed)[0])
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve from the (large) parent.
hwm = [int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:")][0]
print(json.dumps({"times": times, "createMs": create_ms, "peakRSSBytes": hwm}))
"""


def ort_session(path, threads):
    """An ORT session with the options the worker uses (for scripts that import this one)."""
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_round(req, tmp):
    path = os.path.join(tmp, "request.json")
    with open(path, "w") as f:
        json.dump(req, f)
    out = subprocess.run([sys.executable, "-c", WORKER, path], capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"ORT worker failed on {req['path']}: {out.stderr.strip().splitlines()[-1:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def segslim_peak_rss(daemon, path, shape, threads, runs):
    """Peak RSS of a fresh daemon that loads the model and runs it `runs` times."""
    with segslim.Client.spawn(daemon_path=daemon) as client:
        client.initialize()
        mid = client.request("model/load", {"path": path})["id"]
        r = client.request("model/benchmark", {"id": mid, "runs": runs, "warmup": 0, "threads": threads, "inputShape": shape})
        return r["peakRSSBytes"]


def input_shape(dims, batch, hw):
    """The input shape for `batch`, or None when the model's batch axis is fixed to another size."""
    shape = list(dims)
    if shape[0] is not None and shape[0] != batch:
        return None
    shape[0] = batch
    if len(shape) == 4:
        if hw is not None:
            shape[2], shape[3] = hw
        elif shape[2] is None or shape[3] is None:
            shape[2], shape[3] = 360, 480
    return shape


def measure(args, path, threads, batch, tmp):
    info = ort_round({"path": path, "threads": 1, "shapeOnly": True}, tmp)
    shape = input_shape(info["dims"], batch, args.shape)
    if shape is None:
        return None
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    x_path, ref_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "ort_out.npy")
    np.save(x_path, x)
    per_round = max(1, args.runs // args.rounds)
    ort_times, ours_times, creates, ort_rss = [], [], [], None
    with segslim.Client.spawn(daemon_path=args.daemon) as client:
        client.initialize()
        mid = client.request("model/load", {"path": path})["id"]
        bench = {"id": mid, "runs": per_round, "warmup": 2, "threads": threads, "inputShape": shape}
        for i in range(args.rounds):
            def ort():
                r = ort_round({"path": path, "threads": threads, "input": x_path, "warmup": 2, "runs": per_round,
                               "output": ref_path if i == 0 else None}, tmp)
                ort_times.extend(r["times"])
                creates.append(r["createMs"])
                return r

            def ours():
                # The daemon compiles a fresh plan per request; the first warmup run allocates and
                # first-touches its arena. Two warmup runs, as ORT's rounds get. Its per-run times
                # come back as p50 only, so each round adds that p50 `per_round` times: the median
                # over rounds is then the median of round medians.
                r = client.request("model/benchmark", bench, timeout=1800)
                ours_times.extend([r["p50Ms"]] * per_round)

            if i % 2 == 0:
                first = ort()
                ours()
            else:
                ours()
                first = ort()
            if ort_rss is None:
                ort_rss = first["peakRSSBytes"]
        ref = np.load(ref_path)
        out = client.request("model/run", {"id": mid, "inputs": {info["name"]: {"dtype": "f32", "shape": shape,
                                                                                 "data": base64.b64encode(x.tobytes()).decode()}}})
        ours_out = np.frombuffer(base64.b64decode(out["outputs"][0]["data"]), dtype=np.float32).reshape(ref.shape)
        ref_err = None
        if args.check_reference:
            # The compiled runtime against our own oracle, the reference executor (slow).
            slow = client.request("model/run", {"id": mid, "engine": "reference", "inputs": {info["name"]: {
                "dtype": "f32", "shape": shape, "data": base64.b64encode(x.tobytes()).decode()}}}, timeout=1800)
            oracle = np.frombuffer(base64.b64decode(slow["outputs"][0]["data"]), dtype=np.float32).reshape(ref.shape)
            ref_err = float(np.abs(ours_out - oracle).max() / max(np.abs(oracle).max(), 1e-12))
    err = float(np.abs(ours_out - ref).max() / max(np.abs(ref).max(), 1e-12))
    agree = float((ours_out.argmax(1) == ref.argmax(1)).mean()) if ref.ndim == 4 else 1.0
    ort_p50, ours_p50 = statistics.median(ort_times), statistics.median(ours_times)
    peak = segslim_peak_rss(args.daemon, path, shape, threads, 3)
    return {"model": os.path.basename(path), "shape": shape, "threads": threads, "batch": batch,
            "ortP50Ms": ort_p50, "segslimP50Ms": ours_p50, "ratio": ours_p50 / ort_p50,
            "ortSessionCreateMs": statistics.median(creates), "ortPeakRSSBytes": ort_rss, "segslimPeakRSSBytes": peak,
            "maxRelError": err, "argmaxAgreement": agree, "referenceMaxRelError": ref_err}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--shape", type=int, nargs=2, metavar=("H", "W"), help="input height and width (default: the model's, or 360x480 when dynamic)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=4, help="alternating rounds per side; runs are split among them")
    ap.add_argument("--daemon", default=os.path.join(ROOT, ".build", "release", "segslimd"))
    ap.add_argument("--check-reference", action="store_true",
                    help="also run the reference executor (slow) and report the compiled runtime's max error against it")
    ap.add_argument("--json", default=os.path.join(ROOT, ".build", "compare_ort.json"), help="where to write the rows")
    args = ap.parse_args()
    models = args.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*.onnx")))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in models:
            path = os.path.abspath(path)
            for threads in args.threads:
                for batch in args.batch:
                    r = measure(args, path, threads, batch, tmp)
                    if r is None:
                        print(f"{os.path.basename(path):<28} t={threads} b={batch}  skipped: the model's batch axis is fixed", flush=True)
                        continue
                    rows.append(r)
                    print(f"{r['model']:<28} {'x'.join(map(str, r['shape'])):<14} t={threads} b={batch}  ORT {r['ortP50Ms']:7.1f} ms  "
                          f"segslim {r['segslimP50Ms']:7.1f} ms  ratio {r['ratio']:.2f}x  RSS ORT {r['ortPeakRSSBytes'] / 2**20:6.1f} MiB / "
                          f"segslim {r['segslimPeakRSSBytes'] / 2**20:6.1f} MiB  max rel err {r['maxRelError']:.1e}  "
                          f"argmax {r['argmaxAgreement'] * 100:.3f}%"
                          + (f"  vs reference {r['referenceMaxRelError']:.1e}" if r["referenceMaxRelError"] is not None else ""), flush=True)
    print("\n| model | input | threads | ORT p50 ms | segslim p50 ms | ratio | ORT session create ms | ORT peak RSS MiB | segslim peak RSS MiB | max rel err vs ORT | argmax agree |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['model']} | {'x'.join(map(str, r['shape']))} | {r['threads']} | {r['ortP50Ms']:.1f} | {r['segslimP50Ms']:.1f} | {r['ratio']:.2f}x | "
              f"{r['ortSessionCreateMs']:.0f} | {r['ortPeakRSSBytes'] / 2**20:.1f} | {r['segslimPeakRSSBytes'] / 2**20:.1f} | "
              f"{r['maxRelError']:.1e} | {r['argmaxAgreement'] * 100:.3f}% |")
    if rows:
        ratios = [r["ratio"] for r in rows]
        print(f"\ngeometric mean ratio {float(np.exp(np.mean(np.log(ratios)))):.3f}x over {len(rows)} rows; max {max(ratios):.2f}x")
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
