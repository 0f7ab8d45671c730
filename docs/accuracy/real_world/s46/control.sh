#!/usr/bin/env bash
# Session 46, after part A's figures (a read, choosing nothing): is part A's loss the mix, or a single fine-tune
# read against a soup? Session 42's single busy fine-tune of soup_s (seed 39, 600 iterations, the same recipe
# without the large-people batches) through part A's candidate steps and reads, at one scale.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s46; O=runs/s46; W=runs/s39/ship/cluenet_demo.pt; H=runs/s44/half; C=$O/pipe_busy39.pt
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
cluenet train calibrate-mask --weights runs/s42/busy_seed39/last.pt --data data/s21/clutter_val300/val \
  --out $O/cal_busy39.pt --max-images 100 > $O/cal_busy39.log 2>&1 || exit 1
cluenet train combine --half --stage1 $O/cal_busy39.pt --stage2 $W --out $C > $O/combine_busy39.log 2>&1 || exit 1
[ -f $O/busy39_one/detections.json ] || cluenet eval full --weights $C --data data/s44/bigval150/val --out $O/busy39_one \
  > $O/busy39_one.log 2>&1
for s in 36 37 38; do
  [ -f $O/pv${s}_busy39_one/detections.json ] || cluenet eval full --weights $C --data ${PV[$s]} \
    --out $O/pv${s}_busy39_one --max-images 300 > $O/pv${s}_busy39_one.log 2>&1
done
python tools/paired_mr.py --data data/s44/bigval150/val --model "soup_s_default=$H/big_x05h200" \
  --model "busy39_one=$O/busy39_one" --model "mix_one=$O/mix_one" --json $D/control_bigval150.json \
  | tee $D/control_bigval150.md
python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} \
  --model "soup_s_default=$H/pv36_x05h200,$H/pv37_x05h200,$H/pv38_x05h200" \
  --model "busy39_one=$O/pv36_busy39_one,$O/pv37_busy39_one,$O/pv38_busy39_one" \
  --model "mix_one=$O/pv36_mix_one,$O/pv37_mix_one,$O/pv38_mix_one" --json $D/control_plateval900.json \
  | tee $D/control_plateval900.md
