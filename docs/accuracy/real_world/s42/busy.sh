#!/usr/bin/env bash
# Session 42, part F (PLAN.md): more seeds of session 40's busy recipe, on a fresh machine.
# Rebuilds what the runs need (the shipped soup_s as their init, the plate split, the busy scenes
# with session 40's exact command), then trains the pairs in SEEDS_ (default "41 42"; then
# SEEDS_="39 40"), side by side, one thread each, 600 iterations. Resumes from
# runs/s42/busy_seed<N>/last.pt.
#   docs/accuracy/real_world/s42/busy.sh
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s42
INIT=runs/s39/ship/cluenet_demo.pt   # soup_s as shipped in session 39
mkdir -p runs/s39/ship
[ -f $INIT ] || git show a04f9e2:models/cluenet_demo.pt > $INIT   # the shipped file until session 42 shipped soup_af
[ "$(sha256sum $INIT | cut -c1-8)" = 5f2e0ff6 ] || { echo "$INIT is not soup_s (sha256 5f2e0ff6...)"; exit 1; }
# the plate split as two folders of links into data/plates (as ../s36/run.sh)
python - <<'PY'
import json, os
from pathlib import Path
split = json.loads(Path("docs/accuracy/real_world/s36/plate_split.json").read_text())
index = {e["name"]: e["file"] for e in json.loads(Path("data/plates/index.json").read_text())["categories"]["plate"]}
for part in ("train", "val"):
    d = Path("data/plates_s36") / part
    d.mkdir(parents=True, exist_ok=True)
    for name in split[part]:
        link = d / f"{name}.png"
        if not link.exists():
            os.symlink(os.path.relpath(Path("data/plates") / index[name], d), link)
    print(part, len(list(d.glob("*.png"))), "plates")
PY
# session 40's command (../s40/busy.sh), unchanged
cluenet synth --world realistic --body anny --textures photo --person-px 120-880 --clutter 30 \
  --people 2-8 --images 750 --seed 41 --size 512x256 --workers 2 --reuse --out data/s40/busy_scenes
mkdir -p runs/s42
pids=()
for s in ${SEEDS_:-41 42}; do
  resume=()
  [ -f runs/s42/busy_seed$s/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/busy_seed$s.yaml "${resume[@]}" > runs/s42/busy_seed$s.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained ${SEEDS_:-41 42}"
