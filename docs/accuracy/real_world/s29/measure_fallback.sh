#!/usr/bin/env bash
# Session 29: how the last four arm-seeds were measured when run.sh's measuring ran late
# (PLAN.md's "if time runs short"). The two run.sh invocations measured base 31 and figure
# 31 in full; their measuring of the rest was stopped and replaced by this: first the real
# check of each remaining arm-seed (same calibration and stage 2 as tools/real_world_eval.sh,
# no synthetic world), then the base-val MR^-2 on the same 150 images, one at a time.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s29
REST="base_seed32 flat_seed31 flat_seed32 noeffects_seed31"
DATA=data/s27 RUNS=runs/s29/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
  bash -c 'for r in '"$REST"'; do tools/real_world_eval.sh s29/abl_${r}_600 runs/s29/abl_${r}/last.pt; done'
for r in $REST; do
  cluenet eval full --weights runs/s29/eval/s29/abl_${r}_600/pipeline.pt --data data/s27/abl_base/val \
    --out $S/abl_${r}_600/full_abl_base --max-images 150 > runs/s29/eval/s29/abl_${r}_600/full_abl_base.log 2>&1
done
