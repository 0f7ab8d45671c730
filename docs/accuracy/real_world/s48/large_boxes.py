#!/usr/bin/env python3
"""Session 48, part B's follow-up read (chooses nothing): on bigval150, the boxes >= 200 px tall of
each run, at score >= 0.9 and at the node's 0.96: how many people (ground truth >= 200 px, not
ignored) one of them finds at IoU 0.5, and how many match no person at all (false boxes).
    large_boxes.py NAME=RUN_FOLDER ...   (folders of `cluenet eval full` on data/s44/bigval150/val)"""
import json
import sys

import numpy as np

GT = json.load(open("data/s44/bigval150/val/citypersons.json"))


def iou(a, b):
    ax2, ay2, bx2, by2 = a[0] + a[2], a[1] + a[3], b[:, 0] + b[:, 2], b[:, 1] + b[:, 3]
    w = np.clip(np.minimum(ax2, bx2) - np.maximum(a[0], b[:, 0]), 0, None)
    h = np.clip(np.minimum(ay2, by2) - np.maximum(a[1], b[:, 1]), 0, None)
    inter = w * h
    return inter / (a[2] * a[3] + b[:, 2] * b[:, 3] - inter)


people = {}
for a in GT["annotations"]:
    people.setdefault(a["image_id"], []).append(a)
print("| run | score floor | large people found | of | large boxes matching no person | boxes per image |")
print("|---|---|---|---|---|---|")
for spec in sys.argv[1:]:
    name, folder = spec.split("=")
    dets = json.load(open(f"{folder}/detections.json"))
    for floor in (0.9, 0.96):
        found = total = false = 0
        for img in GT["images"]:
            gts = people.get(img["id"], [])
            allb = np.array([g["bbox"] for g in gts], dtype=float).reshape(-1, 4)
            boxes = [d for d in dets if d["image_id"] == img["id"] and d["score"] >= floor and d["bbox"][3] >= 200]
            b = np.array([d["bbox"] for d in boxes], dtype=float).reshape(-1, 4)
            for g in gts:
                if g["ignore"] or g["bbox"][3] < 200:
                    continue
                total += 1
                found += bool(len(b)) and bool((iou(np.array(g["bbox"], float), b) >= 0.5).any())
            for d in b:
                false += not len(allb) or not (iou(d, allb) >= 0.5).any()
        print(f"| {name} | {floor} | {found} | {total} | {false} | {false / len(GT['images']):.2f} |")
