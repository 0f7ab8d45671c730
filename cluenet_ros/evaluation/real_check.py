"""``cluenet eval real``: how a detector does on real photographs, beside OpenCV's HOG.

The synthetic benchmark says whether a model learnt the synthetic world; this
check says whether that carries over to real people. It runs detectors over the
real-image check set (:mod:`cluenet_ros.data.real_images`) and reports, per
detector:

- ``recall``: the share of labelled people hit at IoU 0.5 by a detection at or
  above the detector's operating threshold (the node's ``score_threshold`` for
  ClueNet, OpenCV's default hit threshold for HOG);
- ``fp_per_image``: detections at the operating threshold that hit nobody, per image;
- ``ap``: average precision at IoU 0.5 over all detections (all-point
  interpolation, as PASCAL VOC since 2010), which does not depend on a threshold;
- ``max_recall``: recall with every detection the detector returned.

Matching is greedy by descending score, one detection per person, as the
CityPersons protocol does (:func:`cluenet_ros.evaluation.detection.match_image`):
a detection on an ``ignore`` label (a person too truncated or hidden to box, a
crowd) is neither a hit nor a false positive.

HOG is the 2005 Dalal-Triggs people detector that ships with OpenCV. Its
64x128 window holds a person of about 96 pixels with a margin, so it is run on
the image upscaled (``hog_upscale``, default 2: most people here are 40-150 px
tall) and its boxes are shrunk by 15% of their width and 5% of their height on
each side, as OpenCV's own ``peopledetect`` sample does, before matching.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from cluenet_ros.data.real_images import LabelledImage, default_dir, load_labels, read_image
from cluenet_ros.evaluation.detection import match_image

# (boxes (N, 4) xyxy, scores (N,)) for one BGR uint8 image
Detector = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass
class DetectorRun:
    name: str
    detect: Detector
    threshold: float          # the operating point: detections at or above it count for recall and FP
    note: str = ""


def hog_boxes(rects, upscale: float, shrink: bool = True) -> np.ndarray:
    """HOG's (x, y, w, h) windows on the upscaled image -> xyxy boxes in the input
    image, optionally shrunk to the person inside the window."""
    r = np.asarray(rects, dtype=np.float64).reshape(-1, 4) / upscale
    boxes = np.stack([r[:, 0], r[:, 1], r[:, 0] + r[:, 2], r[:, 1] + r[:, 3]], axis=1)
    if shrink:
        pad = np.stack([0.15 * r[:, 2], 0.05 * r[:, 3]], axis=1)
        boxes += np.concatenate([pad, -pad], axis=1)
    return boxes


def hog_detector(upscale: float = 2.0, shrink: bool = True) -> Detector:
    import cv2

    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor_getDefaultPeopleDetector())

    def detect(image: np.ndarray):
        img = image if upscale == 1.0 else cv2.resize(image, None, fx=upscale, fy=upscale,
                                                      interpolation=cv2.INTER_LINEAR)
        if img.shape[0] < 128 or img.shape[1] < 64:  # smaller than one window: OpenCV 4.x crashes (SIGSEGV)
            return np.zeros((0, 4)), np.zeros(0)
        rects, weights = hog.detectMultiScale(img, winStride=(8, 8), padding=(8, 8), scale=1.05)
        return hog_boxes(rects, upscale, shrink), np.asarray(weights, dtype=np.float64).reshape(-1)

    return detect


def cluenet_detector(pipeline) -> Detector:
    def detect(image: np.ndarray):
        res = pipeline(image, bgr=True)
        return np.asarray(res.boxes, dtype=np.float64).reshape(-1, 4), np.asarray(res.scores, dtype=np.float64)

    return detect


def _xywh(boxes: np.ndarray) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return np.concatenate([b[:, :2], b[:, 2:] - b[:, :2]], axis=1)


def match(image: LabelledImage, boxes: np.ndarray, scores: np.ndarray):
    """(scores, hit, ignored) per detection in descending score order."""
    dt = np.concatenate([_xywh(boxes), np.asarray(scores, dtype=np.float64).reshape(-1, 1)], axis=1)
    s, hit, ignored, _ = match_image(dt, _xywh(image.boxes), image.ignore)
    return s, hit & ~ignored, ignored


def average_precision(scores: np.ndarray, hit: np.ndarray, num_people: int) -> float:
    """All-point interpolated AP of pooled detections (ignored ones left out)."""
    if num_people == 0:
        return float("nan")
    if len(scores) == 0:
        return 0.0
    order = np.argsort(-scores, kind="mergesort")
    tp = np.cumsum(hit[order])
    fp = np.cumsum(~hit[order])
    recall = tp / num_people
    precision = tp / np.maximum(tp + fp, 1e-12)
    r = np.concatenate([[0.0], recall, [recall[-1]]])
    p = np.concatenate([[0.0], precision, [0.0]])
    p = np.maximum.accumulate(p[::-1])[::-1]
    steps = np.nonzero(r[1:] != r[:-1])[0]
    return float(np.sum((r[steps + 1] - r[steps]) * p[steps + 1]))


def per_image(images: Sequence[LabelledImage], detections: Sequence[tuple[np.ndarray, np.ndarray]],
              threshold: float) -> list[dict]:
    """What each image contributes to the figures: its people, its hits and false
    positives at the operating threshold, and the scores and hit flags of all its
    detections that are not ignored. Enough to recompute every figure over any
    multiset of images (:func:`figures`), which is what a bootstrap over images needs."""
    rows = []
    for im, (boxes, scores) in zip(images, detections):
        keep = np.asarray(scores) >= threshold
        _, hit_op, ign_op = match(im, np.asarray(boxes)[keep], np.asarray(scores)[keep])
        s, hit, ignored = match(im, boxes, scores)
        rows.append({"file": im.file, "people": int(im.num_people),
                     "hits_at_threshold": int(hit_op.sum()), "fps_at_threshold": int((~hit_op & ~ign_op).sum()),
                     "scores": [round(float(x), 6) for x in s[~ignored]],
                     "hit": [int(x) for x in hit[~ignored]]})
    return rows


def figures(rows: Sequence[dict]) -> dict:
    """recall, fp_per_image, ap and max_recall pooled over ``rows`` of :func:`per_image`
    (an image may appear more than once)."""
    n_people = sum(r["people"] for r in rows)
    s = np.array([x for r in rows for x in r["scores"]], dtype=np.float64)
    hit = np.array([x for r in rows for x in r["hit"]], dtype=bool)
    return {
        "recall": sum(r["hits_at_threshold"] for r in rows) / n_people if n_people else float("nan"),
        "fp_per_image": sum(r["fps_at_threshold"] for r in rows) / max(len(rows), 1),
        "ap": average_precision(s, hit, n_people),
        "max_recall": float(hit.sum()) / n_people if n_people else float("nan"),
    }


def at_threshold(rows: Sequence[dict], threshold: float) -> list[dict]:
    """The rows of :func:`per_image` as if written at another operating ``threshold``:
    matching is greedy in score order, so a detection's match does not depend on the
    lower-scored ones, and the hits and false positives at any threshold follow from
    the scores and hit flags the rows keep (AP and max recall do not change)."""
    out = []
    for r in rows:
        s, hit = np.asarray(r["scores"], np.float64), np.asarray(r["hit"], bool)
        keep = s >= threshold
        out.append(dict(r, hits_at_threshold=int((hit & keep).sum()), fps_at_threshold=int((~hit & keep).sum())))
    return out


def score(images: Sequence[LabelledImage], detections: Sequence[tuple[np.ndarray, np.ndarray]],
          threshold: float, keep_images: bool = False) -> dict:
    """The figures of one detector over ``images`` (detections in the same order);
    ``keep_images``: with each image's share (``per_image``, for bootstrap intervals)."""
    rows = per_image(images, detections, threshold)
    out = {"people": sum(r["people"] for r in rows), "images": len(rows), **figures(rows), "threshold": threshold}
    if keep_images:
        out["per_image"] = rows
    return out


