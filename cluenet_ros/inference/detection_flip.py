"""Stage 1's flip test: merge the detections of a frame and of its mirror image.

Why: at this project's training budget the training seed alone moves real-image AP
by about ten points (docs/accuracy/README.md, sessions 27-30), so part of what one
model ranks high is noise in the model, not evidence in the image. People are
left-right symmetric and a detector's verdict on a person should survive mirroring;
an average over the two views keeps what both agree on.

Two merges, chosen by ``detection_flip_merge``:

- ``nms`` (the default, chosen on synthetic validation in session 31): both views'
  boxes, then NMS at the pipeline's ``nms_iou``, as if one detector had proposed them
  all; a person found in either view keeps the higher of its two scores.
- ``fusion``: weighted box fusion. Every box of both views, by score, joins the
fused box it overlaps most (IoU above ``iou_threshold``) or starts one. A fused box
is the score-weighted mean of its members; its score is the members' mean times
``min(members, views) / views``, so a box that only one view finds keeps half its
score, so agreement raises a box above one-view boxes of the same score: far
fewer false positives at the operating threshold than ``nms``, for some recall.

numpy only: the torch pipeline and the torch-free standalone pipeline share it.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

# the RoI heads' score floor in each view when fusing: a box one view scores 0.6 and
# the other 0.2 must keep its 0.2 to fuse to 0.4, so the operating threshold (0.5)
# cannot be applied before the fusion; torchvision's default floor
VIEW_SCORE_FLOOR = 0.05
FUSION_IOU = 0.55
MERGES = ("nms", "fusion")


def check_merge(merge: str) -> None:
    if merge not in MERGES:
        raise ValueError(f"detection_flip_merge must be one of {', '.join(MERGES)}, got {merge!r}")


def nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy NMS as torchvision.ops.nms: indices by decreasing score; a box is
    dropped when its IoU with a kept, higher-scored box is above ``iou``."""
    order = np.argsort(-scores, kind="stable")
    x1, y1, x2, y2 = boxes.T.astype(np.float64)
    area = (x2 - x1) * (y2 - y1)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]), 0, None)
        h = np.clip(np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]), 0, None)
        inter = w * h
        order = rest[inter / (area[i] + area[rest] - inter) <= iou]
    return np.asarray(keep, dtype=np.int64)


def view_detections(boxes: np.ndarray, scores: np.ndarray, score_floor: float, nms_iou: float,
                    max_detections: int) -> tuple[np.ndarray, np.ndarray]:
    """One view's detections as the RoI heads would give them: score above the floor,
    NMS, the best ``max_detections`` (torchvision's order)."""
    keep = scores > score_floor
    boxes, scores = boxes[keep], scores[keep]
    keep = nms(boxes, scores, nms_iou)[:max_detections]
    return boxes[keep], scores[keep]


def mirror_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """xyxy boxes found in the mirrored frame, in the frame's own pixels."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.stack([width - b[:, 2], b[:, 1], width - b[:, 0], b[:, 3]], axis=1)


def _iou_one(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    lt = np.maximum(box[:2], boxes[:, :2])
    rb = np.minimum(box[2:], boxes[:, 2:])
    inter = np.prod(np.clip(rb - lt, 0.0, None), axis=1)
    area = lambda b: np.clip(b[..., 2] - b[..., 0], 0, None) * np.clip(b[..., 3] - b[..., 1], 0, None)  # noqa: E731
    union = area(box) + area(boxes) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def fuse_boxes(views: Sequence[tuple[np.ndarray, np.ndarray]], iou_threshold: float = FUSION_IOU
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted box fusion of ``views`` [(boxes (N_i, 4) xyxy, scores (N_i,))], all in
    one frame's pixels. Returns (boxes (M, 4), scores (M,), members (M,)), by score."""
    if not 0.0 <= iou_threshold <= 1.0:
        raise ValueError(f"iou_threshold must be within [0, 1], got {iou_threshold}")
    n_views = len(views)
    if n_views == 0:
        raise ValueError("fuse_boxes needs at least one view")
    boxes = np.concatenate([np.asarray(b, np.float64).reshape(-1, 4) for b, _ in views])
    scores = np.concatenate([np.asarray(s, np.float64).reshape(-1) for _, s in views])
    if len(boxes) != len(scores):
        raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
    order = np.argsort(-scores, kind="stable")
    fused = np.zeros((len(order), 4))
    weighted = np.zeros((len(order), 4))   # sum of score * box
    weight = np.zeros(len(order))          # sum of scores
    members = np.zeros(len(order), dtype=np.int64)
    m = 0
    for i in order:
        box, s = boxes[i], scores[i]
        if m:
            iou = _iou_one(box, fused[:m])
            j = int(np.argmax(iou))
            if iou[j] > iou_threshold:
                weighted[j] += s * box
                weight[j] += s
                members[j] += 1
                fused[j] = weighted[j] / weight[j] if weight[j] > 0 else box
                continue
        fused[m], weighted[m], weight[m], members[m] = box, s * box, s, 1
        m += 1
    fused, weight, members = fused[:m], weight[:m], members[:m]
    fused_scores = weight / np.maximum(members, 1) * np.minimum(members, n_views) / n_views
    rank = np.argsort(-fused_scores, kind="stable")
    return fused[rank], fused_scores[rank], members[rank]


def merge_flip(plain: tuple[np.ndarray, np.ndarray], mirrored: tuple[np.ndarray, np.ndarray], width: float,
               score_threshold: float, nms_iou: float, max_detections: int, merge: str = "nms"
               ) -> tuple[np.ndarray, np.ndarray]:
    """The frame's detections from its own view and its mirror's (the latter's boxes in
    mirrored pixels, each view already at ``VIEW_SCORE_FLOOR``): merged, then the
    operating threshold and the detection cap. float32, by score."""
    return merge_views([plain, (mirror_boxes(mirrored[0], width), mirrored[1])], score_threshold, nms_iou,
                       max_detections, merge)


def merge_views(views: Sequence[tuple[np.ndarray, np.ndarray]], score_threshold: float, nms_iou: float,
                max_detections: int, merge: str = "nms") -> tuple[np.ndarray, np.ndarray]:
    """Several views of one frame (boxes already in the frame's pixels: mirrored views
    mapped back, other input scales resized back), merged as ``merge_flip`` merges two."""
    check_merge(merge)
    views = [(np.asarray(b, np.float64).reshape(-1, 4), np.asarray(s, np.float64).reshape(-1)) for b, s in views]
    if merge == "fusion":
        boxes, scores, _ = fuse_boxes(views)
    else:
        boxes, scores = np.concatenate([v[0] for v in views]), np.concatenate([v[1] for v in views])
        keep = nms(boxes, scores, nms_iou)
        boxes, scores = boxes[keep], scores[keep]
    keep = scores > score_threshold  # strictly, as torchvision's RoI heads
    return boxes[keep][:max_detections].astype(np.float32), scores[keep][:max_detections].astype(np.float32)
