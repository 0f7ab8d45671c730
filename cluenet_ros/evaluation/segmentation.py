"""Pedestrian mask IoU over a dataset: total intersection over total union (so
large images weigh by their pixels, as in the paper's CityPersons figure)."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from cluenet_ros.evaluation.errors import EvaluationInputError


class MaskIoU:
    def __init__(self) -> None:
        self.intersection = 0
        self.union = 0
        self.images = 0

    def add(self, pred: np.ndarray, gt: np.ndarray, ignore: np.ndarray | None = None) -> None:
        """Binary masks of one image (non-zero = pedestrian); ``ignore`` pixels skipped."""
        if pred.shape != gt.shape:
            raise ValueError(f"prediction {pred.shape} and ground truth {gt.shape} differ in size")
        p, g = pred.astype(bool), gt.astype(bool)
        if ignore is not None:
            keep = ~ignore.astype(bool)
            p, g = p & keep, g & keep
        self.intersection += int(np.count_nonzero(p & g))
        self.union += int(np.count_nonzero(p | g))
        self.images += 1

    @property
    def iou(self) -> float:
        return self.intersection / self.union if self.union else float("nan")


def read_mask(path: str | Path) -> np.ndarray:
    path = Path(path)
    mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if mask is None:
        raise EvaluationInputError(path, "not a readable image")
    if mask.ndim == 3:
        mask = mask[..., 0]
    return mask


def iou_from_folders(pred_dir: str | Path, gt_dir: str | Path, ignore_value: int | None = 255) -> MaskIoU:
    """Pair PNGs by file name; ground-truth pixels equal to ``ignore_value`` are
    excluded (set it to None when 255 marks pedestrians)."""
    pred_dir, gt_dir = Path(pred_dir), Path(gt_dir)
    gts = sorted(gt_dir.glob("*.png"))
    if not gts:
        raise EvaluationInputError(gt_dir, "no PNG masks found")
    acc = MaskIoU()
    for g in gts:
        p = pred_dir / g.name
        if not p.is_file():
            raise EvaluationInputError(p, f"missing prediction for ground truth {g.name}")
        gm, pm = read_mask(g), read_mask(p)
        if gm.shape != pm.shape:
            raise EvaluationInputError(p, f"size {pm.shape[::-1]} differs from ground truth {gm.shape[::-1]}")
        ignore = (gm == ignore_value) if ignore_value is not None else None
        acc.add(pm > 0, gm > 0, ignore)
    return acc
