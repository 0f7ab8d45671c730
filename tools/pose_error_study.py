#!/usr/bin/env python3
"""Where does the end-to-end pose lose its accuracy? For every fully visible person
that the pipeline detects (full-body box IoU >= 0.5), the keypoint error end to end
is set against the error of stage 2 alone on the same person cut out with the true
box and mask. A large gap points at stage 1's boxes, a small one at stage 2.

    tools/pose_error_study.py --weights models/cluenet_demo.pt --data data/demo/benchmark \
        --out runs/study/pose_error.json [--mask-threshold 0.0]

With ``--mask-threshold 0`` the crops are not multiplied by the predicted mask (every
pixel passes), which isolates the mask's share. Used by docs/accuracy/README.md.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from torchvision.ops import box_iou
from tqdm import tqdm

from cluenet_ros.data.split import SplitFolder
from cluenet_ros.evaluation.occlusion_study import ClueNetProbe, fully_visible
from cluenet_ros.evaluation.pose import keypoint_ap
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig


def study(pipe: ClueNetPipeline, data: SplitFolder, max_images: int | None = None) -> dict:
    coco = {a["id"]: a for a in data.coco["annotations"]}
    images = data.images[:max_images] if max_images else data.images
    e2e, alone, ious, results = [], [], [], []
    for img in tqdm(images, desc="images", unit="img"):
        rgb, instances = data.read_rgb(img), data.read_mask(img, "instance_mask")
        res = pipe(rgb)
        for i in range(len(res)):
            k = res.keypoints[i]
            results.append({"image_id": img["id"], "category_id": 1, "score": float(res.scores[i]),
                            "keypoints": np.c_[k[:, :2], np.ones(len(k))].ravel().tolist()})
        for ann in data.annotations(img["id"]):
            c = coco.get(ann["id"])
            if c is None or "instance_id" not in ann or not fully_visible(c) or not len(res):
                continue
            x, y, w, h = c["bbox"]
            iou = box_iou(torch.tensor([[x, y, x + w, y + h]], dtype=torch.float32),
                          torch.from_numpy(res.boxes).float())[0]
            j = int(iou.argmax())
            if float(iou[j]) < 0.5:
                continue
            truth = np.asarray(c["keypoints"], float).reshape(-1, 3)[:, :2]
            cut = ClueNetProbe(pipe, [(rgb, instances == ann["instance_id"], c)])(0.0, np.random.default_rng(0))[0]
            e2e.append(np.linalg.norm(res.keypoints[j, :, :2] - truth, axis=1).mean() / h)
            alone.append(np.linalg.norm(cut[:, :2] - truth, axis=1).mean() / h)
            ious.append(float(iou[j]))
    e2e, alone = np.asarray(e2e), np.asarray(alone)
    ids = {i["id"] for i in images}
    gt = dict(data.coco, images=[i for i in data.coco["images"] if i["id"] in ids],
              annotations=[a for a in data.coco["annotations"] if a["image_id"] in ids])
    ap = keypoint_ap(gt, results)
    return {
        "images": len(images), "people": int(len(e2e)),
        "median_box_iou": float(np.median(ious)) if ious else None,
        "error_over_height_end_to_end": {"median": float(np.median(e2e)), "mean": float(e2e.mean()),
                                         "pck_0.2": float((e2e <= 0.2).mean())} if len(e2e) else None,
        "error_over_height_true_box": {"median": float(np.median(alone)), "mean": float(alone.mean()),
                                       "pck_0.2": float((alone <= 0.2).mean())} if len(alone) else None,
        "end_to_end_keypoint_ap": {"AP": ap["AP"], "AP50": ap["AP50"]},
        "mask_threshold": pipe.config.mask_threshold,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--weights", required=True)
    p.add_argument("--data", required=True, help="split folder with ground truth")
    p.add_argument("--out", required=True, help="JSON file")
    p.add_argument("--mask-threshold", type=float, default=0.5)
    p.add_argument("--max-images", type=int)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    pipe = ClueNetPipeline.from_checkpoint(a.weights, PipelineConfig(device=a.device, score_threshold=0.05,
                                                                     mask_threshold=a.mask_threshold))
    report = study(pipe, SplitFolder.open(a.data), a.max_images)
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
