"""Crop geometry shared by inference and training: where a stage-2 crop lies in
the image and how crop coordinates map back.

Coordinates are continuous pixels (pixel j spans [j, j+1)), the convention of
torchvision's boxes and of ``roi_align(..., aligned=True)``.
"""
from __future__ import annotations

import torch


def crop_boxes(boxes: torch.Tensor, crop_hw: tuple[int, int], padding: float) -> torch.Tensor:
    """Boxes (N, 4, xyxy) grown to the crop's aspect ratio (never shrunk) and
    enlarged by ``padding``, about the same centre. Aspect preservation means a
    pedestrian is scaled, never stretched, into the crop."""
    cx = (boxes[:, 0] + boxes[:, 2]) / 2
    cy = (boxes[:, 1] + boxes[:, 3]) / 2
    w = (boxes[:, 2] - boxes[:, 0]).clamp_min(1.0)
    h = (boxes[:, 3] - boxes[:, 1]).clamp_min(1.0)
    aspect = crop_hw[1] / crop_hw[0]  # width / height
    w2 = torch.maximum(w, h * aspect) * padding
    h2 = torch.maximum(h, w / aspect) * padding
    return torch.stack([cx - w2 / 2, cy - h2 / 2, cx + w2 / 2, cy + h2 / 2], dim=1)


def crop_to_image(points: torch.Tensor, crops: torch.Tensor, crop_hw: tuple[int, int]) -> torch.Tensor:
    """Map (N, K, >=2) crop-pixel coordinates to image coordinates for crops (N, 4)."""
    sx = (crops[:, 2] - crops[:, 0]) / crop_hw[1]
    sy = (crops[:, 3] - crops[:, 1]) / crop_hw[0]
    x = crops[:, None, 0] + points[..., 0] * sx[:, None]
    y = crops[:, None, 1] + points[..., 1] * sy[:, None]
    return _with_xy(points, x, y)


def image_to_crop(points: torch.Tensor, crops: torch.Tensor, crop_hw: tuple[int, int]) -> torch.Tensor:
    """Inverse of :func:`crop_to_image`."""
    sx = (crops[:, 2] - crops[:, 0]) / crop_hw[1]
    sy = (crops[:, 3] - crops[:, 1]) / crop_hw[0]
    x = (points[..., 0] - crops[:, None, 0]) / sx[:, None]
    y = (points[..., 1] - crops[:, None, 1]) / sy[:, None]
    return _with_xy(points, x, y)


def _with_xy(points: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``points`` with new x and y, built by concatenation rather than by writing into
    a copy: an indexed write traces with the batch size frozen (standalone export)."""
    return torch.cat([x[..., None], y[..., None], points[..., 2:]], dim=-1)
