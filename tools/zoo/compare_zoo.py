#!/usr/bin/env python3
"""Compare SegSlim's outputs with ONNX Runtime's on every model of a zoo (see export_zoo.py).

Developer tooling, not a test. For each produced model of DIR/manifest.json:
  1. input: a CamVid val image (ImageNet mean/std, NCHW float32) resized to the model's input
     size, or a seeded random tensor when no image is available; models with dynamic H/W get
     the image at --dynamic-size (default 288x384, deliberately not the export size);
  2. ORT (CPU, graph optimisations off by default so QDQ runs as written: DequantizeLinear ->
     float op -> QuantizeLinear, which is the ONNX semantics SegSlim implements);
  3. `segslim run MODEL input.npy --out TMP --json` (the CLI spawns segslimd) under a timeout;
  4. metrics on the first output: max|ours-ORT| / max|ORT| and argmax agreement over the class
     axis. PASS: max abs error <= 1e-3 x (max(ORT) - min(ORT)) and agreement >= 99.9%
     (QDQ models: >= 99.5%).
Prints a markdown table and writes DIR/compare.json and DIR/compare.md (rewritten after every
model, so a long run can be watched).

Usage: tools/.venv-zoo/bin/python tools/zoo/compare_zoo.py --zoo /tmp/segslim-zoo \
           [--segslim .build/release/segslim] [--image some.jpg] [--timeout 900] [--only NAME ...]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CAMVID = Path(os.environ.get("SEGSLIM_CAMVID", str(HERE.parent.parent.parent / "shared" / "data" / "camvid")))
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
SEED = 0
ABS_TOL_OF_RANGE = 1e-3
AGREE_FLOAT = 99.9
AGREE_QDQ = 99.5


def default_image() -> Path | None:
    listing = CAMVID / "val.txt"
    if listing.exists():
        for line in listing.read_text().splitlines():
            if line.strip() and (CAMVID / line.split()[0]).exists():
                return CAMVID / line.split()[0]
    return None


def make_input(image: Path | None, h: int, w: int) -> tuple[np.ndarray, str]:
    if image is not None:
        from PIL import Image
        img = Image.open(image).convert("RGB")
        if img.size != (w, h):
            img = img.resize((w, h), Image.BILINEAR)
        a = (np.asarray(img, dtype=np.float32) / 255.0 - MEAN) / STD
        return np.ascontiguousarray(a.transpose(2, 0, 1)[None]), f"{image.name} {h}x{w}"
    rng = np.random.default_rng(SEED)
    return rng.standard_normal((1, 3, h, w), dtype=np.float32), f"seeded random {h}x{w}"


def first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def unsupported_ops(message: str) -> list[str]:
    """Operator names from segslim's 'operators SegSlim does not support: DOMAIN OP (opset N): ...' message."""
    found = re.findall(r"(?:support: |; )([\w.]+) (\w+) \(opset \d+\)", message)
    return list(dict.fromkeys(op if dom in ("ai.onnx", "") else f"{dom}::{op}" for dom, op in found))


