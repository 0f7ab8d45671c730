#!/usr/bin/env bash
# Session 44, part F (PLAN.md), after half_f.sh: steps 3 and 4 of the rule for the half-scale view kept
# for boxes >= 200 px, each run alone on the cores; then the second set (information).
#   half_f_rule.sh [demo] [bench] [real] [second]
# bench: `cluenet bench` has no height floor; the floor only drops boxes before the merge, so the
# half-scale view's cost is measured with --detection-extra-scale 0.5 alone.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/half; W=runs/s39/ship/cluenet_demo.pt
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(demo bench real)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    demo)
      for v in "x0 0.0 0.0" "x05h200 0.5 200.0"; do
        set -- $v
        cluenet demo --weights $W --out $O/demo_$1 --param detection_extra_scale:=$2 \
          --param detection_extra_scale_min_height:=$3 > $O/demo_$1.log 2>&1 && cp $O/demo_$1/summary.json $D/demo_stream_$1.json
        python -c "import json; d=json.load(open('$D/demo_stream_$1.json')); print('$1', d['frames_answered'], 'of', d['frames_sent'], 'answered;', d['found_reasonable'], 'of', d['people_reasonable'], 'people;', round(d['false_detections_per_frame'], 2), 'false per frame; median', round(d['latency_ms_median']), 'ms')"
      done;;
    bench)
      for x in 0 0.5; do
        cluenet bench --device cpu --backend auto --weights $W --resolution 1024x512 --frames 15 \
          --detection-extra-scale $x --json $D/bench_1024x512_x$x.json > $O/bench_x$x.txt 2>&1
        tail -n 6 $O/bench_x$x.txt
      done;;
    real)
      cluenet eval real --weights $W --detection-extra-scale 0 --json $O/real_x0.json > $O/real_x0.txt 2>&1
      cluenet eval real --weights $W --detection-extra-scale 0.5 --detection-extra-scale-min-height 200 \
        --json $O/real_x05h200.json > $O/real_x05h200.txt 2>&1
      cp $O/real_x05h200.json $D/real_soup_s_x05h200.json; cp $O/real_x05h200.txt $D/real_soup_s_x05h200.txt
      python tools/real_check_compare.py $O/real_x0.json $O/real_x05h200.json --names one,x0.5h200 \
        --json $D/compare_x05h200.json | tee $D/compare_x05h200.md
      python tools/ship_gate.py $O/real_x05h200.json --shipped $O/real_x0.json --settings-differ \
        --json $D/gate_x05h200.json | tee $D/gate_x05h200.md;;
    second)
      cluenet eval real --set second --weights $W --detection-extra-scale 0.5 --detection-extra-scale-min-height 200 \
        --json $D/second_soup_s_x05h200.json > $D/second_soup_s_x05h200.txt 2>&1
      python tools/real_check_compare.py $D/second_soup_s.json $D/second_soup_s_x05h200.json --names one,x0.5h200 \
        --json $D/second_compare_x05h200.json | tee $D/second_compare_x05h200.md;;
  esac
done
