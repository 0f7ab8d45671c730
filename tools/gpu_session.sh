#!/usr/bin/env bash
# Everything a lent GPU is used for, in one call (issue 22's figures, then issue 18's
# longer fine-tune), since a lease is about 15 minutes in all:
#   1. the machine (nvidia-smi, torch, packages);
#   2. `cluenet bench` fp16 at 2048x1024, 10 people, against keypointrcnn, stage-2 scaling;
#   3. the mobile configuration at 1024x512, the same way;
#   4. tools/train_throughput.py: both stages' training rate at the paper's sizes, largest batch;
#   5. the same full-model bench with --compile (time-boxed: compilation may not finish);
#   6. issue 18: stage 1 of the demo model fine-tuned on the photo-textured realistic world
#      with the strong photometric augmentation (tools/real_world_study.sh's
#      realistic_photo_big_aug2, same batch, lr, seed, fp32) for as many iterations as
#      the remaining time allows; last.pt, without its optimizer state, comes back
#      in fp16 (the files that come back are 16 MiB at most) for calibration and `cluenet eval real` here.
#      A continuation (the lease ends the first run early): STEPS=6 INIT=.gpupack/<fp16 stage-1 weights> SEED=2.
#      An ablation (session 20): STEPS=6 PACKS="a b" LR_STEP=3000 VAL_EVERY=500 VAL_IMAGES=100 SEED=3:
#      one fine-tune per pack side by side, validated on pack a's val split; last.pt and
#      best.pt of each come back in fp16 as <pack>_{last,best}.pt.
#      Four arms (session 21): PACK_DIR=.gpupack_abl RETURN=last ITERS=2200 (4 x 11 MB back, not 8).
# No ROS on the GPU machine: the node's own overhead (--node) is a CPU figure (docs/bench).
#
# Before the call, here: the data pack (tools/make_gpu_pack.py --data data/realworld/realistic_photo_big)
# and pycocotools as a cp312 wheel in .whl (/work/.library/device/README.md), both in .git/info/exclude.
# On the device:
#   run(command="DEADLINE_S=540 OUT=$OUT tools/gpu_session.sh", carry=[".gpupack", ".whl"], timeout_s=590)
# Smoke run here:  STEPS="2 3 5 6" DEVICE=cpu TINY=1 DEADLINE_S=900 OUT=/tmp/gpu_smoke tools/gpu_session.sh
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT="${OUT:-/tmp/gpu_out}"
DEVICE="${DEVICE:-cuda}"
TINY="${TINY:-0}"
DEADLINE_S="${DEADLINE_S:-540}"          # the whole script, from now
START=$(date +%s)
STEPS="${STEPS:-2 3 4 5 6}"            # which numbered parts to run
want() { [[ " $STEPS " == *" $1 "* ]]; }
left() { echo $(( START + DEADLINE_S - $(date +%s) )); }
W="$OUT/work"; mkdir -p "$W"
LOG="$W/session.log"
say() { echo "[gpu-session +$(( $(date +%s) - START ))s] $*" | tee -a "$LOG"; }
export PYTHONUNBUFFERED=1

# the package without installing it: cluenet_training is the training/ folder
if ! python3 -c "import cluenet_training" 2>/dev/null; then
  mkdir -p /tmp/pkgs && ln -sfn "$ROOT/training" /tmp/pkgs/cluenet_training
  export PYTHONPATH="$ROOT:/tmp/pkgs${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -d .whl ] && ! python3 -c "import pycocotools" 2>/dev/null; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
    && export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
PY=python3
[ -x .venv/bin/python ] && [ "$DEVICE" = cpu ] && PY=.venv/bin/python
CLUENET=("$PY" -m cluenet_ros.cli)   # an array: `timeout` runs programs, not shell functions

say "1. machine"
{ nvidia-smi 2>&1 || true; "$PY" -c "import torch, torchvision, sys; print(sys.version); print('torch', torch.__version__, \
'torchvision', torchvision.__version__, 'cuda', torch.version.cuda, 'available', torch.cuda.is_available())"; \
  nproc; free -g; } > "$W/machine.txt" 2>&1
tail -3 "$W/machine.txt" | tee -a "$LOG"

if [ "$TINY" = 1 ]; then
  FULL_RES=512x256; MOB_RES=256x128; FRAMES=2; WARM=1; TT="--tiny --steps 1 --warmup 1"; ITERS=4; WORKERS=1
else
  FULL_RES=2048x1024; MOB_RES=1024x512; FRAMES=50; WARM=5; TT="--steps 10 --warmup 3"; ITERS="${ITERS:-20000}"; WORKERS="${WORKERS:-8}"
fi
PREC=fp16; [ "$DEVICE" = cpu ] && PREC=fp32

want 2 && { say "2. full model, $FULL_RES, $PREC"
timeout 150 "${CLUENET[@]}" bench --device "$DEVICE" --precision $PREC --resolution $FULL_RES --people 10 --frames $FRAMES \
  --warmup $WARM --compare keypointrcnn --stage2-scaling --json "$W/bench_${DEVICE}_full_${FULL_RES}_${PREC}.json" \
  > "$W/bench_full.txt" 2>&1; say "rc=$?"; grep -v Warning "$W/bench_full.txt" | tail -8 | tee -a "$LOG"; }

