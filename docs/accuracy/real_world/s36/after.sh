#!/usr/bin/env bash
# Session 36 (PLAN.md), after run.sh: each train-half plate run measured as session 35's
# (calibrated on s27 base val, the demo's stage 2, the real check with the flip test on),
# then soup_j through the rule (soups.sh), then the runs' plateval300 reads (reads.sh).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s36
RUNS_="${RUNS_:-platetrain_seed28 platetrain_seed29 platetrain_seed30}"
for r in $RUNS_; do
  DATA=data/s27 RUNS=runs/s36/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
    tools/real_world_eval.sh s36/abl_${r}_600 runs/s36/abl_${r}/last.pt
done
echo "$(date -u +%T) real check measured"
$S/soups.sh soup_j
items=()
for r in $RUNS_; do items+=("${r}=runs/s36/eval/s36/abl_${r}_600/pipeline.pt"); done
$S/reads.sh "${items[@]}"
echo "$(date -u +%T) after done"
