#!/usr/bin/env bash
# Session 44, part F (PLAN.md): soup_s with the half-scale view kept only for boxes >= 200 px, on bigval150
# (against half.sh's one-scale run) and, if step 1 holds, on plateval900 (`half_f.sh plateval`).
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/half; W=runs/s39/ship/cluenet_demo.pt; mkdir -p $O
F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)
if [ "${1:-}" = plateval ]; then
  declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
  for s in 36 37 38; do
    [ -f $O/pv${s}_x05h200/detections.json ] || cluenet eval full --weights $W --data ${PV[$s]} --out $O/pv${s}_x05h200 \
      --max-images 300 "${F[@]}" > $O/pv${s}_x05h200.log 2>&1 || echo "failed pv$s"
    echo "$(date -u +%T) pv$s done"
  done
  R=runs/s42/soup
  python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} --model "one=$R/pv36_soup_s,$R/pv37_soup_s,$R/pv38_soup_s" \
    --model "x0.5h200=$O/pv36_x05h200,$O/pv37_x05h200,$O/pv38_x05h200" --json $D/plateval900_x05h200.json \
    | tee $D/plateval900_x05h200.md
  exit 0
fi
[ -f $O/big_x05h200/detections.json ] || cluenet eval full --weights $W --data data/s44/bigval150/val --out $O/big_x05h200 \
  "${F[@]}" > $O/big_x05h200.log 2>&1 || echo "failed"
python tools/paired_mr.py --data data/s44/bigval150/val --model "one=$O/big_x0" --model "x0.5h200=$O/big_x05h200" \
  --json $D/bigval150_x05h200.json | tee $D/bigval150_x05h200.md
