#!/usr/bin/env bash
# Issue 20's CPU measurements, side by side: every backend for the mobile and the
# full-size configuration at 1024x512 with 10 pedestrians, the peer
# (torchvision keypointrcnn_resnet50_fpn, eager) on the same frames, the node's
# overhead with every output subscribed and with none, and the per-stage /
# per-operator profile. Writes docs/bench/cpu_backends_*.json and profile_1024x512.*.
# FRAMES / WARMUP in the environment; about 15 min on an idle 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
B=".venv/bin/cluenet bench --device cpu --resolution 1024x512 --people 10 --frames ${FRAMES:-5} --warmup ${WARMUP:-2}"
uptime
for be in torch onnxruntime openvino; do
  $B --config config/model_mobile.yaml --backend $be --json docs/bench/cpu_backends_mobile_1024x512_$be.json
done
$B --config config/model_mobile.yaml --backend auto --node --json docs/bench/cpu_backends_mobile_node.json
for be in onnxruntime openvino; do
  $B --backend $be --json docs/bench/cpu_backends_full_1024x512_$be.json
done
$B --backend auto --compare keypointrcnn --json docs/bench/cpu_backends_full_1024x512_vs_keypointrcnn.json
uptime
[ "${SKIP_PROFILE:-0}" = 1 ] || .venv/bin/python tools/profile_models.py --resolution 1024x512 --frames 3 --out docs/bench/profile_1024x512.md
