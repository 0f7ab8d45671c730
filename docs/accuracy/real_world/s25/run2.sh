#!/bin/bash
# Session 25, added after the plan (not candidates): gate B on session 24's mining run,
# and a second seed of the control fine-tune, to see how far the real check moves between seeds.
cd /work/main
S=runs/s25/sel
while [ ! -f $S/DONE ]; do sleep 20; done
date; .venv/bin/cluenet eval full --weights runs/s24/sel/pipe_last.pt --data data/s25/capsule_val200/val --out $S/capsule_s24last --max-images 200 > $S/capsule_s24last.log 2>&1
a=hn0_seed26
date; echo "train $a"
.venv/bin/cluenet train stage1 --config docs/accuracy/real_world/s25/$a.yaml > runs/s25/$a.log 2>&1
date; echo "select $a"
.venv/bin/cluenet train calibrate-mask --weights runs/s25/$a/last.pt --data data/s23/clutter_fresh/val --out $S/cal_$a.pt --max-images 100 > $S/cal_$a.log 2>&1
.venv/bin/cluenet train combine --half --stage1 $S/cal_$a.pt --stage2 models/cluenet_demo.pt --out $S/pipe_$a.pt > $S/combine_$a.log 2>&1
.venv/bin/cluenet eval real --weights $S/pipe_$a.pt --json $S/real_$a.json > $S/real_$a.txt 2>&1
.venv/bin/cluenet eval full --weights $S/pipe_$a.pt --data data/s21/clutter_val300/val --out $S/clutter_$a --max-images 300 > $S/clutter_$a.log 2>&1
date; echo done > $S/DONE2
