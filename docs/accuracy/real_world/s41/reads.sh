#!/usr/bin/env bash
# Session 41 (PLAN.md), after soups.sh: what is read and reported but never chooses.
#   reads.sh          parts C and D: each candidate's real check (flip test on, HOG beside it), the
#                     paired real differences against soup_s, the same at score 0.9 against the
#                     same-shape controls of session 40, and the single busy runs measured as the
#                     gen2-gen4 runs were (calibrated on s27 base val, the demo's stage 2);
#   reads.sh e        the same for part E (soup_ad, soup_ae), paired against soup_s and, at score
#                     0.9, against the busy soups of the same shape;
#   reads.sh runs     the single busy and wide runs (split off at 00:12, before any read, for time:
#                     the soups' reads come first).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s41/soup; D=docs/accuracy/real_world/s41
SS=docs/accuracy/real_world/s39/soups/soup_s/real_soup_s.json
V=runs/s40/soup   # session 40's soups: the same-shape controls at --clutter 10
real() { for name in "$@"; do
  cluenet eval real --weights $S/pipe_$name.pt --json $S/real_$name.json > $S/real_$name.txt 2>&1
  echo "$(date -u +%T) $name real: $(grep -i cluenet $S/real_$name.txt | head -n 1)"
done; }
if [ "${1:-}" = e ]; then
  real soup_ad soup_ae
  python tools/real_check_compare.py $SS $S/real_soup_{ad,ae}.json --names soup_s,soup_ad,soup_ae \
    --json $D/compare_soups_e.json | tee $S/compare_e.txt
  python tools/real_check_compare.py $S/real_soup_aa.json $S/real_soup_ad.json --names soup_aa,soup_ad --at 0.9 \
    --json $D/at09_ad_vs_aa.json | tee $S/at09_e.txt
  python tools/real_check_compare.py $S/real_soup_ab.json $S/real_soup_ae.json --names soup_ab,soup_ae --at 0.9 \
    --json $D/at09_ae_vs_ab.json | tee -a $S/at09_e.txt
  echo "$(date -u +%T) reads e done"
  exit 0
fi
if [ "${1:-}" = runs ]; then
  for run in s40/busy_seed39 s40/busy_seed40 s41/wide_seed39 s41/wide_seed40; do
    DATA=data/s27 RUNS=runs/s41/eval OUT=docs/accuracy/real_world WORLDS=none CALIBRATE_ON=data/s27/abl_base/val \
      tools/real_world_eval.sh s41/$(basename $run)_600 runs/$run/last.pt
  done
  echo "$(date -u +%T) reads runs done"
  exit 0
fi
real soup_aa soup_ab soup_ac
python tools/real_check_compare.py $SS $S/real_soup_{aa,ab,ac}.json --names soup_s,soup_aa,soup_ab,soup_ac \
  --json $D/compare_soups.json | tee $S/compare.txt
# part C's own question at score 0.9: busy against the same-shape soups of gen3 and gen4, and soup_s
python tools/real_check_compare.py $SS $V/real_soup_v.json $V/real_soup_y.json $S/real_soup_aa.json \
  $V/real_soup_w.json $V/real_soup_z.json $S/real_soup_ab.json $S/real_soup_ac.json --at 0.9 \
  --names soup_s,soup_v,soup_y,soup_aa,soup_w,soup_z,soup_ab,soup_ac --json $D/at09.json | tee $S/at09.txt
echo "$(date -u +%T) reads done"
