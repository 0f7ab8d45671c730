#!/usr/bin/env bash
# Session 47 (PLAN.md): one fine-tune of soup_s per part (A: mixhalf, the large-people folder at half size; B: mixnorm,
# session 46's mix with the trunk's batch-norm statistics kept), then the candidate (mask calibration, combined with
# soup_s's stage 2, as session 45's part D) and the reads of its rule.
#   run.sh mixhalf|mixnorm [train] [candidate] [evals] [rule]   (train resumes from runs/s47/NAME_seed47/last.pt)
#   run.sh hypothesis        (part B's read against session 46's mix; chooses nothing)
#   run.sh halfone           (part A's candidate at one scale on bigval150; chooses nothing)
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s47; O=runs/s47; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half; A=runs/s46
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
mkdir -p $O
N=$1; shift
case $N in
  mixhalf) VIEW=(); ACC=();  TAG=default;;                                   # the node's defaults: half view
  mixnorm) VIEW=(--detection-extra-scale 0); ACC=(CLUENET_DEMO_EXTRA_SCALE=0); TAG=one;;   # one scale
  hypothesis)
    python tools/paired_mr.py --data data/s44/bigval150/val --model "mix=$A/mix_one" --model "mixnorm=$O/mixnorm_one" \
      --json $D/hypothesis_bigval150.json | tee $D/hypothesis_bigval150.md
    python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} \
      --model "mix=$A/pv36_mix_one,$A/pv37_mix_one,$A/pv38_mix_one" \
      --model "mixnorm=$O/pv36_mixnorm_one,$O/pv37_mixnorm_one,$O/pv38_mixnorm_one" --json $D/hypothesis_plateval900.json \
      | tee $D/hypothesis_plateval900.md
    exit 0;;
  halfone)
    [ -f $O/mixhalf_one/detections.json ] || cluenet eval full --weights $O/pipe_mixhalf.pt --data data/s44/bigval150/val \
      --out $O/mixhalf_one --detection-extra-scale 0 > $O/mixhalf_one.log 2>&1 || exit 1
    python tools/paired_mr.py --data data/s44/bigval150/val --model "soup_s_default=$H/big_x05h200" \
      --model "mix_one=$A/mix_one" --model "mixhalf_one=$O/mixhalf_one" --json $D/halfone_bigval150.json \
      | tee $D/halfone_bigval150.md
    exit 0;;
  *) echo "unknown run $N"; exit 1;;
esac
C=$O/pipe_$N.pt; R=${N}_$TAG
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(train candidate evals rule)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $N $step"
  case $step in
    train)
      resume=(); [ -f $O/${N}_seed47/last.pt ] && resume=(--resume)
      cluenet train stage1 --config $D/${N}_seed47.yaml "${resume[@]}" >> $O/${N}_seed47.log 2>&1 || { echo "train failed"; exit 1; };;
    candidate)
      cluenet train calibrate-mask --weights $O/${N}_seed47/last.pt --data data/s21/clutter_val300/val --out $O/cal_$N.pt \
        --max-images 100 > $O/cal_$N.log 2>&1 || exit 1
      cluenet train combine --half --stage1 $O/cal_$N.pt --stage2 $W --out $C > $O/combine_$N.log 2>&1 || exit 1
      ls -l $C; sha256sum $C;;
    evals)
      F=("${VIEW[@]}"); [ $N = mixhalf ] && F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)
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
      env "${ACC[@]}" CLUENET_DEMO_CANDIDATE=$C python -m pytest -q -s test/test_demo_model.py -k finds_people \
        -p no:cacheprovider > $D/${R}_accept.txt 2>&1; tail -n 3 $D/${R}_accept.txt
      echo "step 4: real ship gates"
      for set in first second third; do
        [ -f $O/real_${set}_soup_s.json ] || cluenet eval real --set $set --weights $W --json $O/real_${set}_soup_s.json \
          > $O/real_${set}_soup_s.txt 2>&1
        cluenet eval real --set $set --weights $C "${VIEW[@]}" --json $O/real_${set}_$N.json > $O/real_${set}_$N.txt 2>&1
        cp $O/real_${set}_$N.json $D/real_${set}_$N.json
        python tools/ship_gate.py $O/real_${set}_$N.json --shipped $O/real_${set}_soup_s.json \
          $([ $N = mixnorm ] && echo --settings-differ) --json $D/gate_${N}_$set.json | tee $D/gate_${N}_$set.md
      done;;
  esac
done
echo "$(date -u +%T) done $N ${NAMES[*]}"
