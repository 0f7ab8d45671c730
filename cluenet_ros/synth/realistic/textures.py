"""Procedural textures for the realistic world: facades, asphalt, paving and sky. All are drawn from a numpy generator, so a seed gives the same
textures on every machine, and no third-party image is needed.

Textures are (H, W, 3) uint8 RGB.
"""
from __future__ import annotations

import cv2
import numpy as np


def smooth_noise(rng: np.random.Generator, h: int, w: int, scale: int, octaves: int = 3) -> np.ndarray:
    """Fractal value noise in [0, 1], features about ``scale`` pixels wide."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for small in _noise_draws(rng, h, w, scale, octaves):
        out += amp * cv2.resize(small.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
    out /= total
    lo, hi = out.min(), out.max()
    return (out - lo) / max(hi - lo, 1e-6)


def _noise_draws(rng: np.random.Generator, h: int, w: int, scale: int, octaves: int) -> list[np.ndarray]:
    """The random grids of smooth_noise's octaves (all its draws)."""
    return [rng.random((max(2, h // max(1, scale >> o) + 2), max(2, w // max(1, scale >> o) + 2)))
            for o in range(octaves)]


def _finish(img: np.ndarray) -> np.ndarray:
    return np.clip(np.round(img * 255.0), 0, 255).astype(np.uint8)


def facade(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    """A building front: rendered wall (plaster or brick) with a grid of windows."""
    h = w = size
    wall = rng.choice(np.array([[0.80, 0.74, 0.64], [0.70, 0.52, 0.42], [0.62, 0.62, 0.60],
                                [0.85, 0.82, 0.75], [0.55, 0.40, 0.32], [0.75, 0.68, 0.55]], np.float32))
    wall = np.clip(wall * rng.uniform(0.75, 1.1) + rng.uniform(-0.05, 0.05, 3), 0, 1)
    img = np.ones((h, w, 3), np.float32) * wall
    img *= (0.85 + 0.3 * smooth_noise(rng, h, w, 32))[..., None]
    if rng.random() < 0.4:  # brick courses
        rows = np.arange(h)[:, None] % 8 == 0
        cols = (np.arange(w)[None, :] + (np.arange(h)[:, None] // 8 % 2) * 8) % 16 == 0
        img[rows | cols] *= 0.8
    nx, ny = int(rng.integers(2, 5)), int(rng.integers(2, 5))
    glass = np.array([0.18, 0.22, 0.28], np.float32) * rng.uniform(0.6, 1.6)
    frame = np.array([0.92, 0.92, 0.9], np.float32) * rng.uniform(0.5, 1.0)
    cw, ch = w / nx, h / ny
    fw, fh = rng.uniform(0.35, 0.6) * cw, rng.uniform(0.4, 0.65) * ch
    for i in range(nx):
        for j in range(ny):
            x0, y0 = int(i * cw + (cw - fw) / 2), int(j * ch + (ch - fh) / 2)
            x1, y1 = int(x0 + fw), int(y0 + fh)
            img[y0 - 2:y1 + 2, x0 - 2:x1 + 2] = frame
            pane = glass * (0.7 + 0.6 * smooth_noise(rng, y1 - y0, x1 - x0, 8, 2))[..., None]
            pane[: (y1 - y0) // 3] *= rng.uniform(1.0, 1.8)  # sky reflection on the upper pane
            img[y0:y1, x0:x1] = pane
            img[y0:y1, (x0 + x1) // 2] = frame
    return _finish(img)


def asphalt(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    base = rng.uniform(0.22, 0.4)
    n = 0.7 * smooth_noise(rng, size, size, 48) + 0.3 * rng.random((size, size)).astype(np.float32)
    img = (base * (0.8 + 0.4 * n))[..., None] * np.array([1.0, 1.0, 1.03], np.float32)
    return _finish(img)


def paving(rng: np.random.Generator, size: int = 256) -> np.ndarray:
    colour = rng.choice(np.array([[0.62, 0.60, 0.57], [0.55, 0.42, 0.38], [0.7, 0.68, 0.62]], np.float32))
    img = np.ones((size, size, 3), np.float32) * colour * rng.uniform(0.8, 1.1)
    img *= (0.85 + 0.25 * smooth_noise(rng, size, size, 24))[..., None]
    tile = int(rng.choice([16, 32]))
    lines = (np.arange(size) % tile == 0)
    img[lines] *= 0.7
    img[:, lines] *= 0.7
    return _finish(img)


def _sky_colours(rng: np.random.Generator):
    zenith = np.array([0.30, 0.48, 0.80], np.float32) * rng.uniform(0.8, 1.15)
    haze = np.array([0.80, 0.85, 0.90], np.float32) * rng.uniform(0.85, 1.05)
    if rng.random() < 0.3:  # overcast
        zenith = haze * rng.uniform(0.75, 0.95)
    return zenith, haze


def sky_draws(rng: np.random.Generator, width: int, height: int) -> None:
    """Makes exactly the draws :func:`sky` makes, without drawing the image (a photo
    sky replaces it, and the world's later draws must not shift)."""
    _sky_colours(rng)
    _noise_draws(rng, height, width, max(16, width // 6), 4)
    rng.uniform(0.5, 1.0)


def sky(rng: np.random.Generator, width: int, height: int, horizon_row: float) -> np.ndarray:
    """Full-frame sky: a zenith-to-horizon gradient with soft clouds."""
    zenith, haze = _sky_colours(rng)
    rows = np.arange(height, dtype=np.float32)[:, None]
    t = np.clip((rows - min(horizon_row, height) + height) / (height + 1e-6), 0, 1) ** 1.5
    img = zenith * (1 - t)[..., None] + haze * t[..., None]
    img = np.broadcast_to(img, (height, width, 3)).copy()
    clouds = np.clip(smooth_noise(rng, height, width, max(16, width // 6), 4) * 1.6 - rng.uniform(0.5, 1.0), 0, 1)
    img = img * (1 - clouds[..., None]) + clouds[..., None] * np.float32(0.95)
    return _finish(img)

