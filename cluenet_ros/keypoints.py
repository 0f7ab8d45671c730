"""The 13-keypoint pedestrian schema: the one place every other part reads it from.

ClueNet (section 4.1 of the paper) keeps 13 of COCO's 17 keypoints: the head and
the left/right shoulders, elbows, wrists, hips, knees and ankles. COCO's five face
points (nose, eyes, ears) collapse into the head.

OKS sigmas: the twelve limb keypoints keep COCO's per-keypoint sigmas. The head is
placed at the mean of whichever face points are labelled, so depending on the view
it sits anywhere between the nose and an ear; its spread is therefore at least the
ears' (0.035), the largest of the face sigmas, and that is the value used.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

NAMES: tuple[str, ...] = (
    "head",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
)
NUM_KEYPOINTS = len(NAMES)
INDEX = {name: i for i, name in enumerate(NAMES)}


def _pairs(*pairs: tuple[str, str]) -> tuple[tuple[int, int], ...]:
    return tuple((INDEX[a], INDEX[b]) for a, b in pairs)


SKELETON: tuple[tuple[int, int], ...] = _pairs(
    ("head", "left_shoulder"), ("head", "right_shoulder"),
    ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_hip", "right_hip"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
)

FLIP_PAIRS: tuple[tuple[int, int], ...] = tuple(
    (INDEX[n], INDEX["right_" + n[len("left_"):]]) for n in NAMES if n.startswith("left_")
)


def flip_permutation() -> list[int]:
    """Index map that swaps left and right: keypoints[perm] after a horizontal flip."""
    perm = list(range(NUM_KEYPOINTS))
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


# COCO person keypoints (the public COCO format), in COCO's order.
COCO_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO_SIGMAS: tuple[float, ...] = (
    0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
    0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089,
)
COCO_FACE = tuple(COCO_NAMES.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear"))
# For every schema keypoint but the head, the COCO index it is copied from.
COCO_INDEX_OF = {i: COCO_NAMES.index(name) for i, name in enumerate(NAMES) if name != "head"}

OKS_SIGMAS: np.ndarray = np.array(
    [max(COCO_SIGMAS[j] for j in COCO_FACE)]
    + [COCO_SIGMAS[COCO_INDEX_OF[i]] for i in range(1, NUM_KEYPOINTS)],
    dtype=np.float64,
)


def from_coco17(keypoints: Sequence[float] | np.ndarray) -> np.ndarray:
    """Map COCO's 17 keypoints (flat x, y, v list or (17, 3)) to the 13 of the schema.

    The head is the mean of the labelled face points (v > 0); it is visible (v=2)
    when any face point is, labelled-but-hidden (v=1) when only hidden ones are
    labelled, and unlabelled (0, 0, 0) when none is.
    """
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    if kp.shape[0] != len(COCO_NAMES):
        raise ValueError(f"expected {len(COCO_NAMES)} COCO keypoints, got {kp.shape[0]}")
    out = np.zeros((NUM_KEYPOINTS, 3), dtype=np.float64)
    for i, j in COCO_INDEX_OF.items():
        out[i] = kp[j]
    face = kp[list(COCO_FACE)]
    labelled = face[:, 2] > 0
    if labelled.any():
        out[0, :2] = face[labelled, :2].mean(axis=0)
        out[0, 2] = face[labelled, 2].max()
    return out


def coco17_points_to_schema(points: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Map positions of COCO's 17 keypoints, (17, D) for any D (2D pixels, 3D points),
    to the 13 of the schema: limb keypoints are copied, the head is the mean of the
    five face points, as :func:`from_coco17` places it when all of them are labelled."""
    pts = np.asarray(points, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[0] != len(COCO_NAMES):
        raise ValueError(f"expected ({len(COCO_NAMES)}, D) COCO keypoint positions, got {pts.shape}")
    out = np.empty((NUM_KEYPOINTS, pts.shape[1]), dtype=np.float64)
    for i, j in COCO_INDEX_OF.items():
        out[i] = pts[j]
    out[INDEX["head"]] = pts[list(COCO_FACE)].mean(axis=0)
    return out


def coco_category() -> dict:
    """The COCO 'person' category entry for files written in this schema."""
    return {
        "id": 1,
        "name": "person",
        "supercategory": "person",
        "keypoints": list(NAMES),
        # COCO numbers skeleton joints from 1.
        "skeleton": [[a + 1, b + 1] for a, b in SKELETON],
    }
