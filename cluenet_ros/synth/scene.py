"""What a renderer of any synthetic world hands to the dataset writer (dataset.py)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RenderedPerson:
    clip: str
    distance: float
    visible_mask: np.ndarray        # (H, W) bool
    full_box: tuple[float, float, float, float]  # x1 y1 x2 y2, may extend past the image
    keypoints: np.ndarray           # (13, 2) image pixels
    keypoint_visible: np.ndarray    # (13,) bool


@dataclass
class RenderedScene:
    image: np.ndarray               # (H, W, 3) uint8 RGB
    people: list[RenderedPerson] = field(default_factory=list)
