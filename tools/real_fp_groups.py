#!/usr/bin/env python3
"""How many distinct things make a model's false positives on the real-image check
(issue 18), and how much of the AP gap each one carries.

Twelve of the check's fourteen images are frames of one fixed camera (opencv-doc's
vtest.avi): a street object the model takes for a person is a false positive in every
frame, so a handful of objects can weigh like dozens of independent mistakes. This
groups the false positives of each video across its frames (a box joins the group of
the highest-scored earlier box it overlaps at IoU >= 0.5, one box per frame and group)
and reports, per group, its frames and scores and the check's AP with that group's
boxes left out. A measurement for planning, not a tuning tool: leaving boxes out is a
sensitivity, nothing a detector could do, and nothing here changes a default.

    tools/real_fp_groups.py [--weights W] [--json out.json] [--top 12]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def group_static(fps: list[dict], min_iou: float = 0.5) -> list[list[dict]]:
    """``fps``: {"frame", "box", "score"} of one fixed camera. Greedy in score order:
    each box joins the first group (by its best score) whose leading box it overlaps at
    ``min_iou`` and that has no box in its frame yet; otherwise it starts a group."""
    groups: list[list[dict]] = []
    for fp in sorted(fps, key=lambda f: -f["score"]):
        for g in groups:
            if iou(g[0]["box"], fp["box"]) >= min_iou and all(m["frame"] != fp["frame"] for m in g):
                g.append(fp)
                break
        else:
            groups.append([fp])
    return groups


def ap_without(rows: list[dict], drop: set[tuple[str, int]]) -> float:
    """The check's AP with the detections ``(file, index in the row)`` left out."""
    from cluenet_ros.evaluation.real_check import figures

    kept = [dict(r, scores=[s for k, s in enumerate(r["scores"]) if (r["file"], k) not in drop],
                 hit=[h for k, h in enumerate(r["hit"]) if (r["file"], k) not in drop]) for r in rows]
    return figures(kept)["ap"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--weights", help="default: the node's weights")
    p.add_argument("--json")
    p.add_argument("--top", type=int, default=12, help="groups listed (by their best score)")
    a = p.parse_args(argv)

    from cluenet_ros.data.real_images import LABELS, default_dir, load_labels, read_image
    from cluenet_ros.evaluation.real_check import cluenet_detector, figures, match, per_image
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
    from cluenet_ros.inference.onnx_export import default_weights

    weights = a.weights or str(default_weights())
    operating = PipelineConfig().score_threshold
    # as `cluenet eval real`: every box down to 0.05, the node's other settings
    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", score_threshold=min(0.05, operating)))
    detect = cluenet_detector(pipe)
    _, images = load_labels(LABELS)
    detections = [detect(read_image(default_dir(), im)) for im in images]
    rows = per_image(images, detections, operating)
    base = figures(rows)

    videos: dict[str, list[dict]] = {}
    singles = 0
    for im, row, (boxes, scores) in zip(images, rows, detections):
        order = np.argsort(-np.asarray(scores), kind="mergesort")  # match()'s order
        s, hit, ignored = match(im, boxes, scores)
        kept = np.flatnonzero(~ignored)     # row index k <-> detection order[kept[k]]
        for k, j in enumerate(kept):
            if hit[j]:
                continue
            fp = {"file": im.file, "k": k, "frame": im.frame, "box": np.asarray(boxes)[order[j]], "score": float(s[j])}
            if im.frame is None:
                singles += 1
            else:
                videos.setdefault(im.source, []).append(fp)

    hit_scores = np.array([x for r in rows for x, h in zip(r["scores"], r["hit"]) if h])
    # hits scored >= 0.95: what a static false positive at that score is ranked among
    report = {"weights": weights, "operating_threshold": operating, "ap": base["ap"], "recall": base["recall"],
              "fp_per_image": base["fp_per_image"], "videos": {}}
    print(f"{weights}: AP {100 * base['ap']:.1f}%, recall {100 * base['recall']:.1f}% and "
          f"{base['fp_per_image']:.2f} FP/image at {operating}; {len(hit_scores)} hits, "
          f"{int((hit_scores >= 0.95).sum())} of them scored >= 0.95; "
          f"{singles} false positives on still images")
    for source, fps in videos.items():
        frames = sorted({f["frame"] for f in fps})
        groups = group_static(fps)
        groups.sort(key=lambda g: -g[0]["score"])
        out_groups, removed = [], set()
        for g in groups:
            drop = {(m["file"], m["k"]) for m in g}
            removed |= drop
            scores = np.array([m["score"] for m in g])
            out_groups.append({
                "frames": len(g), "box_xyxy": [round(float(v), 1) for v in g[0]["box"]],
                "best_score": float(scores.max()), "median_score": float(np.median(scores)),
                "at_0.95": int((scores >= 0.95).sum()),
                "ap_without": ap_without(rows, drop), "ap_without_this_and_higher": ap_without(rows, set(removed))})
        static = [g for g in out_groups if g["frames"] >= len(frames) // 2]
        n95 = sum(1 for f in fps if f["score"] >= 0.95)
        n95_static = sum(1 for g in groups if len(g) >= len(frames) // 2 for m in g if m["score"] >= 0.95)
        report["videos"][source] = {"frames": frames, "false_positives": len(fps), "groups": len(groups),
                                    "static_groups": len(static), "fp_at_0.95": n95,
                                    "fp_at_0.95_in_static_groups": n95_static, "top": out_groups[:a.top]}
        print(f"\n{source}: {len(frames)} frames, {len(fps)} false positives in {len(groups)} groups; "
              f"{len(static)} groups seen in at least half the frames; of the {n95} false positives scoring "
              f">= 0.95, {n95_static} are in those groups")
        print("| group | frames | box (x1, y1, x2, y2) | best score | median score | boxes >= 0.95 "
              "| AP without it | AP without it and every higher group |")
        print("|---|---|---|---|---|---|---|---|")
        for i, g in enumerate(out_groups[:a.top], 1):
            print(f"| {i} | {g['frames']} | {', '.join(f'{v:.0f}' for v in g['box_xyxy'])} | {g['best_score']:.3f} "
                  f"| {g['median_score']:.3f} | {g['at_0.95']} | {100 * g['ap_without']:.1f}% "
                  f"| {100 * g['ap_without_this_and_higher']:.1f}% |")
    if a.json:
        Path(a.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
