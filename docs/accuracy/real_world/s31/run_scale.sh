#!/usr/bin/env bash
# Session 31, plan addendum 1: the flip test with a second scale (1.25) on the same 26
# models as run.sh (whose cached views under runs/s31/flip it reuses).
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
args=(--model shipped=models/cluenet_demo.pt --model start_soup_c=runs/s27/eval/s27/start_shipped/pipeline.pt)
for p in runs/s2[7-9]/eval/s2*/abl_*_600/pipeline.pt runs/s30/eval/s30/abl_*_600/pipeline.pt; do
  n=$(basename "$(dirname "$p")"); n=${n%_600}; n=${n#abl_}
  case $n in *_seed*) ;; *) n=${n}_seed28 ;; esac
  args+=(--model "$n=$p")
done
python tools/flip_test_study.py "${args[@]}" --synthetic data/s27/abl_base/val --max-images 150 \
  --cache runs/s31/flip --scale 1.25 --out docs/accuracy/real_world/s31/flip_scale
