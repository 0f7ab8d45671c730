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
# The same filter for a stack of boxes, one row per track. BoxKalman's dozen small
# numpy calls per track and step cost more in Python overhead than in arithmetic;
# on stacks each step is a handful of calls whatever the number of tracks.
#
# Every matrix of this filter (transition, process and measurement noise, initial
# covariance) couples a box coordinate only with its own velocity, so the 8x8
# covariance stays made of four independent 2x2 blocks: coordinate k's variance,
# its covariance with velocity k, and velocity k's variance. The stacks keep just
# those, as ``cov`` of shape (N, 3, 4): rows pp, pv, vv, column k. The innovation
# covariance is then diagonal and the gain a division, so a step is elementwise
# arithmetic on (N, 4) arrays: no matrix products, no linear solve (issue #20:
# the tracker was most of the node's floor). ``full_covariance`` rebuilds the 8x8
# matrices BoxKalman holds; the equations are BoxKalman's, term by term, and the
# tests compare both.

# Box conversions as one matrix product each: the products are exact (by 0, 1 or
# 1/2) and each output sums two non-zero terms, so the values are those of the
# per-box functions above, bit for bit.
_XYXY_TO_CXCYWH = np.array([[0.5, 0, -1, 0], [0, 0.5, 0, -1], [0.5, 0, 1, 0], [0, 0.5, 0, 1]])
_CXCYWH_TO_XYXY = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [-0.5, 0, 0.5, 0], [0, -0.5, 0, 0.5]])
PP, PV, VV = 0, 1, 2   # rows of a track's covariance blocks


def xyxy_to_cxcywh_many(boxes: np.ndarray) -> np.ndarray:
    return boxes @ _XYXY_TO_CXCYWH


def cxcywh_to_xyxy_many(means: np.ndarray) -> np.ndarray:
    return means[:, :_DIM] @ _CXCYWH_TO_XYXY


def full_covariance(cov: np.ndarray) -> np.ndarray:
    """The (N, 8, 8) covariances of the (N, 3, 4) blocks (for inspection and tests)."""
    out = np.zeros((len(cov), 2 * _DIM, 2 * _DIM))
    k = np.arange(_DIM)
    out[:, k, k] = cov[:, PP]
    out[:, k, k + _DIM] = cov[:, PV]
    out[:, k + _DIM, k] = cov[:, PV]
    out[:, k + _DIM, k + _DIM] = cov[:, VV]
    return out


def initiate_many(boxes: np.ndarray, position_noise: float = POSITION_NOISE,
                  velocity_noise: float = VELOCITY_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """Means (N, 8) and covariance blocks (N, 3, 4) of new tracks on ``boxes`` (N, 4)
    xyxy, at rest."""
    z = xyxy_to_cxcywh_many(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    h = np.maximum(z[:, 3], 1.0)[:, None]
    cov = np.zeros((len(z), 3, _DIM))
    cov[:, PP] = (2 * position_noise * h) ** 2
    cov[:, VV] = (10 * velocity_noise * h) ** 2
    return np.concatenate([z, np.zeros_like(z)], axis=1), cov


def _propagation(dt: float) -> np.ndarray:
    """The blocks' map under F = [[I, dt I], [0, I]]: F P F^T, block by block, is
    pp + 2 dt pv + dt^2 vv, pv + dt vv and vv, one 3x3 matrix for every column."""
    return np.array([[1.0, 2 * dt, dt * dt], [0.0, 1.0, dt], [0.0, 0.0, 1.0]])


_STEP1 = _propagation(1.0)                                   # the tracker's step: one frame
_TRANSITION1_T = BoxKalman._transition(1.0).T


def predict_many(means: np.ndarray, cov: np.ndarray, dt: float = 1.0, position_noise: float = POSITION_NOISE,
                 velocity_noise: float = VELOCITY_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """One step of every filter: new arrays (the inputs are not changed). F P F^T + Q
    on the blocks is one small matrix product (the tracker calls this every frame,
    and at ten tracks each numpy call costs more than its arithmetic)."""
    h2 = np.maximum(means[:, 3:4], 1.0) ** 2
    F_T = _TRANSITION1_T if dt == 1.0 else BoxKalman._transition(dt).T
    means = means @ F_T
    np.maximum(means[:, 2:4], 1.0, out=means[:, 2:4])  # a box never shrinks to nothing
    cov = (_STEP1 if dt == 1.0 else _propagation(dt)) @ cov
    cov[:, PP] += position_noise ** 2 * dt * h2
    cov[:, VV] += velocity_noise ** 2 * dt * h2
    return means, cov


def update_many(means: np.ndarray, cov: np.ndarray, boxes: np.ndarray,
                measurement_noise: float = MEASUREMENT_NOISE) -> tuple[np.ndarray, np.ndarray]:
    """Row i of the filters corrected by the measured box ``boxes[i]`` (xyxy).
    S = P_pp + R is diagonal, so the gain K = P H^T S^-1 is a quotient per
    coordinate: k_p = pp / s for the coordinate, k_v = pv / s for its velocity."""
    z = xyxy_to_cxcywh_many(np.asarray(boxes, dtype=np.float64).reshape(-1, 4))
    s = cov[:, PP] + (measurement_noise * np.maximum(means[:, 3:4], 1.0)) ** 2
    gain = cov[:, :2] / s[:, None]                      # (N, 2, 4): k_p, k_v
    means = means + (gain * (z - means[:, :_DIM])[:, None]).reshape(len(means), 2 * _DIM)
    out = cov.copy()                                    # (I - K H) P
    out[:, :2] -= gain[:, :1] * cov[:, :2]              # pp - k_p pp, pv - k_p pv
    out[:, VV] -= gain[:, 1] * cov[:, PV]               # vv - k_v pv
    return means, out
