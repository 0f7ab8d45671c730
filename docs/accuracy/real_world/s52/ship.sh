#!/usr/bin/env bash
# Session 52, part C (PLAN.md): only if part C's gate on the fresh set passes. Writes the shipped
# demo weights: soup_s's stage 1 (models/cluenet_demo.pt as it was, sha256 5f2e0ff6...) with part
# C's best.pt stage 2, fp16, with soup_s's provenance note kept and this step added to it.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
O=runs/s52; mkdir -p $O/ship
[ -f $O/ship/soup_s.pt ] || cp models/cluenet_demo.pt $O/ship/soup_s.pt
echo "5f2e0ff6" | grep -q "$(sha256sum $O/ship/soup_s.pt | cut -c1-8)" || { echo "not soup_s" >&2; exit 1; }
OLD=$(python -c "import torch; print(torch.load('$O/ship/soup_s.pt', weights_only=False, map_location='cpu')['provenance']['note'])")
NOTE="$OLD Stage 2 (session 52, replacing the capsule-world stage 2 of runs/demo_model/stage2): that stage 2 fine-tuned on the unoccluded people of the anny-body scenes data/s38/gen2_scenes (docs/accuracy/real_world/s52/stage2_anny_precise.yaml: 2400 iterations x 16 people, Adam 1e-3 /10 at 1800, Mask and Predict uniform to 70%, no domain classifier, seed 52, batch-norm statistics re-estimated before each validation, precise_bn 40), best.pt = iteration 2000 by mean GT-crop keypoint AP on data/s38/gen2_scenes/val; shipped by s52/PLAN.md's rule on a fresh set (data/s52/bigval150_seed52), end-to-end keypoint AP paired against the previous stage 2."
cluenet train combine --stage1 $O/ship/soup_s.pt --stage2 $O/stage2_anny_precise/best.pt --half \
  --out $O/ship/cluenet_demo.pt --note "$NOTE"
cp $O/ship/cluenet_demo.pt models/cluenet_demo.pt
sha256sum models/cluenet_demo.pt
