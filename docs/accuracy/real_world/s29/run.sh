#!/usr/bin/env bash
# Session 29 (PLAN.md): training seeds 31 and 32 of the base and flat arms from the
# shipped-before stage 1 (session 27's start), side by side, one thread each; then each
# measured as sessions 27 and 28's arms were.
#   docs/accuracy/real_world/s29/run.sh     # resumes from runs/s29/abl_<arm>_seed<N>/last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s29
RUNS_="${RUNS_:-base_seed31 base_seed32 flat_seed31 flat_seed32}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
mkdir -p runs/s29
pids=()
for r in $RUNS_; do
  resume=()
  [ -f runs/s29/abl_${r}/last.pt ] && resume=(--resume)
  .venv/bin/cluenet train stage1 --config $S/abl_${r}.yaml "${resume[@]}" > runs/s29/abl_${r}.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
unset OMP_NUM_THREADS MKL_NUM_THREADS
export DATA=data/s27 RUNS=runs/s29/eval OUT=docs/accuracy/real_world WORLDS=abl_base EVAL_IMAGES=150 \
  CALIBRATE_ON=data/s27/abl_base/val
for r in $RUNS_; do
  tools/real_world_eval.sh s29/abl_${r}_600 runs/s29/abl_${r}/last.pt
done
echo "$(date -u +%T) measured"
