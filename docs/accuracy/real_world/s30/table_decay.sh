#!/usr/bin/env bash
# Session 30, second addendum (PLAN.md): base vs base with lr /10 at iteration 400
# ("decay"), paired training seeds 28-31, same scenes, start and budget.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s30
runs=(--run base 28 s27/abl_base_600 --run base 29 s27/abl_base_seed29_600 --run base 30 s28/abl_base_seed30_600
      --run base 31 s29/abl_base_seed31_600
      --run decay 28 s30/abl_decay_seed28_600 --run decay 29 s30/abl_decay_seed29_600
      --run decay 30 s30/abl_decay_seed30_600 --run decay 31 s30/abl_decay_seed31_600)
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --json $S/decay.json > $S/decay.md
cat $S/decay.md
