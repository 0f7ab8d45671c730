#!/usr/bin/env bash
# The demo model and the accuracy study (docs/accuracy/), from nothing to the report.
# Every step is a `cluenet` command; run from the repository root after `make setup`.
#
#   tools/accuracy_study.sh            # everything, one run after another
#   JOBS=2 tools/accuracy_study.sh     # two independent chains side by side, one thread
#                                      # each (how the committed results were made on 2 cores)
# Training resumes where it stopped (--resume), so an interrupted study can be re-run.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
JOBS="${JOBS:-1}"
LOGS=runs/logs
mkdir -p "$LOGS"

# 1. data: 1200 train + 300 val images, and the separate 300-image benchmark split
[ -f data/demo/train/citypersons.json ] ||
  cluenet synth --out data/demo --images 1500 --seed 1 --size 512x256 --workers 2
[ -f data/demo/benchmark/citypersons.json ] ||
  cluenet synth --out data/demo --images 300 --seed 2 --size 512x256 --split benchmark --workers 2

train() {  # train KIND CONFIG LOGNAME
  cluenet train "$1" --config "$2" --resume > "$LOGS/$3.log" 2>&1
}
chain_a() {
  train stage1 training/configs/demo_stage1.yaml demo_stage1
  train stage1 training/configs/ablations/stage1_no_attention.yaml no_attention_stage1
  # the demo weights' stage 1: the study's stage 1 continued to 1200 iterations
  mkdir -p runs/demo_model/stage1
  [ -f runs/demo_model/stage1/last.pt ] || cp runs/demo/stage1/last.pt runs/demo_model/stage1/last.pt
  train stage1 training/configs/demo_model_stage1.yaml demo_model_stage1
}
chain_b() {
  train stage2 training/configs/demo_stage2.yaml demo_stage2
  train stage2 training/configs/ablations/stage2_no_mask_and_predict.yaml no_map_stage2
  train stage2 training/configs/ablations/stage2_no_domain_adaptation.yaml no_da_stage2
  train stage2 training/configs/demo_model_stage2.yaml demo_model_stage2
  train baseline training/configs/baseline_keypointrcnn.yaml baseline_keypointrcnn
  # the peer with ClueNet's two-stage CPU time: continues the 600-iteration run
  mkdir -p runs/baseline/keypointrcnn_1000
  [ -f runs/baseline/keypointrcnn_1000/last.pt ] ||
    cp runs/baseline/keypointrcnn/last.pt runs/baseline/keypointrcnn_1000/last.pt
  train baseline training/configs/ablations/baseline_keypointrcnn_equal_time.yaml baseline_keypointrcnn_1000
}
if [ "$JOBS" -gt 1 ]; then
  export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
  chain_a & a=$!
  chain_b & b=$!
  wait $a
  wait $b
else
  chain_a
  chain_b
fi

# 2. pipeline checkpoints: every variant pairs one stage 1 with one stage 2 (best.pt
#    of each run: stage 1 by validation MR^-2, stage 2 by validation keypoint AP).
#    Each stage 1 first gets its mask bias calibrated on the validation split (the
#    short runs leave masks that rank pixels well but stay below 0.5).
mkdir -p runs/study
cluenet train calibrate-mask --weights runs/demo/stage1/best.pt --data data/demo/val \
  --out runs/study/stage1.pt
cluenet train calibrate-mask --weights runs/ablations/no_attention/stage1/best.pt --data data/demo/val \
  --out runs/study/stage1_no_attention.pt
cluenet train calibrate-mask --weights runs/demo_model/stage1/best.pt --data data/demo/val \
  --out runs/study/stage1_demo_model.pt
S1=runs/study/stage1.pt
S2=runs/demo/stage2/best.pt
cluenet train combine --stage1 "$S1" --stage2 "$S2" --out runs/study/cluenet.pt
cluenet train combine --stage1 runs/study/stage1_no_attention.pt --stage2 "$S2" \
  --out runs/study/no_attention.pt
cluenet train combine --stage1 "$S1" --stage2 runs/ablations/no_mask_and_predict/stage2/best.pt \
  --out runs/study/no_mask_and_predict.pt
cluenet train combine --stage1 "$S1" --stage2 runs/ablations/no_domain_adaptation/stage2/best.pt \
  --out runs/study/no_domain_adaptation.pt
# the shipped demo weights, fp16: the longer demo runs of both stages (stage 1 to
# 1200 iterations, calibrated; the study's best stage 2 on validation, no domain
# classifier, 4800 instead of 1200 iterations)
mkdir -p models
cluenet train combine --stage1 runs/study/stage1_demo_model.pt --stage2 runs/demo_model/stage2/best.pt --half \
  --out models/cluenet_demo.pt

# 3. the same evaluation for every model, on the benchmark split
for m in cluenet no_attention no_mask_and_predict no_domain_adaptation; do
  cluenet eval full --weights "runs/study/$m.pt" --data data/demo/benchmark --out "runs/study/eval/$m" --device cpu
done
for b in keypointrcnn keypointrcnn_1000; do
  cluenet eval full --weights "runs/baseline/$b/best.pt" --data data/demo/benchmark \
    --out "runs/study/eval/$b" --device cpu
done
cluenet eval full --weights models/cluenet_demo.pt --data data/demo/benchmark \
  --out runs/study/eval/cluenet_demo_fp16 --device cpu

# where the end-to-end pose loses its accuracy: boxes (and masks) against true crops
python tools/pose_error_study.py --weights models/cluenet_demo.pt --data data/demo/benchmark \
  --out runs/study/pose_error.json
python tools/pose_error_study.py --weights models/cluenet_demo.pt --data data/demo/benchmark \
  --out runs/study/pose_error_unmasked.json --mask-threshold 0

# 4. the tables and the plot of docs/accuracy/
cluenet eval compare --out docs/accuracy \
  --run "ClueNet=runs/study/eval/cluenet" \
  --run "without attention=runs/study/eval/no_attention" \
  --run "without Mask and Predict=runs/study/eval/no_mask_and_predict" \
  --run "without domain adaptation=runs/study/eval/no_domain_adaptation" \
  --run "Keypoint R-CNN (same trunk), 600 it=runs/study/eval/keypointrcnn" \
  --run "Keypoint R-CNN (same trunk), 1000 it=runs/study/eval/keypointrcnn_1000" \
  --run "demo weights (fp16, longer runs)=runs/study/eval/cluenet_demo_fp16"
