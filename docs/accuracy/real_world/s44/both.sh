#!/usr/bin/env bash
# Session 44, a read that chooses nothing: perspective rescoring on top of the new default pipeline
# (half-scale view, 200 px floor) on the check and on the second set.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; W=runs/s39/ship/cluenet_demo.pt
cluenet eval real --weights $W --perspective-rescore --json $D/real_default_perspective.json > $D/real_default_perspective.txt 2>&1
cluenet eval real --set second --weights $W --perspective-rescore --no-hog --json $D/second_default_perspective.json \
  > $D/second_default_perspective.txt 2>&1
head -n 2 $D/real_default_perspective.txt; head -n 1 $D/second_default_perspective.txt
