#!/bin/bash
# Session 26, PLAN.md addendum 2: three uniform weight soups of the shipped stage 1 and its
# fine-tunes, each calibrated, combined and measured as session 25's candidates were.
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s26/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt
A="$SHIP runs/s23/fresh/last.pt"
B="$A runs/s25/hn0/last.pt runs/s25/hn0_seed26/last.pt"
C="$B runs/s24/hardneg/last.pt runs/s25/hn25/last.pt runs/s25/hn50/last.pt"
for name in soup_a soup_b soup_c; do
  case $name in soup_a) ING=$A;; soup_b) ING=$B;; soup_c) ING=$C;; esac
  date; echo "build $name"
  .venv/bin/python tools/weight_soup.py $S/$name.pt $ING || { echo "soup $name failed"; continue; }
  .venv/bin/cluenet train calibrate-mask --weights $S/$name.pt --data data/s23/clutter_fresh/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
  .venv/bin/cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $S/pipe_$name.pt > $S/combine_$name.log 2>&1
  P=$S/pipe_$name.pt
  CLUENET_DEMO_CANDIDATE=$P .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_$name --max-images 300 > $S/clutter_$name.log 2>&1
  .venv/bin/cluenet eval real --weights $P --json $S/real_$name.json > $S/real_$name.txt 2>&1
done
date; echo done > $S/DONE
