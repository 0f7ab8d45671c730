"""Where each pedestrian stands: the ground point under the bottom centre of its
full-body box, for a camera at a known height and pitch above a flat ground.

ClueNet's boxes cover the whole body, hidden legs included, so the bottom of the
box is where the feet touch the ground even behind a car; a detector of visible
parts puts it on the car's bonnet instead, which reads as a person much further
away. No ROS here: numbers in, numbers out.

Frames: the camera's optical frame (x right, y down, z forward, REP-103's
``_optical`` convention) and a level frame with the same origin, x right, y down
along gravity, z forward and horizontal. ``pitch`` turns the optical axis below
the horizon (positive: looking down); roll is taken as zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

STANDARD_HEIGHT = 1.7  # m, the size given to a pedestrian's 3D box


@dataclass(frozen=True)
class GroundCamera:
    fx: float
    fy: float
    cx: float
    cy: float
    height: float            # metres of the optical centre above the ground
    pitch: float = 0.0       # radians below the horizon
    distortion: tuple = ()   # plumb_bob / rational_polynomial coefficients (OpenCV order); () = rectified

    def __post_init__(self):
        problems = []
        if not (math.isfinite(self.fx) and math.isfinite(self.fy) and self.fx > 0 and self.fy > 0):
            problems.append(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")
        if not (math.isfinite(self.height) and self.height > 0):
            problems.append(f"camera height must be > 0 m, got {self.height}")
        if not (math.isfinite(self.pitch) and abs(self.pitch) < math.pi / 2):
            problems.append(f"pitch must be within (-pi/2, pi/2), got {self.pitch}")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_matrix(cls, k, height: float, pitch: float, distortion=()) -> "GroundCamera":
        """From a 3x3 intrinsic matrix (CameraInfo.k, row-major, 9 values)."""
        k = np.asarray(k, dtype=np.float64).reshape(3, 3)
        d = tuple(float(v) for v in distortion) if np.any(np.asarray(distortion, dtype=np.float64) != 0) else ()
        return cls(float(k[0, 0]), float(k[1, 1]), float(k[0, 2]), float(k[1, 2]), float(height), float(pitch), d)

    def rays(self, pixels) -> np.ndarray:
        """Pixels (N, 2) -> ray directions (N, 3) in the optical frame, z = 1."""
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        if self.distortion and len(px):
            import cv2

            k = np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1]])
            norm = cv2.undistortPoints(px.reshape(-1, 1, 2), k, np.asarray(self.distortion)).reshape(-1, 2)
        else:
            norm = np.c_[(px[:, 0] - self.cx) / self.fx, (px[:, 1] - self.cy) / self.fy]
        return np.c_[norm, np.ones(len(norm))]

    def to_level(self, v) -> np.ndarray:
        """Optical-frame vectors (N, 3) -> level frame."""
        v = np.asarray(v, dtype=np.float64).reshape(-1, 3)
        c, s = math.cos(self.pitch), math.sin(self.pitch)
        return np.c_[v[:, 0], v[:, 1] * c + v[:, 2] * s, -v[:, 1] * s + v[:, 2] * c]

    def ground_points(self, pixels) -> np.ndarray:
        """Optical-frame points (N, 3) where the pixels' rays meet the ground; NaN for
        rays at or above the horizon (and for points further than 1 km)."""
        d = self.rays(pixels)
        down = self.to_level(d)[:, 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(down > 1e-9, self.height / down, np.nan)
        pts = d * t[:, None]
        pts[~(np.linalg.norm(pts, axis=1) < 1000.0)] = np.nan
        return pts


def foot_pixels(boxes) -> np.ndarray:
    """Bottom centre of each xyxy box."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.c_[(b[:, 0] + b[:, 2]) / 2, b[:, 3]]


@dataclass
class GroundPositions:
    points: np.ndarray     # (N, 3) ground contact points, optical frame, metres (NaN: no estimate)
    centres: np.ndarray    # (N, 3) centre of a standing person's 3D box, optical frame
    distance: np.ndarray   # (N,) horizontal distance from the camera, metres
    lateral: np.ndarray    # (N,) level frame x (right), metres
    forward: np.ndarray    # (N,) level frame z (forward), metres
    up: np.ndarray         # (3,) the ground's up direction in the optical frame

    def valid(self) -> np.ndarray:
        return np.isfinite(self.distance)


def ground_positions(camera: GroundCamera, boxes, person_height: float = STANDARD_HEIGHT) -> GroundPositions:
    pts = camera.ground_points(foot_pixels(boxes))
    level = camera.to_level(pts)
    up = np.array([0.0, -math.cos(camera.pitch), -math.sin(camera.pitch)])  # level (0, -1, 0) in the optical frame
    centres = pts + up * person_height / 2
    return GroundPositions(pts, centres, np.hypot(level[:, 0], level[:, 2]), level[:, 0], level[:, 2], up)


def up_quaternion(pitch: float) -> tuple[float, float, float, float]:
    """(x, y, z, w) of a box standing upright on the ground, in the optical frame: a
    rotation by ``pitch`` about the optical x axis, which turns the box's y axis onto
    gravity, (0, cos pitch, sin pitch) in the optical frame."""
    return (math.sin(pitch / 2), 0.0, 0.0, math.cos(pitch / 2))
