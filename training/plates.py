"""Background plates: the rendered street behind the people swapped for a real photograph.

A stage-1 training image keeps every pixel its mask marks as pedestrian or ignored;
every other pixel, ground, facades, sky, cars and poles alike, comes from a crop of
a photograph (``cluenet data plates``, or any folder of photographs). People that a
car hid stay hidden: their full-body box is still the truth, and the photograph now
stands where the car stood. The paste is drawn from the trainer's generator, so a
batch stays a function of (seed, iteration, rank).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from cluenet_ros.data.plates import plate_files
from cluenet_ros.errors import FileInputError

MAX_SIDE = 1024


class PlateBank:
    """The photographs of some folders, read on first use and kept (at most
    ``MAX_SIDE`` pixels a side, uint8 RGB: 35 plates take about 70 MB)."""

    def __init__(self, folders, min_crop: float = 0.35):
        self.files = plate_files(folders)
        self.min_crop = float(min_crop)
        self._cache: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.files)

    def image(self, k: int) -> np.ndarray:
        if k not in self._cache:
            self._cache[k] = _read_rgb(self.files[k])
        return self._cache[k]

    def crop(self, height: int, width: int, rng: np.random.Generator) -> torch.Tensor:
        """(3, height, width) float in [0, 1]: a crop of a random plate with the image's
        aspect ratio, between ``min_crop`` and all of the largest such crop (so the
        photographed things come at several sizes), mirrored half the time."""
        plate = self.image(int(rng.integers(len(self.files))))
        ph, pw = plate.shape[:2]
        aspect = width / height
        full_w = min(pw, ph * aspect)
        cw = full_w * float(rng.uniform(self.min_crop, 1.0))
        ch = cw / aspect
        x0 = float(rng.uniform(0.0, pw - cw))
        y0 = float(rng.uniform(0.0, ph - ch))
        flip = bool(rng.random() < 0.5)
        x1, y1 = int(x0), int(y0)
        x2, y2 = max(x1 + 1, min(pw, int(round(x0 + cw)))), max(y1 + 1, min(ph, int(round(y0 + ch))))
        t = torch.from_numpy(np.ascontiguousarray(plate[y1:y2, x1:x2])).permute(2, 0, 1).float().div_(255)
        t = F.interpolate(t[None], size=(height, width), mode="bilinear", align_corners=False,
                          antialias=True)[0].clamp_(0.0, 1.0)
        return t.flip(-1) if flip else t

    def composite(self, img: torch.Tensor, mask: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        """``img`` (3, H, W) in [0, 1] with every pixel that ``mask`` (H, W: 1 pedestrian,
        255 ignored, 0 background) leaves at 0 taken from a plate. The mask's edge is
        softened over one pixel (a 3x3 mean), as a rendered silhouette's anti-aliased
        rim is: a hard cut-out edge would be a cue no camera gives."""
        h, w = img.shape[1:]
        plate = self.crop(h, w, rng).to(img.dtype)
        keep = (mask != 0).to(img.dtype)[None, None]
        alpha = F.avg_pool2d(F.pad(keep, (1, 1, 1, 1), mode="replicate"), 3, stride=1)[0]
        return alpha * img + (1.0 - alpha) * plate


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise FileInputError(path, "cannot read this plate photograph")
    h, w = bgr.shape[:2]
    if max(h, w) > MAX_SIDE:
        s = MAX_SIDE / max(h, w)
        bgr = cv2.resize(bgr, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(bgr[..., ::-1])
