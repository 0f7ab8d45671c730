#!/usr/bin/env bash
# Session 43 (PLAN.md part C), after scale.sh: condition (i) on plateval900 (flip test alone, session 42's
# detections of soup_s on the same sets, against flip test + scale 1.25), then the reads that (ii) and (iii)
# need: the real check with and without the second scale (HOG beside it), the amended ship gate, and
# `cluenet bench` at 1024x512 with and without it (run alone, nothing else on the cores).
#   scale_rule.sh [rule] [real] [bench]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s43/scale; D=docs/accuracy/real_world/s43; A=runs/s42/soup
W=runs/s39/ship/cluenet_demo.pt      # soup_s, sha256 5f2e0ff6 (= models/cluenet_demo.pt since part A)
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(rule real bench)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    rule)
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} \
        --model "soup_s=$A/pv36_soup_s,$A/pv37_soup_s,$A/pv38_soup_s" \
        --model "soup_s_x125=$S/pv36_soup_s_x125,$S/pv37_soup_s_x125,$S/pv38_soup_s_x125" \
        --json $D/plateval900_x125.json | tee $D/plateval900_x125.md;;
    real)
      cluenet eval real --weights $W --json $S/real_soup_s.json > $S/real_soup_s.txt 2>&1
      cluenet eval real --weights $W --detection-extra-scale 1.25 --json $S/real_soup_s_x125.json > $S/real_soup_s_x125.txt 2>&1
      python tools/real_check_compare.py $S/real_soup_s.json $S/real_soup_s_x125.json --names soup_s,soup_s_x125 \
        --json $D/compare_x125.json | tee $D/compare_x125.md
      python tools/real_check_compare.py $S/real_soup_s.json $S/real_soup_s_x125.json --names soup_s,soup_s_x125 \
        --at 0.9 --json $D/at09_x125.json | tee $D/at09_x125.md
      python tools/ship_gate.py $S/real_soup_s_x125.json --shipped $S/real_soup_s.json --settings-differ \
        --json $D/gate_x125.json | tee $D/gate_x125.md;;
    bench)
      for x in 0 1.25; do
        cluenet bench --device cpu --backend auto --weights $W --resolution 1024x512 --frames 15 \
          --detection-extra-scale $x --json $D/bench_1024x512_x$x.json > $S/bench_x$x.txt 2>&1
        tail -n 12 $S/bench_x$x.txt
      done;;
  esac
done
