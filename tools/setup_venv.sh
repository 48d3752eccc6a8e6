#!/usr/bin/env bash
# Creates tools/.venv with the pinned developer tooling (see tools/requirements.txt).
# Usage: tools/setup_venv.sh [python-executable]   (default: python3)
# The venv is gitignored; nothing in the Swift build or tests depends on it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${1:-python3}"
venv="$here/.venv"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import numpy, onnx, onnxruntime
print(f"tools/.venv ready: numpy {numpy.__version__}, onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}")
PY
