#!/usr/bin/env bash
# Session 27, addendum 1 (PLAN.md): a second training seed of the base and flat arms, side by side.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s27
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
pids=()
for arm in base flat; do
  resume=()
  [ -f runs/s27/abl_${arm}_seed29/last.pt ] && resume=(--resume)
  .venv/bin/cluenet train stage1 --config $S/abl_${arm}_seed29.yaml "${resume[@]}" > runs/s27/abl_${arm}_seed29.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
unset OMP_NUM_THREADS MKL_NUM_THREADS
export DATA=data/s27 RUNS=runs/s27/eval OUT=docs/accuracy/real_world WORLDS=abl_base EVAL_IMAGES=150 \
  CALIBRATE_ON=data/s27/abl_base/val
for arm in base flat; do
  tools/real_world_eval.sh s27/abl_${arm}_seed29_600 runs/s27/abl_${arm}_seed29/last.pt
done
echo "$(date -u +%T) measured"
