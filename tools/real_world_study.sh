#!/usr/bin/env bash
# Issue 18: does training on the realistic world carry over to real people? Stage 1
# of the shipped demo model is fine-tuned, with the same budget, seed and schedule,
# on one synthetic world per variant, and each result is measured on the real-image
# check set (`cluenet eval real`, beside HOG) and on both worlds' synthetic
# validation images (`cluenet eval full`). Stage 2 stays the demo's; the mask is
# calibrated on the variant's own validation images, as the demo's was.
#
#   tools/real_world_study.sh                          # every variant (hours on a CPU)
#   VARIANTS="realistic capsules" ITERATIONS=400 tools/real_world_study.sh
#
# Variants (same image count, size, people and seed; only the world differs):
#   capsules           the capsule world the demo model was trained on (control)
#   realistic          anny bodies, clothes, textured streets, all sensor effects
#   realistic_figure   the realistic world with the capsule-like stand-in body (bodies ablation)
#   realistic_noeffects  the realistic world without sensor effects (effects ablation)
#   realistic_photo_big  the realistic world with photo textures (`cluenet data textures`) and
#                      people at the real check's sizes (PERSON_PX per 1024 rows, default
#                      120-880: 30-220 px at 512x256; the real images show 40-400 px)
#   realistic_photo_big_aug  the same images, trained with photometric augmentation
#                      (colour, exposure, grey, blur: augment.* of the training config)
#   realistic_photo_big_aug2  the same images and budget, stronger photometric augmentation
#                      (every range about 1.5-2x: PHOTOMETRIC_STRONG)
#
# EVAL_FLAGS is passed to every evaluation: since session 31 they run stage 1's flip test
# by default, as the node does; EVAL_FLAGS=--no-detection-flip-test measures as sessions
# 6-30 did (their committed figures are without it).
#
# Resumable: data that exists is kept, runs continue from last.pt, evaluations are
# redone. Results: $OUT/<variant>/{real.json, full_<world>/report.json}, summary in
# $OUT/summary.json (tools/real_world_summary.py).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
DATA="$(realpath -m "${DATA:-data/realworld}")"
RUNS="$(realpath -m "${RUNS:-runs/realworld}")"
OUT="$(realpath -m "${OUT:-docs/accuracy/real_world}")"
IMAGES="${IMAGES:-1000}"
SIZE="${SIZE:-512x256}"
PEOPLE="${PEOPLE:-2-8}"
ITERATIONS="${ITERATIONS:-400}"
LR="${LR:-0.005}"
INIT="${INIT:-models/cluenet_demo.pt}"
VARIANTS="${VARIANTS:-realistic capsules realistic_figure realistic_noeffects}"
EVAL_IMAGES="${EVAL_IMAGES:-200}"
WORKERS="${WORKERS:-1}"
PERSON_PX="${PERSON_PX:-120-880}"
read -r -a EVAL_FLAGS <<< "${EVAL_FLAGS:-}"
PHOTOMETRIC="brightness: 0.4, contrast: 0.4, saturation: 0.5, hue: 0.05, grayscale: 0.1, blur: 0.3"
PHOTOMETRIC_STRONG="brightness: 0.6, contrast: 0.6, saturation: 0.8, hue: 0.1, grayscale: 0.25, blur: 0.5"

