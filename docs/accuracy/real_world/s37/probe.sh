#!/usr/bin/env bash
# Session 37, after the rule had run: gate-only probes for the next plan. soup_n (soup_c and
# the three background_plate 1.0 runs) and soup_o (soup_c and all six plate runs), built and
# calibrated as soups.sh does, measured ONLY by the two gates (acceptance test, capsule val200):
# neither plateval300 (the set that chooses) nor the real check is read, so a later plan can
# name them as candidates without having seen the figures it would choose on.
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s37/probe; mkdir -p $S
SHIP=models/cluenet_demo.pt
C=runs/s33/soup_c_pipeline.pt
P05="runs/s36/abl_platetrain_seed28/last.pt runs/s36/abl_platetrain_seed29/last.pt runs/s36/abl_platetrain_seed30/last.pt"
P10="runs/s37/abl_platefull_seed28/last.pt runs/s37/abl_platefull_seed29/last.pt runs/s37/abl_platefull_seed30/last.pt"
for name in soup_n soup_o; do
  case $name in soup_n) ING="$C $P10";; soup_o) ING="$C $P05 $P10";; esac
  .venv/bin/python tools/weight_soup.py $S/$name.pt $ING
  .venv/bin/cluenet train calibrate-mask --weights $S/$name.pt --data data/s21/clutter_val300/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
  .venv/bin/cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $S/pipe_$name.pt > $S/combine_$name.log 2>&1
  CLUENET_DEMO_CANDIDATE=$S/pipe_$name.pt .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  .venv/bin/cluenet eval full --weights $S/pipe_$name.pt --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
  d=docs/accuracy/real_world/s37/probes/$name; mkdir -p $d/capsule
  cp $S/accept_$name.txt $d/acceptance.txt; cp $S/capsule_$name/report.{json,md} $d/capsule/
  echo "$(date -u +%T) $name: $(grep 'Reasonable (R)' $S/capsule_$name/report.md)"
done
