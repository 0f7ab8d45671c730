#!/usr/bin/env bash
# Session 50: the standalone pipeline's stage 1 in two graphs, the dense one on OpenVINO
# (backend auto, where installed) and the heads on ONNX Runtime. Figures with the demo weights
# (soup_s) at 1024x512 on this 2-core machine, the node's default views (frame + mirror, at 1
# and 0.5): latency of the pipeline alone, OpenVINO against ONNX Runtime for the dense graph,
# interleaved; peak RSS of the node with each; bigval150 (session 44's large-people set)
# through `eval full --standalone` against session 49's standalone run (one graph per stage
# 1, ONNX Runtime) and session 44's eager run.
# compare: the eager pipeline at the node's defaults (backend auto: OpenVINO dense networks, RPN
# and RoI heads in torch) against the standalone one, interleaved, same frames and settings.
# demo: make demo's stream (24 realistic-world frames at 640x320, 4 Hz) through the standalone
# node and the eager node, one after the other.
#   run.sh [bench] [memory] [bigval] [compare] [demo]
# per_scale_exports/: the same steps at 2283f3b-1de6e6e (stage 1 exported once per scale, the
# scale baked in); the files here: the scale an input of one dense graph (format 3).
cd "$(dirname "$0")/../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/bench/s50; O=runs/s50; W=models/cluenet_demo.pt
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
mkdir -p $O
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(bench memory bigval)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    bench)  # interleaved, three rounds
      for round in 1 2 3; do
        for b in openvino onnxruntime; do
          cluenet bench --standalone --backend $b --weights $W --frames 10 --resolution 1024x512 \
            --json $D/bench_standalone_${b}_r$round.json > $O/bench_${b}_r$round.txt 2>&1 || echo "bench $b failed"
          tail -4 $O/bench_${b}_r$round.txt
        done
      done;;
    memory)
      for b in openvino onnxruntime; do
        python tools/node_memory.py --standalone --backend $b --weights $W --json $D/node_memory_standalone_$b.json \
          || echo "node $b failed"
      done;;
    bigval)
      [ -f $O/big_standalone_openvino/detections.json ] || cluenet eval full --weights $W --standalone \
        --backend openvino --data data/s44/bigval150/val --out $O/big_standalone_openvino \
        --detection-extra-scale 0.5 --detection-extra-scale-min-height 200 > $O/big_standalone.txt 2>&1 \
        || echo "bigval150 failed"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "eager=runs/s44/half/big_x05h200" \
        --model "standalone_ort=runs/s49/big_standalone_x05h200" --model "standalone_openvino=$O/big_standalone_openvino" \
        --json $D/bigval150_standalone_openvino.json | tee $D/bigval150_standalone_openvino.md;;
    compare)  # interleaved, three rounds; the eager node's memory beside the standalone node's above
      for round in 1 2 3; do
        cluenet bench --weights $W --device cpu --frames 10 --resolution 1024x512 \
          --json $D/bench_eager_auto_r$round.json > $O/bench_eager_r$round.txt 2>&1 || echo "bench eager failed"
        tail -3 $O/bench_eager_r$round.txt
        cluenet bench --standalone --weights $W --frames 10 --resolution 1024x512 \
          --json $D/bench_standalone_auto_r$round.json > $O/bench_sa_r$round.txt 2>&1 || echo "bench standalone failed"
        tail -3 $O/bench_sa_r$round.txt
      done
      python tools/node_memory.py --weights $W --json $D/node_memory_eager_auto.json || echo "node eager failed";;
    demo)
      mkdir -p $D/demo
      for m in standalone eager; do
        p=(); [ $m = standalone ] && p=(--param standalone:=true)
        ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST cluenet demo --out $O/demo_$m --world realistic "${p[@]}" \
          > $O/demo_$m.txt 2>&1 || echo "demo $m failed"
        cp $O/demo_$m/summary.json $D/demo/${m}_summary.json && tail -3 $O/demo_$m.txt
      done;;
  esac
done
