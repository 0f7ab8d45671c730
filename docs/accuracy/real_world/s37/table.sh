#!/usr/bin/env bash
# Session 37's tables (PLAN.md, reads): the background_plate 1.0 runs against session 36's
# 0.5 runs and session 33's base runs, paired by training seed, on the real check and on
# plateval300. As ../s36/table.sh, the plateval300 reports are copied beside each run's
# real-check report as full_plateval300/ first.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
R=docs/accuracy/real_world
for s in 28 29 30; do
  src=runs/s37/reads/plateval_platefull_seed$s; dst=$R/s37/abl_platefull_seed${s}_600/full_plateval300
  mkdir -p $dst && cp $src/report.json $src/report.md $dst/
done
runs=()
for s in 28 29 30; do
  runs+=(--run base $s s33/abl_base_seed${s}_600 --run platetrain $s s36/abl_platetrain_seed${s}_600
         --run platefull $s s37/abl_platefull_seed${s}_600)
done
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --world plateval300 --json $R/s37/platefull_seeds.json \
  > $R/s37/platefull_seeds.md
# the question of this round: 1.0 against 0.5 (the 'base' of this table is the 0.5 arm)
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --world plateval300 --base platetrain \
  --json $R/s37/platefull_vs_platetrain.json > $R/s37/platefull_vs_platetrain.md
cat $R/s37/platefull_seeds.md $R/s37/platefull_vs_platetrain.md
