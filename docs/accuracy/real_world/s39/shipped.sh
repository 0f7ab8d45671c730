#!/usr/bin/env bash
# Session 39, after soup_s shipped (models/cluenet_demo.pt): the figures docs/demo_model.md
# gives for the shipped weights, measured as sessions 28 and 32 did: the real check without
# the flip test and with the fusion merge, where the false positives lie, the realistic demo
# stream (make demo) with and without the flip test, and the capsule benchmark (seed 2).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s39; W=models/cluenet_demo.pt; O=runs/s39/shipped; mkdir -p $O
cluenet eval real --weights $W --no-detection-flip-test --json $S/real_demo_plain.json > $S/real_demo_plain.txt 2>&1
cluenet eval real --weights $W --detection-flip-merge fusion --json $S/real_demo_fusion.json > $S/real_demo_fusion.txt 2>&1
python tools/real_fp_breakdown.py --weights $W --json $S/fp_breakdown_demo_flip.json > $O/fp_flip.txt 2>&1
python tools/real_fp_breakdown.py --weights $W --no-detection-flip-test --json $S/fp_breakdown_demo_plain.json > $O/fp_plain.txt 2>&1
echo "$(date -u +%T) real done"
cluenet demo --weights $W --out $O/demo_flip > $O/demo_flip.log 2>&1 && cp $O/demo_flip/summary.json $S/demo_stream_flip.json
cluenet demo --weights $W --out $O/demo_plain --param detection_flip_test:=false > $O/demo_plain.log 2>&1 \
  && cp $O/demo_plain/summary.json $S/demo_stream_plain.json
echo "$(date -u +%T) demo done"
cluenet synth --out data/demo --images 300 --seed 2 --size 512x256 --split benchmark --workers 2 --reuse > $O/synth.log 2>&1
cluenet eval full --weights $W --data data/demo/benchmark --out $O/bench_plain --no-detection-flip-test > $O/bench_plain.log 2>&1
cluenet eval full --weights $W --data data/demo/benchmark --out $O/bench_flip > $O/bench_flip.log 2>&1
for k in plain flip; do mkdir -p docs/accuracy/demo_benchmark_s39_$k; cp $O/bench_$k/report.{json,md} $O/bench_$k/ap_vs_occlusion.png docs/accuracy/demo_benchmark_s39_$k/; done
echo "$(date -u +%T) shipped done"
# the operating threshold chosen on clutter val300 (soup_s's clutter reads first: reads.sh synthetic soup_s)
docs/accuracy/real_world/s39/reads.sh synthetic soup_s
python tools/operating_threshold.py --gt data/s21/clutter_val300/val/citypersons.json --dt runs/s39/soup/clutter_soup_s/detections.json \
  --real runs/s39/soup/real_soup_s.json --json $S/threshold_soup_s.json > $O/threshold.txt 2>&1
echo "$(date -u +%T) threshold done"
