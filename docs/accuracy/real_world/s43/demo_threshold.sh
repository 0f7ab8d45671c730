#!/usr/bin/env bash
# Session 43, for the next plan's operating-point question (it chooses nothing here): the `make demo`
# stream with soup_s at score_threshold 0.9 and 0.97 (session 39's highest synthetic F1), one scale.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s43; O=runs/s43/demo; mkdir -p $O
for t in 0.9 0.97; do
  cluenet demo --weights models/cluenet_demo.pt --out $O/t$t --param score_threshold:=$t > $O/t$t.log 2>&1 \
    && cp $O/t$t/summary.json $D/demo_stream_t$t.json
done
echo "$(date -u +%T) done"
