#!/usr/bin/env bash
# Session 44, part D (PLAN.md): perspective rescoring of soup_s's plateval900 detections (session 42's,
# flip test on, one scale) at every grid setting, pooled MR^-2 R and paired scene-bootstrap
# differences against off; `perspective.sh real SETTING` reads the real check once for the choice.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/persp; R=runs/s42/soup
if [ "${1:-}" = real ]; then
  python tools/perspective_study.py real --weights runs/s39/ship/cluenet_demo.pt --setting "$2" \
    --json $D/real_perspective_$2.json | tee $D/real_perspective_$2.md
  exit 0
fi
DATA=(data/s36/plateval300/val data/s38/plateval300_seed37/val data/s38/plateval300_seed38/val)
python tools/perspective_study.py synthetic --data "${DATA[@]}" \
  --runs $R/pv36_soup_s $R/pv37_soup_s $R/pv38_soup_s --out $O
models=()
for d in off $(ls $O | grep -v '^off$'); do models+=(--model "$d=$O/$d/pv36_soup_s,$O/$d/pv37_soup_s,$O/$d/pv38_soup_s"); done
python tools/paired_mr.py --data "${DATA[@]}" "${models[@]}" --json $D/plateval900_perspective.json | tee $D/plateval900_perspective.md
