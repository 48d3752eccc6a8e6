#!/usr/bin/env bash
# Rebuilds the demo's light-mode ladder in Sources/segslim/Demo from the shared CamVid data and
# models, and records each variant's recipe and val mIoU (all 101 val images) in ladder.json:
#   int8     quantize's default recipe (static, AdaRound) on the bundled FP32 model
#   pruned   the BN-kept model pruned to 50% of its MACs (l1), fine-tuned 10 epochs with
#            channel-wise distillation from the unpruned model, BN folded
#   teacher  LRASPP-MobileNetV3-Large from the shared random init, the shared recipe for 80
#            epochs (2 threads: ~75 min; resumable). Not shipped: the shared model underfits
#            CamVid train (mIoU 0.571), and every distillation loss from it left the student at or
#            below the one trained alone; this one fits it (0.637; val 0.624)
#   student  LRASPP on MobileNetV3-Small (the shared random init), 40 epochs from scratch with
#            logit KD (weight 0.5, T 1) and channel-wise KD (weight 3, T 4) from that teacher,
#            both weights decaying linearly to 0 (benchmarks/results/kd-students-2026-12-06.md),
#            BN folded (resumable: long; trains the teacher first if it is not there)
# Usage: tools/make_demo_ladder.sh [int8|pruned|teacher|student|all] [SHARED_DIR]   (default: all ../shared)
set -euo pipefail
cd "$(dirname "$0")/.."
WHAT="${1:-all}"
SHARED="$(cd "${2:-../shared}" && pwd)"
DATA="$SHARED/data/camvid"
DEMO=Sources/segslim/Demo
WORK="${SEGSLIM_LADDER_WORK:-.build/ladder}"
mkdir -p "$WORK"
swift build -c release
SEG=.build/release/segslim

# The shared .bn.onnx files carry no segslim.* metadata: give the shipped variants CamVid's
# class names, palette and the ImageNet normalisation they were trained with.
annotate() { # FILE
  "$SEG" annotate "$DEMO/$1" --classes-from "$DATA" --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --out "$WORK/annotated.onnx" --overwrite
  mv "$WORK/annotated.onnx" "$DEMO/$1"
}

# Reports kept in the repository name files relative to it (the daemon records absolute paths).
relativize() { # REPORT
  sed -i "s|$PWD/||g; s|$SHARED/|../shared/|g; s|$(cd "$WORK" && pwd)/|.build/ladder/|g" "$1"
}

# val mIoU of a model on all of CamVid val, written into ladder.json under NAME.
record() { # NAME FILE RECIPE
  local miou
  miou=$("$SEG" evaluate "$DEMO/$2" --dataset "$DATA" --split val --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["miou"])')
  python3 - "$DEMO/ladder.json" "$1" "$2" "$3" "$miou" <<'PY'
import json, os, sys
path, name, file, recipe, miou = sys.argv[1:]
order = ["FP32", "INT8", "pruned 50% + KD", "small student + KD"]
ladder = json.load(open(path)) if os.path.exists(path) else {"variants": []}
variants = [v for v in ladder["variants"] if v["name"] != name]
variants.append({"name": name, "file": file, "recipe": recipe, "valMiou": round(float(miou), 4)})
variants.sort(key=lambda v: order.index(v["name"]) if v["name"] in order else len(order))
json.dump({"variants": variants}, open(path, "w"), indent=1)
open(path, "a").write("\n")
print(f"{name}: val mIoU {float(miou):.4f}")
PY
}

if [ "$WHAT" = all ] || [ "$WHAT" = int8 ]; then
  record "FP32" lraspp_mbv3_camvid.onnx "the shared LRASPP-MobileNetV3-Large, BN folded"
  "$SEG" compress "$DEMO/lraspp_mbv3_camvid.onnx" --technique quantize --dataset "$DATA" \
      --out "$DEMO/lraspp_mbv3_camvid.int8.onnx" --overwrite
  mv "$DEMO/lraspp_mbv3_camvid.int8.onnx.report.json" tools/demo_int8.report.json
  relativize tools/demo_int8.report.json
  record "INT8" lraspp_mbv3_camvid.int8.onnx "quantize: static INT8, MSE calibration on 100 train images, AdaRound weights"
