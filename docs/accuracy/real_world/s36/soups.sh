#!/usr/bin/env bash
# Session 36 (PLAN.md): soup_j, the uniform soup of soup_c and the three train-half plate
# runs, calibrated, combined and measured as session 35's soup_i (../s35/soups.sh), plus
# plateval300, the set the rule chooses on.
#   docs/accuracy/real_world/s36/soups.sh [soup_j]
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s36/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt
J="runs/s33/soup_c_pipeline.pt runs/s36/abl_platetrain_seed28/last.pt runs/s36/abl_platetrain_seed29/last.pt runs/s36/abl_platetrain_seed30/last.pt"
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(soup_j)
for name in "${NAMES[@]}"; do
  echo "$(date -u +%T) $name"
  case $name in soup_j) ING=$J;; *) echo "unknown soup $name"; exit 2;; esac
  .venv/bin/python tools/weight_soup.py $S/$name.pt $ING || { echo "soup $name failed"; continue; }
  .venv/bin/cluenet train calibrate-mask --weights $S/$name.pt --data data/s21/clutter_val300/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
  .venv/bin/cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $S/pipe_$name.pt > $S/combine_$name.log 2>&1
  P=$S/pipe_$name.pt
  CLUENET_DEMO_CANDIDATE=$P .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s36/plateval300/val --out $S/plateval_$name --max-images 300 > $S/plateval_$name.log 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_$name --max-images 300 > $S/clutter_$name.log 2>&1
  .venv/bin/cluenet eval real --weights $P --json $S/real_$name.json > $S/real_$name.txt 2>&1
done
echo "$(date -u +%T) done ${NAMES[*]}"
