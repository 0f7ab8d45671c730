#!/usr/bin/env bash
# Session 48 (PLAN.md), part A: soup_s with its batch-norm statistics re-estimated on session 38's
# gen2 recipe (the last soup ingredients' batches), mask-calibrated, then the reads of its rule at
# the node's defaults against soup_s at the defaults.
#   run.sh [candidate] [evals] [rule]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s48; O=runs/s48; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
mkdir -p $O
N=bn_soup_s; C=$O/pipe_$N.pt; R=${N}_default
F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)   # the node's defaults, said outright
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(candidate evals rule)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $N $step"
  case $step in
    candidate)
      [ "$(ls data/s38/gen2_scenes/train/images | wc -l)" -gt 0 ] || cluenet synth --world realistic --body anny \
        --textures photo --person-px 120-880 --clutter 10 --people 2-8 --images 750 --seed 38 --size 512x256 \
        --workers 2 --reuse --out data/s38/gen2_scenes
      cluenet train update-norms --weights $W --config docs/accuracy/real_world/s38/gen2_seed33.yaml --batches 150 \
        --out $O/norms_$N.pt 2>&1 | tee $O/norms_$N.log || exit 1
      cluenet train calibrate-mask --weights $O/norms_$N.pt --data data/s21/clutter_val300/val --out $C \
        --max-images 100 2>&1 | tee $O/cal_$N.log || exit 1
      ls -l $C; sha256sum $C;;
    evals)
      [ -f $O/$R/detections.json ] || cluenet eval full --weights $C --data data/s44/bigval150/val --out $O/$R "${F[@]}" \
        > $O/$R.log 2>&1 || echo "bigval150 failed"
      for s in 36 37 38; do
        [ -f $O/pv${s}_$R/detections.json ] || cluenet eval full --weights $C --data ${PV[$s]} --out $O/pv${s}_$R \
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
      CLUENET_DEMO_CANDIDATE=$C python -m pytest -q -s test/test_demo_model.py -k finds_people \
        -p no:cacheprovider > $D/${R}_accept.txt 2>&1; tail -n 3 $D/${R}_accept.txt
      echo "step 4: real ship gates"
      for set in first second third; do
        [ -f $O/real_${set}_soup_s.json ] || cluenet eval real --set $set --weights $W --json $O/real_${set}_soup_s.json \
          > $O/real_${set}_soup_s.txt 2>&1
        cluenet eval real --set $set --weights $C --json $O/real_${set}_$N.json > $O/real_${set}_$N.txt 2>&1
        cp $O/real_${set}_$N.json $D/real_${set}_$N.json
        python tools/ship_gate.py $O/real_${set}_$N.json --shipped $O/real_${set}_soup_s.json \
          --json $D/gate_${N}_$set.json | tee $D/gate_${N}_$set.md
      done;;
  esac
done
echo "$(date -u +%T) done $N ${NAMES[*]}"
