"""Write rendered scenes as a dataset in the project's on-disk layout.

``DIR/<split>/`` holds::

    citypersons.json        CityPersons evaluation layout (+ mask paths per image)
    coco_keypoints.json     COCO person keypoints in the 13-keypoint schema
    images/NNNNNN.png       RGB
    masks/NNNNNN_semantic.png   uint8: 0 background, 1 pedestrian (visible pixels)
    masks/NNNNNN_instances.png  uint16: 0 background, k = instance_id k of that image

Paths inside the JSON files are relative to the split folder. COCO annotations
follow COCO's conventions (bbox and area of the visible segmentation; keypoints
visible with v=2, hidden ones unlabelled) and keep what real data cannot have in
extra fields: ``keypoints_full`` (13 x, y, v with the true position of every
keypoint, v=2 visible, v=1 occluded or outside the image), ``full_bbox`` and
``vis_ratio``.
"""
from __future__ import annotations

import json
import multiprocessing as mp
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from pycocotools import mask as mask_utils
from tqdm import tqdm

from cluenet_ros import keypoints as kp
from cluenet_ros.synth.render import OCCLUDER_KINDS, RenderedScene, SceneRenderer

from cluenet_ros.data.split import CITYPERSONS_FILE, COCO_FILE  # noqa: E402  (one place for the names)


@dataclass(frozen=True)
class SynthOptions:
    width: int = 1024
    height: int = 512
    people: tuple[int, int] = (1, 6)
    occlusion: dict = field(default_factory=lambda: {"car": 0.5, "pole": 0.35, "vegetation": 0.4})
    splits: tuple[tuple[str, float], ...] = (("train", 0.8), ("val", 0.2))
    domain: str = "source"   # "target": the shifted rendering of SceneRenderer (domain-adaptation studies)
    world: str = "capsules"  # "realistic": synth/realistic (anny bodies, textured streets, pyrender)
    world_options: object = None  # realistic.world.WorldOptions for world "realistic" (None: its defaults)

    def __post_init__(self):
        if self.world not in WORLDS:
            raise ValueError(f"world {self.world!r}: choose one of {', '.join(WORLDS)}")
        if self.world == "realistic" and self.domain != "source":
            raise ValueError("--domain target is a capsule-world shift; the realistic world has no target domain")


WORLDS = ("capsules", "realistic")


def parse_splits(text: str) -> tuple[tuple[str, float], ...]:
    """'train=0.8,val=0.2' or a single name ('benchmark') for one split."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if len(parts) == 1 and "=" not in parts[0]:
        return ((parts[0], 1.0),)
    out = []
    for p in parts:
        name, _, share = p.partition("=")
        try:
            value = float(share)
        except ValueError:
            raise ValueError(f"split {p!r}: expected NAME=FRACTION") from None
        if not name or value <= 0:
            raise ValueError(f"split {p!r}: expected NAME=FRACTION with a positive fraction")
        out.append((name, value))
    total = sum(v for _, v in out)
    return tuple((n, v / total) for n, v in out)


def parse_occlusion(text: str) -> dict:
    """'car=0.5,pole=0.3,vegetation=0.4': per-image probability of each occluder kind."""
    out = {}
    for p in (p.strip() for p in text.split(",") if p.strip()):
        name, _, prob = p.partition("=")
        if name not in OCCLUDER_KINDS or name == "pedestrian":
            raise ValueError(f"occluder {name!r}: choose from car, pole, vegetation "
                             "(pedestrians occlude each other through --people)")
        try:
            out[name] = float(prob)
        except ValueError:
            raise ValueError(f"occluder {p!r}: expected KIND=PROBABILITY") from None
        if not 0 <= out[name] <= 1:
            raise ValueError(f"occluder {p!r}: probability must be within [0, 1]")
    return out


def split_of(index: int, count: int, splits) -> tuple[str, int]:
    """Contiguous blocks of the image indices per split, so a split's content does
    not depend on the other splits' sizes beyond its start index."""
    bounds, start = [], 0
    for i, (name, share) in enumerate(splits):
        end = count if i == len(splits) - 1 else start + int(round(share * count))
        bounds.append((name, start, end))
        start = end
    for name, lo, hi in bounds:
        if lo <= index < hi:
            return name, index - lo
    raise IndexError(index)


_RENDERER = None  # SceneRenderer or realistic.world.RealisticRenderer of this process


def make_renderer(options: SynthOptions):
    """The renderer of ``options.world``; the realistic one (pyrender, anny) is imported only here."""
    if options.world == "realistic":
        from cluenet_ros.synth.realistic.world import RealisticRenderer

        return RealisticRenderer(options.width, options.height, options.people[1], options.world_options)
    return SceneRenderer(options.width, options.height, options.people[1], domain=options.domain)


def _init_worker(options: SynthOptions) -> None:
    global _RENDERER
    _RENDERER = make_renderer(options)


def _render_one(args) -> tuple[int, dict]:
    index, seed, options, out_dir, split, local = args
    rng = np.random.default_rng([seed, index])
    n = int(rng.integers(options.people[0], options.people[1] + 1))
    scene = _RENDERER.render(rng, n, options.occlusion)
    return index, write_image(scene, Path(out_dir) / split, local)


