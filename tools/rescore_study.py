#!/usr/bin/env python3
"""Do ClueNet's other outputs tell people from street objects better than the box
score alone? (issue 18: the demo's real-image AP gap is ranking, 27 of its 37 false
positives per image lie on the background.)

For every candidate box (stage-1 score >= 0.05) the pipeline already computes two
more clues: the share of the box that the segmentation decoder calls pedestrian
(``mask``), and stage 2's mean keypoint confidence (``pose``). This study rescored
each box as ``score * mask**a * pose**b`` over a small grid of (a, b), and, on the plain
score, a further NMS at lower IoU (10 of the 37 false positives lie on labelled people:
duplicates and parts). It chooses the row with the lowest MR^-2 Reasonable on a
synthetic validation split, and then reads the real-image check at every row. The real
check chooses nothing; its other rows show how much the choice matters.

    tools/rescore_study.py --weights models/cluenet_demo.pt \\
        --val data/s21/clutter_val300/val --max-images 300 --json out.json

The cues are cached in ``--json`` (``--reuse`` reads them back and only rescores).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

EXPONENTS = (0.0, 0.5, 1.0, 2.0)
NMS_IOU = (0.5, 0.45, 0.4, 0.35, 0.3)  # 0.5 is the pipeline's own: lower ones suppress further
NESTED = (1.0, 0.9, 0.8, 0.7, 0.6)  # box_ops.nested_suppression's iomin after NMS (session 26); 1.0: off
CANDIDATE_SCORE = 0.05
FLOOR = 1e-3  # a clue of 0 would erase the box's score entirely


def clues(pipe, image_bgr: np.ndarray) -> list[dict]:
    res = pipe(image_bgr, bgr=True)
    mask = np.asarray(res.mask) > 0
    h, w = mask.shape
    rows = []
    for box, s, k in zip(np.asarray(res.boxes, float).reshape(-1, 4), np.asarray(res.scores, float),
                         np.asarray(res.keypoints, float).reshape(-1, 13, 3)):
        x1, y1 = int(np.clip(np.floor(box[0]), 0, w - 1)), int(np.clip(np.floor(box[1]), 0, h - 1))
        x2, y2 = int(np.clip(np.ceil(box[2]), x1 + 1, w)), int(np.clip(np.ceil(box[3]), y1 + 1, h))
        rows.append({"box": [round(float(v), 2) for v in box], "score": round(float(s), 6),
                     "mask": round(float(mask[y1:y2, x1:x2].mean()), 6),
                     "pose": round(float(k[:, 2].mean()), 6)})
    return rows


def rescored(dets: list[dict], a: float, b: float, nms_iou: float = 0.5,
             nested: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    import torch
    from torchvision.ops import nms

    from cluenet_ros.box_ops import nested_suppression

    boxes = np.array([d["box"] for d in dets], float).reshape(-1, 4)
    s = np.array([d["score"] * max(d["mask"], FLOOR) ** a * max(d["pose"], FLOOR) ** b for d in dets], float)
    if nms_iou < 0.5 and len(s):
        keep = nms(torch.as_tensor(boxes), torch.as_tensor(s), nms_iou).numpy()
        boxes, s = boxes[keep], s[keep]
    if nested < 1.0 and len(s):
        keep = nested_suppression(torch.as_tensor(boxes), torch.as_tensor(s), nested).numpy()
        boxes, s = boxes[keep], s[keep]
    return boxes, s


def collect(weights: str, val: Path, max_images: int) -> dict:
    import cv2

    from cluenet_ros.data.real_images import LABELS, default_dir, load_labels, read_image
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig

    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", score_threshold=CANDIDATE_SCORE))
    gt = json.loads((val / "citypersons.json").read_text())
    out = {"weights": weights, "val": str(val), "synthetic": {}, "real": {}}
    t0 = time.time()
    for im in gt["images"][:max_images]:
        out["synthetic"][str(im["id"])] = clues(pipe, cv2.imread(str(val / im["file_name"])))
    print(f"synthetic: {len(out['synthetic'])} images in {time.time() - t0:.0f} s", flush=True)
    _, images = load_labels(LABELS)
    for im in images:
        out["real"][im.file] = clues(pipe, read_image(default_dir(), im))
    return out


def table(cache: dict, val: Path) -> list[dict]:
    from cluenet_ros.data.real_images import LABELS, load_labels
    from cluenet_ros.evaluation.detection import evaluate_detections, load_ground_truth
    from cluenet_ros.evaluation.real_check import score

    gt = load_ground_truth(val / "citypersons.json")
    keep_ids = {int(k) for k in cache["synthetic"]}
    gt.image_ids = [i for i in gt.image_ids if i in keep_ids]
    _, images = load_labels(LABELS)
    rows = []
    for a, b, t, c in itertools.product(EXPONENTS, EXPONENTS, NMS_IOU, NESTED):
        if (t < 0.5 or c < 1.0) and (a, b) != (0.0, 0.0):
            continue  # further suppression is studied on the plain score only
        if t < 0.5 and c < 1.0:
            continue  # one kind of further suppression at a time
        dets = {}
        for k, d in cache["synthetic"].items():
            boxes, s = rescored(d, a, b, t, c)
            dets[int(k)] = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2], s[:, None]], 1)
        mr = evaluate_detections(gt, dets)
        real = score(images, [rescored(cache["real"][im.file], a, b, t, c) for im in images], threshold=0.5)
        rows.append({"mask_exp": a, "pose_exp": b, "nms_iou": t, "nested_iomin": c, "mr_reasonable": mr["reasonable"],
                     "mr_heavy": mr["heavy"],
                     "real_ap": real["ap"], "real_recall": real["recall"], "real_fp": real["fp_per_image"]})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", default="models/cluenet_demo.pt")
    p.add_argument("--val", type=Path, default=Path("data/s21/clutter_val300/val"))
    p.add_argument("--max-images", type=int, default=300)
    p.add_argument("--json", type=Path, required=True)
    p.add_argument("--reuse", action="store_true", help="rescore the cues already in --json")
    a = p.parse_args(argv)
    if a.reuse:
        cache = json.loads(a.json.read_text())
    else:
        cache = collect(a.weights, a.val, a.max_images)
    rows = table(cache, Path(cache["val"]))
    best = min(rows, key=lambda r: (r["mr_reasonable"], r["mask_exp"] + r["pose_exp"], -r["nms_iou"],
                                    -r["nested_iomin"]))
    cache["table"] = rows
    cache["chosen"] = {k: best[k] for k in ("mask_exp", "pose_exp", "nms_iou", "nested_iomin")}
    a.json.write_text(json.dumps(cache))
    print("mask^a pose^b nms  nested   MR^-2 R   MR^-2 HO | real AP  recall@0.5  FP/img@0.5")
    for r in rows:
        mark = "  <- chosen (synthetic MR^-2 R)" if r is best else ""
        print(f"a={r['mask_exp']:<3} b={r['pose_exp']:<3} {r['nms_iou']:<4} {r['nested_iomin']:<4}  "
              f"{100 * r['mr_reasonable']:6.2f}%  "
              f"{100 * r['mr_heavy']:6.2f}% | {100 * r['real_ap']:6.1f}%  {100 * r['real_recall']:6.1f}%  "
              f"{r['real_fp']:7.2f}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
