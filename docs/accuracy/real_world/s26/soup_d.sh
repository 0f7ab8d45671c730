#!/bin/bash
# Session 26, PLAN.md addendum 3: soup_d (session 21's stage 1 + session 23's run + fresh_s27),
# measured as the other soups; fresh_s27's own last.pt on the clutter validation and the real check.
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s26/soup; mkdir -p $S
INIT=runs/s26/init_demo_s21.pt   # git show 73e2c96:models/cluenet_demo.pt
date; echo "soup_d"
.venv/bin/python tools/weight_soup.py $S/soup_d.pt $INIT runs/s23/fresh/last.pt runs/s26/fresh_s27/last.pt || exit 1
.venv/bin/cluenet train calibrate-mask --weights $S/soup_d.pt --data data/s23/clutter_fresh/val --out $S/cal_soup_d.pt --max-images 100 > $S/cal_soup_d.log 2>&1
.venv/bin/cluenet train combine --half --stage1 $S/cal_soup_d.pt --stage2 $INIT --out $S/pipe_soup_d.pt > $S/combine_soup_d.log 2>&1
P=$S/pipe_soup_d.pt
.venv/bin/cluenet eval real --weights $P --json $S/real_soup_d.json > $S/real_soup_d.txt 2>&1
.venv/bin/cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_soup_d --max-images 300 > $S/clutter_soup_d.log 2>&1
CLUENET_DEMO_CANDIDATE=$P .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_soup_d.txt 2>&1
.venv/bin/cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_soup_d --max-images 200 > $S/capsule_soup_d.log 2>&1
date; echo "fresh_s27 alone"
.venv/bin/cluenet train calibrate-mask --weights runs/s26/fresh_s27/last.pt --data data/s23/clutter_fresh/val --out $S/cal_fresh_s27.pt --max-images 100 > $S/cal_fresh_s27.log 2>&1
.venv/bin/cluenet train combine --half --stage1 $S/cal_fresh_s27.pt --stage2 $INIT --out $S/pipe_fresh_s27.pt > $S/combine_fresh_s27.log 2>&1
.venv/bin/cluenet eval real --weights $S/pipe_fresh_s27.pt --json $S/real_fresh_s27.json > $S/real_fresh_s27.txt 2>&1
.venv/bin/cluenet eval full --weights $S/pipe_fresh_s27.pt --data data/s21/clutter_val300/val --out $S/clutter_fresh_s27 --max-images 300 > $S/clutter_fresh_s27.log 2>&1
date; echo done > $S/DONE_D
