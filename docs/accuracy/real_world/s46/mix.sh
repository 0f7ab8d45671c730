#!/usr/bin/env bash
# Session 46, part A (PLAN.md): one fine-tune of soup_s with the busy recipe of session 42 (its 512x256 scenes), a
# quarter of the batches drawn from session 45's 1024x512 large-people scenes (train_mix), then the candidate
# (mask calibration, combined with soup_s's stage 2) and the reads of session 45's part-D rule, unchanged.
#   mix.sh [train] [candidate] [evals] [rule]      (train resumes from runs/s46/mix_seed47/last.pt)
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s46; O=runs/s46; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half; C=$O/pipe_mix.pt
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
mkdir -p $O
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(train candidate evals rule)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    train)
      resume=(); [ -f $O/mix_seed47/last.pt ] && resume=(--resume)
      cluenet train stage1 --config $D/mix_seed47.yaml "${resume[@]}" >> $O/mix_seed47.log 2>&1 || { echo "train failed"; exit 1; };;
    candidate)
      cluenet train calibrate-mask --weights $O/mix_seed47/last.pt --data data/s21/clutter_val300/val --out $O/cal_mix.pt \
        --max-images 100 > $O/cal_mix.log 2>&1 || exit 1
      cluenet train combine --half --stage1 $O/cal_mix.pt --stage2 $W --out $C > $O/combine_mix.log 2>&1 || exit 1
      ls -l $C; sha256sum $C;;
    evals)
      [ -f $O/mix_one/detections.json ] || cluenet eval full --weights $C --data data/s44/bigval150/val --out $O/mix_one \
        > $O/mix_one.log 2>&1 || echo "bigval150 failed"
      for s in 36 37 38; do
        [ -f $O/pv${s}_mix_one/detections.json ] || cluenet eval full --weights $C --data ${PV[$s]} --out $O/pv${s}_mix_one \
          --max-images 300 > $O/pv${s}_mix_one.log 2>&1 || echo "pv$s failed"
      done;;
    rule)
      echo "step 1: bigval150"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "soup_s_default=$H/big_x05h200" \
        --model "mix_one=$O/mix_one" --json $D/mix_bigval150.json | tee $D/mix_bigval150.md
      echo "step 2: plateval900 pooled"
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} \
        --model "soup_s_default=$H/pv36_x05h200,$H/pv37_x05h200,$H/pv38_x05h200" \
        --model "mix_one=$O/pv36_mix_one,$O/pv37_mix_one,$O/pv38_mix_one" --json $D/mix_plateval900.json \
        | tee $D/mix_plateval900.md
      echo "step 3: acceptance (40 capsule scenes), one scale, default threshold"
      CLUENET_DEMO_CANDIDATE=$C CLUENET_DEMO_EXTRA_SCALE=0 python -m pytest -q -s test/test_demo_model.py -k finds_people \
        -p no:cacheprovider > $D/mix_accept.txt 2>&1; tail -n 3 $D/mix_accept.txt
      echo "step 4: real ship gates"
      for set in first second; do
        [ -f $O/real_${set}_soup_s.json ] || cluenet eval real --set $set --weights $W --json $O/real_${set}_soup_s.json \
          > $O/real_${set}_soup_s.txt 2>&1
        cluenet eval real --set $set --weights $C --detection-extra-scale 0 --json $O/real_${set}_mix.json \
          > $O/real_${set}_mix.txt 2>&1
        cp $O/real_${set}_mix.json $D/real_${set}_mix.json
        python tools/ship_gate.py $O/real_${set}_mix.json --shipped $O/real_${set}_soup_s.json --settings-differ \
          --json $D/gate_mix_$set.json | tee $D/gate_mix_$set.md
      done;;
  esac
done
echo "$(date -u +%T) done ${NAMES[*]}"
