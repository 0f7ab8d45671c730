#!/usr/bin/env bash
# Session 35's table (PLAN.md): the background-plate arm against session 33's base, both
# trained on this machine from soup_c on the same scenes at training seeds 28-30, paired by seed.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s35
runs=()
for s in 28 29 30; do runs+=(--run base $s s33/abl_base_seed${s}_600 --run plates $s s35/abl_plates_seed${s}_600); done
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --json $S/plates_seeds.json > $S/plates_seeds.md
cat $S/plates_seeds.md
# Addendum 1: the same with seeds 31 and 32 added (both arms trained in this session)
runs=()
for s in 28 29 30; do runs+=(--run base $s s33/abl_base_seed${s}_600 --run plates $s s35/abl_plates_seed${s}_600); done
for s in 31 32; do runs+=(--run base $s s35/abl_base_seed${s}_600 --run plates $s s35/abl_plates_seed${s}_600); done
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --json $S/plates_seeds5.json > $S/plates_seeds5.md
cat $S/plates_seeds5.md
