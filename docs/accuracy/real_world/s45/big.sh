#!/usr/bin/env bash
# Session 45, part D (PLAN.md): one fine-tune of soup_s on scenes with people 30-500 px at 1024x512, then the
# candidate (one-ingredient soup, mask calibration, combined with soup_s's stage 2) and its rule's reads.
#   big.sh [render] [train] [candidate] [evals] [rule]      (train resumes from runs/s45/big_seed46/last.pt)
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s45; O=runs/s45; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half; C=$O/pipe_big.pt
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(render train candidate evals rule)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    render)
      cluenet synth --world realistic --body anny --textures photo --person-px 60-1000 --clutter 30 --people 2-8 \
        --size 1024x512 --images 750 --seed 46 --split train=0.8,val=0.2 --workers 2 --reuse --out data/s45/big_train;;
    train)
      resume=(); [ -f $O/big_seed46/last.pt ] && resume=(--resume)
      cluenet train stage1 --config $D/big_seed46.yaml "${resume[@]}" >> $O/big_seed46.log 2>&1 || { echo "train failed"; exit 1; };;
    candidate)
      # (tools/weight_soup.py refuses a one-ingredient soup; calibrate-mask reads the training checkpoint itself)
      cluenet train calibrate-mask --weights $O/big_seed46/last.pt --data data/s21/clutter_val300/val --out $O/cal_big.pt \
        --max-images 100 > $O/cal_big.log 2>&1 || exit 1
      cluenet train combine --half --stage1 $O/cal_big.pt --stage2 $W --out $C > $O/combine_big.log 2>&1 || exit 1
      ls -l $C; sha256sum $C;;
    evals)
      [ -f $O/big_one/detections.json ] || cluenet eval full --weights $C --data data/s44/bigval150/val --out $O/big_one \
        > $O/big_one.log 2>&1 || echo "bigval150 failed"
      for s in 36 37 38; do
        [ -f $O/pv${s}_big_one/detections.json ] || cluenet eval full --weights $C --data ${PV[$s]} --out $O/pv${s}_big_one \
          --max-images 300 > $O/pv${s}_big_one.log 2>&1 || echo "pv$s failed"
      done;;
    rule)
      echo "step 1: bigval150"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "soup_s_default=$H/big_x05h200" \
        --model "big_one=$O/big_one" --json $D/big_bigval150.json | tee $D/big_bigval150.md
      echo "step 2: plateval900 pooled"
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} \
        --model "soup_s_default=$H/pv36_x05h200,$H/pv37_x05h200,$H/pv38_x05h200" \
        --model "big_one=$O/pv36_big_one,$O/pv37_big_one,$O/pv38_big_one" --json $D/big_plateval900.json \
        | tee $D/big_plateval900.md
      echo "step 3: acceptance, one scale, default threshold"
      CLUENET_DEMO_CANDIDATE=$C CLUENET_DEMO_EXTRA_SCALE=0 python -m pytest -q -s test/test_demo_model.py -k finds_people \
        -p no:cacheprovider > $D/big_accept.txt 2>&1; tail -n 3 $D/big_accept.txt
      echo "step 4: real ship gates"
      for set in first second; do
        cluenet eval real --set $set --weights $W --json $O/real_${set}_soup_s.json > $O/real_${set}_soup_s.txt 2>&1
        cluenet eval real --set $set --weights $C --detection-extra-scale 0 --json $O/real_${set}_big.json \
          > $O/real_${set}_big.txt 2>&1
        cp $O/real_${set}_soup_s.json $D/real_${set}_soup_s_t096.json; cp $O/real_${set}_big.json $D/real_${set}_big.json
        python tools/ship_gate.py $O/real_${set}_big.json --shipped $O/real_${set}_soup_s.json --settings-differ \
          --json $D/gate_big_$set.json | tee $D/gate_big_$set.md
      done;;
  esac
done
echo "$(date -u +%T) done ${NAMES[*]}"
