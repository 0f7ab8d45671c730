#!/usr/bin/env bash
# Session 53 (PLAN.md): stage 2 trained on people of the node's sizes. Steps, each resumable:
#   run.sh data       the training set and the gate set (rendered once; --reuse checks the recipe)
#   run.sh baseline   the shipped pipeline through eval full on the gate set at the node's defaults
#   run.sh train      part A (--resume continues from last.pt)
#   run.sh candidate  soup_s's stage 1 + A's best.pt, combined --half, through the same eval
#   run.sh gate       the paired keypoint-AP read of the ship rule, detection equality, GT-crop scores
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s53; O=runs/s53; mkdir -p $O
F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)
GATE=data/s53/bigval150_seed530/val
NAME=stage2_node_sizes; CAND=$O/pipe_$NAME.pt
RECIPE=(--world realistic --body anny --textures photo --person-px 200-1000 --clutter 10 --people 1-4 --size 1024x512)
case "${1:-}" in
  data)
    cluenet synth "${RECIPE[@]}" --images 150 --seed 530 --split val --workers 2 --reuse --out data/s53/bigval150_seed530
    cluenet synth "${RECIPE[@]}" --images 900 --seed 53 --split train=0.8,val=0.2 --workers 2 --reuse \
      --out data/s53/node_sizes ;;
  baseline)
    [ -f $O/gate_shipped/keypoints.json ] || cluenet eval full --weights models/cluenet_demo.pt --data $GATE \
      --out $O/gate_shipped "${F[@]}" > $O/gate_shipped.log 2>&1 || echo "failed" ;;
  train)
    [ -f $O/previous_demo.pt ] || git show 13ba20c^:models/cluenet_demo.pt > $O/previous_demo.pt
    echo "5f2e0ff66429d516971e97443325ea86930ca574c23108946376f77d4c012311  $O/previous_demo.pt" | sha256sum -c - || exit 1
    cluenet train stage2 --config $D/$NAME.yaml --resume > $O/$NAME.log 2>&1 ;;
  candidate)
    [ -f $CAND ] || cluenet train combine --stage1 models/cluenet_demo.pt --stage2 $O/$NAME/best.pt --half \
      --out $CAND --note "session 53: soup_s's stage 1 with stage 2 trained on people of the node's sizes ($NAME.yaml)"
    [ -f $O/gate_$NAME/keypoints.json ] || cluenet eval full --weights $CAND --data $GATE \
      --out $O/gate_$NAME "${F[@]}" > $O/gate_$NAME.log 2>&1 || echo "failed" ;;
  gate)
    python tools/paired_keypoint_ap.py --data $GATE --model shipped=$O/gate_shipped --model $NAME=$O/gate_$NAME \
      --json $D/gate.json | tee $D/gate.md
    cmp $O/gate_shipped/detections.json $O/gate_$NAME/detections.json && echo "detections identical" | tee -a $D/gate.md
    python tools/stage2_score.py --checkpoint shipped=models/cluenet_demo.pt --checkpoint $NAME=$CAND \
      --val data/s53/node_sizes/val --visibility unoccluded --levels 0 0.3 0.5 0.7 --people 200 \
      --out $D/score_node_sizes_val.json | tee $D/score_node_sizes_val.md ;;
  *) echo "usage: $0 data|baseline|train|candidate|gate" >&2; exit 2 ;;
esac
