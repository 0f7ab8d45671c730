#!/usr/bin/env bash
# Session 39: what the docs cite, copied from runs/s39 (which stays on the machine): each
# candidate's acceptance test, plateval900 reports (three composites), real check and, where
# measured, capsule val200 and clutter val300; soup_s's ship gate; and the gen2 runs' curves
# (TensorBoard) and validation logs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s39; R=runs/s39/soup
for n in soup_r soup_s soup_u; do
  d=$S/soups/$n; mkdir -p $d
  cp $R/accept_$n.txt $d/acceptance.txt
  for s in 36 37 38; do mkdir -p $d/plateval_seed$s; cp $R/pv${s}_$n/report.{json,md} $d/plateval_seed$s/; done
  for w in capsule clutter; do
    [ -f $R/${w}_$n/report.json ] && { mkdir -p $d/$w; cp $R/${w}_$n/report.{json,md} $d/$w/; }
  done
  cp $R/real_$n.json $R/real_$n.txt $d/
done
cp $R/rule.txt $S/plateval900.md
cp $R/compare.txt $S/compare_soups.md
.venv/bin/python tools/ship_gate.py $R/real_soup_s.json --shipped docs/accuracy/real_world/s38/soups/soup_p/real_soup_p.json \
  --json $S/soups/soup_s/ship_gate.json
for s in 33 34; do
  d=$S/runs600/gen2_seed$s; mkdir -p $d
  cp -r runs/s38/gen2_seed$s/tensorboard runs/s38/gen2_seed$s/validation.jsonl $d/
done
