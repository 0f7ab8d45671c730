#!/usr/bin/env python3
"""Issue 18, deliverable 4: the four arms' table, from the folders tools/real_world_eval.sh
wrote (docs/accuracy/real_world/<prefix>_<arm>_<iterations>/), with each arm's real-image
figures, their paired bootstrap difference from the base arm, and MR^-2 / mask IoU on the
base arm's 150 validation images. ``--start NAME`` adds the common start's row (its
folder measured the same way), so a reader sees which way each arm moved.

    tools/ablation_arms_table.py 600 [--json out.json]                        # session 22
    tools/ablation_arms_table.py 600 --prefix s27/abl --start s27/start_shipped   # session 27
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cluenet_ros.evaluation.real_uncertainty import bootstrap, paired_difference  # noqa: E402

ARMS = {"base": "anny bodies, photo textures, sensor effects", "figure": "capsule-figure bodies",
        "noeffects": "no sensor effects", "flat": "procedural textures, flat skies"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("iterations")
    ap.add_argument("--root", type=Path, default=ROOT / "docs" / "accuracy" / "real_world")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--prefix", default="s22_abl", help="folders are <root>/<prefix>_<arm>_<iterations>")
    ap.add_argument("--start", help="folder (under --root) of the start measured the same way")
    a = ap.parse_args()
    rows, synth, out = {}, {}, {"iterations": int(a.iterations), "arms": {}}
    folders = {arm: a.root / f"{a.prefix}_{arm}_{a.iterations}" for arm in ARMS}
    if a.start:
        folders = {"start": a.root / a.start, **folders}
    for arm, d in folders.items():
        if not (d / "real.json").is_file():
            sys.exit(f"ablation_arms_table: {d / 'real.json'}: not found (run tools/real_world_eval.sh first)")
        real = json.loads((d / "real.json").read_text())
        rows[arm] = real["detectors"]["cluenet"]["per_image"]
        rep = json.loads((d / "full_abl_base" / "report.json").read_text())
        synth[arm] = {"mr_reasonable": rep["detection_mr"]["reasonable"], "mr_all": rep["detection_mr"]["all"],
                      "mask_iou": rep["mask_iou"]}
    print(f"| arm ({a.iterations} iterations) | real recall @0.5 | real AP @0.5 | real FP/img | "
          "AP vs base (95% paired interval) | MR^-2 R base val | MR^-2 All | mask IoU |\n|---|---|---|---|---|---|---|---|")
    for arm in folders:
        what = ARMS.get(arm, "the common start")
        b = bootstrap(rows[arm], a.samples)
        d = paired_difference(rows["base"], rows[arm], a.samples) if arm not in ("base", "start") else None
        out["arms"][arm] = {"what": what, "real": b, "versus_base": d, "synthetic_base_val": synth[arm]}
        vs = (f"{100 * d['ap']['difference']:+.1f} [{100 * d['ap']['interval'][0]:+.1f}, "
              f"{100 * d['ap']['interval'][1]:+.1f}] P {d['ap']['p_b_higher']:.2f}") if d else ""
        s = synth[arm]
        print(f"| {arm}: {what} | {100 * b['recall']['value']:.1f}% | {100 * b['ap']['value']:.1f}% "
              f"[{100 * b['ap']['interval'][0]:.1f}, {100 * b['ap']['interval'][1]:.1f}] | "
              f"{b['fp_per_image']['value']:.2f} | {vs} | {100 * s['mr_reasonable']:.1f}% | {100 * s['mr_all']:.1f}% | "
              f"{100 * s['mask_iou']:.1f}% |")
    if a.json:
        a.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
