#!/usr/bin/env bash
# Session 40, part C (PLAN.md): "busier streets", background_plate 1.0 fine-tunes of the
# shipped soup_s (the init in busy_seed<N>.yaml) on fresh anny scenes with three times the
# street clutter (synth seed 41, --clutter 30, otherwise session 27's abl_base recipe),
# training seeds 39 and 40, side by side, one thread each. Resumes from
# runs/s40/busy_seed<N>/last.pt (started at session 40's end; a later session resumes it).
#   docs/accuracy/real_world/s40/busy.sh
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s40
INIT=$(sed -n 's/.*init: \([^,]*\),.*/\1/p' $S/busy_seed39.yaml)
[ -f "$INIT" ] || { echo "$INIT is missing: rebuild it with the ship script that wrote it"; exit 1; }
cluenet synth --world realistic --body anny --textures photo --person-px 120-880 --clutter 30 \
  --people 2-8 --images 750 --seed 41 --size 512x256 --workers 2 --reuse --out data/s40/busy_scenes
# the recipe must be abl_base's but for the synth seed and the clutter
python - <<'PY'
import json
a, b = (json.load(open(f"data/{d}/synth.json")) for d in ("s27/abl_base", "s40/busy_scenes"))
assert a["options"]["world_options"]["clutter"] == 10 and b["options"]["world_options"]["clutter"] == 30
a["options"]["world_options"]["clutter"] = 30
assert a["options"] == b["options"] and a["images"] == b["images"], "busy scenes differ from abl_base's recipe"
PY
mkdir -p runs/s40
pids=()
for s in ${SEEDS_:-39 40}; do
  resume=()
  [ -f runs/s40/busy_seed$s/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/busy_seed$s.yaml "${resume[@]}" > runs/s40/busy_seed$s.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
