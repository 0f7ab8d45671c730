"""A constant-velocity Kalman filter on boxes, written for the tracker.

State: centre x, centre y, width, height and their velocities (pixels per frame).
Process and measurement noise scale with the box height, so a near pedestrian
(tall box) may move more pixels per frame than a far one, as in SORT/ByteTrack's
filters (whose equations these are: a textbook linear Kalman filter).
"""
from __future__ import annotations

import numpy as np

_DIM = 4


def xyxy_to_cxcywh(box) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


def cxcywh_to_xyxy(z) -> np.ndarray:
    cx, cy, w, h = z[:4]
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class BoxKalman:
    """One box's filter. ``position_noise`` and ``velocity_noise`` are standard
    deviations as fractions of the box height (per frame)."""

    def __init__(self, box, position_noise: float = 0.05, velocity_noise: float = 0.00625,
                 measurement_noise: float = 0.05):
        self.qp, self.qv, self.r = position_noise, velocity_noise, measurement_noise
        z = xyxy_to_cxcywh(box)
        self.x = np.concatenate([z, np.zeros(_DIM)])
        h = max(z[3], 1.0)
        std = np.array([2 * self.qp * h, 2 * self.qp * h, 2 * self.qp * h, 2 * self.qp * h,
                        10 * self.qv * h, 10 * self.qv * h, 10 * self.qv * h, 10 * self.qv * h])
        self.P = np.diag(std ** 2)

    @staticmethod
    def _transition(dt: float) -> np.ndarray:
        F = np.eye(2 * _DIM)
        F[:_DIM, _DIM:] = dt * np.eye(_DIM)
        return F

    def predict(self, dt: float = 1.0) -> np.ndarray:
        h = max(self.x[3], 1.0)
        q = np.r_[np.full(_DIM, self.qp * h), np.full(_DIM, self.qv * h)] ** 2 * dt
        F = self._transition(dt)
        self.x = F @ self.x
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)  # a box never shrinks to nothing
        self.P = F @ self.P @ F.T + np.diag(q)
        return self.box

    def update(self, box) -> None:
        z = xyxy_to_cxcywh(box)
        h = max(self.x[3], 1.0)
        R = np.diag(np.full(_DIM, self.r * h) ** 2)
        H = np.eye(_DIM, 2 * _DIM)
        S = H @ self.P @ H.T + R
        K = np.linalg.solve(S, H @ self.P).T  # P H^T S^-1 (S symmetric)
        self.x = self.x + K @ (z - H @ self.x)
        self.P = (np.eye(2 * _DIM) - K @ H) @ self.P

    @property
    def box(self) -> np.ndarray:
        return cxcywh_to_xyxy(self.x)

    @property
    def velocity(self) -> np.ndarray:
        return self.x[_DIM:_DIM + 2].copy()
