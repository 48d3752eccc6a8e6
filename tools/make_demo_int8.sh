#!/usr/bin/env bash
# Rebuilds the INT8 demo model shipped in Sources/segslim/Demo with our own quantizer's
# default recipe (100 calibration images spread over CamVid train). Run after changing the
# Quantize plugin's defaults; needs ../shared (or pass the CamVid folder as $1).
set -euo pipefail
cd "$(dirname "$0")/.."
DATASET="${1:-../shared/data/camvid}"
swift build -c release
.build/release/segslim compress Sources/segslim/Demo/lraspp_mbv3_camvid.onnx --technique quantize \
    --dataset "$DATASET" --out Sources/segslim/Demo/lraspp_mbv3_camvid.int8.onnx --overwrite
# The report is for the record; the demo needs only the model.
mv Sources/segslim/Demo/lraspp_mbv3_camvid.int8.onnx.report.json tools/demo_int8.report.json