def run_check(detectors: Sequence[DetectorRun], image_dir: Path | None = None, labels=None,
              overlay_dir: Path | None = None, log=print) -> dict:
    """Every detector over the whole set; figures over all images and per scene."""
    from cluenet_ros.data.real_images import LABELS

    header, images = load_labels(labels or LABELS)
    image_dir = Path(image_dir or default_dir())
    frames = [read_image(image_dir, im) for im in images]
    package = header.get("package")
    if not package:  # a set whose sources each name their own package (the second set)
        names = sorted({f"{v['name']} {v['version']}" for v in header.get("sources", {}).values()
                        if isinstance(v, dict)})
        package = {"name": ", ".join(names), "version": ""}
    report = {"set": {"images": len(images), "people": sum(im.num_people for im in images),
                      "package": package, "image_dir": str(image_dir)},
              "detectors": {}}
    scenes = sorted({im.scene for im in images})
    all_dets = {}
    for run in detectors:
        dets = [run.detect(f) for f in frames]
        all_dets[run.name] = dets
        entry = score(images, dets, run.threshold, keep_images=True)
        entry["by_scene"] = {sc: score([im for im in images if im.scene == sc],
                                       [d for im, d in zip(images, dets) if im.scene == sc], run.threshold)
                             for sc in scenes}
        if run.note:
            entry["note"] = run.note
        report["detectors"][run.name] = entry
        log(f"{run.name}: recall {100 * entry['recall']:.1f}%  AP {100 * entry['ap']:.1f}%  "
            f"FP/image {entry['fp_per_image']:.2f}")
    if overlay_dir is not None:
        write_overlays(Path(overlay_dir), images, frames, all_dets, {r.name: r.threshold for r in detectors})
    return report


