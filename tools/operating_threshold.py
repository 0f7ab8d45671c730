#!/usr/bin/env python3
"""Choose a detector's operating threshold on synthetic validation images, then read
what that threshold gives on the real-image check.

    tools/operating_threshold.py --gt VAL/citypersons.json --dt REPORT/detections.json \\
        [--gt VAL2/citypersons.json --dt REPORT2/detections.json ...] [--real real.json] [--json OUT.json]

The choice is the score threshold with the highest F1 (recall and precision of the
CityPersons Reasonable setup, IoU 0.5, ignore regions as the MR^-2 figure treats
them) on the synthetic split; ``--dt`` is the detections.json that `cluenet eval full`
writes. Several --gt/--dt pairs are pooled into one split (each pair's image ids
renumbered apart), so a choosing set rendered in parts, such as plateval900's three
300-image composites, is chosen on as a whole. The real-image check (`cluenet eval real --json`, which keeps each image's
detections) is only read at the thresholds of the grid: it chooses nothing (issue 18).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluenet_ros.evaluation.detection import (SETUPS, at_threshold, load_detections,  # noqa: E402
                                              load_ground_truth, operating_points)

GRID = [0.30, 0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85,
        0.90, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97, 0.98, 0.99]


def pooled(pairs: list[tuple[Path, Path]]) -> tuple[dict, list[dict]]:
    """One ground truth and one detection list from several (citypersons.json,
    detections.json) pairs, every pair's image ids mapped to new ones that no other
    pair uses, so matching never crosses from one split into another."""
    images, annotations, detections = [], [], []
    for k, (gt_path, dt_path) in enumerate(pairs):
        gt = json.loads(Path(gt_path).read_text())
        ids = {img["id"]: len(images) + i + 1 for i, img in enumerate(gt["images"])}
        images += [dict(img, id=ids[img["id"]]) for img in gt["images"]]
        annotations += [dict(a, id=len(annotations) + j + 1, image_id=ids[a["image_id"]])
                        for j, a in enumerate(gt["annotations"])]
        for d in json.loads(Path(dt_path).read_text()):
            if d["image_id"] not in ids:
                raise SystemExit(f"{dt_path}: image_id {d['image_id']} is not in {gt_path}")
            detections.append(dict(d, image_id=ids[d["image_id"]]))
    return {"images": images, "annotations": annotations}, detections


def synthetic_curve(gt_path, dt_path, setup_name: str = "reasonable") -> list[dict]:
    """``gt_path``/``dt_path``: files, or a ground-truth mapping and a detection list."""
    gt = load_ground_truth(gt_path)
    dets = load_detections(dt_path, gt)
    setup = next(s for s in SETUPS if s.name == setup_name)
    scores, fppi, recall, num_pos = operating_points(gt, dets, setup)
    n_images = len(gt.image_ids)
    rows = []
    for t in GRID:
        r, f = at_threshold(scores, fppi, recall, t)
        tp, fp = r * num_pos, f * n_images
        precision = tp / (tp + fp) if tp + fp else 1.0
        f1 = 2 * precision * r / (precision + r) if precision + r else 0.0
        rows.append({"threshold": t, "recall": r, "fp_per_image": f, "precision": precision, "f1": f1})
    return rows


def real_at(real_json: Path, detector: str = "cluenet") -> list[dict]:
    """Recall and false positives per image of the real check at each grid threshold,
    from the per-image scores and hit flags that `cluenet eval real --json` keeps."""
    entry = json.loads(real_json.read_text())["detectors"][detector]
    rows = entry.get("per_image")
    if rows is None:
        raise SystemExit(f"{real_json}: no per_image rows (written by an older `cluenet eval real`)")
    people = sum(r["people"] for r in rows)
    s = np.array([x for r in rows for x in r["scores"]], dtype=float)
    hit = np.array([x for r in rows for x in r["hit"]], dtype=bool)
    return [{"threshold": t, "recall": float((hit & (s >= t)).sum()) / people,
             "fp_per_image": float((~hit & (s >= t)).sum()) / len(rows)} for t in GRID]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gt", type=Path, required=True, action="append",
                    help="synthetic split's citypersons.json (repeat, with --dt, to pool several splits)")
    ap.add_argument("--dt", type=Path, required=True, action="append",
                    help="that split's detections.json (cluenet eval full)")
    ap.add_argument("--real", type=Path, help="cluenet eval real --json output, read at each threshold")
    ap.add_argument("--json", type=Path, help="write the table here")
    args = ap.parse_args(argv)
    if len(args.gt) != len(args.dt):
        ap.error(f"--gt and --dt come in pairs: got {len(args.gt)} --gt and {len(args.dt)} --dt")
    if len(args.gt) == 1:
        syn = synthetic_curve(args.gt[0], args.dt[0])
    else:
        syn = synthetic_curve(*pooled(list(zip(args.gt, args.dt))))
    best = max(syn, key=lambda r: (r["f1"], -r["threshold"]))
    real = real_at(args.real) if args.real else None
    print("| threshold | synthetic recall | synthetic FP/img | synthetic precision | synthetic F1 |"
          + (" real recall | real FP/img |" if real else ""))
    print("|---|---|---|---|---|" + ("---|---|" if real else ""))
    for i, r in enumerate(syn):
        mark = " **(chosen)**" if r is best else ""
        line = (f"| {r['threshold']:.2f}{mark} | {100 * r['recall']:.1f}% | {r['fp_per_image']:.2f} | "
                f"{100 * r['precision']:.1f}% | {r['f1']:.3f} |")
        if real:
            line += f" {100 * real[i]['recall']:.1f}% | {real[i]['fp_per_image']:.2f} |"
        print(line)
    if args.json:
        args.json.write_text(json.dumps({"chosen_on": [str(g) for g in args.gt] if len(args.gt) > 1 else str(args.gt[0]),
                                         "rule": "highest F1, Reasonable, IoU 0.5",
                                         "chosen": best["threshold"], "synthetic": syn, "real": real}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
