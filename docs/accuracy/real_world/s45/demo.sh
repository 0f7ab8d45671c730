#!/usr/bin/env bash
# Session 45, part B's reads (choosing nothing): the `make demo` stream at the node's new default threshold (0.96),
# beside session 44's read at 0.5 (../s44/demo_stream_x05h200.json, the same pipeline otherwise).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s45; O=runs/s45; W=runs/s39/ship/cluenet_demo.pt
cluenet demo --weights $W --out $O/demo_t096 > $O/demo_t096.log 2>&1 && cp $O/demo_t096/summary.json $D/demo_stream_t096.json
for f in docs/accuracy/real_world/s44/demo_stream_x05h200.json $D/demo_stream_t096.json; do
  python -c "import json; d=json.load(open('$f')); print('$f:', d['frames_answered'], 'of', d['frames_sent'], 'answered;', d['found_reasonable'], 'of', d['people_reasonable'], 'people;', round(d['false_detections_per_frame'], 2), 'false per frame; median', round(d['latency_ms_median']), 'ms;', d.get('params'))"
done
