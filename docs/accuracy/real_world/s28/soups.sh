#!/usr/bin/env bash
# Session 28, Part B (PLAN.md): soups of the shipped stage 1 and its anny-body fine-tunes,
# calibrated, combined and measured as session 26's (../s26/soups.sh).
#   docs/accuracy/real_world/s28/soups.sh [soup_e] [soup_f]
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s28/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt
E="$SHIP runs/s27/abl_base/last.pt runs/s27/abl_base_seed29/last.pt runs/s27/abl_flat/last.pt runs/s27/abl_flat_seed29/last.pt runs/s27/abl_noeffects/last.pt"
F="$E runs/s28/abl_base_seed30/last.pt runs/s28/abl_flat_seed30/last.pt runs/s28/abl_noeffects_seed30/last.pt"
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(soup_e soup_f)
for name in "${NAMES[@]}"; do
  case $name in soup_e) ING=$E;; soup_f) ING=$F;; *) echo "unknown soup $name"; exit 2;; esac
  echo "$(date -u +%T) build $name"
  .venv/bin/python tools/weight_soup.py $S/$name.pt $ING || { echo "soup $name failed"; continue; }
  .venv/bin/cluenet train calibrate-mask --weights $S/$name.pt --data data/s23/clutter_fresh/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
  .venv/bin/cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $S/pipe_$name.pt > $S/combine_$name.log 2>&1
  P=$S/pipe_$name.pt
  CLUENET_DEMO_CANDIDATE=$P .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_$name --max-images 300 > $S/clutter_$name.log 2>&1
  .venv/bin/cluenet eval real --weights $P --json $S/real_$name.json > $S/real_$name.txt 2>&1
done
echo "$(date -u +%T) done" > $S/DONE
