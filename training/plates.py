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


def replate_split(src, out, folders, seed: int = 0, min_crop: float = 0.35, log=print) -> Path:
    """A copy of the split folder ``src`` in ``out`` whose images have their background
    (what the stage-1 mask leaves at 0) taken from the photographs under ``folders``,
    composited exactly as in training, one fixed crop per image (drawn from ``seed``
    and the image's position). Boxes, masks and keypoints are unchanged.

    Why: a validation split whose backgrounds are photographed, as a deployed camera's
    are, with photographs training never used, is a synthetic selection set that can
    see what real backgrounds do to a model, while the real check set only measures.
    ``out`` must be new or empty: nothing in it is overwritten."""
    import hashlib
    import json
    import shutil

    import cv2

    from cluenet_ros.data.split import CITYPERSONS_FILE, COCO_FILE
    from cluenet_training.datasets import SplitStage1

    src, out = Path(src), Path(out)
    data = SplitStage1(src)  # refuses a folder that is not a split, or an empty one
    if out.resolve() == src.resolve() or src.resolve() in out.resolve().parents:
        raise ValueError(f"{out}: the replated split must be written outside the source split {src}")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileInputError(out, "exists and is not an empty folder (nothing is overwritten; give a new folder)")
    bank = PlateBank(folders, min_crop=min_crop)
    split = data.split
    out.mkdir(parents=True, exist_ok=True)
    for name in (CITYPERSONS_FILE, COCO_FILE):
        if (src / name).is_file():
            shutil.copy2(src / name, out / name)
    for i, image in enumerate(split.images):
        rec = data[i]
        rng = np.random.default_rng([int(seed), i])
        img = torch.from_numpy(rec.image).permute(2, 0, 1).float().div_(255)
        comp = bank.composite(img, torch.from_numpy(rec.mask), rng)
        rgb = comp.mul(255).round_().clamp_(0, 255).byte().permute(1, 2, 0).numpy()
        dst = out / image.get("file_name", image.get("im_name"))
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not cv2.imwrite(str(dst), np.ascontiguousarray(rgb[..., ::-1])):
            raise FileInputError(dst, "cannot write the replated image")
        for key in ("semantic_mask", "instance_mask"):
            if image.get(key):
                m = out / image[key]
                m.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src / image[key], m)
        if log and (i + 1) % 50 == 0:
            log(f"replated {i + 1}/{len(split.images)}")
    plates = [{"file": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()} for f in bank.files]
    (out / "replate.json").write_text(json.dumps({"source": str(src), "seed": int(seed), "min_crop": bank.min_crop,
                                                  "images": len(split.images), "plates": plates}, indent=1) + "\n")
    return out
