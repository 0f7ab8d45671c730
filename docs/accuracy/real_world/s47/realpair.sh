#!/usr/bin/env bash
# Session 47, added after part B's figures (a read that chooses nothing): part B's candidate against session 46's mix
# candidate on the real sets, both at one scale, paired by tools/ship_gate.py (its AP difference; its verdict means
# nothing here, neither is shipped).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s47; O=runs/s47
for set in first second; do
  python tools/ship_gate.py $O/real_${set}_mixnorm.json --shipped runs/s46/real_${set}_mix.json \
    --json $D/pair_mixnorm_vs_mix_$set.json | tee $D/pair_mixnorm_vs_mix_$set.md
done
