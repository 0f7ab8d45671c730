#!/bin/bash
# Session 26 (docs/accuracy/real_world/s26/PLAN.md): the shipped demo at four input scales,
# on the real check and on the synthetic validation sets. No training.
cd "$(dirname "$0")/../../../.." || exit 1
S=runs/s26; mkdir -p $S
W=models/cluenet_demo.pt
for s in 1.0 0.75 1.5 2.0; do
  date; echo "real $s"
  .venv/bin/cluenet eval real --weights $W --input-scale $s --json $S/real_x$s.json > $S/real_x$s.txt 2>&1
done
for s in 0.75 1.0 1.5 2.0; do
  date; echo "clutter $s"
  .venv/bin/cluenet eval full --weights $W --input-scale $s --data data/s21/clutter_val300/val --out $S/clutter_x$s --max-images 300 > $S/clutter_x$s.log 2>&1
done
for s in 1.0 2.0; do
  date; echo "capsule $s"
  .venv/bin/cluenet eval full --weights $W --input-scale $s --data data/s25/capsule_val200/val --out $S/capsule_x$s --max-images 200 > $S/capsule_x$s.log 2>&1
done
date; echo done > $S/DONE