want 3 && { say "3. mobile model, $MOB_RES, $PREC"
timeout 100 "${CLUENET[@]}" bench --device "$DEVICE" --precision $PREC --resolution $MOB_RES --config config/model_mobile.yaml \
  --people 10 --frames $FRAMES --warmup $WARM --compare keypointrcnn --stage2-scaling \
  --json "$W/bench_${DEVICE}_mobile_${MOB_RES}_${PREC}.json" > "$W/bench_mobile.txt" 2>&1
say "rc=$?"; grep -v Warning "$W/bench_mobile.txt" | tail -8 | tee -a "$LOG"; }

want 4 && { say "4. training throughput"
timeout 170 "$PY" tools/train_throughput.py --device "$DEVICE" $TT --budget-s 130 \
  --json "$W/train_throughput_${DEVICE}.json" > "$W/train_throughput.txt" 2>&1; say "rc=$?"
grep -E '^\{|wrote' "$W/train_throughput.txt" | cut -c1-200 | tee -a "$LOG"; }

want 5 && { say "5. full model with torch.compile"
timeout 110 "${CLUENET[@]}" bench --device "$DEVICE" --precision $PREC --resolution $FULL_RES --people 10 --frames $FRAMES \
  --warmup $WARM --compile --json "$W/bench_${DEVICE}_full_${FULL_RES}_${PREC}_compile.json" \
  > "$W/bench_compile.txt" 2>&1; say "rc=$? (124: compilation did not finish in time)"
grep -v Warning "$W/bench_compile.txt" | tail -6 | tee -a "$LOG"; }

# 6. one fine-tune per pack in PACKS, side by side on the one GPU (an ablation's arms:
# same init, seed, schedule and wall time; CPU workers shared out). The first pack's
# val split validates every arm (VAL_EVERY; best.pt on its MR^-2, the trainer's rule).
PACKS="${PACKS:-realistic_photo_big}"       # session 19: one pack, named realistic_photo_big
PACK_DIR="${PACK_DIR:-$ROOT/.gpupack}"          # where the packs are (a folder named in carry)
case $PACK_DIR in /*) ;; *) PACK_DIR="$ROOT/$PACK_DIR" ;; esac
RETURN="${RETURN:-last best}"                   # which checkpoints come back (8 files, 64 MiB in all)
INIT="${INIT:-$ROOT/models/cluenet_demo.pt}"   # a continuation: a stage-1 checkpoint (fp16 is fine)
case $INIT in /*) ;; *) INIT="$ROOT/$INIT" ;; esac
SEED="${SEED:-1}"                               # another seed does not replay an earlier run's batches
LR_STEP="${LR_STEP:-1000000}"                   # iterations at lr 0.005 before it is divided by 10
VAL_EVERY="${VAL_EVERY:-$ITERS}"
VAL_IMAGES="${VAL_IMAGES:-40}"
set -- $PACKS
ARMS=$#
VAL="$PACK_DIR/$1/val"
for name in $PACKS; do  # unpacked before any arm starts: the first pack's val serves them all
  [ -f "$PACK_DIR/$name.tar" ] && [ ! -d "$PACK_DIR/$name" ] && tar -xf "$PACK_DIR/$name.tar" -C "$PACK_DIR"
done
finetune() {  # pack name, workers, seconds
  local name=$1 pack="$PACK_DIR/$1" run="$W/finetune_$1"
  mkdir -p "$run"
  [ -f "$pack/train/citypersons.json" ] || { say "$name: no pack"; return; }
  cat > "$run/config.yaml" <<YAML
base: $ROOT/training/configs/demo_stage1.yaml
train: {format: split, root: $pack/train}
val: {format: split, root: $VAL}
optim: {lr: 0.005, lr_step: $LR_STEP, warmup_iterations: 20}
run: {out_dir: $run, iterations: $ITERS, seed: $SEED, init: $INIT, checkpoint_every: 100,
      val_every: $VAL_EVERY, val_images: $VAL_IMAGES, workers: $2, device: $DEVICE, amp: false}
augment: {scale: [0.8, 1.2], hflip: 0.5, brightness: 0.6, contrast: 0.6, saturation: 0.8, hue: 0.1, grayscale: 0.25, blur: 0.5}
YAML
  timeout --signal=INT "$3" "${CLUENET[@]}" train stage1 --config "$run/config.yaml" > "$run/train.log" 2>&1
  say "$name: train rc=$? (124/130: stopped at the time limit, last.pt is the last checkpoint)"
  tr '\r' '\n' < "$run/train.log" | grep -E 'it/s|s/it' | tail -1 | cut -c1-220 | tee -a "$LOG"
  for f in $RETURN; do
    [ -f "$run/$f.pt" ] || continue
    "$PY" - "$run/$f.pt" "$OUT/${name}_$f.pt" <<'EOF'
import sys, torch
c = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
c["training"].pop("optimizer", None)
for m in c["models"].values():  # fp16: the files that come back are 16 MiB at most, 64 together
    m["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in m["state_dict"].items()}
torch.save(c, sys.argv[2])
print(sys.argv[2], "at iteration", c["training"]["iteration"], "best", c["training"].get("best"))
EOF
  done
  rm -f "$run"/*.pt
}
if want 6; then
  secs=$(( $(left) - 30 ))
  say "6. issue-18 fine-tune: $PACKS, $secs s"
  if [ "$secs" -gt 20 ]; then
    for name in $PACKS; do finetune "$name" $(( WORKERS / ARMS )) "$secs" & done
    wait
  else
    say "no time left for the fine-tune"
  fi
fi
say "done"
tar -czf "$OUT/results.tar.gz" -C "$W" . && rm -rf "$W"
ls -la "$OUT"
