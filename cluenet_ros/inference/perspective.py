"""Perspective rescoring: lower the score of a box whose height no standing person could
have at its foot row, given the other people in the same frame.

For a camera above flat ground, an upright object of height H whose feet touch the ground
at image row y_b appears h = (H / camera height) * (y_b - y_horizon) pixels tall, so
pedestrians of one frame fall near one line in (y_b, h), whatever the camera's height,
pitch or focal length. ClueNet's boxes cover the whole body, hidden parts included, so the
line holds for occluded people too. The line is fitted to the frame's confident detections
(no camera parameters needed); a box far off it (a post base half a person's height, litter
on the grass) is unlikely to be a person. A frame with too few confident people, and any
box whose height the image edge cuts, is left as it is. No ROS, no torch: numbers in,
numbers out.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cluenet_ros.config import ConfigError

MIN_ANCHORS = 3
INLIER_LOG_RATIO = 0.15        # |ln(h / h_line)| of an anchor on the line (people of one frame: about +-12% in height)
SLOPE_RANGE = (0.05, 3.0)      # person height / camera height: a 0.6 m to a 34 m high camera
MIN_BOTTOM_GAP = 2.0           # px between two anchors' bottoms for a line through them
EDGE_MARGIN = 1.0              # px: a box this close to the top or bottom edge has a cut height


@dataclass(frozen=True)
class PerspectiveSettings:
    anchor_score: float = 0.9  # detections that fit the line
    tolerance: float = 0.2     # |ln(h / h_line)| allowed before the score falls
    sigma: float = 0.1         # how fast it falls beyond the tolerance

    def __post_init__(self):
        problems = []
        if not 0.0 < self.anchor_score <= 1.0:
            problems.append(f"anchor_score must be in (0, 1], got {self.anchor_score}")
        if not (math.isfinite(self.tolerance) and self.tolerance >= 0.0):
            problems.append(f"tolerance must be >= 0, got {self.tolerance}")
        if not (math.isfinite(self.sigma) and self.sigma > 0.0):
            problems.append(f"sigma must be > 0, got {self.sigma}")
        if problems:
            raise ConfigError("perspective rescoring: " + "; ".join(problems))


def fit_height_line(boxes: np.ndarray, scores: np.ndarray, anchor_score: float,
                    image_height: float | None = None) -> tuple[float, float] | None:
    """(a, c) of h = a * y_bottom + c through the frame's confident boxes, or None.
    With ``image_height``, boxes that touch the top or bottom edge (a cut height) are
    no anchors.

    Every pair of anchors proposes a line; the one whose inliers carry the largest score
    sum wins (a consensus, so a few confident non-people do not bend it), and is refit by
    least squares on its inliers."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    usable = scores >= anchor_score
    if image_height is not None:
        usable &= ~edge_cut(boxes, image_height)
    idx = np.flatnonzero(usable)
    if len(idx) < MIN_ANCHORS:
        return None
    idx = idx[np.argsort(-scores[idx], kind="mergesort")]
    yb, h, w = boxes[idx, 3], boxes[idx, 3] - boxes[idx, 1], scores[idx]
    if np.any(h <= 0):
        keep = h > 0
        yb, h, w = yb[keep], h[keep], w[keep]
        if len(yb) < MIN_ANCHORS:
            return None
    best = _consensus(yb, h, w)
    if best is None or best.sum() < MIN_ANCHORS:
        return None
    a, c = np.polyfit(yb[best], h[best], 1)
    if not SLOPE_RANGE[0] <= a <= SLOPE_RANGE[1]:
        return None
    return float(a), float(c)


def _consensus(yb: np.ndarray, h: np.ndarray, w: np.ndarray, chunk: int = 20000) -> np.ndarray | None:
    """The inliers of the pair line with the largest inlier score sum (the first such
    pair in score order), or None. Pairs are scored in blocks of ``chunk`` as arrays:
    a crowd of 60 confident people is 1,770 pairs."""
    first, second = np.triu_indices(len(yb), 1)
    best, best_support = None, 0.0
    for lo in range(0, len(first), chunk):
        i, j = first[lo:lo + chunk], second[lo:lo + chunk]
        dy = yb[j] - yb[i]
        ok = np.abs(dy) >= MIN_BOTTOM_GAP
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(ok, (h[j] - h[i]) / np.where(ok, dy, 1.0), 0.0)
            ok &= (a >= SLOPE_RANGE[0]) & (a <= SLOPE_RANGE[1])
            c = h[i] - a * yb[i]
            ok &= -c / np.where(ok, a, 1.0) < np.minimum(yb[i], yb[j])   # the horizon above both feet
            expected = a[:, None] * yb[None, :] + c[:, None]
            inliers = (expected > 0) & (np.abs(np.log(h[None, :] / expected)) <= INLIER_LOG_RATIO)
        support = np.where(ok, (inliers * w[None, :]).sum(axis=1), 0.0)
        if not len(support):
            continue
        top = float(support.max())
        if top > best_support + 1e-12:
            k = int(np.flatnonzero(support >= top - 1e-12)[0])
            best, best_support = inliers[k], top
    return best


def edge_cut(boxes: np.ndarray, image_height: float) -> np.ndarray:
    return (boxes[:, 1] <= EDGE_MARGIN) | (boxes[:, 3] >= image_height - EDGE_MARGIN)


def rescore(boxes: np.ndarray, scores: np.ndarray, image_height: int,
            settings: PerspectiveSettings = PerspectiveSettings()) -> np.ndarray:
    """The scores, each multiplied by how well its box's height fits the frame's line
    (1 within ``tolerance``, a Gaussian fall beyond it, 0 for feet at or above the
    horizon). Unchanged where no line fits."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    line = fit_height_line(boxes, scores, settings.anchor_score, image_height)
    if line is None:
        return scores.copy()
    a, c = line
    yb, h = boxes[:, 3], boxes[:, 3] - boxes[:, 1]
    expected = a * yb + c
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where((expected > 0) & (h > 0), np.abs(np.log(h / expected)), np.inf)
    excess = np.maximum(0.0, d - settings.tolerance)
    factor = np.exp(-excess ** 2 / (2.0 * settings.sigma ** 2))
    factor[edge_cut(boxes, image_height)] = 1.0
    return scores * factor


def rescore_detections(boxes: np.ndarray, scores: np.ndarray, image_height: int, settings: PerspectiveSettings,
                       score_threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the detections to keep after rescoring, best first, and their new
    scores: what the pipelines publish (a score that falls to ``score_threshold`` or
    below leaves, as torchvision's RoI heads drop boxes at the threshold)."""
    new = rescore(boxes, scores, image_height, settings)
    rows = np.flatnonzero(new > score_threshold)
    rows = rows[np.argsort(-new[rows], kind="mergesort")]
    return rows, new[rows]
