#!/usr/bin/env bash
# Session 30 (PLAN.md, second addendum): seeds 28-31 of the base arm with lr /10 at 400, from the
# shipped-before stage 1 (session 27's start), four side by side, one thread each; then,
# only after all four have finished, each measured one at a time (session 29's lesson:
# measuring beside training is 5-10x slower), as session 29's measure_fallback.sh did:
# the real check first, then base-val MR^-2 on the same 150 images.
#   docs/accuracy/real_world/s30/run_decay.sh     # resumes from runs/s30/abl_<arm>_seed<N>/last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s30
RUNS_="${RUNS_:-decay_seed28 decay_seed29 decay_seed30 decay_seed31}"
mkdir -p runs/s30
pids=()
for r in $RUNS_; do
  resume=()
  [ -f runs/s30/abl_${r}/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/abl_${r}.yaml "${resume[@]}" > runs/s30/abl_${r}.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
DATA=data/s27 RUNS=runs/s30/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
  bash -c 'for r in '"$RUNS_"'; do tools/real_world_eval.sh s30/abl_${r}_600 runs/s30/abl_${r}/last.pt; done'
echo "$(date -u +%T) real check measured"
for r in $RUNS_; do
  cluenet eval full --weights runs/s30/eval/s30/abl_${r}_600/pipeline.pt --data data/s27/abl_base/val \
    --out $S/abl_${r}_600/full_abl_base --max-images 150 > runs/s30/eval/s30/abl_${r}_600/full_abl_base.log 2>&1
done
echo "$(date -u +%T) base-val measured"
