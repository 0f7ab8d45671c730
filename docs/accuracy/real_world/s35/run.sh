#!/usr/bin/env bash
# Session 35 (PLAN.md): the background-plate arm at training seeds 28, 29 and 30 from
# soup_c, three side by side, one thread each; then each measured one at a time as session
# 33's (the real check with the flip test on, then base-val MR^-2 on the same 150 images).
# Its control is session 33's base (../s33/run.sh), bit-reproducible on the same machine.
#   git show 8bad118:models/cluenet_demo.pt > runs/s33/soup_c_pipeline.pt   # sha256 ed2e8c93...
#   cluenet data plates    # the plate photographs (data/plates)
#   docs/accuracy/real_world/s35/run.sh     # resumes from runs/s35/abl_<arm>_seed<N>/last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s35
RUNS_="${RUNS_:-plates_seed28 plates_seed29 plates_seed30}"
mkdir -p runs/s35
pids=()
for r in $RUNS_; do
  resume=()
  [ -f runs/s35/abl_${r}/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/abl_${r}.yaml "${resume[@]}" > runs/s35/abl_${r}.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
DATA=data/s27 RUNS=runs/s35/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
  bash -c 'for r in '"$RUNS_"'; do tools/real_world_eval.sh s35/abl_${r}_600 runs/s35/abl_${r}/last.pt; done'
echo "$(date -u +%T) real check measured"
for r in $RUNS_; do
  cluenet eval full --weights runs/s35/eval/s35/abl_${r}_600/pipeline.pt --data data/s27/abl_base/val \
    --out $S/abl_${r}_600/full_abl_base --max-images 150 > runs/s35/eval/s35/abl_${r}_600/full_abl_base.log 2>&1
done
echo "$(date -u +%T) base-val measured"