def ort_run(path: str, feed: dict, optimize: str):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = {"disable": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
                                   "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
                                   "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}[optimize]
    so.log_severity_level = 3
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = [o.name for o in sess.get_outputs()]
    return names, sess.run(names, feed)


def compare(ours: np.ndarray, ref: np.ndarray, quantized: bool) -> dict:
    ours = ours.astype(np.float64)
    ref = ref.astype(np.float64)
    diff = np.abs(ours - ref)
    max_abs = float(diff.max()) if diff.size else 0.0
    ref_max = float(np.abs(ref).max()) if ref.size else 0.0
    ref_range = float(ref.max() - ref.min()) if ref.size else 0.0
    agree = None
    if ref.ndim == 4 and ref.shape[1] > 1:
        agree = float((ours.argmax(1) == ref.argmax(1)).mean() * 100.0)
    need = AGREE_QDQ if quantized else AGREE_FLOAT
    ok = bool(np.isfinite(ours).all()) and max_abs <= ABS_TOL_OF_RANGE * ref_range and (agree is None or agree >= need)
    return {"max_abs": max_abs, "rel_max": max_abs / ref_max if ref_max else max_abs, "ort_range": ref_range,
            "argmax_agree": agree, "pass": ok, "nan_or_inf": not bool(np.isfinite(ours).all())}


def render(rows: list[dict], header_note: str) -> str:
    lines = [header_note, "",
             "| model | exporter | loads? | rel max err | argmax agree | result | segslim s |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        name = r["name"] + (" (dyn)" if r.get("dynamic") else "") + (" (QDQ)" if r.get("quantized") else "")
        loads = r.get("loads")
        if loads is True:
            loads_s = "yes"
        elif loads is None:
            loads_s = "—"
        else:
            ops = r.get("unsupported_ops")
            loads_s = ("no: unsupported " + ", ".join(ops)) if ops else ("no: " + (r.get("error") or "")[:160])
        rel = f"{r['rel_max']:.2e}" if r.get("rel_max") is not None else "—"
        agree = f"{r['argmax_agree']:.3f}%" if r.get("argmax_agree") is not None else "—"
        result = r.get("result", "—")
        secs = f"{r['segslim_seconds']:.1f}" if r.get("segslim_seconds") is not None else "—"
        lines.append(f"| {name} | {r['exporter']} | {loads_s.replace('|', '/')} | {rel} | {agree} | {result} | {secs} |")
    baselines = [(r, r["ort_fused_vs_unfused"]) for r in rows if (r.get("ort_fused_vs_unfused") or {}).get("rel_max") is not None]
    if baselines:
        lines.append("")
        lines.append("QDQ context, ORT against itself (fused integer kernels vs the unfused QDQ graph): " + "; ".join(
            f"{r['name']} rel {b['rel_max']:.2e}, argmax {b['argmax_agree']:.3f}%" for r, b in baselines))
    missing: dict[str, int] = {}
    for r in rows:
        for op in r.get("unsupported_ops") or []:
            missing[op] = missing.get(op, 0) + 1
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.get("result", "?")] = counts.get(r.get("result", "?"), 0) + 1
    lines += ["", "Results: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))]
    if missing:
        lines.append("Unsupported operators (models blocked by each): "
                     + ", ".join(f"{op} {n}" for op, n in sorted(missing.items(), key=lambda kv: (-kv[1], kv[0]))))
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--zoo", required=True, type=Path)
    ap.add_argument("--segslim", type=Path, default=REPO / ".build" / "release" / "segslim")
    ap.add_argument("--image", type=Path, default=None, help="JPEG/PNG input (default: first CamVid val image)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per model for segslim run")
    ap.add_argument("--dynamic-size", default="288x384", help="HxW fed to models with dynamic H/W")
    ap.add_argument("--ort-optimization", choices=["disable", "basic", "all"], default="disable")
    ap.add_argument("--only", nargs="*", help="only these model names")
    ap.add_argument("--skip-slow", type=float, default=None,
                    help="skip models that took longer than this many seconds (or timed out) in the previous compare.json")
    args = ap.parse_args()

    zoo = args.zoo.resolve()
    manifest = json.loads((zoo / "manifest.json").read_text())
    segslim = args.segslim.resolve()
    if not segslim.exists():
        print(f"no segslim at {segslim}: build with `swift build -c release` in {REPO}", file=sys.stderr)
        return 2
    image = args.image or default_image()
    dh, dw = (int(v) for v in args.dynamic_size.lower().split("x"))
    previous = {}
    if args.skip_slow is not None and (zoo / "compare.json").exists():
        for r in json.loads((zoo / "compare.json").read_text()).get("rows", []):
            previous[(r["name"], r["exporter"], r["dynamic"], r["quantized"])] = r

    started = dt.datetime.now().isoformat(timespec="seconds")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    note = (f"SegSlim zoo comparison, {started}, repo HEAD {commit}, input: "
            f"{image.name if image else 'seeded random tensor'}, ORT optimisation: {args.ort_optimization}; "
            f"PASS = max abs err <= {ABS_TOL_OF_RANGE:g} x ORT output range and argmax agreement >= {AGREE_FLOAT}% "
            f"(QDQ {AGREE_QDQ}%)")
    rows: list[dict] = []

    def flush():
        (zoo / "compare.json").write_text(json.dumps({"note": note, "rows": rows}, indent=2) + "\n")
        (zoo / "compare.md").write_text(render(rows, note))

    for entry in manifest:
        if args.only and entry["name"] not in args.only:
            continue
        row = {k: entry.get(k) for k in ("name", "exporter", "dynamic", "quantized", "path")}
        rows.append(row)
        if not entry.get("path"):
            row.update(loads=None, result="NOT EXPORTED", error=entry.get("error"))
            flush()
            continue
        key = (row["name"], row["exporter"], row["dynamic"], row["quantized"])
        prev = previous.get(key)
        if prev and prev.get("loads") and (prev.get("result") == "TIMEOUT" or (prev.get("segslim_seconds") or 0) > args.skip_slow):
            row.update(loads=True, result="SKIPPED (slow)", error=f"previous run: {prev.get('result')} after {prev.get('segslim_seconds')}s")
            flush()
            continue
        shape = (entry.get("inputs") or [{}])[0].get("shape") or [1, 3, 360, 480]
        h, w = (dh, dw) if entry.get("dynamic") else (int(shape[2]), int(shape[3]))
        x, desc = make_input(image, h, w)
        row["input"] = desc
        input_name = (entry.get("inputs") or [{"name": "input"}])[0]["name"]
        try:
            names, ref_outs = ort_run(entry["path"], {input_name: x}, args.ort_optimization)
        except Exception as exc:
            row.update(loads=None, result="ORT ERROR", error=first_line(str(exc)))
            flush()
            print(f"{row['name']:<32} {row['exporter']:<12} ORT error: {row['error']}", flush=True)
            continue
        ref = ref_outs[0]
        row["output_shape"] = list(ref.shape)
        if entry.get("quantized"):
            # Context for QDQ rows: how far ORT's own fused integer kernels (ORT_ENABLE_ALL) are from
            # the unfused QDQ graph. One-step rounding flips (float summation order at .5 ties) grow
            # through a random-init network, so two correct implementations can differ this much.
            try:
                alt = "all" if args.ort_optimization != "all" else "disable"
                base = compare(ort_run(entry["path"], {input_name: x}, alt)[1][0], ref, True)
                row["ort_fused_vs_unfused"] = {"rel_max": base["rel_max"], "argmax_agree": base["argmax_agree"]}
            except Exception as exc:
                row["ort_fused_vs_unfused"] = {"error": first_line(str(exc))}
        with tempfile.TemporaryDirectory(prefix="segslim-zoo-") as tmp:
            inp = Path(tmp) / "input.npy"
            np.save(inp, x)
            out_dir = Path(tmp) / "out"
            cmd = [str(segslim), "run", entry["path"], f"{input_name}={inp}", "--out", str(out_dir), "--json"]
            t0 = time.time()
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
                row["segslim_seconds"] = round(time.time() - t0, 1)
            except subprocess.TimeoutExpired:
                row.update(loads=True, result="TIMEOUT", segslim_seconds=round(time.time() - t0, 1),
                           error=f"segslim run exceeded {args.timeout:.0f}s")
                flush()
                print(f"{row['name']:<32} {row['exporter']:<12} TIMEOUT", flush=True)
                continue
            if proc.returncode != 0:
                msg = first_line(proc.stderr) or first_line(proc.stdout)
                try:  # --json may carry the error as a document on stdout
                    doc = json.loads(proc.stdout)
                    msg = first_line(str(doc.get("error", {}).get("message") if isinstance(doc.get("error"), dict) else doc.get("error") or msg))
                except Exception:
                    pass
                ops = unsupported_ops(msg)
                # A refusal at load (unsupported operators, invalid model) means "does not load";
                # anything else after loading is a run error.
                loads = not (ops or "does not support" in msg or "cannot load" in msg.lower())
                row.update(loads=loads, result="NOT LOADED" if not loads else "RUN ERROR", error=msg,
                           unsupported_ops=ops or None, exit_code=proc.returncode)
                flush()
                print(f"{row['name']:<32} {row['exporter']:<12} rc={proc.returncode} {msg[:200]}", flush=True)
                continue
            try:
                doc = json.loads(proc.stdout)
                outs = doc.get("outputs") or doc.get("result", {}).get("outputs") or []
                by_name = {o.get("name"): o.get("path") for o in outs}
                out_path = by_name.get(names[0]) or (outs[0].get("path") if outs else None)
                ours = np.load(out_path)
            except Exception as exc:
                row.update(loads=True, result="RUN ERROR", error=f"cannot read segslim output: {exc}; stdout: {proc.stdout[:300]}")
                flush()
                continue
        row["loads"] = True
        if ours.shape != ref.shape:
            row.update(result="FAIL", error=f"output shape {list(ours.shape)} != ORT {list(ref.shape)}")
        else:
            m = compare(ours, ref, bool(entry.get("quantized")))
            row.update(m)
            row["result"] = "PASS" if m["pass"] else "FAIL"
        flush()
        print(f"{row['name']:<32} {row['exporter']:<12} {row['result']} rel={row.get('rel_max')} "
              f"agree={row.get('argmax_agree')} {row['segslim_seconds']}s", flush=True)

    flush()
    print()
    print(render(rows, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
