#!/usr/bin/env bash
# Session 51: the standalone pipeline's pose graph in three parts (crops / the stage-2 network /
# decoding, format 4), stage 2 on OpenVINO where installed and its export check passed, against
# session 50's one pose graph on ONNX Runtime (format 3, commit 2826d34, in a worktree).
# Demo weights (soup_s), 1024x512, this 2-core machine, interleaved rounds:
#   poses:   the pose part alone (poses_time.py), 10 people, stage-2 flip test off and on;
#   bench:   `cluenet bench --standalone` (the node's default views), auto and onnxruntime;
#   memory:  the node's peak RSS (tools/node_memory.py --standalone), default and flip_test:=true;
#   bigval:  bigval150 through `eval full --standalone` at the node's defaults, against
#            session 50's standalone run (must be equal to the digit; stage 2 there is keypoints).
#   final:   after the first figures (auto ran stage 2 on OpenVINO: stage2_openvino_under_auto/),
#            auto runs stage 2 on ONNX Runtime and backend openvino on OpenVINO: interleaved
#            rounds of the pose part and of the bench, old auto / new auto / new openvino; the
#            node's peak for new auto and new openvino, default and flip_test:=true; bigval150.
#   startup: the node's start (launch to subscribed, model loaded) and frame times with warm
#            caches, eager default against standalone auto, three interleaved rounds; then one
#            standalone start with an empty cache (the export included).
#   run.sh [poses] [bench] [memory] [bigval] [final] [startup]
# by hand after final: final_node_memory_new_onnxruntime.json (tools/node_memory.py --standalone
# --backend onnxruntime) and bigval150_keypoints_vs_s50.txt (runs/s51/big_standalone against
# runs/s50/big_standalone_openvino, keypoints.json row by row).
cd "$(dirname "$0")/../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/bench/s51; O=runs/s51; W=$PWD/models/cluenet_demo.pt; OLD=/tmp/s51_old
[ "$(sha256sum $W | cut -c1-8)" = 5f2e0ff6 ] || { echo "$W is not soup_s"; exit 1; }
mkdir -p $O
[ -d $OLD ] || git worktree add --detach $OLD 2826d34 > /dev/null
# every command of a tree runs in its folder: `python -m` and `-c` put the working folder
# before PYTHONPATH on the module path
R=$PWD
graphs() {  # the graphs folder of tree $1 (exported first where missing)
  cd $1 && PYTHONPATH=$1 python -c "
import sys, logging; logging.disable(logging.CRITICAL)
from cluenet_ros.inference import standalone as S
from cluenet_ros.inference.interface import PipelineConfig
print(S.ensure_exported(sys.argv[1], S.baked_settings(PipelineConfig())))" $W; cd $R
}
NEW_G=$(graphs $PWD); OLD_G=$(graphs $OLD)
echo "new graphs $NEW_G; old graphs $OLD_G"
NAMES=("$@"); [ ${#NAMES[@]} -gt 0 ] || NAMES=(poses bench memory)
for step in "${NAMES[@]}"; do
  echo "$(date -u +%T) $step"
  case $step in
    poses)
      for round in 1 2 3; do
        for flip in "" --flip; do
          for tree in old new; do
            t=$PWD; g=$NEW_G; [ $tree = old ] && { t=$OLD; g=$OLD_G; }
            for b in auto onnxruntime; do
              (cd $t && PYTHONPATH=$t python $R/$D/poses_time.py --folder $g --backend $b $flip \
                > $R/$O/poses_${tree}_${b}${flip/--/_}_r$round.json) || echo "poses $tree $b $flip failed"
            done
          done
        done
      done
      python - $O > $D/poses.json <<'PY'
import glob, json, os, sys
rows = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "poses_*_r*.json"))):
    name = os.path.basename(f)[len("poses_"):].rsplit("_r", 1)[0]
    rows.setdefault(name, []).append(json.load(open(f)))
print(json.dumps({k: {"poses_ms_median_per_round": [r["poses_ms_median"] for r in v],
                      "peak_rss_mb_per_round": [round(r["peak_rss_mb"], 1) for r in v],
                      "stage2_backend": v[0]["stage2_backend"], "format": v[0]["format"], "people": v[0]["people"]}
                  for k, v in rows.items()}, indent=1))
