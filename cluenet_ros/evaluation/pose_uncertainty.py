"""How far a keypoint-AP difference between two pipelines could move with other images.

End-to-end keypoint AP on a choosing set of a hundred or so synthetic images is a
handful of points; before a stage-2 change ships on such a difference it should
outlast resampling: the paired percentile bootstrap over images, drawing the same
images for both pipelines so that what the images share cancels (the keypoint
counterpart of :mod:`cluenet_ros.evaluation.detection_uncertainty`).

COCO's keypoint matching (OKS, greedy by score, per image and per OKS threshold) never
looks beyond one image, so pycocotools' ``evaluate`` runs once and each draw only
re-runs the accumulation on the drawn images' matches: the figure over all images is
pycocotools' own AP (tested), and a draw costs milliseconds instead of a COCOeval.
Only the summary AP (area 'all', the keypoint ``maxDets`` of 20) is resampled.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from cluenet_ros.evaluation.pose import check_results, evaluated, load_coco, occluded_only


@dataclass(frozen=True)
class KeypointRows:
    """One pipeline on one image: its scored detections (at most COCO's ``maxDets``),
    for each OKS threshold whether each one is a true positive and whether it is
    ignored (matched to crowd ground truth), and how many ground truths count."""
    scores: np.ndarray      # (D,)
    matched: np.ndarray     # (T, D) bool
    ignored: np.ndarray     # (T, D) bool
    positives: int


def keypoint_rows(gt_source, results: Sequence[Mapping], occluded: bool = False) -> tuple[dict, np.ndarray]:
    """``({image_id: KeypointRows}, recall_thresholds)`` for every image of the ground
    truth, each matched as COCOeval matches it. ``occluded``: score only the keypoints
    that were hidden, against their true positions (as ``occluded_keypoint_ap``)."""
    gt = load_coco(gt_source)
    if occluded:
        gt = occluded_only(gt)
        if gt is None:
            raise ValueError("the ground truth has no 'keypoints_full': occluded keypoints are unknown")
    results = check_results(list(results), gt)
    ids = [img["id"] for img in gt["images"]]
    recall_thresholds = np.linspace(0.0, 1.0, 101)  # COCOeval's recThrs
    thresholds = 10  # COCOeval's OKS thresholds 0.50:0.05:0.95

    def nothing_found(positives: int) -> KeypointRows:
        return KeypointRows(np.zeros(0), np.zeros((thresholds, 0), bool), np.zeros((thresholds, 0), bool),
                            positives)

    if not results:
        counted = {i: 0 for i in ids}
        for a in gt["annotations"]:  # COCOeval's rule: a ground truth without keypoints is ignored
            if a.get("num_keypoints", 0) > 0 and not a.get("iscrowd", 0):
                counted[a["image_id"]] += 1
        return {i: nothing_found(n) for i, n in counted.items()}, recall_thresholds
    ev = evaluated(gt, results)
    p = ev.params
    if len(p.iouThrs) != thresholds or not np.allclose(p.recThrs, recall_thresholds):
        raise RuntimeError("pycocotools' keypoint parameters are not COCO's standard ones")
    max_det = p.maxDets[-1]
    rows = {}
    # evalImgs runs over category, area range, image: category 1 and area 'all' come first
    for k, image_id in enumerate(p.imgIds):
        e = ev.evalImgs[k]
        if e is None:  # neither ground truth nor detections
            rows[image_id] = nothing_found(0)
            continue
        rows[image_id] = KeypointRows(np.asarray(e["dtScores"][:max_det], float),
                                      np.asarray(e["dtMatches"][:, :max_det]).reshape(thresholds, -1) > 0,
                                      np.asarray(e["dtIgnore"][:, :max_det], bool).reshape(thresholds, -1),
                                      int(np.count_nonzero(~np.asarray(e["gtIgnore"], bool))))
    return {i: rows.get(i, nothing_found(0)) for i in ids}, recall_thresholds


def pooled_keypoint_ap(rows: Sequence[KeypointRows], recall_thresholds: np.ndarray) -> float:
    """COCO keypoint AP (mean over the OKS thresholds of the interpolated precision at
    the 101 recall points) of the given images' rows, an image listed twice counting
    twice. NaN when no ground truth counts."""
    positives = sum(r.positives for r in rows)
    if positives == 0:
        return float("nan")
    scores = np.concatenate([r.scores for r in rows]) if rows else np.zeros(0)
    order = np.argsort(-scores, kind="mergesort")
    matched = np.concatenate([r.matched for r in rows], axis=1)[:, order]
    ignored = np.concatenate([r.ignored for r in rows], axis=1)[:, order]
    tp = np.cumsum(matched & ~ignored, axis=1, dtype=float)
    fp = np.cumsum(~matched & ~ignored, axis=1, dtype=float)
    aps = []
    for t in range(matched.shape[0]):
        q = np.zeros(len(recall_thresholds))
        if tp.shape[1]:
            recall = tp[t] / positives
            precision = tp[t] / (tp[t] + fp[t] + np.spacing(1))
            precision = np.maximum.accumulate(precision[::-1])[::-1]  # the precision envelope
            idx = np.searchsorted(recall, recall_thresholds, side="left")
            ok = idx < len(precision)
            q[ok] = precision[idx[ok]]
        aps.append(q.mean())
    return float(np.mean(aps))


@dataclass(frozen=True)
class PairedKeypointAP:
    a: float
    b: float
    difference: float           # b - a, AP points as fractions
    interval: tuple[float, float]
    b_ahead: float              # share of draws with b above a
    samples: int


def paired_keypoint_ap_difference(rows_a: Mapping, rows_b: Mapping, recall_thresholds: np.ndarray,
                                  samples: int = 2000, seed: int = 0, level: float = 0.95) -> PairedKeypointAP:
    """B's AP minus A's on the same images, with the paired percentile bootstrap
    interval over images (both pipelines on each draw's images)."""
    if set(rows_a) != set(rows_b):
        raise ValueError("the two pipelines were scored on different images")
    ids = sorted(rows_a)
    a = pooled_keypoint_ap([rows_a[i] for i in ids], recall_thresholds)
    b = pooled_keypoint_ap([rows_b[i] for i in ids], recall_thresholds)
    rng = np.random.default_rng(seed)
    diffs = []
    for _ in range(samples):
        draw = rng.integers(0, len(ids), len(ids))
        da = pooled_keypoint_ap([rows_a[ids[k]] for k in draw], recall_thresholds)
        db = pooled_keypoint_ap([rows_b[ids[k]] for k in draw], recall_thresholds)
        if np.isfinite(da) and np.isfinite(db):
            diffs.append(db - da)
    diffs = np.asarray(diffs)
    tail = (1.0 - level) / 2.0
    lo, hi = np.quantile(diffs, [tail, 1.0 - tail]) if len(diffs) else (float("nan"), float("nan"))
    return PairedKeypointAP(a, b, b - a, (float(lo), float(hi)),
                            float(np.mean(diffs > 0)) if len(diffs) else float("nan"), len(diffs))
