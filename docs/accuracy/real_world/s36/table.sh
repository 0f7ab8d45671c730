#!/usr/bin/env bash
# Session 36's tables (PLAN.md, reads): the train-half plate runs against session 33's base
# runs, paired by training seed, on the real check and on plateval300 (clutter val300 over the
# held-out plates). The plateval300 reports (runs/s36/reads/) are copied beside each run's
# real-check report as full_plateval300/, which is where tools/ablation_seeds_table.py reads a world.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
R=docs/accuracy/real_world
for s in 28 29 30; do
  for pair in "base_seed$s:s33/abl_base_seed${s}_600" "platetrain_seed$s:s36/abl_platetrain_seed${s}_600"; do
    src=runs/s36/reads/plateval_${pair%%:*}; dst=$R/${pair#*:}/full_plateval300
    mkdir -p $dst && cp $src/report.json $src/report.md $dst/
  done
done
runs=()
for s in 28 29 30; do runs+=(--run base $s s33/abl_base_seed${s}_600 --run platetrain $s s36/abl_platetrain_seed${s}_600); done
.venv/bin/python tools/ablation_seeds_table.py "${runs[@]}" --world plateval300 --json $R/s36/platetrain_seeds.json \
  > $R/s36/platetrain_seeds.md
cat $R/s36/platetrain_seeds.md