data_for() {  # variant -> data folder, generated when absent
  local v=$1 dir="$DATA/$1"
  if [ ! -f "$dir/val/citypersons.json" ]; then
    case $v in
      capsules) cluenet synth --out "$dir" --images "$IMAGES" --seed 1 --size "$SIZE" --people "$PEOPLE" \
                  --workers "$WORKERS" ;;
      realistic) cluenet synth --world realistic --out "$dir" --images "$IMAGES" --seed 1 --size "$SIZE" \
                  --people "$PEOPLE" --workers "$WORKERS" ;;
      realistic_figure) cluenet synth --world realistic --body figure --out "$dir" --images "$IMAGES" --seed 1 \
                  --size "$SIZE" --people "$PEOPLE" --workers "$WORKERS" ;;
      realistic_noeffects) cluenet synth --world realistic --effects none --out "$dir" --images "$IMAGES" \
                  --seed 1 --size "$SIZE" --people "$PEOPLE" --workers "$WORKERS" ;;
      realistic_photo_big) cluenet synth --world realistic --textures photo --person-px "$PERSON_PX" \
                  --out "$dir" --images "$IMAGES" --seed 1 --size "$SIZE" --people "$PEOPLE" --workers "$WORKERS" ;;
      realistic_photo_big_aug|realistic_photo_big_aug2) data_for realistic_photo_big > /dev/null
                  dir="$DATA/realistic_photo_big" ;;
      *) echo "unknown variant $v" >&2; exit 2 ;;
    esac > "$DATA/$v.synth.log" 2>&1
  fi
  echo "$dir"
}

mkdir -p "$DATA" "$RUNS" "$OUT"
# the two worlds every variant is measured on
data_for capsules > /dev/null
data_for realistic > /dev/null

if [ ! -f "$OUT/demo/real.json" ]; then  # the starting point
  mkdir -p "$OUT/demo"
  cluenet eval real "${EVAL_FLAGS[@]}" --weights "$INIT" --json "$OUT/demo/real.json" > "$OUT/demo/real.txt" 2>&1
fi
for world in capsules realistic; do
  [ -f "$OUT/demo/full_$world/report.json" ] ||
    cluenet eval full "${EVAL_FLAGS[@]}" --weights "$INIT" --data "$DATA/$world/val" --out "$OUT/demo/full_$world" \
      --max-images "$EVAL_IMAGES" > /dev/null 2>&1
done

for v in $VARIANTS; do
  data="$(data_for "$v")"
  dir="$RUNS/$v"
  mkdir -p "$dir"
  augment=""
  case $v in
    *_aug) augment="augment: {scale: [0.8, 1.2], hflip: 0.5, $PHOTOMETRIC}" ;;
    *_aug2) augment="augment: {scale: [0.8, 1.2], hflip: 0.5, $PHOTOMETRIC_STRONG}" ;;
  esac
  cat > "$dir/config.yaml" <<YAML
base: $PWD/training/configs/demo_stage1.yaml
train: {format: split, root: $data/train}
val: {format: split, root: $data/val}
optim: {lr: $LR, lr_step: 1000000, warmup_iterations: 20}
run: {out_dir: $dir, iterations: $ITERATIONS, seed: 1, init: $PWD/$INIT, checkpoint_every: 50,
      val_every: $ITERATIONS, val_images: 100}
$augment
YAML
  echo "[real-world] $v: fine-tuning stage 1 ($ITERATIONS iterations)"
  cluenet train stage1 --config "$dir/config.yaml" --resume > "$dir/train.log" 2>&1
  # as the demo model: the mask's 0.5 cut made IoU-optimal on the variant's own
  # synthetic validation images (short runs rank pixels well but stay under 0.5)
  cluenet train calibrate-mask --weights "$dir/last.pt" --data "$data/val" --out "$dir/calibrated.pt" \
    --max-images 100 > "$dir/calibrate.log" 2>&1
  cluenet train combine --stage1 "$dir/calibrated.pt" --stage2 "$INIT" --out "$dir/pipeline.pt" > /dev/null
  mkdir -p "$OUT/$v"
  cluenet eval real "${EVAL_FLAGS[@]}" --weights "$dir/pipeline.pt" --json "$OUT/$v/real.json" > "$OUT/$v/real.txt" 2>&1
  for world in capsules realistic; do
    cluenet eval full "${EVAL_FLAGS[@]}" --weights "$dir/pipeline.pt" --data "$DATA/$world/val" --out "$OUT/$v/full_$world" \
      --max-images "$EVAL_IMAGES" > /dev/null 2>&1
  done
  echo "[real-world] $v: $(grep -E '^\| cluenet' "$OUT/$v/real.txt" | head -1)"
done
