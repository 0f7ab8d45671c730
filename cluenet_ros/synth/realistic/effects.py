"""Camera sensor effects applied to a rendered frame: exposure, white balance,
motion blur, sensor noise and JPEG compression.

Each effect is drawn per image from ``rng``; the geometry is untouched (motion blur
is a short linear smear of a few pixels, within the 2 px keypoint tolerance of the
annotations only for the fast path's setting, so the truth stays exact where it
matters: masks and boxes come from the unblurred render).
"""
from __future__ import annotations

import cv2
import numpy as np

EFFECTS = ("exposure", "white_balance", "motion_blur", "noise", "jpeg")
FAST_EFFECTS = ("exposure", "white_balance", "noise")


def motion_blur_kernel(length: float, angle_rad: float) -> np.ndarray:
    """A normalised line kernel ``length`` pixels long at ``angle_rad``."""
    size = max(3, int(np.ceil(length)) | 1)
    k = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = np.cos(angle_rad), np.sin(angle_rad)
    for t in np.linspace(-length / 2, length / 2, max(2, int(np.ceil(length)) * 2)):
        x, y = int(round(c + t * dx)), int(round(c + t * dy))
        if 0 <= x < size and 0 <= y < size:
            k[y, x] = 1.0
    return k / k.sum()


def apply(image: np.ndarray, rng: np.random.Generator, effects: tuple[str, ...]) -> np.ndarray:
    """``image``: (H, W, 3) uint8 RGB; returns a new uint8 RGB image."""
    unknown = set(effects) - set(EFFECTS)
    if unknown:
        raise ValueError(f"unknown sensor effect(s) {sorted(unknown)}; choose from {', '.join(EFFECTS)}")
    img = image.astype(np.float32) / 255.0
    if "motion_blur" in effects and rng.random() < 0.5:
        img = cv2.filter2D(img, -1, motion_blur_kernel(rng.uniform(2.0, 6.0), rng.uniform(0, np.pi)))
    if "white_balance" in effects:
        img = img * np.array([rng.uniform(0.9, 1.1), 1.0, rng.uniform(0.88, 1.12)], np.float32)
    if "exposure" in effects:
        img = np.clip(img * (2.0 ** rng.uniform(-0.7, 0.5)), 0, 1) ** rng.uniform(0.85, 1.2)
    img = np.clip(img, 0, 1) * 255.0
    if "noise" in effects:
        sigma = rng.uniform(1.0, 6.0)
        # shot noise grows with brightness, read noise is flat
        img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.sqrt(sigma ** 2 + 0.02 * img)
    out = np.clip(np.round(img), 0, 255).astype(np.uint8)
    if "jpeg" in effects:
        ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 95))])
        if not ok:
            raise RuntimeError("JPEG encoding failed")
        out = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()
    return out
