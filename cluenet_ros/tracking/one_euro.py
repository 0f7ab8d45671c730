"""The One Euro filter (Casiez et al., CHI 2012): an adaptive low-pass filter whose
cut-off rises with the signal's speed, so that still keypoints stop jittering and
moving ones do not lag. Applied per coordinate, vectorised over arrays."""
from __future__ import annotations

import math

import numpy as np


def _alpha(cutoff, dt: float):
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0):
        if min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
            raise ValueError("one euro filter: min_cutoff and d_cutoff must be > 0 and beta >= 0")
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.x_prev: np.ndarray | None = None
        self.dx_prev: np.ndarray | None = None

    def __call__(self, x, dt: float = 1.0) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if self.x_prev is None or dt <= 0:
            self.x_prev, self.dx_prev = x.copy(), np.zeros_like(x)
            return x.copy()
        dx = (x - self.x_prev) / dt
        a_d = _alpha(self.d_cutoff, dt)
        dx_hat = a_d * dx + (1 - a_d) * self.dx_prev
        cutoff = self.min_cutoff + self.beta * np.abs(dx_hat)
        a = _alpha(cutoff, dt)
        out = a * x + (1 - a) * self.x_prev
        self.x_prev, self.dx_prev = out, dx_hat
        return out.copy()
