#!/usr/bin/env bash
# Session 37 (PLAN.md): plate fine-tunes with a photograph behind every image (background_plate 1.0), plates
# of ../s36/plate_split.json only, at training seeds 28, 29 and 30 from soup_c, three side by side, one
# thread each, as session 36's (../s36/run.sh) but for background_plate.
#   git show 8bad118:models/cluenet_demo.pt > runs/s33/soup_c_pipeline.pt   # sha256 ed2e8c93...
#   cluenet data plates                      # data/plates
#   docs/accuracy/real_world/s37/run.sh      # resumes from runs/s37/abl_<arm>_seed<N>/last.pt
set -euo pipefail
cd "$(dirname "$0")/../../../.."
export PATH="$PWD/.venv/bin:$PATH"
S=docs/accuracy/real_world/s37
# the split as two folders of links into data/plates (plates are read from any photographs below a folder)
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
RUNS_="${RUNS_:-platefull_seed28 platefull_seed29 platefull_seed30}"
mkdir -p runs/s37
pids=()
for r in $RUNS_; do
  resume=()
  [ -f runs/s37/abl_${r}/last.pt ] && resume=(--resume)
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 \
    cluenet train stage1 --config $S/abl_${r}.yaml "${resume[@]}" > runs/s37/abl_${r}.log 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
echo "$(date -u +%T) trained"
