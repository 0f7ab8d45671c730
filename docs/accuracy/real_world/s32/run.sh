#!/usr/bin/env bash
# Session 32 (PLAN.md): the flip test on the clutter validation set (300 images) and the
# soft-NMS merge, over session 31's 26 models. Stage 1 per image and view is cached under
# runs/s31/flip (the real check and base val from session 31; clutter300 new here).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
args=(--model shipped=models/cluenet_demo.pt --model start_soup_c=runs/s27/eval/s27/start_shipped/pipeline.pt)
for p in runs/s2[7-9]/eval/s2*/abl_*_600/pipeline.pt runs/s30/eval/s30/abl_*_600/pipeline.pt; do
  n=$(basename "$(dirname "$p")"); n=${n%_600}; n=${n#abl_}
  case $n in *_seed*) ;; *) n=${n}_seed28 ;; esac
  args+=(--model "$n=$p")
done
OUT=docs/accuracy/real_world/s32
python tools/flip_test_study.py "${args[@]}" --synthetic data/s21/clutter_val300/val --max-images 300 \
  --synthetic-tag clutter300 --cache runs/s31/flip --out $OUT/clutter300
python tools/flip_test_study.py "${args[@]}" --synthetic data/s27/abl_base/val --max-images 150 \
  --cache runs/s31/flip --out $OUT/baseval150
