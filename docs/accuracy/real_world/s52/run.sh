#!/usr/bin/env bash
# Session 52 (PLAN.md): stage 2 on the anny-body world. Steps, each resumable; PART is a
# (stage2_anny.yaml), b (stage2_anny_shift.yaml) or c (stage2_anny_precise.yaml), default a:
#   run.sh train [PART]      the candidate stage 2 (--resume continues from last.pt)
#   run.sh baseline          the shipped pipeline through eval full on bigval150 at the node's defaults
#   run.sh candidate [PART]  soup_s's stage 1 + the candidate's best.pt, combined --half, through the same
#   run.sh gate [PART]       the paired keypoint-AP read of the ship rule, GT-crop scores, detection equality
#   run.sh fresh [PART]      part C's gate: shipped and PART through eval full on data/s52/bigval150_seed52
#   run.sh pair              part B against part A (the box-shift ablation), paired
#   run.sh capsule           the previous demo and part C on the capsule benchmark (reported, not gating)
#   run.sh errors            the pose error study of the shipped pipeline and part A on bigval150
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s52; O=runs/s52; mkdir -p $O
F=(--detection-extra-scale 0.5 --detection-extra-scale-min-height 200)
BIG=data/s44/bigval150/val
case "${2:-a}" in
  a) NAME=stage2_anny; EVAL=big_cand; SUFFIX="" ;;
  b) NAME=stage2_anny_shift; EVAL=big_cand_shift; SUFFIX=_shift ;;
  c) NAME=stage2_anny_precise; EVAL=big_cand_precise; SUFFIX=_precise ;;
  *) echo "PART must be a, b or c" >&2; exit 2 ;;
esac
CAND=$O/pipe_$NAME.pt
case "${1:-}" in
  train)
    cluenet train stage2 --config $D/$NAME.yaml --resume > $O/$NAME.log 2>&1 ;;
  baseline)
    [ -f $O/big_shipped/keypoints.json ] || cluenet eval full --weights models/cluenet_demo.pt --data $BIG \
      --out $O/big_shipped "${F[@]}" > $O/big_shipped.log 2>&1 || echo "failed" ;;
  candidate)
    [ -f $CAND ] || cluenet train combine --stage1 models/cluenet_demo.pt --stage2 $O/$NAME/best.pt --half \
      --out $CAND --note "session 52: soup_s's stage 1 with stage 2 fine-tuned on data/s38/gen2_scenes ($NAME.yaml)"
    [ -f $O/$EVAL/keypoints.json ] || cluenet eval full --weights $CAND --data $BIG \
      --out $O/$EVAL "${F[@]}" > $O/$EVAL.log 2>&1 || echo "failed" ;;
  gate)
    python tools/paired_keypoint_ap.py --data $BIG --model shipped=$O/big_shipped --model $NAME=$O/$EVAL \
      --json $D/gate_bigval150$SUFFIX.json | tee $D/gate_bigval150$SUFFIX.md
    cmp $O/big_shipped/detections.json $O/$EVAL/detections.json && echo "detections identical" | tee -a $D/gate_bigval150$SUFFIX.md
    for v in "data/s38/gen2_scenes/val unoccluded gen2val" "data/demo/benchmark coco capsulebench"; do
      set -- $v
      PREVIOUS=models/cluenet_demo.pt; [ -f $O/ship/soup_s.pt ] && PREVIOUS=$O/ship/soup_s.pt  # after ship.sh
      python tools/stage2_score.py --checkpoint shipped=$PREVIOUS --checkpoint $NAME=$CAND \
        --val $1 --visibility $2 --levels 0 0.3 0.5 0.7 --people 200 --out $D/score_$3$SUFFIX.json | tee $D/score_$3$SUFFIX.md
    done ;;
  fresh)  # part C's gate: shipped and PART on the fresh set rendered for it
    FRESH=data/s52/bigval150_seed52/val
    for m in shipped $NAME; do
      W=models/cluenet_demo.pt; [ $m = $NAME ] && W=$CAND
      [ -f $O/fresh_$m/keypoints.json ] || cluenet eval full --weights $W --data $FRESH \
        --out $O/fresh_$m "${F[@]}" > $O/fresh_$m.log 2>&1 || echo "failed $m"
    done
    python tools/paired_keypoint_ap.py --data $FRESH --model shipped=$O/fresh_shipped --model $NAME=$O/fresh_$NAME \
      --json $D/gate_fresh$SUFFIX.json | tee $D/gate_fresh$SUFFIX.md
    cmp $O/fresh_shipped/detections.json $O/fresh_$NAME/detections.json && echo "detections identical" | tee -a $D/gate_fresh$SUFFIX.md ;;
  pair)
    python tools/paired_keypoint_ap.py --data $BIG --model stage2_anny=$O/big_cand --model stage2_anny_shift=$O/big_cand_shift \
      --json $D/pair_shift_vs_anny.json | tee $D/pair_shift_vs_anny.md ;;
  capsule)  # the previous demo (soup_s, kept by ship.sh) and part C, on the capsule world's benchmark
    for m in shipped cand; do
      W=$O/ship/soup_s.pt; [ $m = cand ] && W=$O/pipe_stage2_anny_precise.pt
      [ -f $O/capsule_$m/keypoints.json ] || cluenet eval full --weights $W --data data/demo/benchmark \
        --out $O/capsule_$m > $O/capsule_$m.log 2>&1 || echo "failed $m"
    done
    python tools/paired_keypoint_ap.py --data data/demo/benchmark --model shipped=$O/capsule_shipped \
      --model stage2_anny_precise=$O/capsule_cand --json $D/capsule_benchmark.json | tee $D/capsule_benchmark.md ;;
  errors)  # where the end-to-end pose loses its accuracy on bigval150 (tools/pose_error_study.py)
    for m in shipped cand; do
      W=models/cluenet_demo.pt; [ $m = cand ] && W=$O/pipe_stage2_anny.pt
      [ -f $D/pose_error_$m.json ] || python tools/pose_error_study.py --weights $W --data $BIG \
        --out $D/pose_error_$m.json > $O/pose_error_$m.log 2>&1 || echo "failed $m"
    done ;;
  *) echo "usage: $0 train|baseline|candidate|gate|fresh|pair|capsule|errors [a|b|c]" >&2; exit 2 ;;
esac
