#!/usr/bin/env bash
# Session 42: what the docs cite, copied from runs/s42 (which stays on the machine): soup_s's
# plateval900 reports measured again here, each candidate's acceptance test, plateval900 reports
# and real check; the rule's and reads' tables; the four busy runs' curves and validation logs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s42; R=runs/s42/soup
for n in soup_s soup_ag soup_af; do
  d=$S/soups/$n
  [ -f $R/accept_$n.txt ] && { mkdir -p $d; cp $R/accept_$n.txt $d/acceptance.txt; }
  for s in 36 37 38; do
    [ -f $R/pv${s}_$n/report.json ] && { mkdir -p $d/plateval_seed$s; cp $R/pv${s}_$n/report.{json,md} $d/plateval_seed$s/; }
  done
  [ -f $R/real_$n.json ] && cp $R/real_$n.json $R/real_$n.txt $d/
done
for f in rule:plateval900 compare:compare_soups at09:at09; do
  [ -f $R/${f%%:*}.txt ] && cp $R/${f%%:*}.txt $S/${f##*:}.md
done
for s in 39 40 41 42; do
  run=runs/s42/busy_seed$s
  [ -f $run/validation.jsonl ] || continue
  d=$S/runs600/busy_seed$s; mkdir -p $d
  cp -r $run/tensorboard $run/validation.jsonl $d/
done