def write_image(scene: RenderedScene, split_dir: Path, local: int) -> dict:
    """Write one image and its masks; return its image and annotation records."""
    stem = f"{local:06d}"
    (split_dir / "images").mkdir(parents=True, exist_ok=True)
    (split_dir / "masks").mkdir(parents=True, exist_ok=True)
    h, w = scene.image.shape[:2]
    semantic = np.zeros((h, w), np.uint8)
    instances = np.zeros((h, w), np.uint16)
    image = {"id": local + 1, "file_name": f"images/{stem}.png", "width": w, "height": h,
             "semantic_mask": f"masks/{stem}_semantic.png", "instance_mask": f"masks/{stem}_instances.png"}
    people = []
    k = 0
    for person in scene.people:
        vis = person.visible_mask
        if not vis.any():
            continue  # entirely hidden: no annotation, as in CityPersons
        k += 1
        semantic[vis] = 1
        instances[vis] = k
        x1, y1, x2, y2 = person.full_box
        rows, cols = np.flatnonzero(vis.any(axis=1)), np.flatnonzero(vis.any(axis=0))
        vb = [float(cols[0]), float(rows[0]), float(cols[-1] + 1 - cols[0]), float(rows[-1] + 1 - rows[0])]
        full = [x1, y1, x2 - x1, y2 - y1]
        vis_ratio = vb[2] * vb[3] / max(full[2] * full[3], 1e-9)
        kps = np.nan_to_num(person.keypoints, nan=-1.0)
        flags = person.keypoint_visible
        full_kps = np.c_[kps, np.where(flags, 2, 1)]
        coco_kps = np.where(flags[:, None], np.c_[kps, np.full(13, 2.0)], 0.0)
        rle = mask_utils.encode(np.asfortranarray(vis.astype(np.uint8)))
        people.append({
            "instance_id": k, "bbox": full, "vis_bbox": vb, "height": full[3], "vis_ratio": vis_ratio,
            "keypoints": coco_kps, "keypoints_full": full_kps, "area": float(vis.sum()),
            "segmentation": {"size": [h, w], "counts": rle["counts"].decode("ascii")},
            "clip": person.clip, "distance_m": person.distance,
        })
    cv2.imwrite(str(split_dir / image["file_name"]), scene.image[..., ::-1])
    cv2.imwrite(str(split_dir / image["semantic_mask"]), semantic)
    cv2.imwrite(str(split_dir / image["instance_mask"]), instances)
    return {"image": image, "people": people}


def _r(v: float, nd: int = 2) -> float:
    return float(round(float(v), nd))


def assemble(records: list[dict]) -> tuple[dict, dict]:
    """Both annotation files of one split from its per-image records."""
    images, cp_anns, coco_anns = [], [], []
    ann_id = 0
    for rec in records:
        img = rec["image"]
        images.append(img)
        for p in rec["people"]:
            ann_id += 1
            full = [_r(v) for v in p["bbox"]]
            vb = [_r(v) for v in p["vis_bbox"]]
            cp_anns.append({"id": ann_id, "image_id": img["id"], "category_id": 1, "iscrowd": 0, "ignore": 0,
                            "bbox": full, "vis_bbox": vb, "height": full[3], "vis_ratio": _r(p["vis_ratio"], 4),
                            "instance_id": p["instance_id"]})
            kps = [_r(v) for v in np.asarray(p["keypoints"]).ravel()]
            coco_anns.append({
                "id": ann_id, "image_id": img["id"], "category_id": 1, "iscrowd": 0,
                "bbox": vb, "area": p["area"], "segmentation": p["segmentation"],
                "keypoints": kps, "num_keypoints": int(sum(1 for v in kps[2::3] if v > 0)),
                "keypoints_full": [_r(v) for v in np.asarray(p["keypoints_full"]).ravel()],
                "full_bbox": full, "vis_ratio": _r(p["vis_ratio"], 4), "instance_id": p["instance_id"],
                "clip": p["clip"], "distance_m": _r(p["distance_m"], 2),
            })
    citypersons = {"images": images, "annotations": cp_anns,
                   "categories": [{"id": 1, "name": "pedestrian"}]}
    coco = {"images": images, "annotations": coco_anns, "categories": [kp.coco_category()]}
    return citypersons, coco


def generate(out_dir: str | Path, images: int, seed: int, options: SynthOptions | None = None,
             workers: int = 1, progress: bool = True) -> dict[str, int]:
    """Render ``images`` scenes; returns the number of images per split."""
    options = options or SynthOptions()
    out_dir = Path(out_dir)
    jobs = []
    for index in range(images):
        split, local = split_of(index, images, options.splits)
        jobs.append((index, seed, options, str(out_dir), split, local))
    records: dict[str, list] = {name: [] for name, _ in options.splits}
    bar = tqdm(total=images, desc="rendering", unit="img", disable=not progress)
    if workers > 1:
        ctx = mp.get_context("spawn")
        with ctx.Pool(workers, initializer=_init_worker, initargs=(options,)) as pool:
            results = pool.imap(_render_one, jobs, chunksize=4)
            for job, (index, rec) in zip(jobs, results):
                records[job[4]].append(rec)
                bar.update()
    else:
        _init_worker(options)
        try:
            for job in jobs:
                _, rec = _render_one(job)
                records[job[4]].append(rec)
                bar.update()
        finally:
            _RENDERER.close()
    bar.close()
    for split, recs in records.items():
        if not recs:
            continue
        cp, coco = assemble(recs)
        for name, data in ((CITYPERSONS_FILE, cp), (COCO_FILE, coco)):
            (out_dir / split / name).write_text(json.dumps(data, sort_keys=True, separators=(",", ":")))
    return {s: len(r) for s, r in records.items()}