def write_overlays(out: Path, images, frames, all_dets: dict, thresholds: dict) -> None:
    """One picture per image: labels in white (ignored dashed grey), each detector's
    boxes at its operating point in its own colour."""
    import cv2

    out.mkdir(parents=True, exist_ok=True)
    colours = [(0, 0, 255), (255, 160, 0), (0, 200, 0), (200, 0, 200)]
    for i, (im, frame) in enumerate(zip(images, frames)):
        vis = frame.copy()
        for box, ign in zip(im.boxes.astype(int), im.ignore):
            cv2.rectangle(vis, tuple(box[:2]), tuple(box[2:]), (160, 160, 160) if ign else (255, 255, 255), 1)
        for k, (name, dets) in enumerate(all_dets.items()):
            c = colours[k % len(colours)]
            boxes, scores = dets[i]
            for box in np.asarray(boxes)[np.asarray(scores) >= thresholds[name]].astype(int):
                cv2.rectangle(vis, tuple(box[:2]), tuple(box[2:]), c, 2)
            cv2.putText(vis, name, (8, 20 + 18 * k), cv2.FONT_HERSHEY_SIMPLEX, 0.55, c, 2)
        cv2.imwrite(str(out / (Path(im.file).stem + ".jpg")), vis, [cv2.IMWRITE_JPEG_QUALITY, 85])


def format_table(report: dict) -> str:
    s = report["set"]
    lines = [f"real-image check: {s['people']} people in {s['images']} images "
             f"({s.get('package', {}).get('name', '')} {s.get('package', {}).get('version', '')})",
             "", "| detector | recall @IoU0.5 | AP @IoU0.5 | FP / image | max recall | threshold |",
             "|---|---|---|---|---|---|"]
    for name, e in report["detectors"].items():
        lines.append(f"| {name} | {100 * e['recall']:.1f}% | {100 * e['ap']:.1f}% | {e['fp_per_image']:.2f} | "
                     f"{100 * e['max_recall']:.1f}% | {e['threshold']:g} |")
    scenes = next(iter(report["detectors"].values()), {}).get("by_scene", {})
    for sc in scenes:
        lines += ["", f"scene '{sc}':", "| detector | people | recall | AP | FP / image |", "|---|---|---|---|---|"]
        for name, e in report["detectors"].items():
            b = e["by_scene"][sc]
            lines.append(f"| {name} | {b['people']} | {100 * b['recall']:.1f}% | {100 * b['ap']:.1f}% | "
                         f"{b['fp_per_image']:.2f} |")
    return "\n".join(lines)


def write_report(report: dict, path: Path) -> None:
    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, float) and v != v:
            return None
        return v

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(clean(report), indent=2) + "\n")
