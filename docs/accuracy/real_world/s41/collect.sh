#!/usr/bin/env bash
# Session 41: what the docs cite, copied from runs/s41 (which stays on the machine): each
# candidate's acceptance test, plateval900 reports (three composites) and real check; the rules'
# and reads' tables; the busy and wide runs' curves (TensorBoard) and validation logs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s41; R=runs/s41/soup
for n in soup_aa soup_ab soup_ac soup_ad soup_ae; do
  [ -f $R/accept_$n.txt ] || continue
  d=$S/soups/$n; mkdir -p $d
  cp $R/accept_$n.txt $d/acceptance.txt
  for s in 36 37 38; do
    [ -f $R/pv${s}_$n/report.json ] && { mkdir -p $d/plateval_seed$s; cp $R/pv${s}_$n/report.{json,md} $d/plateval_seed$s/; }
  done
  [ -f $R/real_$n.json ] && cp $R/real_$n.json $R/real_$n.txt $d/
done
for f in rule:plateval900 rule_e:plateval900_e compare:compare_soups compare_e:compare_soups_e at09:at09 at09_e:at09_e; do
  [ -f $R/${f%%:*}.txt ] && cp $R/${f%%:*}.txt $S/${f##*:}.md
done
for run in s40/busy_seed39 s40/busy_seed40 s41/wide_seed39 s41/wide_seed40; do
  [ -f runs/$run/validation.jsonl ] || continue
  d=$S/runs600/$(basename $run); mkdir -p $d
  cp -r runs/$run/tensorboard runs/$run/validation.jsonl $d/
done
