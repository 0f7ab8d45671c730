"""One split folder of the project's layout (what ``cluenet synth`` writes and what
converted real data uses): ``citypersons.json`` + ``coco_keypoints.json`` with
image and mask paths relative to the folder. See ``cluenet_ros.synth.dataset``."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cluenet_ros.errors import FileInputError, read_json

CITYPERSONS_FILE = "citypersons.json"
COCO_FILE = "coco_keypoints.json"


@dataclass
class SplitFolder:
    root: Path
    citypersons: dict
    coco: dict | None

    @classmethod
    def open(cls, root: str | Path) -> "SplitFolder":
        root = Path(root)
        cp_path = root / CITYPERSONS_FILE
        if not cp_path.is_file():
            raise FileInputError(root, f"no {CITYPERSONS_FILE} (expected a split folder such as "
                                             "DIR/val written by `cluenet synth`)")
        cp = read_json(cp_path)
        if not isinstance(cp, dict) or not isinstance(cp.get("images"), list):
            raise FileInputError(cp_path, "expected an object with an 'images' list")
        coco_path = root / COCO_FILE
        coco = read_json(coco_path) if coco_path.is_file() else None
        return cls(root, cp, coco)

    @property
    def images(self) -> list[dict]:
        return self.citypersons["images"]

    def annotations(self, image_id) -> list[dict]:
        if not hasattr(self, "_by_image"):
            self._by_image: dict = {}
            for a in self.citypersons.get("annotations", []):
                self._by_image.setdefault(a["image_id"], []).append(a)
        return self._by_image.get(image_id, [])

    def _path(self, image: dict, key: str) -> Path:
        rel = image.get(key) or (image.get("im_name") if key == "file_name" else None)
        if not rel:
            raise FileInputError(self.root / CITYPERSONS_FILE, f"image {image.get('id')} has no '{key}'")
        return self.root / rel

    def read_rgb(self, image: dict) -> np.ndarray:
        path = self._path(image, "file_name")
        bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if bgr is None:
            raise FileInputError(path, "not a readable image")
        return np.ascontiguousarray(bgr[..., ::-1])

    def read_mask(self, image: dict, key: str) -> np.ndarray | None:
        if not image.get(key):
            return None
        path = self._path(image, key)
        mask = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if mask is None:
            raise FileInputError(path, "not a readable mask image")
        return mask
