#!/usr/bin/env bash
# Session 46, part B (PLAN.md): once the third real-image set is committed, (1) soup_s with the node's defaults and
# HOG on it, read once; (2) session 45's constrained threshold rule with the floor on the check and on the people of
# the sets kept apart, pooled (second + third).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s46; S=docs/accuracy/real_world/s44; O=runs/s46; W=runs/s39/ship/cluenet_demo.pt
P=runs/s44/half
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
mkdir -p $O
echo "$(date -u +%T) 1: soup_s (node defaults) and HOG on the third set"
cluenet eval real --set third --weights $W --json $D/real_third_soup_s.json --overlays $O/third_overlays \
  > $D/real_third_soup_s.txt 2>&1 || { echo "eval failed"; exit 1; }
cat $D/real_third_soup_s.txt
python tools/real_check_compare.py $D/real_third_soup_s.json:hog $D/real_third_soup_s.json \
  --json $D/third_compare_hog.json > $D/third_compare_hog.md 2>&1; cat $D/third_compare_hog.md
echo "$(date -u +%T) 2: the threshold, floor on the check and on second + third pooled"
exclude=""
for round in 1 2 3 4 5 6 7 8; do
  python tools/operating_threshold.py \
    --gt data/s36/plateval300/val/citypersons.json --dt $P/pv36_x05h200/detections.json \
    --gt data/s38/plateval300_seed37/val/citypersons.json --dt $P/pv37_x05h200/detections.json \
    --gt data/s38/plateval300_seed38/val/citypersons.json --dt $P/pv38_x05h200/detections.json \
    --real check=$S/real_soup_s_x05h200.json --real apart=$S/second_soup_s_x05h200.json,$D/real_third_soup_s.json \
    --real second=$S/second_soup_s_x05h200.json --real third=$D/real_third_soup_s.json \
    --min-threshold 0.5 --min-real-recall 0.5 --floor-sets check,apart --exclude "$exclude" \
    --json $D/threshold_apart.json > $D/threshold_apart.md || { echo "no threshold allowed"; break; }
  t=$(python -c "import json; print(json.load(open('$D/threshold_apart.json'))['chosen'])")
  echo "$(date -u +%T) round $round: chosen $t (excluded: ${exclude:-none})"
  if CLUENET_DEMO_THRESHOLD=$t python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider \
      > $O/accept_$t.txt 2>&1; then
    echo "acceptance passes at $t: $(grep 'recall' $O/accept_$t.txt | tail -n 1)" | tee -a $D/accept_thresholds.txt
    break
  fi
  echo "acceptance fails at $t: $(grep ' at ' $O/accept_$t.txt | tail -n 1)" | tee -a $D/accept_thresholds.txt
  exclude="${exclude:+$exclude,}$t"
done
cat $D/threshold_apart.md
