#!/usr/bin/env python3
"""JSON-RPC round-trip latency and idle memory of segslimd.

Spawns the release daemon, initializes it, then times N sequential `server/status`
round trips on LSP framing two ways:

  * client: through clients/python/segslim.py (request -> reader thread -> waiting caller);
  * raw:    write a framed request and read the framed answer on the same thread, without
            the client's thread hop, to show what the daemon itself costs.

It also reads the daemon's idle resident set (VmRSS from /proc/PID/status) after
initialize and a short rest. Targets: p50 <= 0.3 ms, idle RSS <= 30 MB (10^6 bytes).

    python3 benchmarks/rpc_roundtrip.py                     # swift build -c release first
    python3 benchmarks/rpc_roundtrip.py --daemon .build/release/segslimd --n 1000

Exit status: 0 when every target passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "clients" / "python"))

from segslim import Client  # noqa: E402

P50_TARGET_MS = 0.3
RSS_TARGET_MB = 30.0


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(p / 100.0 * len(sorted_values)) - 1))
    return sorted_values[k]


def vm_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024 / 1e6  # kB (KiB) -> MB (10^6 bytes)
    return float("nan")


def build_release(scratch_path):
    cmd = ["swift", "build", "-c", "release", "--product", "segslimd"]
    if scratch_path:
        cmd += ["--scratch-path", scratch_path]
    print("$ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, cwd=str(REPO), check=True)
    out = subprocess.run(cmd + ["--show-bin-path"], cwd=str(REPO), check=True,
                         stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    return os.path.join(out, "segslimd")


def summarize(name, samples_ms):
    s = sorted(samples_ms)
    p50, p90, p99 = percentile(s, 50), percentile(s, 90), percentile(s, 99)
    print("%-7s n=%d  p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  min %.3f  max %.3f   [%s p50 <= %.1f ms]"
          % (name, len(s), p50, p90, p99, s[0], s[-1], "PASS" if p50 <= P50_TARGET_MS else "FAIL", P50_TARGET_MS))
    return p50


def bench_client(daemon, n, warmup):
    with Client.spawn(daemon, stderr=subprocess.DEVNULL) as client:
        client.initialize(client_name="rpc_roundtrip.py")
        time.sleep(0.5)  # idle: let start-up settle before reading the RSS
        rss = vm_rss_mb(client.process.pid)
        reported = client.request("server/status")["rssBytes"] / 1e6
        for _ in range(warmup):
            client.request("server/status")
        samples = []
        clock = time.perf_counter
        for _ in range(n):
            t0 = clock()
            client.request("server/status")
            samples.append((clock() - t0) * 1000.0)
        return samples, rss, reported


class RawConnection:
    """The same wire, no threads: write one framed request, read one framed answer."""

    def __init__(self, daemon):
        self.proc = subprocess.Popen([daemon], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, bufsize=0)
        self.out = os.fdopen(os.dup(self.proc.stdout.fileno()), "rb", buffering=65536)
        self.next_id = 1

    def call(self, method, params=None):
        msg = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        self.next_id += 1
        if params is not None:
            msg["params"] = params
        body = json.dumps(msg, separators=(",", ":")).encode()
        os.write(self.proc.stdin.fileno(), b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        while True:
            length = None
            while True:
                line = self.out.readline()
                if not line:
                    raise RuntimeError("segslimd closed its output")
                line = line.strip()
                if not line:
                    if length is None:
                        continue
                    break
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            answer = json.loads(self.out.read(length))
            if answer.get("id") == msg["id"]:
                if "error" in answer:
                    raise RuntimeError(answer["error"])
                return answer["result"]

    def close(self):
        self.call("shutdown")
        body = b'{"jsonrpc":"2.0","method":"exit"}'
        os.write(self.proc.stdin.fileno(), b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        code = self.proc.wait(10)
        self.out.close()
        self.proc.stdin.close()
        self.proc.stdout.close()
        return code


def bench_raw(daemon, n, warmup):
    conn = RawConnection(daemon)
    try:
        conn.call("initialize", {"processId": os.getpid()})
        for _ in range(warmup):
            conn.call("server/status")
        samples = []
        clock = time.perf_counter
        for _ in range(n):
            t0 = clock()
            conn.call("server/status")
            samples.append((clock() - t0) * 1000.0)
        return samples
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--daemon", help="segslimd to measure (default: build and use the release one)")
    ap.add_argument("--scratch-path", help="swift build --scratch-path for the release build")
    ap.add_argument("--n", type=int, default=1000, help="round trips per mode (default 1000)")
    ap.add_argument("--warmup", type=int, default=100, help="untimed round trips first (default 100)")
    ap.add_argument("--no-raw", action="store_true", help="skip the thread-free raw measurement")
    args = ap.parse_args()

    daemon = args.daemon or build_release(args.scratch_path)
    print("daemon: %s" % daemon)
    print("machine: %d CPUs, Python %s" % (os.cpu_count() or 0, sys.version.split()[0]))

    samples, rss, reported = bench_client(daemon, args.n, args.warmup)
    p50 = summarize("client", samples)
    ok = p50 <= P50_TARGET_MS
    if not args.no_raw:
        raw_p50 = summarize("raw", bench_raw(daemon, args.n, args.warmup))
        print("        client thread hop costs %.3f ms at p50" % (p50 - raw_p50))
    rss_ok = rss <= RSS_TARGET_MB
    print("idle RSS %.1f MB (VmRSS after initialize; server/status says %.1f MB)   [%s <= %.0f MB]"
          % (rss, reported, "PASS" if rss_ok else "FAIL", RSS_TARGET_MB))
    return 0 if (ok and rss_ok) else 1


if __name__ == "__main__":
    sys.exit(main())
