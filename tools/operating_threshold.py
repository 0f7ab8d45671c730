#!/usr/bin/env python3
"""Choose a detector's operating threshold on synthetic validation images, then read
what that threshold gives on the real-image check.

    tools/operating_threshold.py --gt VAL/citypersons.json --dt REPORT/detections.json \\
        [--gt VAL2/citypersons.json --dt REPORT2/detections.json ...] [--real [NAME=]real.json ...]
        [--min-threshold T] [--min-real-recall R] [--exclude T1,T2] [--json OUT.json]

The choice is the score threshold with the highest F1 (recall and precision of the
CityPersons Reasonable setup, IoU 0.5, ignore regions as the MR^-2 figure treats
them) on the synthetic split; ``--dt`` is the detections.json that `cluenet eval full`
writes. Several --gt/--dt pairs are pooled into one split (each pair's image ids
renumbered apart), so a choosing set rendered in parts, such as plateval900's three
300-image composites, is chosen on as a whole. The real-image check (`cluenet eval real --json`, which keeps each image's
detections) is only read at the thresholds of the grid: it chooses nothing (issue 18).

Session 44's rule was vetoed whole by a constraint it could not meet at its single
choice, so it could never move the default. The constrained form (session 45) takes the
highest synthetic F1 among the grid thresholds that meet every constraint: at least
``--min-threshold``, every ``--real`` set's recall at least ``--min-real-recall`` (the
issue's recall target used as a floor, never as something to optimise), and none of
``--exclude`` (thresholds an outside check, such as the demo model's acceptance test,
has failed). Without constraints it is session 23's rule unchanged.
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


def real_at(real_json: Path | list[Path], detector: str = "cluenet") -> list[dict]:
    """Recall and false positives per image of the real check at each grid threshold,
    from the per-image scores and hit flags that `cluenet eval real --json` keeps.
    Several reports are pooled into one set: their people and images are counted
    together, so small sets kept apart can act as one floor."""
    rows = []
    for path in ([real_json] if isinstance(real_json, Path) else real_json):
        entry = json.loads(path.read_text())["detectors"][detector]
        if entry.get("per_image") is None:
            raise SystemExit(f"{path}: no per_image rows (written by an older `cluenet eval real`)")
        rows += entry["per_image"]
    people = sum(r["people"] for r in rows)
    s = np.array([x for r in rows for x in r["scores"]], dtype=float)
    hit = np.array([x for r in rows for x in r["hit"]], dtype=bool)
    return [{"threshold": t, "recall": float((hit & (s >= t)).sum()) / people,
             "fp_per_image": float((~hit & (s >= t)).sum()) / len(rows)} for t in GRID]


def _real_arg(text: str) -> tuple[str, list[Path]]:
    name, sep, paths = text.partition("=")
    if not (sep and name):
        name, paths = "", text
    return name, [Path(p) for p in paths.split(",") if p]


def choose(syn: list[dict], real_sets: dict[str, list[dict]], min_threshold: float = 0.0,
           min_real_recall: float | None = None, exclude: set[float] = frozenset(),
           floor_sets: set[str] | None = None) -> tuple[dict | None, dict]:
    """The highest-F1 row (ties to the lower threshold) among those meeting every
    constraint, or None; and why each other threshold was ruled out. The recall floor
    holds for the sets named in ``floor_sets`` (all when None); the others are read."""
    why = {}
    for i, r in enumerate(syn):
        t, reasons = r["threshold"], []
        if t < min_threshold - 1e-9:
            reasons.append(f"under {min_threshold:g}")
        if any(abs(t - x) < 1e-9 for x in exclude):
            reasons.append("excluded")
        if min_real_recall is not None:
            reasons += [f"{name or 'real'} recall {100 * rows[i]['recall']:.1f}% < {100 * min_real_recall:g}%"
                        for name, rows in real_sets.items()
                        if (floor_sets is None or name in floor_sets) and rows[i]["recall"] < min_real_recall - 1e-12]
        if reasons:
            why[t] = "; ".join(reasons)
    allowed = [r for r in syn if r["threshold"] not in why]
    best = max(allowed, key=lambda r: (r["f1"], -r["threshold"])) if allowed else None
    return best, why


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gt", type=Path, required=True, action="append",
                    help="synthetic split's citypersons.json (repeat, with --dt, to pool several splits)")
    ap.add_argument("--dt", type=Path, required=True, action="append",
                    help="that split's detections.json (cluenet eval full)")
    ap.add_argument("--real", type=_real_arg, action="append", default=[],
                    help="[NAME=]cluenet eval real --json output, read at each threshold (repeat for several sets; "
                         "NAME=a.json,b.json pools several reports into one set)")
    ap.add_argument("--min-threshold", type=float, default=0.0, help="constraint: choose no threshold under this")
    ap.add_argument("--min-real-recall", type=float,
                    help="constraint: every --real set's recall at the threshold is at least this (e.g. 0.5)")
    ap.add_argument("--floor-sets", default="",
                    help="comma-separated --real names the recall floor holds for (default: every set); the "
                         "others are read only")
    ap.add_argument("--exclude", default="", help="constraint: comma-separated thresholds that may not be chosen")
    ap.add_argument("--json", type=Path, help="write the table here")
    args = ap.parse_args(argv)
    if len(args.gt) != len(args.dt):
        ap.error(f"--gt and --dt come in pairs: got {len(args.gt)} --gt and {len(args.dt)} --dt")
    if len(args.gt) == 1:
        syn = synthetic_curve(args.gt[0], args.dt[0])
    else:
        syn = synthetic_curve(*pooled(list(zip(args.gt, args.dt))))
    names = [n for n, _ in args.real]
    if len(set(names)) != len(names) or (len(names) > 1 and "" in names):
        ap.error("several --real sets need distinct names: --real check=a.json --real second=b.json")
    if args.min_real_recall is not None and not args.real:
        ap.error("--min-real-recall needs at least one --real report")
    try:
        exclude = {float(x) for x in args.exclude.split(",") if x.strip()}
    except ValueError:
        ap.error(f"--exclude takes comma-separated thresholds, got {args.exclude!r}")
    floor_sets = {x.strip() for x in args.floor_sets.split(",") if x.strip()} or None
    if floor_sets and not floor_sets <= set(names):
        ap.error(f"--floor-sets names sets that no --real gives: {', '.join(sorted(floor_sets - set(names)))}")
    real_sets = {name: real_at(path) for name, path in args.real}
    best, why = choose(syn, real_sets, args.min_threshold, args.min_real_recall, exclude, floor_sets)
    head = "| threshold | synthetic recall | synthetic FP/img | synthetic precision | synthetic F1 |"
    for name in real_sets:
        head += f" {name or 'real'} recall | {name or 'real'} FP/img |"
    constrained = bool(why) or args.min_real_recall is not None
    print(head + (" ruled out |" if constrained else ""))
    print("|---|---|---|---|---|" + "---|---|" * len(real_sets) + ("---|" if constrained else ""))
    for i, r in enumerate(syn):
        mark = " **(chosen)**" if r is best else ""
        line = (f"| {r['threshold']:.2f}{mark} | {100 * r['recall']:.1f}% | {r['fp_per_image']:.2f} | "
                f"{100 * r['precision']:.1f}% | {r['f1']:.3f} |")
        for rows in real_sets.values():
            line += f" {100 * rows[i]['recall']:.1f}% | {rows[i]['fp_per_image']:.2f} |"
        if constrained:
            line += f" {why.get(r['threshold'], '')} |"
        print(line)
    if best is None:
        print("no threshold of the grid meets every constraint", file=sys.stderr)
    if args.json:
        out = {"chosen_on": [str(g) for g in args.gt] if len(args.gt) > 1 else str(args.gt[0]),
               "rule": "highest F1, Reasonable, IoU 0.5" + (" among the thresholds meeting every constraint"
                                                           if constrained else ""),
               "chosen": best["threshold"] if best else None, "synthetic": syn,
               "real": next(iter(real_sets.values())) if real_sets else None}
        if len(real_sets) > 1 or names[:1] not in ([], [""]):
            out["real_sets"] = real_sets
        if constrained:
            out["constraints"] = {"min_threshold": args.min_threshold, "min_real_recall": args.min_real_recall,
                                  "exclude": sorted(exclude),
                                  "floor_sets": sorted(floor_sets) if floor_sets else sorted(real_sets)}
            out["ruled_out"] = {f"{t:.2f}": w for t, w in why.items()}
        args.json.write_text(json.dumps(out, indent=1))
    return 0 if best is not None else 1


if __name__ == "__main__":
    sys.exit(main())
