#!/usr/bin/env bash
# Issue 18, deliverable 4: the four arms of the realistic world's ablation (bodies,
# textures, sensor effects), rendered and packed for one lent-GPU call that trains
# them side by side (tools/gpu_session.sh part 6). Session 21's recipe
# (docs/accuracy/real_world/s21/PLAN.md): the same seed in every arm, so the arms
# hold the same scenes (the figure body draws its people as anny does), street clutter
# on, 750 images each (600 train), JPEG 75 so that four packs, the start weights and
# the tree fit the 64 MiB a call carries.
#
#   tools/ablation_packs.sh            # ~12 min on 2 cores; data/s21/abl_*, .gpupack_abl/
#   mv models/cluenet_demo.pt /tmp/   # the tree must shrink: 20.8 MB of the 64 MiB
#   run(command="set -o pipefail; DEADLINE_S=520 STEPS=6 WORKERS=12 PACK_DIR=.gpupack_abl
#       PACKS='abl_base abl_figure abl_noeffects abl_flat' INIT=.gpupack_abl/init_capsule_demo.pt
#       RETURN=last ITERS=2000 VAL_IMAGES=40 SEED=21 OUT=$OUT tools/gpu_session.sh 2>&1 | grep -v Warning",
#       carry=[".gpupack_abl", ".whl"], timeout_s=560)
#   mv /tmp/cluenet_demo.pt models/    # then tools/real_world_eval.sh per arm
#
# .gpupack_abl/ must be in .git/info/exclude (printf '.gpupack_abl/\n' >> .git/info/exclude).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA="${DATA:-data/s21}"
PACK="${PACK:-.gpupack_abl}"
IMAGES="${IMAGES:-750}"
WORKERS="${WORKERS:-2}"
mkdir -p "$DATA" "$PACK"
for arm in base figure noeffects flat; do
  case $arm in
    base) extra=(--textures photo) ;;
    figure) extra=(--textures photo --body figure) ;;
    noeffects) extra=(--textures photo --effects none) ;;
    flat) extra=(--textures procedural) ;;
  esac
  .venv/bin/cluenet synth --world realistic --person-px 120-880 --size 512x256 --people 2-8 --clutter 10 \
    --workers "$WORKERS" "${extra[@]}" --out "$DATA/abl_$arm" --images "$IMAGES" --seed 21 --reuse \
    > "$DATA/abl_$arm.log" 2>&1
  # the first arm's validation images validate every arm; the others carry one
  [ $arm = base ] && val=40 || val=1
  .venv/bin/python tools/make_gpu_pack.py --data "$DATA/abl_$arm" --quality 75 --val-images $val --out "$PACK"
done
# the start: stage 1 of the capsule-trained demo (every earlier round's "demo (start)"), fp16
git show c358d3f:models/cluenet_demo.pt > "$PACK/capsule_demo_full.pt"
.venv/bin/python - "$PACK/capsule_demo_full.pt" "$PACK/init_capsule_demo.pt" <<'PY'
import sys, torch
c = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
c["models"].pop("stage2")
c.get("provenance", {}).pop("stage2", None)
torch.save(c, sys.argv[2])
PY
rm "$PACK/capsule_demo_full.pt"
du -cb "$PACK"/* | tail -1
