#!/usr/bin/env bash
# Session 44, part A (PLAN.md): the operating threshold of soup_s chosen on plateval900 pooled
# (highest F1, Reasonable, IoU 0.5), from session 42's detections of soup_s with the node's
# settings (flip test on, one scale); the real check (session 43's soup_s report) is read at
# every grid threshold, choosing nothing.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; R=runs/s42/soup
python tools/operating_threshold.py \
  --gt data/s36/plateval300/val/citypersons.json --dt $R/pv36_soup_s/detections.json \
  --gt data/s38/plateval300_seed37/val/citypersons.json --dt $R/pv37_soup_s/detections.json \
  --gt data/s38/plateval300_seed38/val/citypersons.json --dt $R/pv38_soup_s/detections.json \
  --real docs/accuracy/real_world/s43/real_soup_s.json --json $D/threshold_soup_s.json | tee $D/threshold_soup_s.md
