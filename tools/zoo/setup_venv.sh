#!/usr/bin/env bash
# Creates tools/.venv-zoo (torch, torchvision, smp, transformers, onnx, onnxruntime, onnxscript)
# and, when PaddlePaddle installs, tools/.venv-zoo-paddle (paddlepaddle, paddleseg, paddle2onnx).
# Usage: tools/zoo/setup_venv.sh [python-executable]   (default: python3)
# Both venvs are gitignored (.venv*/); nothing in the Swift build or tests depends on them.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tools="$(dirname "$here")"
python="${1:-python3}"
venv="$tools/.venv-zoo"
paddle_venv="$tools/.venv-zoo-paddle"
torch_pin="$(grep -E '^torch==' "$here/requirements.txt" | cut -d= -f3)"
vision_pin="$(grep -E '^torchvision==' "$here/requirements.txt" | cut -d= -f3)"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip)
"${pip[@]}" install --quiet --upgrade pip

have_pair() {
    "$venv/bin/python" - <<'PY' 2>/dev/null
import torch, torchvision  # torchvision's import fails when it was built for another torch
PY
}

if ! have_pair; then
    echo "torch: trying the CPU wheels (download.pytorch.org/whl/cpu) ..."
    if "${pip[@]}" install --quiet --timeout 30 --retries 1 \
            "torch==$torch_pin" "torchvision==$vision_pin" --index-url https://download.pytorch.org/whl/cpu; then
        echo "torch: CPU wheels installed"
    else
        echo "torch: CPU index unreachable; installing PyPI's default wheels (with CUDA libraries, ~3 GB)"
        # '===' excludes local versions such as 2.13.0+cpu from a find-links directory, and
        # PIP_FIND_LINKS= ignores such directories, so torch and torchvision come from one build.
        PIP_FIND_LINKS= "${pip[@]}" install --quiet "torch===$torch_pin" "torchvision==$vision_pin"
    fi
fi
"${pip[@]}" install --quiet -r "$here/requirements.txt"
"$venv/bin/python" - <<'PY'
import numpy, onnx, onnxruntime, onnxscript, torch, torchvision, segmentation_models_pytorch as smp, transformers
print(f"tools/.venv-zoo ready: torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"smp {smp.__version__}, transformers {transformers.__version__}, onnx {onnx.__version__}, "
      f"onnxruntime {onnxruntime.__version__}, onnxscript {onnxscript.__version__}, numpy {numpy.__version__}")
PY

# PaddleSeg models are optional: a failure here only means export_zoo.py records them as skipped.
[ -x "$paddle_venv/bin/python" ] || "$python" -m venv "$paddle_venv"
if "$paddle_venv/bin/python" -m pip install --quiet --upgrade pip \
        && "$paddle_venv/bin/python" -m pip install --quiet -r "$here/requirements-paddle.txt" \
        && "$paddle_venv/bin/python" -c "import paddle, paddleseg.models, paddle2onnx; print('tools/.venv-zoo-paddle ready: paddle', paddle.__version__)"; then
    :
else
    echo "NOTE: paddlepaddle/paddleseg/paddle2onnx did not install; PaddleSeg models will be skipped." >&2
    rm -rf "$paddle_venv"
fi
