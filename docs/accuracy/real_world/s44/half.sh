#!/usr/bin/env bash
# Session 44, part E (PLAN.md): soup_s on bigval150 with and without the half-scale second view,
# then (if step 1 holds) plateval900 with it; paired MR^-2 R differences. `half.sh plateval` runs step 2.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/half; W=runs/s39/ship/cluenet_demo.pt; mkdir -p $O
if [ "${1:-}" = plateval ]; then
  declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
  for s in 36 37 38; do
    [ -f $O/pv${s}_x05/detections.json ] || cluenet eval full --weights $W --data ${PV[$s]} --out $O/pv${s}_x05 \
      --max-images 300 --detection-extra-scale 0.5 > $O/pv${s}_x05.log 2>&1 || echo "failed pv$s"
    echo "$(date -u +%T) pv$s done"
  done
  R=runs/s42/soup
  python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} --model "one=$R/pv36_soup_s,$R/pv37_soup_s,$R/pv38_soup_s" \
    --model "x0.5=$O/pv36_x05,$O/pv37_x05,$O/pv38_x05" --json $D/plateval900_x05.json | tee $D/plateval900_x05.md
  exit 0
fi
for x in 0 0.5; do
  [ -f $O/big_x$x/detections.json ] || cluenet eval full --weights $W --data data/s44/bigval150/val --out $O/big_x$x \
    --detection-extra-scale $x > $O/big_x$x.log 2>&1 || echo "failed x$x"
  echo "$(date -u +%T) bigval x$x done"
done
python tools/paired_mr.py --data data/s44/bigval150/val --model "one=$O/big_x0" --model "x0.5=$O/big_x0.5" \
  --json $D/bigval150_x05.json | tee $D/bigval150_x05.md
