#!/usr/bin/env bash
# Creates tools/train/.venv with the pinned training reference tooling (see requirements.txt).
# Usage: tools/train/setup_venv.sh [python-executable]   (default: python3)
# The venv is gitignored (.venv/); nothing in the Swift build or tests depends on it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${1:-python3}"
venv="$here/.venv"
torch_pin="$(grep -E '^torch==' "$here/requirements.txt" | cut -d= -f3)"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install --quiet --upgrade pip

have_torch() {
    "$venv/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$torch_pin' else 1)" 2>/dev/null
}

if ! have_torch; then
    echo "torch: trying the CPU wheel (download.pytorch.org/whl/cpu, or a local find-links directory) ..."
    # --extra-index-url keeps PyPI (and any configured find-links) reachable for torch's own
    # dependencies (filelock, sympy, ...), which the CPU index mirrors only partly.
    if "${pip[@]}" install --quiet --timeout 30 --retries 1 "torch==$torch_pin+cpu" \
            --index-url https://download.pytorch.org/whl/cpu --extra-index-url https://pypi.org/simple; then
        echo "torch: CPU wheel installed"
    else
        echo "torch: no CPU wheel reachable; installing PyPI's default wheel (with CUDA libraries, ~3 GB)"
        "${pip[@]}" install --quiet "torch==$torch_pin"
    fi
fi
"${pip[@]}" install --quiet -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import numpy, onnx, onnxruntime, torch
try:
    import torchvision
    vision = f", torchvision {torchvision.__version__}"
except Exception:
    vision = " (no torchvision: train_vs_torch.py reports the onnx_torch yardstick only)"
print(f"tools/train/.venv ready: torch {torch.__version__}, numpy {numpy.__version__}, "
      f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}{vision}")
PY
# Optional: the Torch-Pruning benchmark's extras, outside the venv (see requirements-bench.txt).
if [ -n "${BENCH_DEPS:-}" ]; then
    "${pip[@]}" install --quiet --target "$BENCH_DEPS" --no-deps -r "$here/requirements-bench.txt"
    echo "benchmark extras in $BENCH_DEPS (use PYTHONPATH=$BENCH_DEPS)"
fi
