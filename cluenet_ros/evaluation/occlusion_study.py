"""AP against occlusion (the paper's Table 3): fully visible people are cut out
with their ground-truth box and mask, hidden by black patches covering a given
share of the person, and their pose is predicted by stage 2 alone."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from cluenet_ros.evaluation.pose import keypoint_ap
from cluenet_ros.inference.geometry import crop_to_image
from cluenet_ros.models.heatmaps import decode_heatmaps
from cluenet_ros.occlusion import random_patches

LEVELS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)


def fully_visible(ann: dict, min_visibility: float = 0.95) -> bool:
    """All 13 keypoints visible and (where known) almost no part of the body hidden."""
    k = np.asarray(ann["keypoints"]).reshape(-1, 3)
    return bool((k[:, 2] == 2).all()) and float(ann.get("vis_ratio", 1.0)) >= min_visibility


class ClueNetProbe:
    """Stage 2 alone on ground-truth crops: each person is cut out with its full box
    and mask (as the pipeline crops), then black patches hide ``level`` of it."""

    def __init__(self, pipeline, samples: Sequence[tuple[np.ndarray, np.ndarray, dict]]):
        self.pipeline = pipeline
        device = pipeline.device
        crops, masks, regions = [], [], []
        with torch.inference_mode():
            for rgb, mask, ann in samples:
                x, y, w, h = ann.get("full_bbox", ann["bbox"])
                box = torch.tensor([[x, y, x + w, y + h]], dtype=torch.float32, device=device)
                m = torch.from_numpy(mask.astype(bool)).to(device)
                c, cm, r = pipeline._crop([pipeline._to_tensor(rgb)], [m], [box])
                crops.append(c)
                masks.append(cm)
                regions.append(r)
        self.crops, self.regions = torch.cat(crops), torch.cat(regions)
        self.person = (torch.cat(masks) > 0.5).cpu().numpy()

    def __call__(self, level: float, rng: np.random.Generator) -> np.ndarray:
        p = self.pipeline
        hidden = np.stack([random_patches(m, level, rng) for m in self.person])
        with torch.inference_mode():
            occluded = self.crops * torch.from_numpy(~hidden).to(p.device)[:, None]
            with p._autocast():
                heat = p.stage2(p._layout(occluded))
            kps = decode_heatmaps(heat.float(), p.stage2.config.heatmap_stride)
            return crop_to_image(kps, self.regions, p.crop_hw).cpu().numpy()


def ap_against_occlusion(probe, anns: Sequence[dict], coco_gt: dict, levels: Sequence[float] = LEVELS,
                         seed: int = 0) -> dict[float, float]:
    """AP per occlusion level, scored by COCOeval against the full keypoints.

    ``probe(level, rng)`` returns (N, 13, 3) keypoints (x, y, score) in image pixels
    for the N fully visible people ``anns`` with ``level`` of each hidden;
    ``ClueNetProbe`` is ClueNet's, the baseline has its own.
    """
    if not len(anns):
        return {lv: float("nan") for lv in levels}
    ids = {a["id"] for a in anns}
    gt = dict(coco_gt, annotations=[a for a in coco_gt["annotations"] if a["id"] in ids],
              images=[i for i in coco_gt["images"] if i["id"] in {a["image_id"] for a in anns}])
    out = {}
    for level in levels:
        rng = np.random.default_rng([seed, int(round(level * 100))])
        kps = probe(level, rng)
        results = []
        for ann, k in zip(anns, kps):
            flat = np.c_[k[:, :2], np.ones(len(k))].ravel().tolist()
            results.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": flat,
                            "score": float(np.clip(k[:, 2], 0, 1).mean())})
        out[level] = keypoint_ap(gt, results)["AP"]
    return out


def plot(levels_ap: dict[float, float], path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [100 * k for k in levels_ap]
    ys = [100 * v for v in levels_ap.values()]
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    ax.plot(xs, ys, marker="o")
    ax.set_xlabel("hidden share of the person (%)")
    ax.set_ylabel("keypoint AP (%)")
    ax.set_title("AP against occlusion")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
