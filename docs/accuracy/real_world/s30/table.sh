#!/usr/bin/env bash
# Session 30's multi-seed table (PLAN.md): sessions 27-30's arm-seeds, all from the same
# shipped-before stage 1 on the same scenes, every arm at training seeds 28-32.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s30
runs=(--run base 28 s27/abl_base_600 --run base 29 s27/abl_base_seed29_600 --run base 30 s28/abl_base_seed30_600
      --run base 31 s29/abl_base_seed31_600 --run base 32 s29/abl_base_seed32_600
      --run figure 28 s27/abl_figure_600 --run figure 29 s30/abl_figure_seed29_600
      --run figure 30 s28/abl_figure_seed30_600 --run figure 31 s29/abl_figure_seed31_600
      --run figure 32 s30/abl_figure_seed32_600
      --run noeffects 28 s27/abl_noeffects_600 --run noeffects 29 s30/abl_noeffects_seed29_600
      --run noeffects 30 s28/abl_noeffects_seed30_600 --run noeffects 31 s29/abl_noeffects_seed31_600
      --run noeffects 32 s30/abl_noeffects_seed32_600
      --run flat 28 s27/abl_flat_600 --run flat 29 s27/abl_flat_seed29_600 --run flat 30 s28/abl_flat_seed30_600
      --run flat 31 s29/abl_flat_seed31_600 --run flat 32 s29/abl_flat_seed32_600)
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --json $S/ablation_seeds.json > $S/ablation_seeds.md
cat $S/ablation_seeds.md
