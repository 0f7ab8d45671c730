#!/usr/bin/env bash
# Session 33 (PLAN.md, after its reproduction check failed): the random-convolution arm and base
# at training seeds 28, 29 and 30 from session 26's
# soup_c (as sessions 27-30's arms), six side by side, one thread each; then, after all six
# have trained, each measured one at a time as session 30 did: the real check first (the flip
# test on, as by default), then base-val MR^-2 on the same 150 images.
#   git show 8bad118:models/cluenet_demo.pt > runs/s33/soup_c_pipeline.pt   # sha256 ed2e8c93...
#   docs/accuracy/real_world/s33/run.sh     # resumes from runs/s33/abl_<arm>_seed<N>/last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s33
RUNS_="${RUNS_:-base_seed28 base_seed29 base_seed30 randconv_seed28 randconv_seed29 randconv_seed30}"
mkdir -p runs/s33
pids=()
for r in $RUNS_; do
  resume=()
  [ -f runs/s33/abl_${r}/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/abl_${r}.yaml "${resume[@]}" > runs/s33/abl_${r}.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
DATA=data/s27 RUNS=runs/s33/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
  bash -c 'for r in '"$RUNS_"'; do tools/real_world_eval.sh s33/abl_${r}_600 runs/s33/abl_${r}/last.pt; done'
echo "$(date -u +%T) real check measured"
for r in $RUNS_; do
  cluenet eval full --weights runs/s33/eval/s33/abl_${r}_600/pipeline.pt --data data/s27/abl_base/val \
    --out $S/abl_${r}_600/full_abl_base --max-images 150 > runs/s33/eval/s33/abl_${r}_600/full_abl_base.log 2>&1
done
echo "$(date -u +%T) base-val measured"
