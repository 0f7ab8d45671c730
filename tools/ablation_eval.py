#!/usr/bin/env python3
"""Scores the issue-17 ablation runs (tools/ablation_study.sh) and writes
docs/accuracy/ablation.json:

    {"variants": {"full": {"ap_vs_occlusion": {"0.2": AP, ..., "0.7": AP},
                           "target_domain_ap": AP, "iterations": N, "seeds": [..]}, ...}}

AP is COCO's OKS keypoint AP (0-1, the 13-keypoint sigmas) of stage 2 on true crops
(the ground-truth box and person mask, as the trainer's validation): on the source
domain's validation people hidden by black patches at 20-70%, and on the target
domain's validation people (not hidden). Each figure is the mean over the seeds of
the runs' last.pt (the end of the common budget: nothing is selected on these splits),
with the per-seed values and each run's wall time beside it."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cluenet_ros.models.checkpoint import load_models
from cluenet_training.config import Stage2ValidationConfig, ap_key
from cluenet_training.datasets import VISIBILITY, CocoPersons
from cluenet_training.stage2 import runs_visibility, validate

LEVELS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def score(checkpoint: Path, source_val: CocoPersons, target_val: CocoPersons, people: int, padding: float,
          flip_test: bool = False) -> dict:
    model = load_models(checkpoint, ("stage2",))["stage2"].float()
    device = torch.device("cpu")
    hidden = validate(model, source_val, people, padding, device,
                      Stage2ValidationConfig(hidden_fractions=LEVELS, flip_test=flip_test))
    target = validate(model, target_val, people, padding, device,
                      Stage2ValidationConfig(hidden_fractions=(0.0,), flip_test=flip_test))
    return {"ap_vs_occlusion": {str(lv): hidden[ap_key(lv)] for lv in LEVELS}, "target_domain_ap": target["ap_0"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--variants", nargs="+", required=True)
    ap.add_argument("--seeds", nargs="+", type=int, required=True)
    ap.add_argument("--source-val", type=Path, required=True)
    ap.add_argument("--target-val", type=Path, required=True)
    ap.add_argument("--people", type=int, default=300, help="validation people per domain")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--flip-test", action="store_true", help="score with the flip test (each crop and its mirror)")
    ap.add_argument("--visibility", choices=VISIBILITY,
                    help="which validation people count as fully visible (default: as the runs validated)")
    a = ap.parse_args()
    visibility = a.visibility or runs_visibility(
        [a.runs / v / f"seed{s}" / "last.pt" for v in a.variants for s in a.seeds])
    source_val = CocoPersons(a.source_val / "coco_keypoints.json", a.source_val, visibility=visibility)
    target_val = CocoPersons(a.target_val / "coco_keypoints.json", a.target_val, visibility=visibility)
    report = {"variants": {}, "visibility": visibility, **({"flip_test": True} if a.flip_test else {})}
    for variant in a.variants:
        per_seed, iterations, seconds = [], set(), []
        for seed in a.seeds:
            ckpt = a.runs / variant / f"seed{seed}" / "last.pt"
            state = torch.load(ckpt, weights_only=True)
            iterations.add(int(state["training"]["iteration"]))
            seconds.append(state["training"].get("train_seconds"))  # None: run older than the field
            padding = float(state["train_config"]["crop_padding"])
            per_seed.append(score(ckpt, source_val, target_val, a.people, padding, a.flip_test))
        if len(iterations) != 1:
            raise SystemExit(f"{variant}: the seeds' runs stopped at different iterations {sorted(iterations)}; "
                             "finish them (tools/ablation_study.sh resumes)")
        levels = list(per_seed[0]["ap_vs_occlusion"])
        report["variants"][variant] = {
            "ap_vs_occlusion": {lv: float(np.mean([s["ap_vs_occlusion"][lv] for s in per_seed])) for lv in levels},
            "target_domain_ap": float(np.mean([s["target_domain_ap"] for s in per_seed])),
            "iterations": iterations.pop(), "seeds": list(a.seeds),
            # the spread behind each mean, and what each run cost (wall time, training + validation)
            "ap_vs_occlusion_per_seed": {lv: [s["ap_vs_occlusion"][lv] for s in per_seed] for lv in levels},
            "target_domain_ap_per_seed": [s["target_domain_ap"] for s in per_seed],
            "train_seconds_per_seed": seconds}
        print(variant, json.dumps(report["variants"][variant]), flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
