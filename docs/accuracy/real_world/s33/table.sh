#!/usr/bin/env bash
# Session 33's table (PLAN.md, addendum 1): the random-convolution arm against base, both
# trained here from soup_c on the same scenes at training seeds 28-30, paired by seed.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s33
runs=()
for s in 28 29 30; do runs+=(--run base $s s33/abl_base_seed${s}_600 --run randconv $s s33/abl_randconv_seed${s}_600); done
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --json $S/randconv_seeds.json > $S/randconv_seeds.md
cat $S/randconv_seeds.md
