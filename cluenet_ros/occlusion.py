"""Synthetic occlusion by black rectangles: Mask and Predict's masking (training)
and the AP-against-occlusion study (evaluation) draw from the same generator."""
from __future__ import annotations

import numpy as np


def random_patches(mask: np.ndarray, fraction: float, rng: np.random.Generator,
                   aspect_range: tuple[float, float] = (1 / 3, 3.0), max_patches: int = 12) -> np.ndarray:
    """A boolean map of rectangles covering about ``fraction`` of the person.

    Rectangles of random size and aspect ratio (log-uniform in ``aspect_range``,
    width / height) are centred on still-uncovered person pixels, each sized to a
    random share of the coverage still missing, until the covered share of the
    person reaches ``fraction``. The last rectangle is shrunk along its longer side
    to land close to the target rather than overshoot it.
    """
    person = mask.astype(bool)
    h, w = person.shape
    out = np.zeros_like(person)
    total = int(person.sum())
    if fraction <= 0 or total == 0:
        return out
    target = min(fraction, 1.0) * total
    covered = 0
    for i in range(max_patches * 4):
        remaining = target - covered
        if remaining <= 0.01 * total:
            break
        free = np.flatnonzero(person & ~out)
        if len(free) == 0:
            break
        cy, cx = divmod(int(free[rng.integers(len(free))]), w)
        share = 1.0 if i >= max_patches - 1 else rng.uniform(0.35, 1.0)
        area = max(remaining * share, 1.0)
        aspect = float(np.exp(rng.uniform(np.log(aspect_range[0]), np.log(aspect_range[1]))))
        for _ in range(12):  # shrink until this rectangle does not overshoot
            pw = max(1, int(round(np.sqrt(area * aspect))))
            ph = max(1, int(round(np.sqrt(area / aspect))))
            y0, x0 = max(0, cy - ph // 2), max(0, cx - pw // 2)
            y1, x1 = min(h, y0 + ph), min(w, x0 + pw)
            gain = int((person[y0:y1, x0:x1] & ~out[y0:y1, x0:x1]).sum())
            if covered + gain <= target * 1.02 or area <= 1.0:
                break
            area *= 0.7
        out[y0:y1, x0:x1] = True
        covered = int((out & person).sum())
    return out


def covered_fraction(patches: np.ndarray, mask: np.ndarray) -> float:
    person = mask.astype(bool)
    return float((patches & person).sum() / max(person.sum(), 1))
