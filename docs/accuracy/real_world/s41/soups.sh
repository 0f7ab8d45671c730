#!/usr/bin/env bash
# Session 41 (PLAN.md): the soups of session 40's part C (the busy runs) and of all six siblings
# (gen3, gen4, busy), their acceptance, plateval900 (the three composites of session 38), then
# the rule's pooled figures and paired scene bootstrap against the shipped soup_s (whose
# plateval900 detections session 39 measured: runs/s39/soup/pv*_soup_s).
#   docs/accuracy/real_world/s41/soups.sh [soup_aa] [soup_ab] [soup_ac] [rule]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s41/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt   # soup_s (0986dd1)
G3="runs/s39/gen3_seed35/last.pt runs/s39/gen3_seed36/last.pt"
G4="runs/s40/gen4_seed37/last.pt runs/s40/gen4_seed38/last.pt"
BUSY="runs/s40/busy_seed39/last.pt runs/s40/busy_seed40/last.pt"
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
plateval() {  # NAME PIPELINE
  for s in 36 37 38; do
    [ -f $S/pv${s}_$1/detections.json ] || cluenet eval full --weights $2 --data ${PV[$s]} --out $S/pv${s}_$1 \
      --max-images 300 > $S/pv${s}_$1.log 2>&1 || echo "failed pv$s $1"
  done
}
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(soup_aa soup_ab soup_ac rule)
for name in "${NAMES[@]}"; do
  echo "$(date -u +%T) $name"
  case $name in
    rule)
      for s in 36 37 38; do [ -d $S/pv${s}_soup_s ] || cp -r runs/s39/soup/pv${s}_soup_s $S/pv${s}_soup_s; done
      args=(); for n in soup_s soup_aa soup_ab soup_ac; do args+=(--model "$n=$S/pv36_$n,$S/pv37_$n,$S/pv38_$n"); done
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} "${args[@]}" \
        --json docs/accuracy/real_world/s41/plateval900.json | tee $S/rule.txt
      continue;;
    soup_aa) ING="runs/s39/ship/soup_s.pt $BUSY"; START=();;
    soup_ab) ING=$BUSY; START=(--start runs/s39/ship/cluenet_demo.pt);;
    soup_ac) ING="$G3 $G4 $BUSY"; START=(--start runs/s39/ship/cluenet_demo.pt);;
    *) echo "unknown $name"; exit 2;;
  esac
  P=$S/pipe_$name.pt
  if [ ! -f $P ]; then
    python tools/weight_soup.py $S/$name.pt $ING "${START[@]}" || { echo "soup $name failed"; continue; }
    cluenet train calibrate-mask --weights $S/$name.pt --data data/s21/clutter_val300/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
    cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $P > $S/combine_$name.log 2>&1
  fi
  CLUENET_DEMO_CANDIDATE=$P python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  echo "$(date -u +%T) $name acceptance: $(tail -n 1 $S/accept_$name.txt)"
  plateval $name $P
done
echo "$(date -u +%T) done ${NAMES[*]}"
