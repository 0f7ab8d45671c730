"""Log-average miss rate (MR^-2) following the CityPersons evaluation protocol.

Per setup, a ground-truth pedestrian takes part when its full-body height and
visibility ratio are inside the setup's ranges and it is not flagged ``ignore``;
all others (and ignore regions) become *ignored* ground truth. Detections are kept
when their height is within the height range widened by 1.25 on both sides.
Matching is greedy by descending score at IoU 0.5 (as in COCO's evaluation):
regular ground truth is preferred; a detection may also match ignored ground
truth, measured by intersection over the detection's area, and is then neither a
true nor a false positive. Miss rate is read at nine FPPI points evenly spaced in
log space over [1e-2, 1] and averaged in log space.

One deliberate difference from the widely copied reference script: where no
operating point has an FPPI at or below a reference point, that point's miss
rate is 1 (nothing detected yet), not the final recall that the script's
negative index wraps to.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torchvision.ops import box_convert, box_iou

from cluenet_ros.box_ops import box_ioa
from cluenet_ros.evaluation.errors import EvaluationInputError, read_json

IOU_THRESHOLD = 0.5
HEIGHT_EXPANSION = 1.25
FPPI_POINTS = np.logspace(-2.0, 0.0, 9)


@dataclass(frozen=True)
class Setup:
    name: str
    label: str
    height: tuple[float, float]
    visibility: tuple[float, float]


SETUPS: tuple[Setup, ...] = (
    Setup("reasonable", "Reasonable (R)", (50, math.inf), (0.65, math.inf)),
    Setup("heavy", "Heavy occlusion (HO)", (50, math.inf), (0.20, 0.65)),
    Setup("reasonable_heavy", "R + HO", (50, math.inf), (0.20, math.inf)),
    # the CityPersons "All" setup: smaller people too
    Setup("all", "All", (20, math.inf), (0.20, math.inf)),
)


@dataclass
class GroundTruth:
    image_ids: list
    boxes: dict          # image_id -> (G, 4) xywh
    heights: dict        # image_id -> (G,)
    visibility: dict     # image_id -> (G,)
    ignore: dict         # image_id -> (G,) bool


def load_ground_truth(source: str | Path | Mapping[str, Any]) -> GroundTruth:
    """CityPersons evaluation layout: COCO-like images and annotations with full
    ``bbox`` [x, y, w, h], ``height``, ``vis_ratio`` (or ``vis_bbox``) and ``ignore``."""
    name = "<ground truth>" if isinstance(source, Mapping) else str(source)
    data = source if isinstance(source, Mapping) else read_json(source)
    if not isinstance(data, Mapping) or not isinstance(data.get("images"), list) \
            or not isinstance(data.get("annotations"), list):
        raise EvaluationInputError(name, "expected an object with 'images' and 'annotations' lists")
    ids = []
    for i, img in enumerate(data["images"]):
        if not isinstance(img, Mapping) or "id" not in img:
            raise EvaluationInputError(name, f"images[{i}] has no 'id'")
        ids.append(img["id"])
    rows: dict = {i: [] for i in ids}
    for i, ann in enumerate(data["annotations"]):
        where = f"annotations[{i}]"
        if not isinstance(ann, Mapping):
            raise EvaluationInputError(name, f"{where} is not an object")
        if ann.get("image_id") not in rows:
            raise EvaluationInputError(name, f"{where} refers to unknown image_id {ann.get('image_id')!r}")
        bbox = _box(ann.get("bbox"), name, f"{where}.bbox")
        height = float(ann.get("height", bbox[3]))
        if "vis_ratio" in ann:
            vis = float(ann["vis_ratio"])
        elif "vis_bbox" in ann:
            vb = _box(ann["vis_bbox"], name, f"{where}.vis_bbox")
            vis = (vb[2] * vb[3]) / max(bbox[2] * bbox[3], 1e-12)
        else:
            raise EvaluationInputError(name, f"{where} has neither 'vis_ratio' nor 'vis_bbox'")
        ignore = bool(ann.get("ignore", 0)) or bool(ann.get("iscrowd", 0))
        rows[ann["image_id"]].append((*bbox, height, vis, ignore))
    gt = GroundTruth(ids, {}, {}, {}, {})
    for i in ids:
        a = np.array(rows[i], dtype=np.float64).reshape(-1, 7)
        gt.boxes[i], gt.heights[i], gt.visibility[i] = a[:, :4], a[:, 4], a[:, 5]
        gt.ignore[i] = a[:, 6].astype(bool)
    return gt


def load_detections(source: str | Path | Sequence[Mapping[str, Any]], gt: GroundTruth,
                    category_id: int = 1) -> dict:
    """COCO results format: a list of {image_id, category_id, bbox [x, y, w, h], score}."""
    name = "<detections>" if isinstance(source, (list, tuple)) else str(source)
    data = source if isinstance(source, (list, tuple)) else read_json(source)
    if not isinstance(data, list):
        raise EvaluationInputError(name, "expected a list of detections (COCO results format)")
    known = set(gt.image_ids)
    rows: dict = {i: [] for i in gt.image_ids}
    for i, det in enumerate(data):
        where = f"[{i}]"
        if not isinstance(det, Mapping):
            raise EvaluationInputError(name, f"{where} is not an object")
        for key in ("image_id", "bbox", "score"):
            if key not in det:
                raise EvaluationInputError(name, f"{where} has no '{key}'")
        if det["image_id"] not in known:
            raise EvaluationInputError(name, f"{where} refers to image_id {det['image_id']!r}, "
                                             "which the ground truth does not have")
        if det.get("category_id", category_id) != category_id:
            continue
        rows[det["image_id"]].append((*_box(det["bbox"], name, f"{where}.bbox"), float(det["score"])))
    return {i: np.array(r, dtype=np.float64).reshape(-1, 5) for i, r in rows.items()}


def _box(value: Any, name: str, where: str) -> list[float]:
    if not isinstance(value, (list, tuple)) or len(value) != 4 or \
            not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
        raise EvaluationInputError(name, f"{where} must be 4 numbers [x, y, w, h], got {value!r}")
    return [float(v) for v in value]


def iou_matrix(dt: np.ndarray, gt: np.ndarray, gt_ignore: np.ndarray) -> np.ndarray:
    """IoU of xywh boxes (torchvision's box_iou); against ignored ground truth,
    intersection over the detection's area."""
    if len(dt) == 0 or len(gt) == 0:
        return np.zeros((len(dt), len(gt)))
    d = box_convert(torch.as_tensor(dt, dtype=torch.float64), "xywh", "xyxy")
    g = box_convert(torch.as_tensor(gt, dtype=torch.float64), "xywh", "xyxy")
    iou = box_iou(d, g).nan_to_num(0.0)  # 0/0 for two empty boxes
    return torch.where(torch.as_tensor(gt_ignore, dtype=torch.bool)[None, :], box_ioa(d, g), iou).numpy()


def match_image(dt: np.ndarray, gt: np.ndarray, gt_ignore: np.ndarray):
    """Greedy matching of one image; returns (scores, matched, ignored) per kept
    detection in descending score order, and the number of regular ground truths."""
    order = np.argsort(-dt[:, 4], kind="mergesort")
    dt = dt[order]
    g_order = np.argsort(gt_ignore, kind="mergesort")  # regular first
    gt, gt_ignore = gt[g_order], gt_ignore[g_order]
    ious = iou_matrix(dt[:, :4], gt, gt_ignore)
    gt_taken = np.zeros(len(gt), dtype=bool)
    matched = np.zeros(len(dt), dtype=bool)
    ignored = np.zeros(len(dt), dtype=bool)
    for d in range(len(dt)):
        best, best_iou = -1, IOU_THRESHOLD
        for g in range(len(gt)):
            if gt_taken[g] and not gt_ignore[g]:
                continue
            if best > -1 and not gt_ignore[best] and gt_ignore[g]:
                break  # already on a regular match; ignored ones come after
            if ious[d, g] < best_iou:
                continue
            best, best_iou = g, ious[d, g]
        if best >= 0:
            matched[d] = True
            ignored[d] = gt_ignore[best]
            if not gt_ignore[best]:
                gt_taken[best] = True
    return dt[:, 4], matched, ignored, int((~gt_ignore).sum())


def miss_rate_curve(gt: GroundTruth, dets: Mapping, setup: Setup):
    """FPPI and miss rate at every operating point (descending score) of one setup."""
    _, fppi, recall, num_pos = operating_points(gt, dets, setup)
    return fppi, 1.0 - recall, num_pos


def operating_points(gt: GroundTruth, dets: Mapping, setup: Setup):
    """(scores, fppi, recall, positives) at every operating point of one setup, scores
    descending: keeping the detections scored at least ``scores[k]`` gives ``fppi[k]``
    and ``recall[k]`` (greedy matching runs in score order, so a threshold only cuts
    the list; :func:`at_threshold` reads them off)."""
    scores, tps, fps = [], [], []
    num_pos = 0
    hmin, hmax = setup.height
    vmin, vmax = setup.visibility
    for image_id in gt.image_ids:
        h, v = gt.heights[image_id], gt.visibility[image_id]
        ign = gt.ignore[image_id] | (h < hmin) | (h > hmax) | (v < vmin) | (v > vmax)
        d = dets.get(image_id, np.zeros((0, 5)))
        keep = (d[:, 3] >= hmin / HEIGHT_EXPANSION) & (d[:, 3] < hmax * HEIGHT_EXPANSION)
        s, m, i, n = match_image(d[keep], gt.boxes[image_id], ign)
        num_pos += n
        scores.append(s[~i])
        tps.append(m[~i])
        fps.append(~m[~i])
    s = np.concatenate(scores) if scores else np.zeros(0)
    order = np.argsort(-s, kind="mergesort")
    tp = np.cumsum(np.concatenate(tps)[order]) if len(s) else np.zeros(0)
    fp = np.cumsum(np.concatenate(fps)[order]) if len(s) else np.zeros(0)
    fppi = fp / max(len(gt.image_ids), 1)
    recall = tp / num_pos if num_pos else np.zeros_like(tp, dtype=float)
    return s[order], fppi, recall, num_pos


def at_threshold(scores: np.ndarray, fppi: np.ndarray, recall: np.ndarray, threshold: float):
    """(recall, fppi) of :func:`operating_points` when detections scored below
    ``threshold`` are dropped: the last operating point with a score >= threshold."""
    k = int(np.searchsorted(-np.asarray(scores), -threshold, side="right")) - 1
    return (float(recall[k]), float(fppi[k])) if k >= 0 else (0.0, 0.0)


def log_average_miss_rate(fppi: np.ndarray, miss: np.ndarray, num_pos: int) -> float:
    if num_pos == 0:
        return float("nan")
    idx = np.searchsorted(fppi, FPPI_POINTS, side="right") - 1
    at = np.where(idx >= 0, miss[np.clip(idx, 0, None)] if len(miss) else 1.0, 1.0)
    with np.errstate(divide="ignore"):
        return float(np.exp(np.mean(np.log(at))))


def evaluate_detections(gt: GroundTruth, dets: Mapping) -> dict[str, float]:
    """MR^-2 per setup name, each a fraction in [0, 1] (NaN without positives)."""
    out = {}
    for setup in SETUPS:
        fppi, miss, n = miss_rate_curve(gt, dets, setup)
        out[setup.name] = log_average_miss_rate(fppi, miss, n)
    return out


def format_table(results: Mapping[str, float]) -> str:
    lines = ["setup                  MR^-2", "---------------------  ------"]
    for setup in SETUPS:
        mr = results.get(setup.name, float("nan"))
        lines.append(f"{setup.label:<21}  {'   n/a' if math.isnan(mr) else f'{100 * mr:5.2f}%'}")
    return "\n".join(lines)