fi

if [ "$WHAT" = all ] || [ "$WHAT" = pruned ]; then
  "$SEG" compress "$SHARED/models/lraspp_mbv3_camvid.bn.onnx" --technique prune --param targetMacs=0.5 \
      --technique finetune --param epochs=10 --param lr=5e-4 --param crop=240,320 --param scale=0.75,1.5 \
      --param teacher="$SHARED/models/lraspp_mbv3_camvid.bn.onnx" --technique fuse \
      --dataset "$DATA" --out "$DEMO/lraspp_mbv3_camvid.pruned50-kd.onnx" --overwrite
  mv "$DEMO/lraspp_mbv3_camvid.pruned50-kd.onnx.report.json" tools/demo_pruned50-kd.report.json
  relativize tools/demo_pruned50-kd.report.json
  annotate lraspp_mbv3_camvid.pruned50-kd.onnx
  record "pruned 50% + KD" lraspp_mbv3_camvid.pruned50-kd.onnx "prune targetMacs 0.5 (l1, BN kept) → finetune 10 epochs, lr 5e-4, channel-wise KD from the unpruned model → fuse"
fi

# Resumable training: continues from DIR's checkpoint when it holds one.
train_resumable() { # CKPT_DIR OUT ARGS...
  local ckpt=$1 out=$2; shift 2
  local resume=()
  [ -f "$ckpt/state.json" ] && resume=(--resume "$ckpt")
  "$SEG" train "$@" --checkpoint-dir "$ckpt" "${resume[@]}" --out "$out" --overwrite
}
RECIPE=(--batch 8 --crop 240x320 --scale 0.75,1.5 --optimizer adamw --lr 2e-3 --weight-decay 1e-4 --schedule cosine --seed 1)

TEACHER="$WORK/teacher-large80.onnx"
if [ "$WHAT" = all ] || [ "$WHAT" = teacher ] || { [ "$WHAT" = student ] && [ ! -f "$TEACHER" ]; }; then
  train_resumable "$WORK/teacher-ckpt" "$TEACHER" "$SHARED/models/lraspp_mbv3large_init.bn.onnx" \
      --dataset "$DATA" --epochs 80 "${RECIPE[@]}" --threads 2
fi

if [ "$WHAT" = all ] || [ "$WHAT" = student ]; then
  # The shared random-init student (torchvision's LRASPP head on MobileNetV3-Small, what
  # `segslim build lraspp-mobilenetv3-small` writes too), so runs compare across sessions.
  train_resumable "$WORK/student-ckpt" "$WORK/student-kd.onnx" "$SHARED/models/lraspp_mbv3small_init.bn.onnx" \
      --dataset "$DATA" --epochs 40 "${RECIPE[@]}" --threads 1 \
      --teacher "$TEACHER" --kd-logits 0.5,1 --kd-channel 3,4 --kd-schedule linear
  "$SEG" compress "$WORK/student-kd.onnx" --technique fuse --out "$DEMO/lraspp_mbv3small_camvid.kd.onnx" --overwrite
  rm -f "$DEMO/lraspp_mbv3small_camvid.kd.onnx.report.json"
  annotate lraspp_mbv3small_camvid.kd.onnx
  record "small student + KD" lraspp_mbv3small_camvid.kd.onnx "the shared random-init LRASPP-MobileNetV3-Small → train 40 epochs (the shared recipe, seed 1) with logit KD (weight 0.5, T 1) + channel-wise KD (weight 3, T 4), both decaying linearly to 0, from LRASPP-MobileNetV3-Large trained 80 epochs here (val 0.624) → fuse"
fi
