#!/usr/bin/env bash
# Session 41, part E (PLAN.md): fine-tunes of the shipped soup_s (the init in wide_seed<N>.yaml)
# on fresh anny scenes with session 40's busy recipe but the wide clutter set (camera tripods
# and ground litter besides the street objects): synth seed 41 (busy's: the same people, cameras and light), --clutter 30 --clutter-kinds
# wide, otherwise session 27's abl_base recipe; training seeds 39 and 40 (busy's), side by side, one
# thread each, 600 iterations. Resumes from runs/s41/wide_seed<N>/last.pt.
#   docs/accuracy/real_world/s41/wide.sh
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s41
INIT=$(sed -n 's/.*init: \([^,]*\),.*/\1/p' $S/wide_seed39.yaml)
[ -f "$INIT" ] || { echo "$INIT is missing: rebuild it with the ship script that wrote it"; exit 1; }
cluenet synth --world realistic --body anny --textures photo --person-px 120-880 --clutter 30 --clutter-kinds wide \
  --people 2-8 --images 750 --seed 41 --size 512x256 --workers ${WORKERS_:-2} --reuse --out data/s41/wide_scenes
# the recipe must be abl_base's but for the synth seed, the clutter and its set
python - <<'PY'
import json
a, b = (json.load(open(f"data/{d}/synth.json")) for d in ("s27/abl_base", "s41/wide_scenes"))
assert a["options"]["world_options"]["clutter"] == 10 and b["options"]["world_options"]["clutter"] == 30
assert b["options"]["world_options"]["clutter_kinds"] == "wide" and "clutter_kinds" not in a["options"]["world_options"]
a["options"]["world_options"].update(clutter=30, clutter_kinds="wide")
assert a["options"] == b["options"] and a["images"] == b["images"], "wide scenes differ from abl_base's recipe"
PY
mkdir -p runs/s41
pids=()
for s in ${SEEDS_:-39 40}; do
  resume=()
  [ -f runs/s41/wide_seed$s/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/wide_seed$s.yaml "${resume[@]}" > runs/s41/wide_seed$s.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
