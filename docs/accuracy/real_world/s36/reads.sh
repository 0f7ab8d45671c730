#!/usr/bin/env bash
# Session 36 (PLAN.md): plateval300 (clutter val300 over the held-out plates) for models that
# saw none of the plates: the shipped demo (the rule's reference), soup_c and session 33's
# base runs (reads), one at a time.
#   .venv/bin/cluenet train replate --data data/s21/clutter_val300/val --plates data/plates_s36/val \
#       --out data/s36/plateval300/val --seed 36
#   docs/accuracy/real_world/s36/reads.sh [NAME=PIPELINE ...]
cd "$(dirname "$0")/../../../.." || exit 1
O=runs/s36/reads; mkdir -p $O
ITEMS=("$@")
[ ${#ITEMS[@]} -gt 0 ] || ITEMS=(shipped=models/cluenet_demo.pt soup_c=runs/s33/soup_c_pipeline.pt
  base_seed28=runs/s33/eval/s33/abl_base_seed28_600/pipeline.pt base_seed29=runs/s33/eval/s33/abl_base_seed29_600/pipeline.pt
  base_seed30=runs/s33/eval/s33/abl_base_seed30_600/pipeline.pt)
for it in "${ITEMS[@]}"; do
  name=${it%%=*}; P=${it#*=}
  echo "$(date -u +%T) $name"
  .venv/bin/cluenet eval full --weights $P --data data/s36/plateval300/val --out $O/plateval_$name --max-images 300 \
    > $O/plateval_$name.log 2>&1 || echo "failed $name"
done
echo "$(date -u +%T) done"
