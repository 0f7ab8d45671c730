#!/usr/bin/env bash
# Session 37 (PLAN.md), after run.sh: soup_l and soup_m through the rule (soups.sh; soup_k
# needs no new training and is run beside the training), then the reads: each new run
# measured as session 36's runs were (calibrated on s27 base val, the demo's stage 2, the real
# check with the flip test on), and its plateval300.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s37
RUNS_="${RUNS_:-platefull_seed28 platefull_seed29 platefull_seed30}"
$S/soups.sh soup_l soup_m
for r in $RUNS_; do
  DATA=data/s27 RUNS=runs/s37/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
    tools/real_world_eval.sh s37/abl_${r}_600 runs/s37/abl_${r}/last.pt
done
echo "$(date -u +%T) real check measured"
items=()
for r in $RUNS_; do items+=("${r}=runs/s37/eval/s37/abl_${r}_600/pipeline.pt"); done
O=runs/s37/reads; mkdir -p $O
for it in "${items[@]}"; do
  name=${it%%=*}; P=${it#*=}
  .venv/bin/cluenet eval full --weights $P --data data/s36/plateval300/val --out $O/plateval_$name --max-images 300 \
    > $O/plateval_$name.log 2>&1 || echo "failed $name"
done
echo "$(date -u +%T) after done"
