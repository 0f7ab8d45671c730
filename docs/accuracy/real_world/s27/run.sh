#!/usr/bin/env bash
# Session 27 (issue 18, deliverable 4; PLAN.md here): the four arms from the shipped stage 1,
# side by side, one thread each, then each arm's last.pt and the start measured the same way.
#
#   docs/accuracy/real_world/s27/run.sh           # after rendering data/s27/abl_* (PLAN.md)
#   ITERATIONS=1200 docs/accuracy/real_world/s27/run.sh   # a later session's continuation:
#     set run.iterations: 1200 in the four abl_*.yaml first; the runs resume from last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s27
IT="${ITERATIONS:-600}"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
pids=()
for arm in base figure noeffects flat; do
  resume=()
  [ -f runs/s27/abl_$arm/last.pt ] && resume=(--resume)
  .venv/bin/cluenet train stage1 --config $S/abl_$arm.yaml "${resume[@]}" > runs/s27/abl_$arm.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
unset OMP_NUM_THREADS MKL_NUM_THREADS
export DATA=data/s27 RUNS=runs/s27/eval OUT=docs/accuracy/real_world WORLDS=abl_base EVAL_IMAGES=150 \
  CALIBRATE_ON=data/s27/abl_base/val
for arm in base figure noeffects flat; do
  cp runs/s27/abl_$arm/last.pt runs/s27/abl_$arm/it$IT.pt
  tools/real_world_eval.sh s27/abl_${arm}_$IT runs/s27/abl_$arm/it$IT.pt
done
[ -f $S/start_shipped/real.json ] || tools/real_world_eval.sh s27/start_shipped runs/s27/init_shipped.pt
.venv/bin/python tools/ablation_arms_table.py $IT --prefix s27/abl --start s27/start_shipped \
  --json $S/ablation_$IT.json > $S/ablation_$IT.md
echo "$(date -u +%T) measured"
