#!/bin/bash
# Session 25 (docs/accuracy/real_world/s25/PLAN.md): three 400-iteration fine-tunes of the
# shipped stage 1 (hard-negative fraction 0 / 0.25 / 0.5), each followed by its selection figures.
cd /work/main
S=runs/s25/sel; mkdir -p $S
select_one() {  # $1 name, $2 pipeline checkpoint
  CLUENET_DEMO_CANDIDATE=$2 .venv/bin/python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$1.txt 2>&1
  .venv/bin/cluenet eval full --weights $2 --data data/s25/capsule_val200/val --out $S/capsule_$1 --max-images 200 > $S/capsule_$1.log 2>&1
  [ "$1" = shipped ] && return
  .venv/bin/cluenet eval full --weights $2 --data data/s21/clutter_val300/val --out $S/clutter_$1 --max-images 300 > $S/clutter_$1.log 2>&1
  .venv/bin/cluenet eval real --weights $2 --json $S/real_$1.json > $S/real_$1.txt 2>&1
}
date; select_one shipped models/cluenet_demo.pt
for a in hn0 hn25 hn50; do
  date; echo "train $a"
  .venv/bin/cluenet train stage1 --config docs/accuracy/real_world/s25/$a.yaml > runs/s25/$a.log 2>&1 || { echo "train $a failed"; continue; }
  date; echo "select $a"
  .venv/bin/cluenet train calibrate-mask --weights runs/s25/$a/last.pt --data data/s23/clutter_fresh/val --out $S/cal_$a.pt --max-images 100 > $S/cal_$a.log 2>&1
  .venv/bin/cluenet train combine --half --stage1 $S/cal_$a.pt --stage2 models/cluenet_demo.pt --out $S/pipe_$a.pt > $S/combine_$a.log 2>&1
  select_one $a $S/pipe_$a.pt
done
date; echo done > $S/DONE
