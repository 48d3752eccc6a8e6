#!/usr/bin/env python3
"""Warm model/load time: the same file loaded and unloaded N times in one daemon (the OS file
cache warm after the first), p50 of the round trips. Target for the 13 MB demo model: <= 50 ms.

    swift build -c release
    python3 benchmarks/load_time.py [MODEL.onnx] [--runs 20] [--daemon PATH]
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "clients", "python"))
import segslim  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", nargs="?", default=os.path.join(ROOT, "Sources", "segslim", "Demo", "lraspp_mbv3_camvid.onnx"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--daemon", default=os.path.join(ROOT, ".build", "release", "segslimd"))
    args = ap.parse_args()
    times = []
    with segslim.Client.spawn(daemon_path=args.daemon) as c:
        c.initialize()
        for i in range(args.runs + 2):
            t = time.perf_counter()
            m = c.request("model/load", {"path": os.path.abspath(args.model), "id": "m"})
            ms = (time.perf_counter() - t) * 1000
            c.request("model/unload", {"id": "m"})
            if i >= 2:
                times.append(ms)
    p50 = statistics.median(times)
    print(f"{os.path.basename(args.model)}: {os.path.getsize(args.model) / 1e6:.1f} MB, warm model/load p50 {p50:.1f} ms, "
          f"min {min(times):.1f} ms over {len(times)} loads  [{'PASS' if p50 <= 50 else 'FAIL'} <= 50 ms]")


if __name__ == "__main__":
    main()
