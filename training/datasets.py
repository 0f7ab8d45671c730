"""Training datasets in the real formats: CityPersons (Cityscapes images,
CityPersons ``anno_<split>.mat`` boxes, Cityscapes ``*_gtFine_labelIds.png`` masks),
COCO person keypoints, and the project's split folders (what ``cluenet synth``
writes, and what converted data can use).

Every dataset yields plain numpy records so augmentation and batching stay in
``transforms``; boxes are x1, y1, x2, y2 in pixels.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from torch.utils.data import Dataset

from cluenet_ros import keypoints as kp
from cluenet_ros.data.split import SplitFolder
from cluenet_ros.errors import InputError

IGNORE = 255
CITYSCAPES_PERSON = 24  # Cityscapes label id of 'person' (riders are 25)


class DatasetError(InputError, ValueError):
    pass


def _read_rgb(path: str | Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise DatasetError(f"{path}: not a readable image")
    return np.ascontiguousarray(bgr[..., ::-1])


# --------------------------------------------------------------------------- stage 1
@dataclass
class Stage1Record:
    image: np.ndarray        # H x W x 3 uint8 RGB
    boxes: np.ndarray        # (N, 4) float32 full-body boxes
    mask: np.ndarray         # H x W uint8: 1 pedestrian, 0 background, 255 ignored
    ignore_boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    # (M, 4) ignore regions and non-pedestrian persons: out of both losses (not sampled by
    # the RPN and RoI heads, ignored pixels for the segmentation)


class SplitStage1(Dataset):
    """Full-body boxes and pedestrian masks from a split folder; people flagged
    ``ignore`` become ignored mask pixels instead of boxes."""

    def __init__(self, root: str | Path):
        self.split = SplitFolder.open(root)
        if not self.split.images:
            raise DatasetError(f"{root}: the split has no images")

    def __len__(self) -> int:
        return len(self.split.images)

    def __getitem__(self, i: int) -> Stage1Record:
        img = self.split.images[i]
        rgb = self.split.read_rgb(img)
        sem = self.split.read_mask(img, "semantic_mask")
        mask = np.zeros(rgb.shape[:2], np.uint8) if sem is None else np.where(sem == IGNORE, IGNORE, sem > 0).astype(np.uint8)
        boxes, ignore = [], []
        for a in self.split.annotations(img["id"]):
            x, y, w, h = a["bbox"]
            if a.get("ignore"):
                x1, y1 = max(int(x), 0), max(int(y), 0)
                mask[y1:int(np.ceil(y + h)), x1:int(np.ceil(x + w))] = IGNORE
                ignore.append([x, y, x + w, y + h])
                continue
            boxes.append([x, y, x + w, y + h])
        return Stage1Record(rgb, np.asarray(boxes, np.float32).reshape(-1, 4), mask,
                            np.asarray(ignore, np.float32).reshape(-1, 4))


# CityPersons' classes, as its .mat rows number them (cityscapesScripts' labels in the
# per-image JSON of the Cityscapes download): 1 is the pedestrian the detector learns,
# every other class is an ignore region for training and evaluation.
CITYPERSONS_CLASSES = {"ignore": 0, "pedestrian": 1, "rider": 2, "sitting person": 3,
                       "person (other)": 4, "person group": 5}


def read_citypersons(annotations: str | Path, split: str) -> list[tuple[str, str, np.ndarray]]:
    """CityPersons annotations as (city, image file name, rows), each row class, x, y,
    w, h, instance id, visible x, y, w, h (top-left corners, pixels), from either
    distribution:

    - ``anno_<split>.mat`` (the CityPersons repository's MATLAB file,
      ``anno_<split>_aligned``), or
    - the ``gtBboxCityPersons`` folder of the Cityscapes download (its root or its
      ``<split>`` folder): ``<city>/<city>_<seq>_<frame>_gtBboxCityPersons.json`` with
      ``objects`` of ``label``, ``bbox``, ``bboxVis`` and ``instanceId``.
    """
    path = Path(annotations)
    if path.is_dir():
        return _read_citypersons_json(path, split)
    if not path.is_file():
        raise DatasetError(f"{path}: CityPersons annotations not found (anno_<split>.mat, or the "
                           "gtBboxCityPersons folder of the Cityscapes download)")
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except Exception as exc:
        raise DatasetError(f"{path}: not a readable .mat file ({exc})") from None
    key = next((k for k in mat if k.startswith("anno_")), None)
    if key is None:
        raise DatasetError(f"{path}: no 'anno_<split>_aligned' array inside")
    named = key.split("_")[1] if key.count("_") >= 1 else ""
    if named in ("train", "val", "test") and named != split:
        raise DatasetError(f"{path}: holds the '{named}' split ({key}) but split is '{split}'; "
                           f"set split: {named}")
    items = []
    for entry in mat[key][0]:
        rec = entry[0][0]
        city, name, bbs = str(rec[0][0]), str(rec[1][0]), np.asarray(rec[2], np.float64).reshape(-1, 10)
        items.append((city, name, bbs))
    return items


def _read_citypersons_json(path: Path, split: str) -> list[tuple[str, str, np.ndarray]]:
    folder = path / split if (path / split).is_dir() else path
    files = sorted(folder.glob("*/*_gtBboxCityPersons.json"))
    if not files:
        raise DatasetError(f"{folder}: no <city>/*_gtBboxCityPersons.json inside (give the "
                           f"gtBboxCityPersons folder or its '{split}' folder)")
    items = []
    for f in files:
        try:
            objects = json.loads(f.read_text())["objects"]
            rows = []
            for o in objects:
                if o["label"] not in CITYPERSONS_CLASSES:
                    raise DatasetError(f"{f}: unknown label {o['label']!r} (known: {', '.join(CITYPERSONS_CLASSES)})")
                rows.append([CITYPERSONS_CLASSES[o["label"]], *map(float, o["bbox"]), float(o.get("instanceId", 0)),
                             *map(float, o["bboxVis"])])
        except (KeyError, TypeError, ValueError) as exc:
            raise DatasetError(f"{f}: not a gtBboxCityPersons file ({type(exc).__name__}: {exc})") from None
        name = f.name.replace("_gtBboxCityPersons.json", "_leftImg8bit.png")
        items.append((f.parent.name, name, np.asarray(rows, np.float64).reshape(-1, 10)))
    return items


class CityPersonsStage1(Dataset):
    """CityPersons as distributed (``read_citypersons``: the .mat file or the Cityscapes
    download's gtBboxCityPersons JSON; label 1 = pedestrian, every other class an
    ignore region) next to a Cityscapes tree (``leftImg8bit/<split>/<city>/`` images,
    ``gtFine/<split>/<city>/`` labels)."""

    def __init__(self, cityscapes_root: str | Path, annotations: str | Path, split: str = "train"):
        self.root = Path(cityscapes_root)
        self.items = read_citypersons(annotations, split)
        self.split = split

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> Stage1Record:
        city, name, bbs = self.items[i]
        rgb = _read_rgb(self.root / "leftImg8bit" / self.split / city / name)
        label_path = self.root / "gtFine" / self.split / city / name.replace("leftImg8bit", "gtFine_labelIds")
        labels = cv2.imread(str(label_path), cv2.IMREAD_UNCHANGED)
        if labels is None:
            raise DatasetError(f"{label_path}: missing Cityscapes label image")
        mask = (labels == CITYSCAPES_PERSON).astype(np.uint8)
        boxes, ignore = [], []
        for cls, x, y, w, h, *_ in bbs:
            if int(cls) == 1:
                boxes.append([x, y, x + w, y + h])
            else:  # ignore regions, riders, sitting, unusual, groups: out of both losses
                mask[max(int(y), 0):int(np.ceil(y + h)), max(int(x), 0):int(np.ceil(x + w))] = IGNORE
                ignore.append([x, y, x + w, y + h])
        return Stage1Record(rgb, np.asarray(boxes, np.float32).reshape(-1, 4), mask,
                            np.asarray(ignore, np.float32).reshape(-1, 4))


# --------------------------------------------------------------------------- stage 2
@dataclass
class PersonRecord:
    image: np.ndarray          # H x W x 3 uint8 RGB (whole image)
    mask: np.ndarray           # H x W bool, the image's persons (semantic, in both domains)
    box: np.ndarray            # (4,) full-body box
    keypoints: np.ndarray      # (13, 3) x, y, v (v > 0 labelled); zeros for target-domain people


VISIBILITY = ("coco", "unoccluded")
SELF_OCCLUSION_TOLERANCE_PX = 3


class CocoPersons(Dataset):
    """Source domain: fully visible COCO-format persons with their keypoints,
    segmented by the image's person mask (all persons, as for the target domain). Works on real COCO person_keypoints files (17 keypoints, mapped to the
    schema) and on files already in the 13-keypoint schema (the synthetic sets).

    What "fully visible" means is ``visibility``:

    * ``coco``: all 13 keypoints labelled visible (v=2) and at most ``max_vis_loss``
      of the full box hidden. All that real COCO can tell, and stricter than the
      paper needs: COCO marks a wrist behind its own torso v=1, so people turned
      sideways are lost (on the realistic synthetic world 259 of 4020 people pass).
    * ``unoccluded``: nothing else hides the person (the paper's "completely visible
      individual human instances"). Needs the synthetic sets' exact truth
      (``keypoints_full``): every keypoint inside the image, at most
      ``max_vis_loss`` of the full box hidden, and each keypoint the depth test
      hides lies on the person's own visible pixels (within
      ``SELF_OCCLUSION_TOLERANCE_PX``), i.e. behind its own body, not behind a car,
      pole or other person. The targets are then all 13 true positions, the
      self-occluded ones included.
    """

    def __init__(self, annotation_file: str | Path, image_root: str | Path | None = None,
                 min_keypoints: int = 13, max_vis_loss: float = 0.05, visibility: str = "coco"):
        from pycocotools.coco import COCO
        import contextlib
        import io

        if visibility not in VISIBILITY:
            raise DatasetError(f"visibility must be one of {VISIBILITY}, not {visibility!r}")
        self.visibility = visibility
        path = Path(annotation_file)
        if not path.is_file():
            raise DatasetError(f"{path}: COCO annotation file not found")
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                self.coco = COCO(str(path))
            except Exception as exc:
                raise DatasetError(f"{path}: not a loadable COCO file ({exc})") from None
        self.root = Path(image_root) if image_root else path.parent
        self.anns = []
        for ann in self.coco.loadAnns(self.coco.getAnnIds(iscrowd=False)):
            if float(ann.get("vis_ratio", 1.0)) < 1.0 - max_vis_loss:
                continue
            if visibility == "coco":
                if int((self._keypoints(ann)[:, 2] == 2).sum()) >= min_keypoints:
                    self.anns.append(ann)
            elif self._unoccluded(ann, path):
                self.anns.append(ann)
        if not self.anns:
            raise DatasetError(f"{path}: no fully visible person (visibility {visibility!r}"
                               + (f", {min_keypoints} visible keypoints)" if visibility == "coco" else ")"))
        first = self.root / self.coco.imgs[self.anns[0]["image_id"]]["file_name"]
        if not first.is_file():  # said now, not by the first batch (COCO keeps images apart from its JSON)
            raise DatasetError(f"{path}: image {first} not found; set the data's 'root' to the folder that "
                               "holds the images (for COCO, e.g. coco/train2017)")

    def _unoccluded(self, ann: dict, path: Path) -> bool:
        if "keypoints_full" not in ann:
            raise DatasetError(f"{path}: visibility 'unoccluded' needs the synthetic sets' 'keypoints_full' "
                               f"(annotation {ann.get('id')} has none); use visibility 'coco' for real COCO")
        k = np.asarray(ann["keypoints_full"], np.float64).reshape(kp.NUM_KEYPOINTS, 3)
        info = self.coco.imgs[ann["image_id"]]
        w, h = int(info["width"]), int(info["height"])
        inside = (k[:, 0] >= 0) & (k[:, 0] < w) & (k[:, 1] >= 0) & (k[:, 1] < h)
        if not inside.all():
            return False
        hidden = k[:, 2] != 2
        if not hidden.any():
            return True
        if not ann.get("segmentation"):
            return False
        own = self.coco.annToMask(ann).astype(np.uint8)
        r = SELF_OCCLUSION_TOLERANCE_PX
        own = cv2.dilate(own, np.ones((2 * r + 1, 2 * r + 1), np.uint8)) > 0
        cols, rows = k[hidden, 0].astype(int), k[hidden, 1].astype(int)
        return bool(own[rows, cols].all())

    def keypoints_of(self, ann: dict) -> np.ndarray:
        """The training and validation targets of one selected person: its labelled
        keypoints, or with ``unoccluded`` all 13 true positions (v=2)."""
        if self.visibility == "unoccluded":
            k = np.asarray(ann["keypoints_full"], np.float64).reshape(kp.NUM_KEYPOINTS, 3).copy()
            k[:, 2] = 2
            return k
        return self._keypoints(ann)

    @staticmethod
    def _keypoints(ann) -> np.ndarray:
        raw = np.asarray(ann.get("keypoints", []), np.float64)
        if raw.size == 17 * 3:
            return kp.from_coco17(raw)
        if raw.size == kp.NUM_KEYPOINTS * 3:
            return raw.reshape(kp.NUM_KEYPOINTS, 3)
        return np.zeros((kp.NUM_KEYPOINTS, 3))

    def __len__(self) -> int:
        return len(self.anns)

    def __getitem__(self, i: int) -> PersonRecord:
        ann = self.anns[i]
        info = self.coco.loadImgs(ann["image_id"])[0]
        rgb = _read_rgb(self.root / info["file_name"])
        # every person of the image, as in the target domain and as stage 1 predicts it
        # (a semantic mask): the domain classifier must not find the mask type a cue
        mask = np.zeros(rgb.shape[:2], bool)
        for other in self.coco.loadAnns(self.coco.getAnnIds(imgIds=ann["image_id"])):
            if not other.get("segmentation"):
                continue
            mask |= self.coco.annToMask(other).astype(bool)
        x, y, w, h = ann.get("full_bbox", ann["bbox"])
        return PersonRecord(rgb, mask, np.array([x, y, x + w, y + h], np.float32), self.keypoints_of(ann))


class PedestrianCrops(Dataset):
    """Target domain: pedestrians of a CityPersons-format split, segmented by the
    ground-truth mask (semantic, as stage 1 predicts it), without keypoints."""

    def __init__(self, root: str | Path, min_height: float = 50.0):
        self.split = SplitFolder.open(root)
        self.items = [(img, a) for img in self.split.images for a in self.split.annotations(img["id"])
                      if not a.get("ignore") and a["height"] >= min_height]
        if not self.items:
            raise DatasetError(f"{root}: no pedestrian of height >= {min_height}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> PersonRecord:
        img, a = self.items[i]
        rgb = self.split.read_rgb(img)
        sem = self.split.read_mask(img, "semantic_mask")
        mask = (sem > 0) & (sem != IGNORE) if sem is not None else np.ones(rgb.shape[:2], bool)
        x, y, w, h = a["bbox"]
        return PersonRecord(rgb, mask, np.array([x, y, x + w, y + h], np.float32),
                            np.zeros((kp.NUM_KEYPOINTS, 3)))


class CityPersonsCrops(Dataset):
    """Target domain from CityPersons as distributed: pedestrians (label 1) of at
    least ``min_height`` px, segmented by the Cityscapes person mask."""

    def __init__(self, cityscapes_root: str | Path, annotations: str | Path, split: str = "train",
                 min_height: float = 50.0):
        self.images = CityPersonsStage1(cityscapes_root, annotations, split)
        self.items = [(i, j) for i, (_, _, bbs) in enumerate(self.images.items)
                      for j, row in enumerate(bbs) if int(row[0]) == 1 and row[4] >= min_height]
        if not self.items:
            raise DatasetError(f"{annotations}: no pedestrian of height >= {min_height}")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, k: int) -> PersonRecord:
        i, j = self.items[k]
        rec = self.images[i]
        _, x, y, w, h, *_ = self.images.items[i][2][j]
        return PersonRecord(rec.image, rec.mask == 1, np.array([x, y, x + w, y + h], np.float32),
                            np.zeros((kp.NUM_KEYPOINTS, 3)))


# --------------------------------------------------------------------------- baseline
@dataclass
class KeypointImageRecord:
    image: np.ndarray        # H x W x 3 uint8 RGB
    boxes: np.ndarray        # (N, 4) float32 full-body boxes
    keypoints: np.ndarray    # (N, 13, 3) x, y, v (v > 0 labelled, i.e. visible in COCO's sense)
    mask: np.ndarray         # H x W uint8 (unused by the baseline; kept for the shared augmentation)


class SplitKeypointImages(Dataset):
    """Whole images with every pedestrian's full-body box and keypoints, for the
    Keypoint R-CNN baseline: the same people stage 1 and stage 2 learn from, with the
    keypoint labels a COCO-style annotation has (visible ones only)."""

    def __init__(self, root: str | Path):
        self.split = SplitFolder.open(root)
        if not self.split.images or self.split.coco is None:
            raise DatasetError(f"{root}: the split has no images or no coco_keypoints.json")
        self.coco = {a["id"]: a for a in self.split.coco["annotations"]}

    def __len__(self) -> int:
        return len(self.split.images)

    def __getitem__(self, i: int) -> KeypointImageRecord:
        img = self.split.images[i]
        rgb = self.split.read_rgb(img)
        boxes, kps = [], []
        for a in self.split.annotations(img["id"]):
            if a.get("ignore"):
                continue
            x, y, w, h = a["bbox"]
            boxes.append([x, y, x + w, y + h])
            kps.append(CocoPersons._keypoints(self.coco.get(a["id"], {})))
        return KeypointImageRecord(rgb, np.asarray(boxes, np.float32).reshape(-1, 4),
                                   np.asarray(kps, np.float32).reshape(-1, kp.NUM_KEYPOINTS, 3),
                                   np.zeros(rgb.shape[:2], np.uint8))


def build_stage1_dataset(spec) -> Dataset:
    if spec.format == "split":
        return SplitStage1(spec.root)
    if spec.format == "citypersons":
        return CityPersonsStage1(spec.root, spec.annotations, spec.split)
    raise DatasetError(f"unknown stage-1 dataset format {spec.format!r}")


def batch_source(rng: np.random.Generator, main, mixes: list, edges) -> object:
    """The folder (with what goes with it) one draw takes from: mix folder k for its share of
    the draws (``edges``: the cumulative shares), ``main`` for the rest. Stage 1 draws once per
    batch, stage 2 once per crop. Without a mix no random number is drawn, so the samples of
    every run made before mixes existed reproduce."""
    if not mixes:
        return main
    k = int(np.searchsorted(edges, rng.random(), side="right"))
    return mixes[k] if k < len(mixes) else main
