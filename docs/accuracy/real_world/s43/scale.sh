#!/usr/bin/env bash
# Session 43 (PLAN.md part C): the second scale (detection_extra_scale 1.25, flip test on) on
# plateval900's three composites, for a pipeline file; the flip-test-only detections of the same
# file are session 42's (runs/s42/soup/pv3*_<name>), measured on these same sets.
#   scale.sh NAME PIPELINE
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s43/scale; mkdir -p $S
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
for s in 36 37 38; do
  [ -f $S/pv${s}_$1_x125/detections.json ] || cluenet eval full --weights $2 --data ${PV[$s]} --out $S/pv${s}_$1_x125 \
    --max-images 300 --detection-extra-scale 1.25 > $S/pv${s}_$1_x125.log 2>&1 || echo "failed pv$s $1"
  echo "$(date -u +%T) pv$s $1 x1.25 done"
done
