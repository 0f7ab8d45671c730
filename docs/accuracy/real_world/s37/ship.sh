#!/usr/bin/env bash
# Session 37, after the rule of PLAN.md chose soup_k: the shipped file. soup_k is rebuilt
# with --start (soup_c, the fine-tunes' shared start, recorded, not averaged in), checked
# equal to the soup the rule measured, calibrated and combined as soups.sh did, with the
# chain in the note; the stage-1 weights of the result are checked equal to the measured
# pipeline's before models/cluenet_demo.pt is replaced.
set -euo pipefail
cd "$(dirname "$0")/../../../.."
S=runs/s37/ship; mkdir -p $S
P05="runs/s36/abl_platetrain_seed28/last.pt runs/s36/abl_platetrain_seed29/last.pt runs/s36/abl_platetrain_seed30/last.pt"
.venv/bin/python tools/weight_soup.py $S/soup_k.pt $P05 --start runs/s33/soup_c_pipeline.pt
.venv/bin/cluenet train calibrate-mask --weights $S/soup_k.pt --data data/s21/clutter_val300/val --out $S/cal_soup_k.pt --max-images 100
S26=$(.venv/bin/python -c "import torch; print(torch.load('runs/s33/soup_c_pipeline.pt', map_location='cpu', weights_only=False)['provenance']['note'])")
NOTE="Stage 1 (session 37): the uniform mean of three stage-1 weights fine-tuned from one start \
(tools/weight_soup.py --start; each ingredient's training is in this stage's history, the start's under soup.start): \
three CPU fine-tunes of session 26's demo stage 1 (soup_c, itself a soup; its note follows), 600 iterations each at \
lr 0.005 (no step), on session 27's anny-body scenes (data/s27/abl_base: synth seed 28, photo textures, sensor \
effects; 600 train images) at training seeds 28, 29 and 30, with background plates (augment.background_plate 0.5): \
person-free real photographs from Debian wallpaper packages (cluenet data plates) behind the rendered people, only \
the 24-photograph training half of session 36's split (docs/accuracy/real_world/s36/plate_split.json). They are the \
fine-tunes of session 36's demo, whose soup also averaged in soup_c. Chosen among three soups by a rule fixed before \
training (docs/accuracy/real_world/s37/PLAN.md) on plateval300: the clutter world's 300 validation images never \
trained on (data/s21/clutter_val300, seed 9) with their backgrounds replaced by the 11 held-out photographs \
(cluenet train replate, seed 36): MR^-2 Reasonable 48.8% against the previous demo's 51.7%. The two soups with \
background_plate 1.0 fine-tunes read lower there (45.0%, 43.5%) but fail the capsule-validation gate (39.8%, 31.0% \
> 28.88%). It passes the demo's acceptance test, the capsule-validation gate (27.0% <= 28.88%) and the real-target \
ship gate (tools/ship_gate.py); on clutter val300 it reads 31.9% against 30.3%. Mask calibrated on 100 images of \
data/s21/clutter_val300/val. Stage 2: the previous demo's, unchanged. Session 26's note: $S26"
.venv/bin/cluenet train combine --half --stage1 $S/cal_soup_k.pt --stage2 models/cluenet_demo.pt --out $S/cluenet_demo.pt --note "$NOTE"
.venv/bin/python - <<'PY'
import torch
load = lambda p: torch.load(p, map_location="cpu", weights_only=False)
a, b = load("runs/s37/ship/soup_k.pt"), load("runs/s37/soup/soup_k.pt")
sa, sb = a["models"]["stage1"]["state_dict"], b["models"]["stage1"]["state_dict"]
assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa), "soup differs from the measured one"
c, d = load("runs/s37/ship/cluenet_demo.pt"), load("runs/s37/soup/pipe_soup_k.pt")
for st in ("stage1", "stage2"):
    x, y = c["models"][st]["state_dict"], d["models"][st]["state_dict"]
    assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x), f"{st} differs from the measured pipeline"
print("identical to the measured soup_k pipeline")
PY
cp $S/cluenet_demo.pt models/cluenet_demo.pt
sha256sum models/cluenet_demo.pt; ls -l models/cluenet_demo.pt
