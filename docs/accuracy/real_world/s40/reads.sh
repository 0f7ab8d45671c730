#!/usr/bin/env bash
# Session 40 (PLAN.md), after soups.sh: what is read and reported but never chooses.
#   reads.sh                 each candidate's real check (flip test on, HOG beside it), the paired
#                            real-check differences against the shipped soup_s, and the single gen3
#                            runs measured as the gen2 runs were (calibrated on s27 base val, the
#                            demo's stage 2);
#   reads.sh b               the same for part B: soup_y, soup_z and the single gen4 runs;
#   reads.sh synthetic NAME...   capsule val200 and clutter val300 of the named candidates.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s40/soup; D=docs/accuracy/real_world/s40
if [ "${1:-}" = synthetic ]; then
  shift
  for name in "$@"; do
    P=$S/pipe_$name.pt
    cluenet eval full --weights $P --data data/s25/capsule_val200/val --out $S/capsule_$name --max-images 200 > $S/capsule_$name.log 2>&1
    cluenet eval full --weights $P --data data/s21/clutter_val300/val --out $S/clutter_$name --max-images 300 > $S/clutter_$name.log 2>&1
    echo "$(date -u +%T) $name capsule/clutter done"
  done
  exit 0
fi
if [ "${1:-}" = b ]; then
  for name in soup_y soup_z; do
    cluenet eval real --weights $S/pipe_$name.pt --json $S/real_$name.json > $S/real_$name.txt 2>&1
    echo "$(date -u +%T) $name real: $(grep -i cluenet $S/real_$name.txt | head -n 1)"
  done
  python tools/real_check_compare.py docs/accuracy/real_world/s39/soups/soup_s/real_soup_s.json $S/real_soup_{y,z}.json \
    --names soup_s,soup_y,soup_z --json $D/compare_soups_b.json | tee $S/compare_b.txt
  for s in 37 38; do
    DATA=data/s27 RUNS=runs/s40/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
      tools/real_world_eval.sh s40/gen4_seed${s}_600 runs/s40/gen4_seed$s/last.pt
  done
  echo "$(date -u +%T) reads b done"
  exit 0
fi
for name in soup_v soup_w soup_x; do
  P=$S/pipe_$name.pt
  cluenet eval real --weights $P --json $S/real_$name.json > $S/real_$name.txt 2>&1
  echo "$(date -u +%T) $name real: $(grep -i cluenet $S/real_$name.txt | head -n 1)"
done
python tools/real_check_compare.py docs/accuracy/real_world/s39/soups/soup_s/real_soup_s.json $S/real_soup_{v,w,x}.json \
  --names soup_s,soup_v,soup_w,soup_x --json $D/compare_soups.json | tee $S/compare.txt
for s in 35 36; do
  DATA=data/s27 RUNS=runs/s40/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
    tools/real_world_eval.sh s40/gen3_seed${s}_600 runs/s39/gen3_seed$s/last.pt
done
echo "$(date -u +%T) reads done"