PY
      cat $D/poses.json;;
    bench)
      for round in 1 2 3; do
        for tree in old new; do
          t=$PWD; [ $tree = old ] && t=$OLD
          for b in auto onnxruntime; do
            (cd $t && PYTHONPATH=$t cluenet bench --standalone --backend $b --weights $W --frames 10 \
              --resolution 1024x512 --json $R/$D/bench_${tree}_${b}_r$round.json > $R/$O/bench_${tree}_${b}_r$round.txt 2>&1) \
              || echo "bench $tree $b failed"
            tail -2 $O/bench_${tree}_${b}_r$round.txt
          done
        done
      done;;
    memory)
      for tree in old new; do
        t=$PWD; [ $tree = old ] && t=$OLD
        for p in "" flip_test:=true; do
          (cd $t && PYTHONPATH=$t python $R/tools/node_memory.py --standalone --backend auto --weights $W \
            ${p:+--param $p} --json $R/$D/node_memory_${tree}${p:+_flip}.json) || echo "node $tree $p failed"
        done
      done;;
    bigval)
      [ -f $O/big_standalone/detections.json ] || cluenet eval full --weights $W --standalone \
        --backend auto --data data/s44/bigval150/val --out $O/big_standalone \
        --detection-extra-scale 0.5 --detection-extra-scale-min-height 200 > $O/big_standalone.txt 2>&1 \
        || echo "bigval150 failed"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "eager=runs/s44/half/big_x05h200" \
        --model "standalone_s50=runs/s50/big_standalone_openvino" --model "standalone_s51=$O/big_standalone" \
        --json $D/bigval150_standalone.json | tee $D/bigval150_standalone.md
      python - $O/big_standalone runs/s50/big_standalone_openvino <<'PY'
import json, sys
import numpy as np
a, b = (json.load(open(f"{d}/report.json")) for d in sys.argv[1:])
for k in ("detection_mr", "mask_iou", "keypoint_ap", "occluded_keypoint_ap"):
    print(k, "s51", a.get(k), "s50", b.get(k))
ka, kb = (json.load(open(f"{d}/keypoints.json")) for d in sys.argv[1:])
diff = max(float(np.abs(np.subtract(x["keypoints"], y["keypoints"])).max()) for x, y in zip(ka, kb))
print(f"people {len(ka)} / {len(kb)}; largest keypoint difference (px, or score) {diff:.2e}")
PY
      ;;
    final)
      for round in 1 2 3; do
        for flip in "" --flip; do
          for tb in old:auto new:auto new:openvino; do
            tree=${tb%%:*}; b=${tb##*:}; t=$PWD; g=$NEW_G; [ $tree = old ] && { t=$OLD; g=$OLD_G; }
            (cd $t && PYTHONPATH=$t python $R/$D/poses_time.py --folder $g --backend $b $flip --frames 30 \
              > $R/$O/final_poses_${tree}_${b}${flip/--/_}_r$round.json) || echo "poses $tree $b $flip failed"
          done
        done
        for tb in old:auto new:auto new:openvino; do
          tree=${tb%%:*}; b=${tb##*:}; t=$PWD; [ $tree = old ] && t=$OLD
          (cd $t && PYTHONPATH=$t cluenet bench --standalone --backend $b --weights $W --frames 10 \
            --resolution 1024x512 --json $R/$D/final_bench_${tree}_${b}_r$round.json > $R/$O/final_bench_${tree}_${b}_r$round.txt 2>&1) \
            || echo "bench $tree $b failed"
          tail -2 $O/final_bench_${tree}_${b}_r$round.txt
        done
      done
      python - $O > $D/final_poses.json <<'PY'
import glob, json, os, sys
rows = {}
for f in sorted(glob.glob(os.path.join(sys.argv[1], "final_poses_*_r*.json"))):
    name = os.path.basename(f)[len("final_poses_"):].rsplit("_r", 1)[0]
    rows.setdefault(name, []).append(json.load(open(f)))
print(json.dumps({k: {"poses_ms_median_per_round": [round(r["poses_ms_median"], 2) for r in v],
                      "peak_rss_mb_per_round": [round(r["peak_rss_mb"], 1) for r in v],
                      "backend": v[0]["backend"], "stage2_backend": v[0]["stage2_backend"], "format": v[0]["format"],
                      "people": v[0]["people"]} for k, v in rows.items()}, indent=1))
PY
      for b in auto openvino; do
        for p in "" flip_test:=true; do
          python tools/node_memory.py --standalone --backend $b --weights $W ${p:+--param $p} \
            --json $D/final_node_memory_new_${b}${p:+_flip}.json || echo "node $b $p failed"
        done
      done
      [ -f $O/big_standalone/detections.json ] || cluenet eval full --weights $W --standalone \
        --backend auto --data data/s44/bigval150/val --out $O/big_standalone \
        --detection-extra-scale 0.5 --detection-extra-scale-min-height 200 > $O/big_standalone.txt 2>&1 \
        || echo "bigval150 failed"
      python tools/paired_mr.py --data data/s44/bigval150/val --model "eager=runs/s44/half/big_x05h200" \
        --model "standalone_s50=runs/s50/big_standalone_openvino" --model "standalone_s51=$O/big_standalone" \
        --json $D/bigval150_standalone.json | tee $D/bigval150_standalone.md;;
    startup)
      for round in 1 2 3; do
        python tools/node_memory.py --backend auto --weights $W --json $D/startup_eager_r$round.json | tail -1 \
          || echo "eager $round failed"
        python tools/node_memory.py --standalone --backend auto --weights $W --json $D/startup_standalone_r$round.json \
          | tail -1 || echo "standalone $round failed"
      done
      rm -rf $O/empty_cache
      CLUENET_CACHE_DIR=$PWD/$O/empty_cache python tools/node_memory.py --standalone --backend auto --weights $W \
        --json $D/startup_standalone_empty_cache.json | tail -1 || echo "standalone, empty cache, failed";;
  esac
done
