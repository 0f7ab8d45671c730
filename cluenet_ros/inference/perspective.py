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
    best, best_support = None, 0.0
    for i in range(len(yb)):
        for j in range(i + 1, len(yb)):
            if abs(yb[j] - yb[i]) < MIN_BOTTOM_GAP:
                continue
            a = (h[j] - h[i]) / (yb[j] - yb[i])
            if not SLOPE_RANGE[0] <= a <= SLOPE_RANGE[1]:
                continue
            c = h[i] - a * yb[i]
            horizon = -c / a
            if horizon >= min(yb[i], yb[j]):
                continue
            inliers = _inliers(yb, h, a, c)
            support = float(w[inliers].sum())
            if support > best_support + 1e-12:
                best, best_support = inliers, support
    if best is None or best.sum() < MIN_ANCHORS:
        return None
    a, c = np.polyfit(yb[best], h[best], 1)
    if not SLOPE_RANGE[0] <= a <= SLOPE_RANGE[1]:
        return None
    return float(a), float(c)


def edge_cut(boxes: np.ndarray, image_height: float) -> np.ndarray:
    return (boxes[:, 1] <= EDGE_MARGIN) | (boxes[:, 3] >= image_height - EDGE_MARGIN)


def _inliers(yb: np.ndarray, h: np.ndarray, a: float, c: float) -> np.ndarray:
    expected = a * yb + c
    out = np.zeros(len(yb), dtype=bool)
    ok = expected > 0
    out[ok] = np.abs(np.log(h[ok] / expected[ok])) <= INLIER_LOG_RATIO
    return out


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
