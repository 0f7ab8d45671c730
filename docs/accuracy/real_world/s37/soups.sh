#!/usr/bin/env bash
# Session 37 (PLAN.md): the candidates soup_k (session 36's three plate runs, no soup_c),
# soup_l (the three background_plate 1.0 runs of run.sh) and soup_m (all six), each
# calibrated, combined with the shipped stage 2 and measured as session 36's soup_j
# (../s36/soups.sh): the gates and plateval300 first, then the reads (real check, clutter).
#   docs/accuracy/real_world/s37/soups.sh [soup_k] [soup_l] [soup_m]
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s37/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt   # soup_j (da0f7b6); its stage 2 is the one shipped since session 26
P05="runs/s36/abl_platetrain_seed28/last.pt runs/s36/abl_platetrain_seed29/last.pt runs/s36/abl_platetrain_seed30/last.pt"
P10="runs/s37/abl_platefull_seed28/last.pt runs/s37/abl_platefull_seed29/last.pt runs/s37/abl_platefull_seed30/last.pt"
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(soup_k soup_l soup_m)
for name in "${NAMES[@]}"; do
  echo "$(date -u +%T) $name"
  case $name in soup_k) ING=$P05;; soup_l) ING=$P10;; soup_m) ING="$P05 $P10";; *) echo "unknown soup $name"; exit 2;; esac
  .venv/bin/python tools/weight_soup.py $S/$name.pt $ING || { echo "soup $name failed"; continue; }
  .venv/bin/cluenet train calibrate-mask --weights $S/$name.pt --data data/s21/clutter_val300/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
  .venv/bin/cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $S/pipe_$name.pt > $S/combine_$name.log 2>&1
  P=$S/pipe_$name.pt
  CLUENET_DEMO_CANDIDATE=$P .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s36/plateval300/val --out $S/plateval_$name --max-images 300 > $S/plateval_$name.log 2>&1
  .venv/bin/cluenet eval real --weights $P --json $S/real_$name.json > $S/real_$name.txt 2>&1
  .venv/bin/cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_$name --max-images 300 > $S/clutter_$name.log 2>&1
done
echo "$(date -u +%T) done ${NAMES[*]}"
