#!/usr/bin/env bash
# Session 42 (PLAN.md), after soups.sh: what is read and reported but never chooses.
#   reads.sh NAME...   each candidate's real check (flip test on, HOG beside it), paired real
#                      differences against soup_s, and the same at score 0.9 against soup_s and
#                      session 41's soup_ab (the busy seeds 39-40 soup);
#   reads.sh repro     seeds 39 and 40 repeated here: in-training validation against session 40's.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s42/soup; D=docs/accuracy/real_world/s42
SS=docs/accuracy/real_world/s39/soups/soup_s/real_soup_s.json
AB=docs/accuracy/real_world/s41/soups/soup_ab/real_soup_ab.json
if [ "${1:-}" = repro ]; then
  for s in 39 40; do
    echo "seed $s: session 40 (../s41/runs600) | here"
    paste -d'|' docs/accuracy/real_world/s41/runs600/busy_seed$s/validation.jsonl runs/s42/busy_seed$s/validation.jsonl
  done | tee $D/repro.txt
  exit 0
fi
names=(); files=()
for name in "$@"; do
  cluenet eval real --weights $S/pipe_$name.pt --json $S/real_$name.json > $S/real_$name.txt 2>&1
  echo "$(date -u +%T) $name real: $(grep -i cluenet $S/real_$name.txt | head -n 1)"
  names+=("$name"); files+=("$S/real_$name.json")
done
IFS=,; N="${names[*]}"; unset IFS
python tools/real_check_compare.py $SS "${files[@]}" --names soup_s,$N --json $D/compare_soups.json | tee $S/compare.txt
python tools/real_check_compare.py $SS $AB "${files[@]}" --names soup_s,soup_ab,$N --at 0.9 --json $D/at09.json | tee $S/at09.txt
echo "$(date -u +%T) reads done"
