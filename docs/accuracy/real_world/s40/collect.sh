#!/usr/bin/env bash
# Session 40: what the docs cite, copied from runs/s40 (which stays on the machine): each
# candidate's acceptance test, plateval900 reports (three composites) and real check, part A's
# and (where it ran) part B's; and the gen3 and gen4 runs' curves (TensorBoard) and validation logs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s40; R=runs/s40/soup
for n in soup_v soup_w soup_x soup_y soup_z; do
  [ -f $R/accept_$n.txt ] || continue
  d=$S/soups/$n; mkdir -p $d
  cp $R/accept_$n.txt $d/acceptance.txt
  for s in 36 37 38; do
    [ -f $R/pv${s}_$n/report.json ] && { mkdir -p $d/plateval_seed$s; cp $R/pv${s}_$n/report.{json,md} $d/plateval_seed$s/; }
  done
  for w in capsule clutter; do
    [ -f $R/${w}_$n/report.json ] && { mkdir -p $d/$w; cp $R/${w}_$n/report.{json,md} $d/$w/; }
  done
  [ -f $R/real_$n.json ] && cp $R/real_$n.json $R/real_$n.txt $d/
done
cp $R/rule.txt $S/plateval900.md
cp $R/compare.txt $S/compare_soups.md
[ -f $R/rule_b.txt ] && cp $R/rule_b.txt $S/plateval900_b.md
[ -f $R/compare_b.txt ] && cp $R/compare_b.txt $S/compare_soups_b.md
for run in s39/gen3_seed35 s39/gen3_seed36 s40/gen4_seed37 s40/gen4_seed38; do
  [ -f runs/$run/validation.jsonl ] || continue
  d=$S/runs600/$(basename $run); mkdir -p $d
  cp -r runs/$run/tensorboard runs/$run/validation.jsonl $d/
done
