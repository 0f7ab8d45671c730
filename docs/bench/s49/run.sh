#!/usr/bin/env bash
# Session 49: the standalone pipeline runs the node's second scale (a stage-1 graph exported
# at half the input scale). Figures with the demo weights (soup_s) at 1024x512 on this 2-core
# machine: latency and peak RSS of the pipeline alone and of the node, with the default views
# (frame + mirror, at 1 and 0.5) and with one scale (the standalone pipeline before this
# session); then bigval150 (session 44's large-people set) through `eval full --standalone`
# at the node's defaults, against session 44's eager run with the same settings.
#   run.sh [bench] [memory] [bigval]
# own_arenas/: bench and memory before the graphs shared one ONNX Runtime arena (f74caf3), and
# before_fix/: the node's memory while it still loaded torch (fixed in 28ba465).
cd "$(dirname "$0")/../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/bench/s49; O=runs/s49; W=models/cluenet_demo.pt
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
mkdir -p $O
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(bench memory bigval)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    bench)  # interleaved, two rounds, at RES (the first run used cluenet bench's default, 2048x1024)
      RES=${RES:-1024x512}
      for round in 1 2; do
        for x in 0.5 0; do
          cluenet bench --standalone --weights $W --frames 10 --resolution $RES --detection-extra-scale $x \
            --json $D/bench_standalone_${RES}_x${x}_r$round.json > $O/bench_${RES}_x${x}_r$round.txt 2>&1 \
            || echo "bench $x failed"
          tail -6 $O/bench_${RES}_x${x}_r$round.txt
        done
      done;;
    memory)  # before_fix/: the same, before 28ba465 removed the import that loaded torch in the standalone node
      python tools/node_memory.py --standalone --weights $W --json $D/node_memory_standalone_default.json \
        || echo "node default failed"
      python tools/node_memory.py --standalone --weights $W --param detection_extra_scale:=0.0 \
        --json $D/node_memory_standalone_one_scale.json || echo "node one scale failed";;
    bigval)
      [ -f $O/big_standalone_x05h200/detections.json ] || cluenet eval full --weights $W --standalone \
        --data data/s44/bigval150/val --out $O/big_standalone_x05h200 --detection-extra-scale 0.5 \
        --detection-extra-scale-min-height 200 > $O/big_standalone.txt 2>&1 || echo "bigval150 failed"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "eager=runs/s44/half/big_x05h200" \
        --model "standalone=$O/big_standalone_x05h200" --json $D/bigval150_standalone_vs_eager.json \
        | tee $D/bigval150_standalone_vs_eager.md;;
  esac
done
