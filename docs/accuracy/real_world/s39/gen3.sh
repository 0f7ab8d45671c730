#!/usr/bin/env bash
# Session 39's addendum (PLAN.md): a third generation of background_plate 1.0 fine-tunes,
# started from the shipped soup_s (runs/s39/ship/cluenet_demo.pt, rebuilt by ship.sh) on
# fresh anny scenes (synth seed 39, otherwise session 27's abl_base recipe), training seeds
# 35 and 36, side by side, one thread each. Resumes from runs/s39/gen3_seed<N>/last.pt.
#   docs/accuracy/real_world/s39/gen3.sh
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s39
[ -f runs/s39/ship/cluenet_demo.pt ] || $S/ship.sh
cluenet synth --world realistic --body anny --textures photo --person-px 120-880 --clutter 10 \
  --people 2-8 --images 750 --seed 39 --size 512x256 --workers 2 --reuse --out data/s39/gen3_scenes
# the recipe must be abl_base's but for the synth seed
python - <<'PY'
import json
a, b = (json.load(open(f"data/{d}/synth.json")) for d in ("s27/abl_base", "s39/gen3_scenes"))
assert a["options"] == b["options"] and a["images"] == b["images"], "gen3 scenes differ from abl_base's recipe"
PY
mkdir -p runs/s39
pids=()
for s in ${SEEDS_:-35 36}; do
  resume=()
  [ -f runs/s39/gen3_seed$s/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/gen3_seed$s.yaml "${resume[@]}" > runs/s39/gen3_seed$s.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
