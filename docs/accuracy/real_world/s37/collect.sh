#!/usr/bin/env bash
# Session 37: what the docs cite, copied from runs/s37 (which stays on the machine): each
# soup's gates, plateval300, clutter and real-check reports, soup_k's ship gate, and the
# new runs' curves (TensorBoard) and validation logs.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=docs/accuracy/real_world/s37; R=runs/s37/soup
for n in soup_k soup_l soup_m; do
  d=$S/soups/$n; mkdir -p $d
  cp $R/accept_$n.txt $d/acceptance.txt
  for w in capsule plateval clutter; do mkdir -p $d/$w; cp $R/${w}_$n/report.{json,md} $d/$w/; done
  cp $R/real_$n.json $R/real_$n.txt $d/
done
.venv/bin/python tools/ship_gate.py $R/real_soup_k.json --shipped docs/accuracy/real_world/s36/soups/soup_j/real_soup_j.json \
  --json $S/soups/soup_k/ship_gate.json
for s in 28 29 30; do
  d=$S/runs600/platefull_seed$s; mkdir -p $d
  cp -r runs/s37/abl_platefull_seed$s/tensorboard runs/s37/abl_platefull_seed$s/validation.jsonl $d/
done
