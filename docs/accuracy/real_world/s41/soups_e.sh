#!/usr/bin/env bash
# Session 41, part E (PLAN.md): soups.sh for the wide runs (wide.sh): soup_ad, soup_ae, their
# acceptance, plateval900, then the rule's pooled figures and paired scene bootstrap against the
# shipped soup_s (a separate file: soups.sh was running when part E's runs finished).
#   docs/accuracy/real_world/s41/soups_e.sh [soup_ad] [soup_ae] [rule_e]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s41/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt   # soup_s (0986dd1)
WIDE="runs/s41/wide_seed39/last.pt runs/s41/wide_seed40/last.pt"
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
plateval() {  # NAME PIPELINE
  for s in 36 37 38; do
    [ -f $S/pv${s}_$1/detections.json ] || cluenet eval full --weights $2 --data ${PV[$s]} --out $S/pv${s}_$1 \
      --max-images 300 > $S/pv${s}_$1.log 2>&1 || echo "failed pv$s $1"
  done
}
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(soup_ad soup_ae rule_e)
for name in "${NAMES[@]}"; do
  echo "$(date -u +%T) $name"
  case $name in
    rule_e)
      for s in 36 37 38; do [ -d $S/pv${s}_soup_s ] || cp -r runs/s39/soup/pv${s}_soup_s $S/pv${s}_soup_s; done
      args=(); for n in soup_s soup_ad soup_ae; do args+=(--model "$n=$S/pv36_$n,$S/pv37_$n,$S/pv38_$n"); done
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} "${args[@]}" \
        --json docs/accuracy/real_world/s41/plateval900_e.json | tee $S/rule_e.txt
      continue;;
    soup_ad) ING="runs/s39/ship/soup_s.pt $WIDE"; START=();;
    soup_ae) ING=$WIDE; START=(--start runs/s39/ship/cluenet_demo.pt);;
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
