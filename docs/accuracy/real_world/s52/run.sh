#!/usr/bin/env bash
# Session 52 (PLAN.md): stage 2 on the anny-body world. Steps, each resumable:
#   run.sh train      the candidate stage 2 (stage2_anny.yaml; --resume continues from last.pt)
#   run.sh baseline   the shipped pipeline through eval full on bigval150 at the node's defaults
#   run.sh candidate  soup_s's stage 1 + the candidate's best.pt, combined --half, through the same
#   run.sh gate       the paired keypoint-AP read of the ship rule, GT-crop scores, detection equality
#   run.sh capsule    both on the capsule benchmark (reported, not gating)
#   run.sh errors     the pose error study of both on bigval150 (true box against stage 1's)
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s52; O=runs/s52; mkdir -p $O
F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)
BIG=data/s44/bigval150/val
CAND=$O/pipe_stage2_anny.pt
case "${1:-}" in
  train)
    cluenet train stage2 --config $D/stage2_anny.yaml --resume > $O/stage2_anny.log 2>&1 ;;
  baseline)
    [ -f $O/big_shipped/keypoints.json ] || cluenet eval full --weights models/cluenet_demo.pt --data $BIG \
      --out $O/big_shipped "${F[@]}" > $O/big_shipped.log 2>&1 || echo "failed" ;;
  candidate)
    [ -f $CAND ] || cluenet train combine --stage1 models/cluenet_demo.pt --stage2 $O/stage2_anny/best.pt --half \
      --out $CAND --note "session 52: soup_s's stage 1 with stage 2 fine-tuned on data/s38/gen2_scenes (stage2_anny.yaml)"
    [ -f $O/big_cand/keypoints.json ] || cluenet eval full --weights $CAND --data $BIG \
      --out $O/big_cand "${F[@]}" > $O/big_cand.log 2>&1 || echo "failed" ;;
  gate)
    python tools/paired_keypoint_ap.py --data $BIG --model shipped=$O/big_shipped --model stage2_anny=$O/big_cand \
      --json $D/gate_bigval150.json | tee $D/gate_bigval150.md
    cmp $O/big_shipped/detections.json $O/big_cand/detections.json && echo "detections identical" | tee -a $D/gate_bigval150.md
    for v in "data/s38/gen2_scenes/val unoccluded gen2val" "data/demo/benchmark coco capsulebench"; do
      set -- $v
      python tools/stage2_score.py --checkpoint shipped=models/cluenet_demo.pt --checkpoint stage2_anny=$CAND \
        --val $1 --visibility $2 --levels 0 0.3 0.5 0.7 --people 200 --out $D/score_$3.json | tee $D/score_$3.md
    done ;;
  capsule)
    for m in shipped cand; do
      W=models/cluenet_demo.pt; [ $m = cand ] && W=$CAND
      [ -f $O/capsule_$m/keypoints.json ] || cluenet eval full --weights $W --data data/demo/benchmark \
        --out $O/capsule_$m > $O/capsule_$m.log 2>&1 || echo "failed $m"
    done
    python tools/paired_keypoint_ap.py --data data/demo/benchmark --model shipped=$O/capsule_shipped \
      --model stage2_anny=$O/capsule_cand --json $D/capsule_benchmark.json | tee $D/capsule_benchmark.md ;;
  errors)  # where the end-to-end pose loses its accuracy on bigval150 (tools/pose_error_study.py)
    for m in shipped cand; do
      W=models/cluenet_demo.pt; [ $m = cand ] && W=$CAND
      [ -f $D/pose_error_$m.json ] || python tools/pose_error_study.py --weights $W --data $BIG \
        --out $D/pose_error_$m.json > $O/pose_error_$m.log 2>&1 || echo "failed $m"
    done ;;
  *) echo "usage: $0 train|baseline|candidate|gate|capsule|errors" >&2; exit 2 ;;
esac
