"""How much the real-image check's figures could move with other images.

The check holds a few dozen people in about a dozen photographs, so its figures
move by tens of points between neighbouring checkpoints of one run. Before two
models are said to differ on it, the difference should outlast resampling the
images: a percentile bootstrap over images (an image's people and detections stay
together, since they are not independent), and for two models the *paired*
bootstrap, which draws the same images for both so that what the images have in
common cancels.

Works on the ``per_image`` rows that ``cluenet eval real --json`` writes for each
detector (:func:`cluenet_ros.evaluation.real_check.per_image`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from cluenet_ros.evaluation.real_check import figures

METRICS = ("recall", "ap", "fp_per_image", "max_recall")


def _draws(n_images: int, samples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_images, size=(samples, n_images))


def _interval(values: np.ndarray, level: float) -> list[float]:
    tail = 100 * (1 - level) / 2
    lo, hi = np.nanpercentile(values, [tail, 100 - tail])
    return [float(lo), float(hi)]


def bootstrap(rows: Sequence[dict], samples: int = 2000, level: float = 0.95, seed: int = 0) -> dict:
    """Each figure with its percentile interval: ``{metric: {"value", "interval"}}``."""
    if not rows:
        raise ValueError("no images to resample")
    point = figures(rows)
    draws = _draws(len(rows), samples, seed)
    values = {m: np.empty(samples) for m in METRICS}
    for k, idx in enumerate(draws):
        f = figures([rows[i] for i in idx])
        for m in METRICS:
            values[m][k] = f[m]
    return {m: {"value": point[m], "interval": _interval(values[m], level)} for m in METRICS}


def paired_difference(rows_a: Sequence[dict], rows_b: Sequence[dict], samples: int = 2000, level: float = 0.95,
                      seed: int = 0) -> dict:
    """b minus a for each figure, with the interval of the paired bootstrap and the
    share of draws in which b is ahead (``p_b_higher``; ties count half)."""
    files_a = [r["file"] for r in rows_a]
    files_b = [r["file"] for r in rows_b]
    if files_a != files_b:
        raise ValueError("the two reports hold different images (or another order): "
                         f"{len(files_a)} vs {len(files_b)} images; run both on the same check set")
    if not rows_a:
        raise ValueError("no images to resample")
    fa, fb = figures(rows_a), figures(rows_b)
    draws = _draws(len(rows_a), samples, seed)
    diffs = {m: np.empty(samples) for m in METRICS}
    for k, idx in enumerate(draws):
        da = figures([rows_a[i] for i in idx])
        db = figures([rows_b[i] for i in idx])
        for m in METRICS:
            diffs[m][k] = db[m] - da[m]
    out = {}
    for m in METRICS:
        d = diffs[m][~np.isnan(diffs[m])]
        out[m] = {"a": fa[m], "b": fb[m], "difference": fb[m] - fa[m], "interval": _interval(diffs[m], level),
                  "p_b_higher": float(np.mean(d > 0) + 0.5 * np.mean(d == 0)) if len(d) else float("nan")}
    return out


def leave_one_source_out(rows_a: Sequence[dict], rows_b: Sequence[dict], source_of: dict[str, str]) -> dict:
    """b minus a for each figure with each source's images left out in turn.

    The image bootstrap treats images as independent, but the check's images are mostly
    frames of one fixed camera, whose static objects are false positives in every frame
    (session 44). With three sources a bootstrap over sources says nothing, so this
    reports instead whether a difference survives without any one source: ``{"sources":
    {source: images}, "without": {source: {metric: difference}}}``. A source that holds
    every image has no "without" entry."""
    files = [r["file"] for r in rows_a]
    if files != [r["file"] for r in rows_b]:
        raise ValueError("the two reports hold different images (or another order); run both on the same check set")
    missing = [f for f in files if f not in source_of]
    if missing:
        raise ValueError(f"no source known for {missing[:3]}")
    counts: dict[str, int] = {}
    for f in files:
        counts[source_of[f]] = counts.get(source_of[f], 0) + 1
    without = {}
    for src in counts:
        keep = [i for i, f in enumerate(files) if source_of[f] != src]
        if not keep:
            continue
        fa, fb = figures([rows_a[i] for i in keep]), figures([rows_b[i] for i in keep])
        without[src] = {m: fb[m] - fa[m] for m in METRICS}
    return {"sources": counts, "without": without}
