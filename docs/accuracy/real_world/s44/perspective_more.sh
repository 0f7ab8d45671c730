#!/usr/bin/env bash
# Session 44, part D, reads that choose nothing: perspective rescoring at the setting part D's
# rule picked on soup_s (a0.97_t0.35_s0.1), on session 42's two other soups that are on this
# machine (soup_af, soup_ag): plateval900 offline from their session-42 detections, and the
# real check through tools/perspective_study.py.
cd "$(dirname "$0")/../../../.." || exit 1
export PATH="$PWD/.venv/bin:$PATH"
D=docs/accuracy/real_world/s44; O=runs/s44/persp_more; R=runs/s42/soup; SET=a0.97_t0.35_s0.1
DATA=(data/s36/plateval300/val data/s38/plateval300_seed37/val data/s38/plateval300_seed38/val)
for m in soup_af soup_ag; do
  python tools/perspective_study.py synthetic --data "${DATA[@]}" --runs $R/pv36_$m $R/pv37_$m $R/pv38_$m --out $O/$m
  python tools/paired_mr.py --data "${DATA[@]}" --model "off=$O/$m/off/pv36_$m,$O/$m/off/pv37_$m,$O/$m/off/pv38_$m" \
    --model "$SET=$O/$m/$SET/pv36_$m,$O/$m/$SET/pv37_$m,$O/$m/$SET/pv38_$m" --json $D/plateval900_perspective_$m.json \
    | tee $D/plateval900_perspective_$m.md
  python tools/perspective_study.py real --weights $R/pipe_$m.pt --setting $SET --json $D/real_perspective_$m.json \
    | tee $D/real_perspective_$m.md
done
