#!/usr/bin/env bash
# Session 44, part B: the second real-image set read once (choosing nothing): soup_s beside HOG,
# with the node's settings, then with perspective rescoring on.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; W=runs/s39/ship/cluenet_demo.pt
cluenet data real-images --set second
cluenet eval real --set second --weights $W --json $D/second_soup_s.json > $D/second_soup_s.txt 2>&1
cluenet eval real --set second --weights $W --perspective-rescore --no-hog --json $D/second_soup_s_perspective.json \
  > $D/second_soup_s_perspective.txt 2>&1
python tools/real_check_compare.py $D/second_soup_s.json $D/second_soup_s_perspective.json --names off,perspective \
  --json $D/second_compare_perspective.json > $D/second_compare_perspective.md 2>&1
python tools/real_check_compare.py $D/second_soup_s.json:hog $D/second_soup_s.json --names hog,soup_s \
  --json $D/second_compare_hog.json > $D/second_compare_hog.md 2>&1
echo "$(date -u +%T) done"
