#!/usr/bin/env bash
# Session 31 (PLAN.md): the stage-1 flip test on every model measured on the real check
# and still on this machine (runs/s27-s30 are not committed: the s27-s30 scripts rebuild
# them). Stage 1 per image and view is cached under runs/s31/flip.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
args=(--model shipped=models/cluenet_demo.pt --model start_soup_c=runs/s27/eval/s27/start_shipped/pipeline.pt)
all=()
for p in runs/s2[7-9]/eval/s2*/abl_*_600/pipeline.pt runs/s30/eval/s30/abl_*_600/pipeline.pt; do
  n=$(basename "$(dirname "$p")"); n=${n%_600}; n=${n#abl_}
  case $n in *_seed*) ;; *) n=${n}_seed28 ;; esac
  args+=(--model "$n=$p"); all+=("$n")
done
base=base_seed28,base_seed29,base_seed30,base_seed31,base_seed32
python tools/flip_test_study.py "${args[@]}" --synthetic data/s27/abl_base/val --max-images 150 \
  --cache runs/s31/flip --ensemble "base_seeds_28-32=$base" \
  --ensemble "all_24_fine_tunes=$(IFS=,; echo "${all[*]}")" --out docs/accuracy/real_world/s31/flip
