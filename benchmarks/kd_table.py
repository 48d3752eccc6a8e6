#!/usr/bin/env python3
"""Tabulates training runs (segslim train --json outputs, or checkpoint folders still running)
as a markdown table: best and last val mIoU, epochs, wall time, step p50.

    python3 benchmarks/kd_table.py NAME=RUN_DIR [NAME=RUN_DIR ...]

RUN_DIR holds result.json (the CLI's --json output) and/or ckpt/state.json (a run in progress
or resumed across sessions). Developer tooling: the Swift tests never run this.
"""
import json
import os
import sys


def summarise(run_dir):
    result = os.path.join(run_dir, "result.json")
    state = os.path.join(run_dir, "ckpt", "state.json")
    if os.path.exists(result) and os.path.getsize(result) > 0:
        data = json.load(open(result))
        if "report" in data:
            r = data["report"]
            history = r["history"]
            return {"history": history, "best": r.get("bestValMiou"), "bestEpoch": r.get("bestEpoch"),
                    "minutes": r["durationMs"] / 60000, "stepMs": r.get("stepMsP50"), "done": True}
    if os.path.exists(state):
        s = json.load(open(state))
        history = s["history"]
        return {"history": history, "best": s.get("bestValMiou"), "bestEpoch": s.get("bestEpoch"),
                "minutes": sum(h["seconds"] for h in history) / 60, "stepMs": None, "done": False}
    return None


def main(args):
    print("| run | epochs | best val mIoU (epoch) | last val mIoU | mean of last 5 | minutes | step p50 |")
    print("|---|---|---|---|---|---|---|")
    for arg in args:
        name, _, path = arg.partition("=")
        s = summarise(path)
        if s is None:
            print(f"| {name} | not started | | | | | |")
            continue
        vals = [h.get("valMiou") for h in s["history"] if h.get("valMiou") is not None]
        last5 = sum(vals[-5:]) / len(vals[-5:]) if vals else float("nan")
        epochs = f"{len(s['history'])}" + ("" if s["done"] else " (running)")
        best = f"{s['best']:.4f} ({s['bestEpoch']})" if s["best"] is not None else "-"
        step = f"{s['stepMs']:.0f} ms" if s["stepMs"] else "-"
        print(f"| {name} | {epochs} | {best} | {vals[-1]:.4f} | {last5:.4f} | {s['minutes']:.1f} | {step} |")


if __name__ == "__main__":
    main(sys.argv[1:])
