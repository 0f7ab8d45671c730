#!/usr/bin/env bash
# Session 43 (PLAN.md part A): the amended ship gate vetoes session 42's soup_af against soup_s,
# so soup_s comes back: the committed file of a04f9e2, byte for byte.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
R=docs/accuracy/real_world
.venv/bin/python tools/ship_gate.py $R/s42/soups/soup_af/real_soup_af.json --shipped $R/s39/soups/soup_s/real_soup_s.json \
  --json $R/s43/gate_soup_af_vs_soup_s.json > $R/s43/gate_soup_af_vs_soup_s.md && { echo "the gate keeps soup_af"; exit 0; }
cat $R/s43/gate_soup_af_vs_soup_s.md
git show a04f9e2:models/cluenet_demo.pt > models/cluenet_demo.pt
[ "$(sha256sum models/cluenet_demo.pt | cut -c1-8)" = 5f2e0ff6 ] || { echo "not soup_s"; exit 1; }
sha256sum models/cluenet_demo.pt
