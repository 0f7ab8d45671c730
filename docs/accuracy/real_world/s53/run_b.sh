#!/usr/bin/env bash
# Session 53, part B (PLAN.md): part A with half of the crops from gen2_scenes' small people.
#   run_b.sh data       gen2_scenes (session 38's command) and the second fresh set
#   run_b.sh train      part B (--resume continues from last.pt)
#   run_b.sh gate       B and the model shipped after A's gate (A) on the second fresh set, paired;
#                       GT-crop scores of the previous demo, A and B on gen2 val and node_sizes val
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s53; O=runs/s53; mkdir -p $O
F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)
GATE=data/s53/bigval150_seed531/val
NAME=stage2_node_sizes_mix; CAND=$O/pipe_$NAME.pt
case "${1:-}" in
  data)
    cluenet synth --world realistic --body anny --textures photo --person-px 200-1000 --clutter 10 --people 1-4 \
      --size 1024x512 --images 150 --seed 531 --split val --workers 2 --reuse --out data/s53/bigval150_seed531
    cluenet synth --world realistic --body anny --textures photo --person-px 120-880 --clutter 10 \
      --people 2-8 --images 750 --seed 38 --size 512x256 --workers 2 --reuse --out data/s38/gen2_scenes ;;
  train)
    cluenet train stage2 --config $D/$NAME.yaml --resume > $O/$NAME.log 2>&1 ;;
  gate)
    [ -f $CAND ] || cluenet train combine --stage1 models/cluenet_demo.pt --stage2 $O/$NAME/best.pt --half \
      --out $CAND --note "session 53, part B: soup_s's stage 1 with stage 2 trained on a mix of people sizes ($NAME.yaml)"
    # A shipped (ship.sh): models/cluenet_demo.pt holds A's stage 2 (checked equal to pipe_stage2_node_sizes.pt),
    # so 'shipped' is A here and B against A is the gate's own read (no second eval of A)
    for m in shipped b; do
      W=models/cluenet_demo.pt; [ $m = b ] && W=$CAND
      [ -f $O/gate2_$m/keypoints.json ] || cluenet eval full --weights $W --data $GATE \
        --out $O/gate2_$m "${F[@]}" > $O/gate2_$m.log 2>&1 || echo "failed $m"
    done
    python tools/paired_keypoint_ap.py --data $GATE --model stage2_node_sizes_shipped=$O/gate2_shipped --model $NAME=$O/gate2_b \
      --json $D/gate_b.json | tee $D/gate_b.md
    PREVIOUS=models/cluenet_demo.pt; [ -f $O/ship/demo_s52.pt ] && PREVIOUS=$O/ship/demo_s52.pt
    for v in "data/s38/gen2_scenes/val gen2val" "data/s53/node_sizes/val node_sizes_val"; do
      set -- $v
      python tools/stage2_score.py --checkpoint s52=$PREVIOUS --checkpoint stage2_node_sizes=$O/pipe_stage2_node_sizes.pt \
        --checkpoint $NAME=$CAND --val $1 --visibility unoccluded --levels 0 0.3 0.5 0.7 --people 200 \
        --out $D/score3_$2.json | tee $D/score3_$2.md
    done ;;
  *) echo "usage: $0 data|train|gate" >&2; exit 2 ;;
esac
