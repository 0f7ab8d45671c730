#!/usr/bin/env python3
"""How far the ablation's AP differences stand above the noise of its validation
people: a paired bootstrap over people.

Each run's stage 2 predicts every validation person once per hidden share (the
fixed patches of tools/ablation_eval.py). Then ``--resamples`` times the people are
drawn with replacement, the same draw for every run, and COCO OKS AP is recomputed
on the draw. The report gives each run's AP with its 95% percentile interval,
and, for each pair of runs, the difference with its interval and the share of
draws in which the first run is ahead. A difference whose interval holds 0 is not
shown by these people.

    tools/ablation_bootstrap.py --runs runs/ablation17_realistic --variants full no_mask_and_predict \\
        no_domain_adaptation --seed 1 --source-val data/ablation_realistic/source/val \\
        --target-val data/ablation_realistic/target/val --out docs/accuracy/ablation_realistic_bootstrap.json
"""
from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import torch
from cluenet_ros.evaluation.pose import keypoint_ap
from cluenet_ros.models.checkpoint import load_models
from cluenet_training.config import Stage2ValidationConfig
from cluenet_training.datasets import VISIBILITY, CocoPersons
from cluenet_training.stage2 import crop_predictions, runs_visibility, validation_ground_truth

LEVELS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def resampled_ap(gt: dict, results: list[dict], draw: np.ndarray) -> float:
    """COCO OKS AP (the project's keypoint_ap) with person ``draw[j]`` as the only
    person of image j, so a person drawn twice counts twice."""
    anns = gt["annotations"]
    sample_gt = {"images": [{"id": j + 1, "width": 1, "height": 1} for j in range(len(draw))],
                 "categories": gt["categories"],
                 "annotations": [dict(anns[i], id=j + 1, image_id=j + 1) for j, i in enumerate(draw)]}
    return keypoint_ap(sample_gt, [dict(results[i], image_id=j + 1) for j, i in enumerate(draw)])["AP"]


def bootstrap(gt: dict, results: dict[str, list[dict]], resamples: int, seed: int) -> dict:
    """Paired bootstrap of AP over people for the runs in ``results`` (same draws)."""
    n = len(gt["annotations"])
    rng = np.random.default_rng(seed)
    draws = [np.arange(n)] + [rng.integers(0, n, n) for _ in range(resamples)]
    aps = {name: np.array([resampled_ap(gt, res, d) for d in draws]) for name, res in results.items()}
    out = {"people": n, "runs": {}, "pairs": {}}
    for name, a in aps.items():
        lo, hi = np.percentile(a[1:], [2.5, 97.5])
        out["runs"][name] = {"ap": float(a[0]), "ci95": [float(lo), float(hi)]}
    for x, y in itertools.combinations(aps, 2):
        d = aps[x] - aps[y]
        lo, hi = np.percentile(d[1:], [2.5, 97.5])
        out["pairs"][f"{x} - {y}"] = {"difference": float(d[0]), "ci95": [float(lo), float(hi)],
                                      "share_first_ahead": float((d[1:] > 0).mean())}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=Path, required=True)
    ap.add_argument("--variants", nargs="+", required=True)
    ap.add_argument("--seed", type=int, default=1, help="the runs' training seed (runs/VARIANT/seedN)")
    ap.add_argument("--source-val", type=Path, required=True)
    ap.add_argument("--target-val", type=Path, required=True)
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--bootstrap-seed", type=int, default=0)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--visibility", choices=VISIBILITY,
                    help="which validation people count as fully visible (default: as the runs validated)")
    a = ap.parse_args()
    if a.resamples < 10:
        raise SystemExit("--resamples: at least 10")
    visibility = a.visibility or runs_visibility([a.runs / v / f"seed{a.seed}" / "last.pt" for v in a.variants])
    domains = {"source": CocoPersons(a.source_val / "coco_keypoints.json", a.source_val, visibility=visibility),
               "target": CocoPersons(a.target_val / "coco_keypoints.json", a.target_val, visibility=visibility)}
    checks = [("source", lv) for lv in LEVELS] + [("target", 0.0)]
    models, padding = {}, {}
    for v in a.variants:
        ckpt = a.runs / v / f"seed{a.seed}" / "last.pt"
        models[v] = load_models(ckpt, ("stage2",))["stage2"].float()
        padding[v] = float(torch.load(ckpt, weights_only=True)["train_config"]["crop_padding"])
    report = {"resamples": a.resamples, "seed": a.seed, "visibility": visibility, "levels": {}}
    device = torch.device("cpu")
    for domain, level in checks:
        data = domains[domain]
        gt = validation_ground_truth(data, a.people)
        results = {v: crop_predictions(models[v], data, a.people, padding[v], device, level,
                                       Stage2ValidationConfig()) for v in a.variants}
        key = "target" if domain == "target" else str(level)
        report["levels"][key] = bootstrap(gt, results, a.resamples, a.bootstrap_seed)
        print(key, json.dumps(report["levels"][key]["pairs"]), flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
