"""Drawing a frame's results onto the image (the node's debug image, the README
picture), and the stable colour of a track. No ROS here.

Visible keypoints are filled discs; keypoints estimated under occlusion are hollow
rings in orange, and bones touching one are drawn thin, so what the network saw
and what it inferred differ at a glance. With track ids, each pedestrian's box,
label and bones take its track's colour, the same in every frame (and the same as
its markers in RViz).
"""
from __future__ import annotations

import colorsys

import cv2
import numpy as np

from cluenet_ros import keypoints as kp

GOLDEN = 0.6180339887498949
VISIBLE_RGB = (25, 230, 50)
OCCLUDED_RGB = (255, 120, 0)
MASK_RGB = np.array([255, 0, 180])
UNTRACKED_RGB = (0, 255, 0)


def track_colour(track_id: int) -> tuple[float, float, float]:
    """RGB in [0, 1] for a track: hues a golden-ratio step apart, so consecutive
    ids differ strongly, and a function of the id alone (stable across frames,
    processes and restarts)."""
    hue = (int(track_id) * GOLDEN) % 1.0
    return colorsys.hsv_to_rgb(hue, 0.85, 0.95)


def track_colour_u8(track_id: int) -> tuple[int, int, int]:
    return tuple(int(round(255 * c)) for c in track_colour(track_id))


def draw_overlay(rgb: np.ndarray, result, draw_mask: bool = True) -> np.ndarray:
    """A copy of the RGB image with the mask tinted, full boxes (track colour), visible
    boxes (thin, light), labels (track id or rank, and score) and skeletons."""
    img = np.ascontiguousarray(rgb).copy()
    if draw_mask and result.mask is not None and result.mask.shape == img.shape[:2]:
        m = result.mask > 0
        img[m] = (0.6 * img[m] + 0.4 * MASK_RGB).astype(np.uint8)
    tracked = result.track_ids is not None
    for i, p in enumerate(result):
        colour = track_colour_u8(int(result.track_ids[i])) if tracked else UNTRACKED_RGB
        x1, y1, x2, y2 = (int(round(v)) for v in p.box)
        cv2.rectangle(img, (x1, y1), (x2, y2), colour, 2)
        if p.visibility > 0:
            vx1, vy1, vx2, vy2 = (int(round(v)) for v in p.visible_box)
            cv2.rectangle(img, (vx1, vy1), (vx2, vy2), (255, 255, 255), 1)
        label = (f"#{p.id} " if tracked else f"{p.id}:") + f"{p.score:.2f}"
        cv2.putText(img, label, (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, colour, 1, cv2.LINE_AA)
        pts = np.round(p.keypoints[:, :2]).astype(np.int32)
        bone = colour if tracked else (50, 150, 255)
        for a, b in kp.SKELETON:
            hidden = bool(p.occluded[a] or p.occluded[b])
            cv2.line(img, tuple(int(v) for v in pts[a]), tuple(int(v) for v in pts[b]), bone, 1 if hidden else 2,
                     cv2.LINE_AA)
        for (x, y), occ in zip(pts.tolist(), p.occluded.tolist()):
            if occ:
                cv2.circle(img, (x, y), 3, OCCLUDED_RGB, 1, cv2.LINE_AA)
            else:
                cv2.circle(img, (x, y), 3, VISIBLE_RGB, -1, cv2.LINE_AA)
    return img
