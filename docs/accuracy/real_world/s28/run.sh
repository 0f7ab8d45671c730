#!/usr/bin/env bash
# Session 28, Part A (PLAN.md): training seed 30 of the four deliverable-4 arms from the
# shipped stage 1, side by side, one thread each; then each measured as session 27's.
#   docs/accuracy/real_world/s28/run.sh     # resumes from runs/s28/abl_<arm>_seed30/last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s28
ARMS="${ARMS:-base figure noeffects flat}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
pids=()
for arm in $ARMS; do
  resume=()
  [ -f runs/s28/abl_${arm}_seed30/last.pt ] && resume=(--resume)
  .venv/bin/cluenet train stage1 --config $S/abl_${arm}_seed30.yaml "${resume[@]}" > runs/s28/abl_${arm}_seed30.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
unset OMP_NUM_THREADS MKL_NUM_THREADS
export DATA=data/s27 RUNS=runs/s28/eval OUT=docs/accuracy/real_world WORLDS=abl_base EVAL_IMAGES=150 \
  CALIBRATE_ON=data/s27/abl_base/val
for arm in $ARMS; do
  tools/real_world_eval.sh s28/abl_${arm}_seed30_600 runs/s28/abl_${arm}_seed30/last.pt
done
echo "$(date -u +%T) measured"
