#!/usr/bin/env bash
# Session 42, after soup_af shipped (models/cluenet_demo.pt): the figures docs/demo_model.md
# gives for the shipped weights, measured as session 39's shipped.sh did (the real check without
# the flip test and with the fusion merge, where the false positives lie, the operating threshold
# chosen on clutter val300, the realistic demo stream, the capsule benchmark), in that order.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s42; W=models/cluenet_demo.pt; O=runs/s42/shipped; mkdir -p $O
cluenet eval real --weights $W --no-detection-flip-test --json $S/real_demo_plain.json > $S/real_demo_plain.txt 2>&1
cluenet eval real --weights $W --detection-flip-merge fusion --json $S/real_demo_fusion.json > $S/real_demo_fusion.txt 2>&1
python tools/real_fp_breakdown.py --weights $W --json $S/fp_breakdown_demo_flip.json > $O/fp_flip.txt 2>&1
echo "$(date -u +%T) real done"
cluenet eval full --weights $W --data data/s21/clutter_val300/val --out $O/clutter --max-images 300 > $O/clutter.log 2>&1
python tools/operating_threshold.py --gt data/s21/clutter_val300/val/citypersons.json --dt $O/clutter/detections.json \
  --real runs/s42/soup/real_soup_af.json --json $S/threshold_soup_af.json > $O/threshold.txt 2>&1
echo "$(date -u +%T) threshold done"
cluenet demo --weights $W --out $O/demo_flip > $O/demo_flip.log 2>&1 && cp $O/demo_flip/summary.json $S/demo_stream_flip.json
echo "$(date -u +%T) demo done"
cluenet synth --out data/demo --images 300 --seed 2 --size 512x256 --split benchmark --workers 2 --reuse > $O/synth.log 2>&1
cluenet eval full --weights $W --data data/demo/benchmark --out $O/bench_flip > $O/bench_flip.log 2>&1
mkdir -p docs/accuracy/demo_benchmark_s42_flip; cp $O/bench_flip/report.{json,md} $O/bench_flip/ap_vs_occlusion.png docs/accuracy/demo_benchmark_s42_flip/
echo "$(date -u +%T) shipped done"
