#!/usr/bin/env bash
# Session 43, after part C: the `make demo` stream (realistic world, 24 frames) with the node's new
# default (second scale 1.25) and with it off, the shipped soup_s, one after the other, nothing else
# on the cores.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s43; O=runs/s43/demo; mkdir -p $O
cluenet demo --weights models/cluenet_demo.pt --out $O/x125 > $O/x125.log 2>&1 && cp $O/x125/summary.json $D/demo_stream_x125.json
cluenet demo --weights models/cluenet_demo.pt --out $O/x0 --param detection_extra_scale:=0.0 > $O/x0.log 2>&1 \
  && cp $O/x0/summary.json $D/demo_stream_x0.json
echo "$(date -u +%T) demo done"
