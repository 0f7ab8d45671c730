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
    position: tuple[float, float] | None = None  # ground position of the body's root: x (right), z (-forward), metres
    full_area: int = 0              # pixels of the full-body (amodal) mask


@dataclass
class RenderedScene:
    image: np.ndarray               # (H, W, 3) uint8 RGB
    people: list[RenderedPerson] = field(default_factory=list)
    # the camera: eye at (0, camera_height, 0) looking down -z, pitched up by camera_pitch (radians;
    # negative looks down), vertical field of view fov_deg, square pixels, principal point at the centre
    camera_height: float = float("nan")
    camera_pitch: float = float("nan")
    fov_deg: float = float("nan")
