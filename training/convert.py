"""``cluenet train convert-citypersons``: CityPersons as distributed (the .mat file or
the Cityscapes download's gtBboxCityPersons JSON) -> a split folder.

The split folder is what validation, ``cluenet eval full`` and bag making read:
``citypersons.json`` in the evaluation layout (full ``bbox``, ``vis_bbox``,
``height``, ``vis_ratio``, ``ignore``; riders, sitting and unusual persons and the
ignore regions become ``ignore: 1``) with absolute image paths, and
``masks/*_semantic.png`` (1 pedestrian, 255 other persons' and ignore regions'
pixels, 0 elsewhere) and ``masks/*_instances.png`` from Cityscapes' gtFine.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from cluenet_training.datasets import CITYSCAPES_PERSON, IGNORE, CityPersonsStage1

log = logging.getLogger(__name__)


def convert_citypersons(cityscapes_root: str | Path, annotations: str | Path, split: str,
                        out: str | Path) -> dict:
    data = CityPersonsStage1(cityscapes_root, annotations, split)
    out = Path(out)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    images, anns = [], []
    foreign_ids = 0
    root = Path(cityscapes_root).resolve()
    for i, (city, name, bbs) in enumerate(tqdm(data.items, desc="converting", unit="img")):
        stem = name.replace("_leftImg8bit.png", "")
        gt = root / "gtFine" / split / city
        labels = cv2.imread(str(gt / f"{stem}_gtFine_labelIds.png"), cv2.IMREAD_UNCHANGED)
        inst_path = gt / f"{stem}_gtFine_instanceIds.png"
        inst = cv2.imread(str(inst_path), cv2.IMREAD_UNCHANGED) if inst_path.is_file() else None
        if labels is None:
            raise FileNotFoundError(f"{gt / (stem + '_gtFine_labelIds.png')}: missing Cityscapes labels")
        semantic = (labels == CITYSCAPES_PERSON).astype(np.uint8)
        image_id = i + 1
        for row in bbs:
            cls, x, y, w, h, iid, vx, vy, vw, vh = (float(v) for v in row)
            ignore = int(cls) != 1
            if ignore:
                semantic[max(int(y), 0):int(np.ceil(y + h)), max(int(x), 0):int(np.ceil(x + w))] = IGNORE
            ann = {"id": len(anns) + 1, "image_id": image_id, "category_id": 1, "iscrowd": 0,
                   "ignore": int(ignore), "bbox": [x, y, w, h], "vis_bbox": [vx, vy, vw, vh], "height": h,
                   "vis_ratio": (vw * vh) / max(w * h, 1e-9)}
            # Cityscapes' instance ids are class x 1000 + index (a person: 24xxx); any other
            # value would match the bare label id of a whole class (7: every road pixel)
            if int(iid) // 1000 == CITYSCAPES_PERSON:
                ann["instance_id"] = int(iid)
            elif not ignore:
                foreign_ids += 1
            anns.append(ann)
        img = {"id": image_id, "file_name": str(root / "leftImg8bit" / split / city / name),
               "width": int(labels.shape[1]), "height": int(labels.shape[0]),
               "semantic_mask": f"masks/{stem}_semantic.png"}
        cv2.imwrite(str(out / img["semantic_mask"]), semantic)
        if inst is not None:
            img["instance_mask"] = f"masks/{stem}_instances.png"
            cv2.imwrite(str(out / img["instance_mask"]), inst.astype(np.uint16))
        images.append(img)
    (out / "citypersons.json").write_text(json.dumps(
        {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "pedestrian"}]}))
    if foreign_ids:
        log.warning("%d pedestrian(s) carry an instance id that is not a Cityscapes person id (24xxx); "
                    "their instance masks are left out of the split (mask-based metrics skip them)", foreign_ids)
    return {"images": len(images), "annotations": len(anns), "pedestrians_without_instance_mask": foreign_ids}
