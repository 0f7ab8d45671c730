#!/usr/bin/env bash
# Session 38 (PLAN.md), after soups.sh: what is read and reported but never chooses.
#   reads.sh            each candidate's real check (flip test on, HOG beside it), the paired
#                       real-check differences against the shipped soup_k, and seeds 31 and 32
#                       of the background_plate 1.0 arm measured as seeds 28-30 were
#                       (calibrated on s27 base val, the demo's stage 2);
#   reads.sh synthetic NAME...   capsule val200 (soup_o's is session 37's probe, the same file
#                       rebuilt) and clutter val300 of the named candidates.
# Reordered before it ran, for the session's time: the synthetic reads are run for the chosen
# candidate first, the others if time allows; the seeds' plateval300 read was dropped.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s38/soup; D=docs/accuracy/real_world/s38
if [ "${1:-}" = synthetic ]; then
  shift
  for name in "$@"; do
    P=$S/pipe_$name.pt
    if [ $name = soup_o ] && [ -f runs/s37/probe/capsule_soup_o/report.json ]; then
      [ -d $S/capsule_soup_o ] || cp -r runs/s37/probe/capsule_soup_o $S/capsule_soup_o
    else
      cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
    fi
    cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_$name --max-images 300 > $S/clutter_$name.log 2>&1
    echo "$(date -u +%T) $name capsule/clutter done"
  done
  exit 0
fi
for name in soup_p soup_q soup_o; do
  P=$S/pipe_$name.pt
  cluenet eval real --weights $P --json $S/real_$name.json > $S/real_$name.txt 2>&1
  echo "$(date -u +%T) $name real: $(grep -i cluenet $S/real_$name.txt | head -n 1)"
done
python tools/real_check_compare.py docs/accuracy/real_world/s37/soups/soup_k/real_soup_k.json $S/real_soup_{p,q,o}.json \
  --names soup_k,soup_p,soup_q,soup_o --json $D/compare_soups.json | tee $S/compare.txt
for s in 31 32; do
  DATA=data/s27 RUNS=runs/s38/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
    tools/real_world_eval.sh s38/abl_platefull_seed${s}_600 runs/s37/abl_platefull_seed$s/last.pt
done
echo "$(date -u +%T) reads done"
