#!/usr/bin/env python3
"""Where stage 2's keypoint AP goes on a synthetic split: left/right confusion
against localisation.

For each validation person (true crop, nothing hidden) it reports, per keypoint,
the median error over the person's height and the share of predictions that lie
nearer the left/right partner's true position than their own (0.5 = the model
cannot tell left from right). Beside it, the AP ceiling of the split itself: the
COCO OKS AP of the true keypoints with each person's left and right exchanged at
random with probability 0, 0.25 and 0.5 (and optionally Gaussian noise), i.e. what
a perfect localiser that guesses which way a person faces would score.

    tools/pose_left_right.py --data data/ablation/source/val --weights models/cluenet_demo.pt \\
        --out docs/accuracy/pose_left_right.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.pose import keypoint_ap
from cluenet_ros.inference.geometry import crop_boxes, crop_to_image
from cluenet_ros.models.checkpoint import load_models
from cluenet_ros.models.heatmaps import decode_heatmaps, flip_test_average
from cluenet_training.datasets import VISIBILITY, CocoPersons
from cluenet_training.transforms import person_crop


def ground_truth(data: CocoPersons, people: int) -> dict:
    """The first ``people`` annotations in the 13-keypoint schema, as COCO ground truth."""
    gt = dict(data.coco.dataset)
    ids = {a["id"] for a in data.anns[:people]}
    anns = [a for a in gt["annotations"] if a["id"] in ids]
    gt["annotations"] = [dict(a, keypoints=k.ravel().tolist(), num_keypoints=int((k[:, 2] > 0).sum()))
                         for a, k in zip(anns, (data.keypoints_of(a) for a in anns))]
    gt["categories"] = [kp.coco_category()]
    return gt


def swap_ceiling(data: CocoPersons, people: int, p: float, noise: float, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    perm = kp.flip_permutation()
    results = []
    for i, ann in enumerate(data.anns[:people]):
        rec = data[i]
        k = rec.keypoints.astype(float)
        if rng.random() < p:
            k = k[perm]
        k[:, :2] += rng.normal(0.0, noise * (rec.box[3] - rec.box[1]), size=(len(k), 2))
        results.append({"image_id": ann["image_id"], "category_id": 1, "score": 1.0,
                        "keypoints": np.c_[k[:, :2], np.ones(len(k))].ravel().tolist()})
    return float(keypoint_ap(ground_truth(data, people), results)["AP"])


@torch.inference_mode()
def model_errors(weights: Path, data: CocoPersons, people: int, padding: float, flip_test: bool) -> dict:
    model = load_models(weights, ("stage2",))["stage2"].float().eval()
    hw = tuple(model.config.input_size)
    perm = np.array(kp.flip_permutation())
    paired = perm != np.arange(len(perm))
    errors, nearer_partner, heights, confidences = [], [], [], []
    for i in range(min(people, len(data.anns))):
        rec = data[i]
        crop = person_crop(rec, hw, padding, None)[0][None]
        heat = model(crop)
        if flip_test:
            heat = flip_test_average(heat, model(crop.flip(-1)))
        region = crop_boxes(torch.from_numpy(rec.box)[None].float(), hw, padding)
        decoded = crop_to_image(decode_heatmaps(heat, model.config.heatmap_stride), region, hw)[0].numpy()
        pred = decoded[:, :2]
        confidences.append(float(decoded[:, 2].mean()))
        truth, labelled = rec.keypoints[:, :2], rec.keypoints[:, 2] > 0
        own = np.linalg.norm(pred - truth, axis=1)
        partner = np.linalg.norm(pred - truth[perm], axis=1)
        height = float(rec.box[3] - rec.box[1])
        errors.append(np.where(labelled, own / height, np.nan))
        nearer_partner.append(np.where(labelled & paired, (partner < own).astype(float), np.nan))
        heights.append(height)
    errors, nearer_partner = np.array(errors), np.array(nearer_partner)
    return {"people": len(errors), "flip_test": flip_test,
            "median_error_over_height": dict(zip(kp.NAMES, np.nanmedian(errors, 0).round(4).tolist())),
            "median_error_over_height_all": float(np.nanmedian(errors)),
            # PCK: the share of labelled keypoints within 2% / 5% / 10% of the person's height
            "within_share_of_height": {str(t): float(np.nanmean(np.where(np.isnan(errors), np.nan, errors <= t)))
                                       for t in (0.02, 0.05, 0.1)},
            "median_confidence": float(np.median(confidences)),
            "nearer_partner_share": {n: float(np.nanmean(nearer_partner[:, j]))
                                     for j, n in enumerate(kp.NAMES) if paired[j]},
            "nearer_partner_share_all": float(np.nanmean(nearer_partner)),
            "median_person_height_px": float(np.median(heights))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True, help="split folder with coco_keypoints.json")
    ap.add_argument("--weights", type=Path, nargs="*", default=[], help="checkpoints holding a stage 2")
    ap.add_argument("--people", type=int, default=300)
    ap.add_argument("--padding", type=float, default=1.1)
    ap.add_argument("--flip-test", action="store_true")
    ap.add_argument("--noise", type=float, nargs="*", default=[0.0, 0.02],
                    help="Gaussian keypoint noise of the ceiling, as a share of person height")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--visibility", choices=VISIBILITY, default="coco",
                    help="which people count as fully visible (training/datasets.CocoPersons)")
    a = ap.parse_args()
    data = CocoPersons(a.data / "coco_keypoints.json", a.data, visibility=a.visibility)
    report = {"data": str(a.data), "ceiling_ap": {
        f"swap_{p:g}_noise_{n:g}": swap_ceiling(data, a.people, p, n) for n in a.noise for p in (0.0, 0.25, 0.5)}}
    print(json.dumps(report["ceiling_ap"]), flush=True)
    for w in a.weights:
        report[str(w)] = model_errors(w, data, a.people, a.padding, a.flip_test)
        print(w, json.dumps(report[str(w)]), flush=True)
    if a.out:
        a.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
