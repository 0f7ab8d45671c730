"""A constant-velocity Kalman filter on boxes, written for the tracker.

State: centre x, centre y, width, height and their velocities (pixels per frame).
Process and measurement noise scale with the box height, so a near pedestrian
(tall box) may move more pixels per frame than a far one, as in SORT/ByteTrack's
filters (whose equations these are: a textbook linear Kalman filter).

``BoxKalman`` is one box's filter; ``initiate_many``, ``predict_many`` and
``update_many`` are the same filter on stacks of boxes, which the tracker uses
(one call per step for all tracks instead of a dozen small ones per track).
"""
from __future__ import annotations

import numpy as np

_DIM = 4
# Standard deviations as fractions of the box height (per frame): the tracker's.
POSITION_NOISE, VELOCITY_NOISE, MEASUREMENT_NOISE = 0.05, 0.00625, 0.05


def xyxy_to_cxcywh(box) -> np.ndarray:
    x1, y1, x2, y2 = (float(v) for v in box)
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1])


def cxcywh_to_xyxy(z) -> np.ndarray:
    cx, cy, w, h = z[:4]
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


class BoxKalman:
    """One box's filter. ``position_noise`` and ``velocity_noise`` are standard
    deviations as fractions of the box height (per frame)."""

    def __init__(self, box, position_noise: float = POSITION_NOISE, velocity_noise: float = VELOCITY_NOISE,
                 measurement_noise: float = MEASUREMENT_NOISE):
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


# -- all live tracks at once ---------------------------------------------------------
# The same filter for a stack of boxes: means (N, 8) and covariances (N, 8, 8), one
# row per track. The tracker steps every track each frame, and BoxKalman's dozen
# small numpy calls per track and step cost more in Python overhead than in
# arithmetic; on stacks each step is a handful of calls whatever the number of
# tracks. The equations are BoxKalman's, written in the same order, so that both
# give the same numbers (tests compare them).

# Box conversions as one matrix product each: the products are exact (by 0, 1 or
# 1/2) and each output sums two non-zero terms, so the values are those of the
# per-box functions above, bit for bit.
_XYXY_TO_CXCYWH = np.array([[0.5, 0, -1, 0], [0, 0.5, 0, -1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]])
_CXCYWH_TO_XYXY = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]])
_EYE8 = np.eye(2 * _DIM)
_F1 = BoxKalman._transition(1.0)                                    # the tracker's step: one frame
_NOISE_SCALE = np.repeat([POSITION_NOISE, VELOCITY_NOISE], _DIM)   # process noise std / box height


def xyxy_to_cxcywh_many(boxes: np.ndarray) -> np.ndarray:
    return boxes @ _XYXY_TO_CXCYWH


def cxcywh_to_xyxy_many(means: np.ndarray) -> np.ndarray:
    return means[:, :_DIM] @ _CXCYWH_TO_XYXY


def _diagonal(stack: np.ndarray) -> np.ndarray:
    """A writable view of the diagonals of a C-contiguous stack of square matrices."""
    n = stack.shape[-1]
    return stack.reshape(len(stack), n * n)[:, :: n + 1]


def initiate_many(boxes: np.ndarray, position_noise: float = POSITION_NOISE,
                  velocity_noise: float = VELOCITY_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """Means and covariances of new tracks on ``boxes`` (N, 4) xyxy, at rest."""
    z = xyxy_to_cxcywh_many(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    h = np.maximum(z[:, 3], 1.0)[:, None]
    cov = np.zeros((len(z), 2 * _DIM, 2 * _DIM))
    diag = _diagonal(cov)
    diag[:, :_DIM] = (2 * position_noise * h) ** 2
    diag[:, _DIM:] = (10 * velocity_noise * h) ** 2
    return np.concatenate([z, np.zeros_like(z)], axis=1), cov


def predict_many(means: np.ndarray, covs: np.ndarray, dt: float = 1.0, position_noise: float = POSITION_NOISE,
                 velocity_noise: float = VELOCITY_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """One step of every filter: new arrays (the inputs are not changed)."""
    if (position_noise, velocity_noise) == (POSITION_NOISE, VELOCITY_NOISE):
        scale = _NOISE_SCALE
    else:
        scale = np.repeat([position_noise, velocity_noise], _DIM)
    q = (np.maximum(means[:, 3:4], 1.0) * scale) ** 2 * dt
    F = _F1 if dt == 1.0 else BoxKalman._transition(dt)
    means = means @ F.T
    np.maximum(means[:, 2:4], 1.0, out=means[:, 2:4])  # a box never shrinks to nothing
    covs = F @ covs @ F.T
    _diagonal(covs)[:] += q
    return means, covs


def update_many(means: np.ndarray, covs: np.ndarray, boxes: np.ndarray,
                measurement_noise: float = MEASUREMENT_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """Row i of the filters corrected by the measured box ``boxes[i]`` (xyxy)."""
    z = xyxy_to_cxcywh_many(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    S = covs[:, :_DIM, :_DIM].copy()            # H P H^T: H picks the measured half
    _diagonal(S)[:] += (measurement_noise * np.maximum(means[:, 3:4], 1.0)) ** 2
    K = np.linalg.solve(S, covs[:, :_DIM, :]).transpose(0, 2, 1)  # P H^T S^-1, (N, 8, 4)
    means = means + (K @ (z - means[:, :_DIM])[:, :, None])[:, :, 0]
    I_KH = np.repeat(_EYE8[None], len(K), axis=0)
    I_KH[:, :, :_DIM] -= K                      # I - K H
    return means, I_KH @ covs
