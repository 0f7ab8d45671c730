#!/usr/bin/env python3
"""Where a model's false positives on the real-image check fall (issue 18): on a
labelled person (a duplicate or a part of someone already found, or a box too
loose to reach IoU 0.5) or on the background. A measurement to decide what to work
on next, not a tuning tool: nothing here changes a default.

A false positive (at the operating threshold, unmatched at IoU 0.5, not on an
ignore label) counts as "on a person" when it overlaps any labelled box with
IoU >= 0.1 or has half its own area inside one; otherwise "background".

    tools/real_fp_breakdown.py [--weights W] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def overlap(det: np.ndarray, gt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """IoU and the share of each detection inside each label box, (N, M) each."""
    if len(det) == 0 or len(gt) == 0:
        z = np.zeros((len(det), len(gt)))
        return z, z
    x1 = np.maximum(det[:, None, 0], gt[None, :, 0])
    y1 = np.maximum(det[:, None, 1], gt[None, :, 1])
    x2 = np.minimum(det[:, None, 2], gt[None, :, 2])
    y2 = np.minimum(det[:, None, 3], gt[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    a_det = ((det[:, 2] - det[:, 0]) * (det[:, 3] - det[:, 1]))[:, None]
    a_gt = ((gt[:, 2] - gt[:, 0]) * (gt[:, 3] - gt[:, 1]))[None, :]
    return inter / np.maximum(a_det + a_gt - inter, 1e-9), inter / np.maximum(a_det, 1e-9)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", help="default: the node's weights")
    p.add_argument("--threshold", type=float, default=0.5, help="the operating point (the node's default)")
    p.add_argument("--no-detection-flip-test", dest="detection_flip_test", action="store_false",
                   help="stage 1 on the frame alone (on by default since session 31, as in the node)")
    p.add_argument("--json")
    a = p.parse_args(argv)

    from cluenet_ros.data.real_images import LABELS, default_dir, load_labels, read_image
    from cluenet_ros.evaluation.real_check import cluenet_detector, match
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
    from cluenet_ros.inference.onnx_export import default_weights

    weights = a.weights or str(default_weights())
    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", score_threshold=0.0,
                                                                   detection_flip_test=a.detection_flip_test))
    detect = cluenet_detector(pipe)
    _, images = load_labels(LABELS)
    rows, totals = [], {"fp": 0, "on_person": 0, "background": 0, "hits": 0, "people": 0}
    for im in images:
        boxes, scores = detect(read_image(default_dir(), im))
        keep = scores >= a.threshold
        boxes, scores = boxes[keep], scores[keep]
        order = np.argsort(-scores, kind="mergesort")  # match() returns detections in this order
        s, hit, ignored = match(im, boxes, scores)
        fp = boxes[order][~hit & ~ignored]
        iou, inside = overlap(fp, np.asarray(im.boxes, dtype=np.float64).reshape(-1, 4))
        on_person = ((iou >= 0.1) | (inside >= 0.5)).any(axis=1) if iou.size else np.zeros(len(fp), bool)
        row = {"image": im.file, "people": im.num_people, "hits": int(hit.sum()), "fp": len(fp),
               "fp_on_person": int(on_person.sum()), "fp_background": int((~on_person).sum())}
        rows.append(row)
        for k, v in (("fp", len(fp)), ("on_person", int(on_person.sum())), ("background", int((~on_person).sum())),
                     ("hits", int(hit.sum())), ("people", im.num_people)):
            totals[k] += v
    n = len(images)
    out = {"weights": weights, "threshold": a.threshold, "detection_flip_test": a.detection_flip_test, "images": n, "totals": totals,
           "fp_per_image": totals["fp"] / n, "fp_on_person_per_image": totals["on_person"] / n,
           "fp_background_per_image": totals["background"] / n, "per_image": rows}
    print(f"{n} images, {totals['people']} people, {totals['hits']} found at {a.threshold}: "
          f"{out['fp_per_image']:.2f} FP/image = {out['fp_on_person_per_image']:.2f} on a labelled person "
          f"(duplicates, parts, loose boxes) + {out['fp_background_per_image']:.2f} on the background")
    for r in rows:
        print(f"  {r['image']:<16} people {r['people']:>2}  hits {r['hits']:>2}  FP {r['fp']:>3} "
              f"(on person {r['fp_on_person']:>3}, background {r['fp_background']:>3})")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
