#!/usr/bin/env bash
# Session 38: what the docs cite, copied from runs/s38 (which stays on the machine): each
# candidate's acceptance test, plateval900 reports (three composites), real check and, where
# measured, capsule val200 and clutter val300; the shipped soup_k's plateval900 reports;
# soup_p's ship gate; and the resumed seeds' curves (TensorBoard) and validation logs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s38; R=runs/s38/soup
for n in soup_k soup_p soup_q soup_o; do
  d=$S/soups/$n; mkdir -p $d
  [ -f $R/accept_$n.txt ] && cp $R/accept_$n.txt $d/acceptance.txt
  for s in 36 37 38; do mkdir -p $d/plateval_seed$s; cp $R/pv${s}_$n/report.{json,md} $d/plateval_seed$s/; done
  for w in capsule clutter; do
    [ -f $R/${w}_$n/report.json ] && { mkdir -p $d/$w; cp $R/${w}_$n/report.{json,md} $d/$w/; }
  done
  [ -f $R/real_$n.json ] && cp $R/real_$n.json $R/real_$n.txt $d/
done
cp $R/rule.txt $S/plateval900.md
.venv/bin/python tools/ship_gate.py $R/real_soup_p.json --shipped docs/accuracy/real_world/s37/soups/soup_k/real_soup_k.json \
  --json $S/soups/soup_p/ship_gate.json
for s in 31 32; do
  d=$S/runs600/platefull_seed$s; mkdir -p $d
  cp -r runs/s37/abl_platefull_seed$s/tensorboard runs/s37/abl_platefull_seed$s/validation.jsonl $d/
done
