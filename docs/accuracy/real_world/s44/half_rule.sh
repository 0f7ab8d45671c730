#!/usr/bin/env bash
# Session 44, part E (PLAN.md), after half.sh: steps 3 and 4 of the rule, each run alone on the cores.
#   half_rule.sh [demo] [bench] [real] [second]
# demo: the make-demo stream at one scale and with the half-scale view; bench: cluenet bench at
# 1024x512, both; real: the real check both ways and the amended ship gate; second: the second set
# with the half-scale view (information, read after the decision).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/half; W=runs/s39/ship/cluenet_demo.pt
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(demo bench real)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    demo)
      for x in 0.0 0.5; do
        cluenet demo --weights $W --out $O/demo_x$x --param detection_extra_scale:=$x > $O/demo_x$x.log 2>&1 \
          && cp $O/demo_x$x/summary.json $D/demo_stream_x$x.json
        python -c "import json,sys; d=json.load(open('$D/demo_stream_x$x.json')); print('x$x', d['frames_answered'], 'of', d['frames_sent'], 'answered;', d['found_reasonable'], 'of', d['people_reasonable'], 'people;', round(d['false_detections_per_frame'], 2), 'false per frame; median', round(d['latency_ms_median']), 'ms')"
      done;;
    bench)
      for x in 0 0.5; do
        cluenet bench --device cpu --backend auto --weights $W --resolution 1024x512 --frames 15 \
          --detection-extra-scale $x --json $D/bench_1024x512_x$x.json > $O/bench_x$x.txt 2>&1
        tail -n 12 $O/bench_x$x.txt
      done;;
    real)
      cluenet eval real --weights $W --detection-extra-scale 0 --json $O/real_x0.json > $O/real_x0.txt 2>&1
      cluenet eval real --weights $W --detection-extra-scale 0.5 --json $O/real_x05.json > $O/real_x05.txt 2>&1
      cp $O/real_x05.json $D/real_soup_s_x05.json; cp $O/real_x05.txt $D/real_soup_s_x05.txt
      python tools/real_check_compare.py $O/real_x0.json $O/real_x05.json --names one,x0.5 \
        --json $D/compare_x05.json | tee $D/compare_x05.md
      python tools/ship_gate.py $O/real_x05.json --shipped $O/real_x0.json --settings-differ \
        --json $D/gate_x05.json | tee $D/gate_x05.md;;
    second)
      cluenet eval real --set second --weights $W --detection-extra-scale 0.5 --json $D/second_soup_s_x05.json \
        > $D/second_soup_s_x05.txt 2>&1
      python tools/real_check_compare.py $D/second_soup_s.json $D/second_soup_s_x05.json --names one,x0.5 \
        --json $D/second_compare_x05.json | tee $D/second_compare_x05.md;;
  esac
done
