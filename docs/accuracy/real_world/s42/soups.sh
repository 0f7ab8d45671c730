#!/usr/bin/env bash
# Session 42 (PLAN.md), on a fresh machine: plateval900 rebuilt (session 21's clutter val300 and
# session 38's three composites, with the committed commands), the shipped soup_s measured on it
# again, the candidate soups of part F, their acceptance and plateval900, then the rule.
#   docs/accuracy/real_world/s42/soups.sh [sets] [soup_s] [soup_ag] [soup_af] [rule]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s42/soup; mkdir -p $S
SHIP=runs/s39/ship/cluenet_demo.pt   # soup_s (sha256 5f2e0ff6...; busy.sh copies it), the same weights as session 39's pipe_soup_s
# (until the ship at 04:10 this read models/cluenet_demo.pt, which held soup_s; changed so that a rerun measures the same file)
BUSY_NEW="runs/s42/busy_seed41/last.pt runs/s42/busy_seed42/last.pt"
BUSY_OLD="runs/s42/busy_seed39/last.pt runs/s42/busy_seed40/last.pt"
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
plateval() {  # NAME PIPELINE
  for s in 36 37 38; do
    [ -f $S/pv${s}_$1/detections.json ] || cluenet eval full --weights $2 --data ${PV[$s]} --out $S/pv${s}_$1 \
      --max-images 300 > $S/pv${s}_$1.log 2>&1 || echo "failed pv$s $1"
  done
}
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(sets soup_s soup_ag soup_af rule)
for name in "${NAMES[@]}"; do
  echo "$(date -u +%T) $name"
  case $name in
    sets)
      [ -f data/s21/clutter_val300/synth.json ] || cluenet synth --out data/s21/clutter_val300 --images 300 --seed 9 \
        --size 512x256 --people 2-8 --world realistic --textures photo --person-px 120-880 --clutter 10 --split val --workers 2
      for s in 36 37 38; do
        [ -f ${PV[$s]}/citypersons.json ] || cluenet train replate --data data/s21/clutter_val300/val \
          --plates data/plates_s36/val --out ${PV[$s]} --seed $s
      done
      continue;;
    soup_s) plateval soup_s $SHIP; continue;;
    rule)
      args=(); for n in soup_s soup_ag soup_af; do
        [ -f $S/pv38_$n/detections.json ] && args+=(--model "$n=$S/pv36_$n,$S/pv37_$n,$S/pv38_$n"); done
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} "${args[@]}" \
        --json docs/accuracy/real_world/s42/plateval900.json | tee $S/rule.txt
      continue;;
    soup_ag) ING="$BUSY_OLD $BUSY_NEW";;
    soup_af) ING=$BUSY_NEW;;
    *) echo "unknown $name"; exit 2;;
  esac
  P=$S/pipe_$name.pt
  if [ ! -f $P ]; then
    python tools/weight_soup.py $S/$name.pt $ING --start runs/s39/ship/cluenet_demo.pt || { echo "soup $name failed"; continue; }
    cluenet train calibrate-mask --weights $S/$name.pt --data data/s21/clutter_val300/val --out $S/cal_$name.pt --max-images 100 > $S/cal_$name.log 2>&1
    cluenet train combine --half --stage1 $S/cal_$name.pt --stage2 $SHIP --out $P > $S/combine_$name.log 2>&1
  fi
  CLUENET_DEMO_CANDIDATE=$P python -m pytest -q -s test/test_demo_model.py -k finds_people -p no:cacheprovider > $S/accept_$name.txt 2>&1
  echo "$(date -u +%T) $name acceptance: $(tail -n 1 $S/accept_$name.txt)"
  plateval $name $P
done
echo "$(date -u +%T) done ${NAMES[*]}"
