#!/usr/bin/env python3
"""Warm model/segment (mask + overlay written) vs model/benchmark p50 in one daemon, interleaved.

Usage: benchmarks/segment_overhead.py DAEMON MODEL.onnx IMAGE [N]   (issue 13: target ratio <= 1.15)
"""
import json, subprocess, sys, os, tempfile, statistics, time
daemon = sys.argv[1]; model = sys.argv[2]; image = sys.argv[3]; n = int(sys.argv[4]) if len(sys.argv) > 4 else 20
p = subprocess.Popen([daemon], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
i = 0
def call(method, params=None):
    global i; i += 1
    msg = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None: msg["params"] = params
    p.stdin.write(json.dumps(msg) + "\n"); p.stdin.flush()
    while True:
        r = json.loads(p.stdout.readline())
        if r.get("id") == i:
            if "error" in r: raise SystemExit(f"{method}: {r['error']}")
            return r["result"]
call("initialize"); call("initialized") if False else None
load = call("model/load", {"path": os.path.abspath(model)})
mid = load["id"]
out = tempfile.mkdtemp()
seg = []; tim = []
bench = []
# Interleaved, so a busy machine slows both sides alike.
for k in range(n + 3):
    d = os.path.join(out, str(k)); os.mkdir(d)
    t = time.perf_counter(); r = call("model/segment", {"id": mid, "images": [os.path.abspath(image)], "outputDir": d}); e = (time.perf_counter() - t) * 1000
    b = call("model/benchmark", {"id": mid, "runs": 3, "warmup": 0})
    if k >= 3:
        seg.append(e); tim.append(r["results"][0]["timings"])
        bench.append(b.get("p50Ms") or b.get("latency", {}).get("p50Ms"))
bp50 = statistics.median(bench)
s50 = statistics.median(seg)
print(json.dumps({"segmentP50Ms": round(s50, 2), "benchmarkP50Ms": bp50, "ratio": round(s50 / bp50, 3),
                  "timingsMedian": {k: round(statistics.median(t[k] for t in tim), 2) for k in tim[0]}}))
call("shutdown"); p.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "exit"}) + "\n"); p.stdin.flush(); p.wait()
