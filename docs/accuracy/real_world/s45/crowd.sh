#!/usr/bin/env bash
# Session 45, part A (PLAN.md): perspective rescoring (session 44's setting a0.97_t0.35_s0.1) on top of the
# default pipeline, judged on the new street-crowd set crowd300; guards on plateval900 and bigval150 (session
# 44's detections of the default pipeline); real vetoes from session 44's committed reports.
#   crowd.sh [render] [eval] [rule]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s45; O=runs/s45; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half; mkdir -p $O
SET=a0.97_t0.35_s0.1
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(render eval rule)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    render)
      cluenet synth --world realistic --body anny --textures photo --clutter 10 --people 4-12 --size 1024x512 \
        --images 300 --seed 45 --split val --workers 2 --reuse --out data/s45/crowd300;;
    eval)
      [ -f $O/crowd_x05h200/detections.json ] || cluenet eval full --weights $W --data data/s45/crowd300/val \
        --out $O/crowd_x05h200 --detection-extra-scale 0.5 --detection-extra-scale-min-height 200 \
        > $O/crowd_x05h200.log 2>&1 || echo "eval failed";;
    rule)
      PV=(data/s36/plateval300/val data/s38/plateval300_seed37/val data/s38/plateval300_seed38/val)
      python tools/perspective_study.py synthetic --data data/s45/crowd300/val --runs $O/crowd_x05h200 --out $O/persp_crowd
      python tools/perspective_study.py synthetic --data "${PV[@]}" data/s44/bigval150/val \
        --runs $H/pv36_x05h200 $H/pv37_x05h200 $H/pv38_x05h200 $H/big_x05h200 --out $O/persp_guard
      echo "step 1: crowd300"
      python tools/paired_mr.py --data data/s45/crowd300/val --model "off=$O/persp_crowd/off/crowd_x05h200" \
        --model "on=$O/persp_crowd/$SET/crowd_x05h200" --json $D/crowd300_perspective.json | tee $D/crowd300_perspective.md
      echo "step 2: plateval900 pooled"
      python tools/paired_mr.py --data "${PV[@]}" \
        --model "off=$O/persp_guard/off/pv36_x05h200,$O/persp_guard/off/pv37_x05h200,$O/persp_guard/off/pv38_x05h200" \
        --model "on=$O/persp_guard/$SET/pv36_x05h200,$O/persp_guard/$SET/pv37_x05h200,$O/persp_guard/$SET/pv38_x05h200" \
        --json $D/plateval900_perspective.json | tee $D/plateval900_perspective.md
      echo "step 2: bigval150"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "off=$O/persp_guard/off/big_x05h200" \
        --model "on=$O/persp_guard/$SET/big_x05h200" --json $D/bigval150_perspective.json | tee $D/bigval150_perspective.md
      echo "step 3: real vetoes"
      S=docs/accuracy/real_world/s44
      python tools/ship_gate.py $S/real_default_perspective.json --shipped $S/real_soup_s_x05h200.json --settings-differ \
        --json $D/gate_check_perspective.json | tee $D/gate_check_perspective.md
      python tools/ship_gate.py $S/second_default_perspective.json --shipped $S/second_soup_s_x05h200.json --settings-differ \
        --json $D/gate_second_perspective.json | tee $D/gate_second_perspective.md;;
  esac
done
echo "$(date -u +%T) done ${NAMES[*]}"
