"""Keypoint AP with pycocotools' COCOeval, using the 13-keypoint OKS sigmas.

``keypoint_ap`` scores the labelled keypoints (v > 0), as the paper does. Ground
truth and results may hold COCO's 17 keypoints (a real person_keypoints file, a
COCO-17 detector's results): they are mapped to the 13 of the schema
(``keypoints.from_coco17``) and scored with its sigmas, so the figures are 13-keypoint
AP, not comparable with COCO's 17-keypoint leaderboard.
``occluded_keypoint_ap`` scores only keypoints that were hidden, against their
true positions; it needs ground truth that knows them (the synthetic sets keep
them in the extra annotation field ``keypoints_full``: 13 x (x, y, v) with v = 2
visible and v = 1 occluded).
"""
from __future__ import annotations

import contextlib
import copy
import io
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.errors import EvaluationInputError, read_json

STATS = ("AP", "AP50", "AP75", "APM", "APL")
FULL_FIELD = "keypoints_full"


def load_coco(source: str | Path | Mapping[str, Any]) -> dict:
    name = "<ground truth>" if isinstance(source, Mapping) else str(source)
    data = copy.deepcopy(source) if isinstance(source, Mapping) else read_json(source)
    if not isinstance(data, Mapping) or not all(isinstance(data.get(k), list)
                                                 for k in ("images", "annotations")):
        raise EvaluationInputError(name, "expected a COCO object with 'images' and 'annotations' lists")
    coco17 = False
    for i, ann in enumerate(data["annotations"]):
        k = ann.get("keypoints") if isinstance(ann, Mapping) else None
        if isinstance(k, list) and len(k) == 3 * len(kp.COCO_NAMES):
            k = ann["keypoints"] = kp.from_coco17(k).ravel().tolist()
            ann["num_keypoints"] = int(np.count_nonzero(np.asarray(k)[2::3] > 0))
            coco17 = True
        if not isinstance(k, list) or len(k) != 3 * kp.NUM_KEYPOINTS:
            raise EvaluationInputError(name, f"annotations[{i}].keypoints must hold "
                                             f"{3 * kp.NUM_KEYPOINTS} numbers (13 x, y, v) or "
                                             f"{3 * len(kp.COCO_NAMES)} (COCO's 17)")
        for key in ("image_id", "bbox", "area"):
            if key not in ann:
                raise EvaluationInputError(name, f"annotations[{i}] has no '{key}'")
        ann.setdefault("iscrowd", 0)
        ann.setdefault("num_keypoints", int(np.count_nonzero(np.asarray(k)[2::3] > 0)))
        ann.setdefault("category_id", 1)
    if coco17 or "categories" not in data:
        data["categories"] = [kp.coco_category()]
    return dict(data)


def check_results(results: Sequence[Mapping[str, Any]], gt: Mapping, name: str = "<results>") -> list:
    if not isinstance(results, list):
        raise EvaluationInputError(name, "expected a list of keypoint results")
    ids = {img["id"] for img in gt["images"]}
    for i, r in enumerate(results):
        if not isinstance(r, Mapping) or not {"image_id", "keypoints", "score"} <= set(r):
            raise EvaluationInputError(name, f"[{i}] needs image_id, keypoints and score")
        if r["image_id"] not in ids:
            raise EvaluationInputError(name, f"[{i}] refers to image_id {r['image_id']!r}, "
                                             "which the ground truth does not have")
        if len(r["keypoints"]) not in (3 * kp.NUM_KEYPOINTS, 3 * len(kp.COCO_NAMES)):
            raise EvaluationInputError(name, f"[{i}].keypoints must hold {3 * kp.NUM_KEYPOINTS} numbers "
                                             f"(or {3 * len(kp.COCO_NAMES)}, COCO's 17)")
    return [dict(r, category_id=r.get("category_id", 1),
                 keypoints=(kp.from_coco17(r["keypoints"]).ravel().tolist()
                            if len(r["keypoints"]) == 3 * len(kp.COCO_NAMES) else r["keypoints"]))
            for r in results]


def evaluated(gt: Mapping, results: list) -> COCOeval:
    """COCOeval with its per-image matching done (``evaluate``), not yet accumulated:
    what :mod:`cluenet_ros.evaluation.pose_uncertainty` resamples. ``gt`` as
    :func:`load_coco` returns it; ``results`` checked and non-empty."""
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = copy.deepcopy(dict(gt))
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(copy.deepcopy(results))
        ev = COCOeval(coco_gt, coco_dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = kp.OKS_SIGMAS.copy()
        ev.evaluate()
    return ev


def _coco_eval(gt: Mapping, results: list) -> dict[str, float]:
    labelled = any(a.get("num_keypoints", 0) > 0 for a in gt["annotations"])
    if not labelled:
        return {s: float("nan") for s in STATS}  # nothing to score
    if not results:
        return {s: 0.0 for s in STATS}  # people to find, none predicted
    ev = evaluated(gt, results)
    with contextlib.redirect_stdout(io.StringIO()):
        ev.accumulate()
        ev.summarize()
    # COCOeval's keypoint stats: AP, AP50, AP75, APM, APL, AR, ...; -1 means "no data"
    return {s: (float(v) if v >= 0 else float("nan")) for s, v in zip(STATS, ev.stats[:5])}


def keypoint_ap(gt_source, results, results_name: str = "<results>") -> dict[str, float]:
    gt = load_coco(gt_source)
    if not isinstance(results, list):
        results = read_json(results)
        results_name = str(results_name)
    return _coco_eval(gt, check_results(results, gt, results_name))


def occluded_only(gt: Mapping) -> dict | None:
    """Ground truth whose only labelled keypoints are the occluded ones, at their
    true positions; None when the file has no ``keypoints_full``."""
    anns = gt["annotations"]
    if not anns or not all(FULL_FIELD in a for a in anns):
        return None
    out = copy.deepcopy(dict(gt))
    for a in out["annotations"]:
        full = np.asarray(a[FULL_FIELD], dtype=np.float64).reshape(-1, 3)
        hidden = full[:, 2] == 1
        k = np.zeros_like(full)
        k[hidden, :2] = full[hidden, :2]
        k[hidden, 2] = 2
        a["keypoints"] = k.ravel().tolist()
        a["num_keypoints"] = int(hidden.sum())
    return out


def occluded_keypoint_ap(gt_source, results, results_name: str = "<results>") -> dict[str, float] | None:
    gt = load_coco(gt_source)
    occ = occluded_only(gt)
    if occ is None:
        return None
    if not isinstance(results, list):
        results = read_json(results)
    return _coco_eval(occ, check_results(results, gt, results_name))


def keypoints_inside_masks(keypoints: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> float:
    """Share of predicted keypoints (x, y in pixels) that fall inside the matching
    ground-truth instance mask: the paper's measure for data without pose labels."""
    inside = total = 0
    for pts, mask in zip(keypoints, masks):
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, pts.shape[-1])
        h, w = mask.shape
        col, row = np.floor(pts[:, 0]).astype(int), np.floor(pts[:, 1]).astype(int)
        ok = (col >= 0) & (col < w) & (row >= 0) & (row < h)
        hit = np.zeros(len(pts), dtype=bool)
        hit[ok] = mask[row[ok], col[ok]] > 0
        inside += int(hit.sum())
        total += len(pts)
    return inside / total if total else float("nan")
