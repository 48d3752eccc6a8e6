#!/usr/bin/env python3
"""Prune every zoo model at ratio 0.3 with `segslim compress --technique prune` and check that
ONNX Runtime's output on the pruned ONNX equals SegSlim's (developer tooling, not a test).

For each model of DIR/manifest.json:
  1. `segslim compress MODEL --technique prune --param ratio=0.3 --param latencyRuns=0 --out P.onnx --json`
     (report: params and MACs before/after, channel groups pruned);
  2. the same input as compare_zoo.py (a CamVid val image, or seeded noise), dynamic models at 288x384;
  3. ORT (CPU, optimisations off) on P.onnx and `segslim run P.onnx` on the same input;
  4. PASS when max|ours - ORT| <= rtol * max|ORT| with rtol 1e-4 (the outputs' scale; an
     elementwise rtol is meaningless at logits that cross zero) and argmax agreement >= 99.9%.
     QDQ models have their weights behind DequantizeLinear, so nothing is prunable (prune before
     quantizing): they pass as UNCHANGED when ORT's output on the written file equals its output on
     the source (SegSlim's own QDQ differences from ORT are compare_zoo.py's business).
Prints a markdown table; writes OUT/prune_zoo.json and OUT/prune_zoo.md.

Usage: tools/.venv/bin/python tools/zoo/prune_zoo.py --zoo /tmp/segslim-zoo \
           [--segslim .build/release/segslim] [--out /tmp/segslim-prune-zoo] [--ratio 0.3] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from compare_zoo import default_image, make_input, ort_run  # noqa: E402

RTOL = 1e-4


def run_json(cmd: list[str], timeout: float) -> tuple[int, dict | None, str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    try:
        doc = json.loads(proc.stdout)
    except Exception:
        doc = None
    msg = (proc.stderr.strip().splitlines() or [""])[-1] if proc.returncode else ""
    if proc.returncode and doc and isinstance(doc.get("error"), dict):
        msg = doc["error"].get("message", msg)
    return proc.returncode, doc, msg


def find(doc, key):
    """First value under `key` anywhere in a JSON document."""
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        for v in doc.values():
            r = find(v, key)
            if r is not None:
                return r
    elif isinstance(doc, list):
        for v in doc:
            r = find(v, key)
            if r is not None:
                return r
    return None


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--zoo", type=Path, default=Path("/tmp/segslim-zoo"))
    ap.add_argument("--segslim", type=Path, default=HERE.parent.parent / ".build" / "release" / "segslim")
    ap.add_argument("--out", type=Path, default=Path("/tmp/segslim-prune-zoo"))
    ap.add_argument("--ratio", type=float, default=0.3)
    ap.add_argument("--criterion", default="l1")
    ap.add_argument("--timeout", type=float, default=1200.0)
    ap.add_argument("--only", nargs="*")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    segslim = str(args.segslim.resolve())
    image = default_image()
    rows = []
    for entry in json.loads((args.zoo / "manifest.json").read_text()):
        if not entry.get("path") or (args.only and entry["name"] not in args.only):
            continue
        tag = entry["name"] + (" (dyn)" if entry.get("dynamic") else "") + (" (QDQ)" if entry.get("quantized") else "")
        row = {"model": tag, "exporter": entry.get("exporter")}
        rows.append(row)
        stem = Path(entry["path"]).stem
        pruned = args.out / f"{stem}.pruned.onnx"
        t0 = time.time()
        rc, doc, msg = run_json([segslim, "compress", entry["path"], "--technique", "prune", "--param", f"ratio={args.ratio}",
                                 "--param", f"criterion={args.criterion}", "--param", "latencyRuns=0",
                                 "--out", str(pruned), "--overwrite", "--json"], args.timeout)
        row["prune_s"] = round(time.time() - t0, 1)
        if rc != 0:
            row.update(result="PRUNE ERROR", error=msg[:300])
            print(f"{tag:<40} PRUNE ERROR {msg[:200]}", flush=True)
            continue
        for k in ("paramsBefore", "paramsAfter", "macsBefore", "macsAfter", "channelsRemoved"):
            row[k] = find(doc, k)
        groups = find(doc, "groups") or []
        row["groups"] = len(groups)
        row["groups_pruned"] = sum(1 for g in groups if g.get("kept", 0) < g.get("channels", 0))
        shape = (entry.get("inputs") or [{}])[0].get("shape") or [1, 3, 360, 480]
        h, w = (288, 384) if entry.get("dynamic") else (int(shape[2]), int(shape[3]))
        x, _ = make_input(image, h, w)
        name = (entry.get("inputs") or [{"name": "input"}])[0]["name"]
        try:
            names, ref = ort_run(str(pruned), {name: x}, "disable")
            ref = ref[0]
        except Exception as exc:
            row.update(result="ORT ERROR", error=str(exc).splitlines()[0][:300])
            print(f"{tag:<40} ORT ERROR {row['error']}", flush=True)
            continue
        with tempfile.TemporaryDirectory(prefix="segslim-prune-") as tmp:
            np.save(Path(tmp) / "x.npy", x)
            rc, doc, msg = run_json([segslim, "run", str(pruned), f"{name}={Path(tmp) / 'x.npy'}", "--out", str(Path(tmp) / "o"), "--json"],
                                    args.timeout)
            if rc != 0 or doc is None:
                row.update(result="RUN ERROR", error=msg[:300])
                print(f"{tag:<40} RUN ERROR {msg[:200]}", flush=True)
                continue
            outs = doc.get("outputs") or doc.get("result", {}).get("outputs") or []
            by_name = {o.get("name"): o.get("path") for o in outs}
            ours = np.load(by_name.get(names[0]) or outs[0]["path"])
        if ours.shape != ref.shape:
            row.update(result="FAIL", error=f"shape {list(ours.shape)} vs ORT {list(ref.shape)}")
        else:
            diff = float(np.abs(ours.astype(np.float64) - ref).max())
            scale = float(np.abs(ref).max()) or 1.0
            rng = float(ref.max() - ref.min()) or 1.0
            agree = float((ours.argmax(1) == ref.argmax(1)).mean() * 100) if ref.ndim == 4 and ref.shape[1] > 1 else 100.0
            ok = diff <= RTOL * scale and agree >= 99.9
            row.update(rel_max_err=diff / scale, argmax_agree=agree, result="PASS" if ok else "FAIL")
            if entry.get("quantized") and row.get("channelsRemoved") == 0:
                # Nothing is prunable behind DequantizeLinear; what is left to check is that the
                # file is unchanged: ORT gives the same output on it as on the source.
                _, src = ort_run(entry["path"], {name: x}, "disable")
                same = bool(np.array_equal(src[0], ref))
                row["result"] = "UNCHANGED" if same else "FAIL (changed)"
        print(f"{tag:<40} {row['result']} rel={row.get('rel_max_err', float('nan')):.2e} "
              f"macs {row['macsBefore']}->{row['macsAfter']} params {row['paramsBefore']}->{row['paramsAfter']}", flush=True)

    def g(v, scale=1e6, fmt="{:.2f}"):
        return fmt.format(v / scale) if isinstance(v, (int, float)) else "—"
    lines = [f"Prune zoo: ratio {args.ratio}, criterion {args.criterion}, roundTo 8 (default); PASS = max|ours-ORT| <= {RTOL} x max|ORT| "
             "and argmax agreement >= 99.9% on the pruned ONNX", "",
             "| model | exporter | params M before → after | GMACs before → after | MACs kept | groups pruned | rel max err | result |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        kept = f"{r['macsAfter'] / r['macsBefore']:.3f}" if r.get("macsBefore") else "—"
        err = f"{r['rel_max_err']:.2e}" if "rel_max_err" in r else r.get("error", "")[:60]
        lines.append(f"| {r['model']} | {r['exporter']} | {g(r.get('paramsBefore'))} → {g(r.get('paramsAfter'))} | "
                     f"{g(r.get('macsBefore'), 1e9, '{:.3f}')} → {g(r.get('macsAfter'), 1e9, '{:.3f}')} | {kept} | "
                     f"{r.get('groups_pruned', '—')}/{r.get('groups', '—')} | {err} | {r.get('result')} |")
    counts = {}
    for r in rows:
        counts[r.get("result")] = counts.get(r.get("result"), 0) + 1
    lines += ["", "Results: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    text = "\n".join(lines)
    (args.out / "prune_zoo.md").write_text(text + "\n")
    (args.out / "prune_zoo.json").write_text(json.dumps(rows, indent=1))
    print(text)
    return 0 if all(r.get("result") in ("PASS", "UNCHANGED") for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
