#!/usr/bin/env bash
# Session 48 (PLAN.md), part B, a read that chooses nothing: soup_s for the frame and session 45's
# large-people model (runs/s45/pipe_big.pt, its stage 1) for the extra views at scale 1.0, boxes >= 200 px,
# against soup_s at the node's defaults; part A's four steps.
#   twomodel.sh [evals] [rule]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s48; O=runs/s48; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half; B=runs/s45/pipe_big.pt
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
sha256sum $B
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
N=twomodel; R=twomodel
F=(--detection-extra-scale 1.0 --detection-extra-scale-min-height 200 --detection-extra-weights $B)
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(evals rule)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $N $step"
  case $step in
    evals)
      [ -f $O/$R/detections.json ] || cluenet eval full --weights $W --data data/s44/bigval150/val --out $O/$R "${F[@]}" \
        > $O/$R.log 2>&1 || echo "bigval150 failed"
      for s in 36 37 38; do
        [ -f $O/pv${s}_$R/detections.json ] || cluenet eval full --weights $W --data ${PV[$s]} --out $O/pv${s}_$R \
          --max-images 300 "${F[@]}" > $O/pv${s}_$R.log 2>&1 || echo "pv$s failed"
      done;;
    rule)
      echo "step 1: bigval150"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "soup_s_default=$H/big_x05h200" \
        --model "$R=$O/$R" --json $D/${R}_bigval150.json | tee $D/${R}_bigval150.md
      echo "step 2: plateval900 pooled"
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} \
        --model "soup_s_default=$H/pv36_x05h200,$H/pv37_x05h200,$H/pv38_x05h200" \
        --model "$R=$O/pv36_$R,$O/pv37_$R,$O/pv38_$R" --json $D/${R}_plateval900.json | tee $D/${R}_plateval900.md
      echo "step 3: acceptance (40 capsule scenes), default threshold"
      CLUENET_DEMO_EXTRA_SCALE=1.0 CLUENET_DEMO_EXTRA_WEIGHTS=$B python -m pytest -q -s test/test_demo_model.py \
        -k finds_people -p no:cacheprovider > $D/${R}_accept.txt 2>&1; tail -n 3 $D/${R}_accept.txt
      echo "step 4: real ship gates (read only)"
      for set in first second third; do
        [ -f $O/real_${set}_soup_s.json ] || cluenet eval real --set $set --weights $W --json $O/real_${set}_soup_s.json \
          > $O/real_${set}_soup_s.txt 2>&1
        cluenet eval real --set $set --weights $W "${F[@]}" --json $O/real_${set}_$N.json > $O/real_${set}_$N.txt 2>&1
        cp $O/real_${set}_$N.json $D/real_${set}_$N.json
        python tools/ship_gate.py $O/real_${set}_$N.json --shipped $O/real_${set}_soup_s.json --settings-differ \
          --json $D/gate_${N}_$set.json | tee $D/gate_${N}_$set.md
      done;;
  esac
done
echo "$(date -u +%T) done $N ${NAMES[*]}"
