#!/usr/bin/env bash
# Session 44, part D, a read that chooses nothing: the `make demo` stream (24 rendered frames at 4 Hz)
# with soup_s, perspective rescoring off and on (PipelineConfig's settings, a0.97_t0.35_s0.1).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/demo; mkdir -p $O
for p in false true; do
  cluenet demo --weights models/cluenet_demo.pt --out $O/p$p --param perspective.enable:=$p > $O/p$p.log 2>&1 \
    && cp $O/p$p/summary.json $D/demo_stream_perspective_$p.json
done
echo "$(date -u +%T) done"
