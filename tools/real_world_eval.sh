#!/usr/bin/env bash
# Issue 18: measure a stage-1 checkpoint trained elsewhere (a lent GPU's fine-tune) exactly
# as tools/real_world_study.sh measures its own runs: the mask calibrated on the photo
# world's validation images, the demo's stage 2, then the real-image check (beside HOG)
# and each synthetic world's validation images that exist here.
#
#   tools/real_world_eval.sh NAME STAGE1.pt        # -> docs/accuracy/real_world/NAME/
#   WORLDS="realistic_photo_big" tools/real_world_eval.sh ...   # only some worlds
#
# EVAL_FLAGS is passed to both evaluations: since session 31 they run stage 1's flip test
# by default, as the node does; EVAL_FLAGS=--no-detection-flip-test measures as sessions
# 6-30 did (their committed figures are without it).
#
# The real-image check only measures: choose between checkpoints on the synthetic
# validation figures (full_realistic_photo_big's MR^-2), never on real.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
NAME=$1
CKPT=$(realpath "$2")
DATA="$(realpath -m "${DATA:-data/realworld}")"
RUNS="$(realpath -m "${RUNS:-runs/realworld}")/$NAME"
OUT="$(realpath -m "${OUT:-docs/accuracy/real_world}")/$NAME"
STAGE2="${STAGE2:-models/cluenet_demo.pt}"
CALIBRATE_ON="${CALIBRATE_ON:-$DATA/realistic_photo_big/val}"
WORLDS="${WORLDS:-capsules realistic realistic_photo_big}"
EVAL_IMAGES="${EVAL_IMAGES:-200}"
read -r -a EVAL_FLAGS <<< "${EVAL_FLAGS:-}"
mkdir -p "$RUNS" "$OUT"
cluenet train calibrate-mask --weights "$CKPT" --data "$CALIBRATE_ON" --out "$RUNS/calibrated.pt" \
  --max-images 100 > "$RUNS/calibrate.log" 2>&1
cluenet train combine --stage1 "$RUNS/calibrated.pt" --stage2 "$STAGE2" --out "$RUNS/pipeline.pt" > /dev/null
cluenet eval real "${EVAL_FLAGS[@]}" --weights "$RUNS/pipeline.pt" --json "$OUT/real.json" > "$OUT/real.txt" 2>&1
for world in $WORLDS; do
  if [ -f "$DATA/$world/val/citypersons.json" ]; then
    cluenet eval full "${EVAL_FLAGS[@]}" --weights "$RUNS/pipeline.pt" --data "$DATA/$world/val" --out "$OUT/full_$world" \
      --max-images "$EVAL_IMAGES" > "$RUNS/full_$world.log" 2>&1
  else
    echo "[real-world-eval] $world: no validation images in $DATA/$world (skipped)" >&2
  fi
done
echo "[real-world-eval] $NAME: $OUT"
