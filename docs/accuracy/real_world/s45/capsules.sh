#!/usr/bin/env bash
# Session 45, a read that chooses nothing: the demo acceptance test's measure (reasonable people found at IoU 0.5,
# mask IoU) on 40 unseen capsule scenes (seed 78, the test's recipe otherwise) instead of its 6, at several
# thresholds, with the default pipeline: how much the 5-person bar that part B's choice met exactly can say.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s45; O=runs/s45
[ -f $O/capsules40/check/citypersons.json ] || cluenet synth --out $O/capsules40 --images 40 --seed 78 --size 512x256 \
  --split check > $O/capsules40.log 2>&1
python - <<'PY' | tee $D/capsules40.md
import sys
sys.path.insert(0, "test")
from test_demo_model import found_and_mask_iou
from cluenet_ros.data.split import SplitFolder
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
data = SplitFolder.open("runs/s45/capsules40/check")
print("| threshold | reasonable people found (40 capsule scenes, seed 78) | mask IoU |\n|---|---|---|")
for t in (0.5, 0.9, 0.95, 0.96, 0.97):
    r, iou = found_and_mask_iou(ClueNetPipeline.from_checkpoint("runs/s39/ship/cluenet_demo.pt",
                                                                 PipelineConfig(device="cpu", score_threshold=t)), data)
    print(f"| {t} | {100 * r:.1f}% | {iou:.3f} |")
PY
