"""How far an MR^-2 difference between two detectors could move with other images.

A choosing set of a few hundred synthetic images ranks models by points of MR^-2 that
single runs of one recipe already spread over (session 37: 42.9% to 54.5% on the same
300 images). Before a margin ships a model it should outlast resampling: the paired
percentile bootstrap over images, drawing the same images for both detectors so that
what the images share cancels.

Several renderings of the same scenes (the same people composited over other
backgrounds, ``cluenet train replate --seed``) are pooled into one figure and
resampled by *scene*: every rendering of a drawn scene comes along, since they share
their people and are not independent draws.

Matching is :func:`cluenet_ros.evaluation.detection.match_image`'s, done once per image;
a draw only re-sorts the matched scores, so the pooled figure over all images equals
:func:`~cluenet_ros.evaluation.detection.evaluate_detections` on the same images.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from cluenet_ros.evaluation.detection import (HEIGHT_EXPANSION, SETUPS, GroundTruth, Setup,
                                              log_average_miss_rate, match_image)


@dataclass(frozen=True)
class ImageRows:
    """One detector on one image, for one setup: the scores of its detections that
    count (not matched to ignored ground truth), whether each is a true positive,
    and the image's regular ground truths."""
    scores: np.ndarray
    true: np.ndarray
    positives: int


def setup_named(name: str) -> Setup:
    for s in SETUPS:
        if s.name == name:
            return s
    raise ValueError(f"unknown setup {name!r}; choose from {', '.join(s.name for s in SETUPS)}")


def image_rows(gt: GroundTruth, dets: Mapping, setup: Setup) -> dict:
    """``{image_id: ImageRows}`` with the setup's height and visibility ranges applied
    as :func:`~cluenet_ros.evaluation.detection.operating_points` applies them."""
    hmin, hmax = setup.height
    vmin, vmax = setup.visibility
    out = {}
    for image_id in gt.image_ids:
        h, v = gt.heights[image_id], gt.visibility[image_id]
        ign = gt.ignore[image_id] | (h < hmin) | (h > hmax) | (v < vmin) | (v > vmax)
        d = dets.get(image_id, np.zeros((0, 5)))
        keep = (d[:, 3] >= hmin / HEIGHT_EXPANSION) & (d[:, 3] < hmax * HEIGHT_EXPANSION)
        s, m, i, n = match_image(d[keep], gt.boxes[image_id], ign)
        out[image_id] = ImageRows(s[~i], m[~i], n)
    return out


def pooled_mr(rows: Sequence[ImageRows]) -> float:
    """MR^-2 (a fraction) of the images in ``rows`` taken as one set."""
    if not rows:
        raise ValueError("no images")
    s = np.concatenate([r.scores for r in rows])
    t = np.concatenate([r.true for r in rows]).astype(bool)
    n = sum(r.positives for r in rows)
    order = np.argsort(-s, kind="mergesort")
    tp, fp = np.cumsum(t[order]), np.cumsum(~t[order])
    fppi = fp / len(rows)
    recall = tp / n if n else np.zeros(len(tp))
    return log_average_miss_rate(fppi, 1.0 - recall, n)


def _scenes(sets: Sequence[Mapping]) -> list:
    if not sets:
        raise ValueError("no image sets")
    ids = list(sets[0])
    for k, s in enumerate(sets[1:], start=1):
        if list(s) != ids:
            raise ValueError(f"set {k} holds other images (or another order) than set 0: {len(s)} vs {len(ids)} "
                             "images; pool only renderings of the same scenes")
    if not ids:
        raise ValueError("no images to resample")
    return ids


def paired_mr_difference(sets_a: Sequence[Mapping], sets_b: Sequence[Mapping], samples: int = 2000,
                         level: float = 0.95, seed: int = 0) -> dict:
    """b minus a in pooled MR^-2 (fractions), with its paired scene-bootstrap interval
    and the share of draws in which b misses less (``p_b_lower``; ties count half).

    ``sets_a[k]`` and ``sets_b[k]`` are :func:`image_rows` of detectors a and b on the
    k-th rendering; every rendering must hold the same image ids in the same order."""
    if len(sets_a) != len(sets_b):
        raise ValueError(f"{len(sets_a)} image sets for a, {len(sets_b)} for b")
    ids = _scenes(list(sets_a) + list(sets_b))
    rows_a = [[s[i] for s in sets_a] for i in ids]
    rows_b = [[s[i] for s in sets_b] for i in ids]

    def mr(rows, idx):
        return pooled_mr([r for i in idx for r in rows[i]])

    everything = range(len(ids))
    a, b = mr(rows_a, everything), mr(rows_b, everything)
    draws = np.random.default_rng(seed).integers(0, len(ids), size=(samples, len(ids)))
    diffs = np.array([mr(rows_b, idx) - mr(rows_a, idx) for idx in draws])
    tail = 100 * (1 - level) / 2
    lo, hi = np.nanpercentile(diffs, [tail, 100 - tail])
    d = diffs[~np.isnan(diffs)]
    return {"a": a, "b": b, "difference": b - a, "interval": [float(lo), float(hi)], "level": level,
            "samples": samples, "seed": seed, "scenes": len(ids), "images": len(ids) * len(sets_a),
            "p_b_lower": float(np.mean(d < 0) + 0.5 * np.mean(d == 0)) if len(d) else float("nan")}
