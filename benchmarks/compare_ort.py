#!/usr/bin/env python3
"""SegSlim's compiled runtime next to ONNX Runtime, measured side by side in one run.

For each model: ORT (CPU provider, intra_op_num_threads = N, sequential execution, all graph
optimizations) and segslim (`model/benchmark` through the Python client, same thread count) on
the same input shape, interleaved round by round so machine noise hits both alike. Prints p50s,
the p50 ratio (segslim / ORT; below 1.0 is faster), peak RSS of each (each measured in a fresh
process that loads the model and runs it three times), and the max |segslim − ORT| on one input.

    swift build -c release
    tools/.venv/bin/python benchmarks/compare_ort.py [MODEL.onnx ...] [--threads 1 2] [--runs 20] [--batch 1 4]

Default models: ../shared/models/*.onnx. Needs onnxruntime and numpy (tools/.venv).
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import segslim  # noqa: E402


def ort_session(path, threads):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def ort_peak_rss(path, shape, threads, runs):
    """Peak RSS of a fresh process that loads the model and runs it (ORT's own footprint)."""
    code = f"""
import numpy as np, onnxruntime as ort
so = ort.SessionOptions(); so.intra_op_num_threads = {threads}
s = ort.InferenceSession({path!r}, so, providers=['CPUExecutionProvider'])
x = np.random.default_rng(0).standard_normal({tuple(shape)!r}).astype(np.float32)
for _ in range({runs}): s.run(None, {{s.get_inputs()[0].name: x}})
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across execve, so a child of this (large)
# process would report the parent's peak.
print([int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmHWM:')][0])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1])


def segslim_peak_rss(daemon, path, shape, threads, runs):
    """Peak RSS of a fresh daemon that loads the model and runs it `runs` times: the same
    protocol as `ort_peak_rss`, so neither side carries the other's history."""
    with segslim.Client.spawn(daemon_path=daemon) as client:
        client.initialize()
        mid = client.request("model/load", {"path": path})["id"]
        r = client.request("model/benchmark", {"id": mid, "runs": runs, "warmup": 0, "threads": threads, "inputShape": shape})
        return r["peakRSSBytes"]


def input_shape(sess, batch):
    """The input shape for `batch`, or None when the model's batch axis is fixed to another size."""
    dims = sess.get_inputs()[0].shape
    shape = [d if isinstance(d, int) else None for d in dims]
    if shape[0] is not None and shape[0] != batch:
        return None
    shape[0] = batch
    if len(shape) == 4 and (shape[2] is None or shape[3] is None):
        shape[2], shape[3] = 360, 480
    return shape


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("models", nargs="*")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch", type=int, nargs="+", default=[1])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds; runs are split among them")
    ap.add_argument("--daemon", default=os.path.join(ROOT, ".build", "release", "segslimd"))
    ap.add_argument("--check-reference", action="store_true",
                    help="also run the reference executor (slow) and report the compiled runtime's max error against it")
    ap.add_argument("--json", default=os.path.join(ROOT, ".build", "compare_ort.json"), help="where to write the rows")
    args = ap.parse_args()
    models = args.models or sorted(glob.glob(os.path.join(ROOT, "..", "shared", "models", "*.onnx")))
    rows = []
    for path in models:
        path = os.path.abspath(path)
        for threads in args.threads:
            for batch in args.batch:
                sess = ort_session(path, threads)
                shape = input_shape(sess, batch)
                if shape is None:
                    print(f"{os.path.basename(path):<28} t={threads} b={batch}  skipped: the model's batch axis is fixed", flush=True)
                    continue
                x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
                name = sess.get_inputs()[0].name
                with segslim.Client.spawn(daemon_path=args.daemon) as client:
                    client.initialize()
                    info = client.request("model/load", {"path": path})
                    mid = info["id"]
                    per_round = max(1, args.runs // args.rounds)
                    ort_times, ours_times = [], []
                    sess.run(None, {name: x})
                    client.request("model/benchmark", {"id": mid, "runs": 1, "warmup": 2, "threads": threads, "inputShape": shape})
                    for _ in range(args.rounds):
                        for _ in range(per_round):
                            t = time.perf_counter()
                            sess.run(None, {name: x})
                            ort_times.append((time.perf_counter() - t) * 1000)
                        # warmup 1: each model/benchmark call compiles a fresh plan, whose first run
                        # allocates and first-touches its arena; ORT's session is long warm.
                        r = client.request("model/benchmark", {"id": mid, "runs": per_round, "warmup": 1, "threads": threads, "inputShape": shape})
                        ours_times.append(r["p50Ms"])
                    # Accuracy on the same input.
                    ref = sess.run(None, {name: x})[0]
                    import base64
                    out = client.request("model/run", {"id": mid, "inputs": {name: {"dtype": "f32", "shape": list(x.shape), "data": base64.b64encode(x.tobytes()).decode()}}})
                    ours = np.frombuffer(base64.b64decode(out["outputs"][0]["data"]), dtype=np.float32).reshape(ref.shape)
                    err = float(np.abs(ours - ref).max() / max(np.abs(ref).max(), 1e-12))
                    agree = float((ours.argmax(1) == ref.argmax(1)).mean()) if ref.ndim == 4 else 1.0
                    ref_err = None
                    if args.check_reference:
                        # The compiled runtime against our own oracle, the reference executor.
                        slow = client.request("model/run", {"id": mid, "engine": "reference", "inputs": {name: {"dtype": "f32", "shape": list(x.shape), "data": base64.b64encode(x.tobytes()).decode()}}}, timeout=1800)
                        oracle = np.frombuffer(base64.b64decode(slow["outputs"][0]["data"]), dtype=np.float32).reshape(ref.shape)
                        ref_err = float(np.abs(ours - oracle).max() / max(np.abs(oracle).max(), 1e-12))
                ort_p50, ours_p50 = statistics.median(ort_times), statistics.median(ours_times)
                ort_rss = ort_peak_rss(path, shape, threads, 3)
                peak = segslim_peak_rss(args.daemon, path, shape, threads, 3)
                rows.append({"model": os.path.basename(path), "threads": threads, "batch": batch, "ortP50Ms": ort_p50, "segslimP50Ms": ours_p50,
                             "ratio": ours_p50 / ort_p50, "ortPeakRSSBytes": ort_rss, "segslimPeakRSSBytes": peak,
                             "maxRelError": err, "argmaxAgreement": agree, "referenceMaxRelError": ref_err})
                r = rows[-1]
                print(f"{r['model']:<28} t={threads} b={batch}  ORT {ort_p50:7.1f} ms  segslim {ours_p50:7.1f} ms  ratio {r['ratio']:.2f}x  "
                      f"RSS ORT {ort_rss / 2**20:6.1f} MiB / segslim {peak / 2**20:6.1f} MiB  max rel err {err:.1e}  argmax {agree * 100:.3f}%"
                      + (f"  vs reference {ref_err:.1e}" if ref_err is not None else ""), flush=True)
    print("\n| model | threads | batch | ORT p50 ms | segslim p50 ms | ratio | ORT peak RSS MiB | segslim peak RSS MiB | max rel err vs ORT | argmax agree | max rel err vs reference |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ref = "" if r["referenceMaxRelError"] is None else f"{r['referenceMaxRelError']:.1e}"
        print(f"| {r['model']} | {r['threads']} | {r['batch']} | {r['ortP50Ms']:.1f} | {r['segslimP50Ms']:.1f} | {r['ratio']:.2f}x | "
              f"{r['ortPeakRSSBytes'] / 2**20:.1f} | {r['segslimPeakRSSBytes'] / 2**20:.1f} | {r['maxRelError']:.1e} | {r['argmaxAgreement'] * 100:.3f}% | {ref} |")
    json.dump(rows, open(args.json, "w"), indent=1)


if __name__ == "__main__":
    main()
