#!/usr/bin/env bash
# Session 53 (PLAN.md): only if part A's gate passes. Writes the shipped demo weights: soup_s's
# stage 1 (the stage 1 of models/cluenet_demo.pt as session 52 left it, sha256 157bd720...) with
# part A's best.pt stage 2, fp16; soup_s's provenance note kept, its stage-2 sentences ("the previous
# demo's, unchanged" and session 52's) replaced by this step's.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
O=runs/s53; mkdir -p $O/ship
[ -f $O/ship/demo_s52.pt ] || cp models/cluenet_demo.pt $O/ship/demo_s52.pt
echo "157bd720" | grep -q "$(sha256sum $O/ship/demo_s52.pt | cut -c1-8)" || { echo "not session 52's demo" >&2; exit 1; }
OLD=$(python -c "import torch; n = torch.load('$O/ship/demo_s52.pt', weights_only=False, map_location='cpu')['provenance']['note']; i = n.index(' Stage 2 (session 52'); print(n[:i].replace(' Stage 2: the previous demo\\'s, unchanged.', ''))")
NOTE="$OLD Stage 2 (session 53, replacing session 52's, which had replaced the capsule-world stage 2 of runs/demo_model/stage2): that capsule-world stage 2 fine-tuned on the unoccluded people of data/s53/node_sizes (anny-body scenes at 1024x512, --person-px 200-1000, people 100-500 px tall; docs/accuracy/real_world/s53/stage2_node_sizes.yaml: session 52's recipe, 2400 iterations x 16 people, Adam 1e-3 /10 at 1800, Mask and Predict uniform to 70%, no domain classifier, seed 52, precise_bn 40), best.pt by mean GT-crop keypoint AP on data/s53/node_sizes/val; shipped by s53/PLAN.md's rule on a fresh set (data/s53/bigval150_seed530), end-to-end keypoint AP paired against session 52's stage 2."
cluenet train combine --stage1 $O/ship/demo_s52.pt --stage2 $O/stage2_node_sizes/best.pt --half \
  --out $O/ship/cluenet_demo.pt --note "$NOTE"
cp $O/ship/cluenet_demo.pt models/cluenet_demo.pt
sha256sum models/cluenet_demo.pt
