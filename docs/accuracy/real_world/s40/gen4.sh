#!/usr/bin/env bash
# Session 40, part B (PLAN.md): a fourth generation of background_plate 1.0 fine-tunes,
# started from the demo shipped after part A's rule (the init in gen4_seed<N>.yaml) on fresh
# anny scenes (synth seed 40, otherwise session 27's abl_base recipe), training seeds 37 and
# 38, side by side, one thread each. Resumes from runs/s40/gen4_seed<N>/last.pt.
#   docs/accuracy/real_world/s40/gen4.sh
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s40
INIT=$(sed -n 's/.*init: \([^,]*\),.*/\1/p' $S/gen4_seed37.yaml)
[ -f "$INIT" ] || { echo "$INIT is missing: rebuild it with the ship script that wrote it"; exit 1; }
cluenet synth --world realistic --body anny --textures photo --person-px 120-880 --clutter 10 \
  --people 2-8 --images 750 --seed 40 --size 512x256 --workers 2 --reuse --out data/s40/gen4_scenes
# the recipe must be abl_base's but for the synth seed
python - <<'PY'
import json
a, b = (json.load(open(f"data/{d}/synth.json")) for d in ("s27/abl_base", "s40/gen4_scenes"))
assert a["options"] == b["options"] and a["images"] == b["images"], "gen4 scenes differ from abl_base's recipe"
PY
mkdir -p runs/s40
pids=()
for s in ${SEEDS_:-37 38}; do
  resume=()
  [ -f runs/s40/gen4_seed$s/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/gen4_seed$s.yaml "${resume[@]}" > runs/s40/gen4_seed$s.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
