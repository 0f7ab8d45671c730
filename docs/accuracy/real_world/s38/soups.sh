#!/usr/bin/env bash
# Session 38 (PLAN.md): what the rule chooses on. plateval900 = plateval300 (crop seed 36,
# session 36) and two more composites of the same 300 scenes over the held-out val plates
# (seeds 37, 38); the shipped soup_k and the candidates soup_p, soup_q, soup_o on all three,
# each candidate after its acceptance test; then the pooled figures and paired bootstrap.
#   docs/accuracy/real_world/s38/soups.sh [baseline] [soup_p] [soup_q] [soup_o] [rule]
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
S=runs/s38/soup; mkdir -p $S
SHIP=models/cluenet_demo.pt   # soup_k (fd30418); its stage 2 is the one shipped since session 26
C=runs/s33/soup_c_pipeline.pt
P05="runs/s36/abl_platetrain_seed28/last.pt runs/s36/abl_platetrain_seed29/last.pt runs/s36/abl_platetrain_seed30/last.pt"
P10="runs/s37/abl_platefull_seed28/last.pt runs/s37/abl_platefull_seed29/last.pt runs/s37/abl_platefull_seed30/last.pt"
P10N="$P10 runs/s37/abl_platefull_seed31/last.pt runs/s37/abl_platefull_seed32/last.pt"
declare -A PV=([36]=data/s36/plateval300/val [37]=data/s38/plateval300_seed37/val [38]=data/s38/plateval300_seed38/val)
for s in 37 38; do
  [ -f ${PV[$s]}/citypersons.json ] || cluenet train replate --data data/s21/clutter_val300/val \
    --plates data/plates_s36/val --out ${PV[$s]} --seed $s
done
plateval() {  # NAME PIPELINE: the three composites, skipping those measured already
  for s in 36 37 38; do
    [ -f $S/pv${s}_$1/detections.json ] || cluenet eval full --weights $2 --data ${PV[$s]} --out $S/pv${s}_$1 \
      --max-images 300 > $S/pv${s}_$1.log 2>&1 || echo "failed pv$s $1"
  done
}
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(baseline soup_p soup_q soup_o rule)
for name in "${NAMES[@]}"; do
  echo "$(date -u +%T) $name"
  case $name in
    baseline)
      # session 37 measured the shipped pipeline on plateval300 already (bit-identical file, ../s37/ship.sh)
      [ -d $S/pv36_soup_k ] || { [ -f runs/s37/soup/plateval_soup_k/detections.json ] && cp -r runs/s37/soup/plateval_soup_k $S/pv36_soup_k; }
      plateval soup_k $SHIP; continue;;
    rule)
      args=(); for n in soup_k soup_p soup_q soup_o; do args+=(--model "$n=$S/pv36_$n,$S/pv37_$n,$S/pv38_$n"); done
      python tools/paired_mr.py --data ${PV[36]} ${PV[37]} ${PV[38]} "${args[@]}" \
        --json docs/accuracy/real_world/s38/plateval900.json | tee $S/rule.txt
      continue;;
    soup_p) ING=$P10N; START=(--start $C);;
    soup_q) ING="$P05 $P10N"; START=(--start $C);;
    soup_o) ING="$C $P05 $P10"; START=();;
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
