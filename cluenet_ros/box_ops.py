"""Box overlaps the library does not name directly, built on torchvision's box_iou."""
from __future__ import annotations

import torch
from torchvision.ops import box_area, box_iou


def box_ioa(boxes: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """(N, M) intersection of xyxy ``boxes`` with ``regions`` over each box's own area
    (CityPersons' overlap with ignore regions; mmdetection's "iof").

    From box_iou: iou = inter / (a + b - inter), so inter = iou (a + b) / (1 + iou).
    """
    iou = box_iou(boxes, regions).nan_to_num(0.0)  # 0/0 for two empty boxes
    a, b = box_area(boxes)[:, None], box_area(regions)[None, :]
    inter = iou * (a + b) / (1.0 + iou)
    return inter / a.clamp_min(1e-12)
