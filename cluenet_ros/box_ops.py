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


def mask_extents(masks: torch.Tensor) -> torch.Tensor:
    """torchvision.ops.masks_to_boxes for (N, H, W) masks that are never empty, in
    a form that exports to ONNX: masks_to_boxes zeroes empty masks' boxes with a
    boolean index assignment, which the TorchScript exporter turns into a Where
    that ONNX Runtime cannot broadcast (N against N x 4), so the standalone
    pipeline's graph could not hold it. Equal to masks_to_boxes on non-empty masks
    (test_box_ops.py); (x1, y1, x2, y2) pixel indices as float."""
    rows = masks.bool().any(dim=2).float()
    cols = masks.bool().any(dim=1).float()
    h, w = masks.shape[-2:]
    return torch.stack([cols.argmax(dim=1), rows.argmax(dim=1), (w - 1) - cols.flip(dims=[1]).argmax(dim=1),
                        (h - 1) - rows.flip(dims=[1]).argmax(dim=1)], dim=1).float()


def box_iomin(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(N, M) intersection over the smaller of the two areas: 1 when one box lies
    wholly inside the other, however different their sizes (where IoU stays low)."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp_min(0).prod(dim=2)
    smaller = torch.minimum(box_area(a)[:, None], box_area(b)[None, :])
    return inter / smaller.clamp_min(1e-12)


def nested_suppression(boxes: torch.Tensor, scores: torch.Tensor, iomin: float) -> torch.Tensor:
    """Indices (by falling score) of the boxes kept when a box is dropped because a
    higher-scoring kept box and it overlap by at least ``iomin`` of the smaller one.

    NMS at IoU 0.5 keeps a tight box on a person together with a looser one around
    it, or a box on their upper body: nested boxes of different sizes have low IoU.
    ``iomin`` >= 1 turns it off: every box is kept."""
    order = torch.argsort(scores, descending=True)
    if iomin >= 1.0 or order.numel() < 2:
        return order
    overlap = box_iomin(boxes[order], boxes[order])
    keep: list[int] = []
    for i in range(order.numel()):
        if not keep or bool((overlap[i, keep] < iomin).all()):
            keep.append(i)
    return order[torch.as_tensor(keep, dtype=torch.long)]
