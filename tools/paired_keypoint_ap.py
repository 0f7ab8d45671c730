#!/usr/bin/env python3
"""End-to-end keypoint AP of several pipelines on one split, and each one's paired
image-bootstrap difference from the first
(:mod:`cluenet_ros.evaluation.pose_uncertainty`), for the annotated (visible)
keypoints and for the occluded ones against their true positions.

Each model is NAME=RUN: a ``cluenet eval full --out`` folder (its ``keypoints.json``
is read) made on ``--data``.

    tools/paired_keypoint_ap.py --data data/s44/bigval150/val \\
        --model shipped=runs/x/shipped --model cand=runs/x/cand [--samples 2000] [--seed 0] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluenet_ros.evaluation.errors import EvaluationInputError, read_json  # noqa: E402
from cluenet_ros.evaluation.pose_uncertainty import (keypoint_rows, paired_keypoint_ap_difference,  # noqa: E402
                                                     pooled_keypoint_ap)


def parse_model(spec: str) -> tuple[str, Path]:
    name, sep, run = spec.partition("=")
    if not sep or not name or not run:
        raise ValueError(f"{spec!r}: expected NAME=RUN")
    return name, Path(run)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the split folder the runs were made on (coco_keypoints.json)")
    ap.add_argument("--model", dest="models", action="append", required=True,
                    help="NAME=RUN, the first one the reference; at least two")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args(argv)
    try:
        models = [parse_model(m) for m in args.models]
        if len(models) < 2:
            raise ValueError("--model: at least two, the first the reference")
        gt = Path(args.data) / "coco_keypoints.json"
        results = {name: read_json(run / "keypoints.json") for name, run in models}
        out = {"data": str(args.data), "samples": args.samples, "seed": args.seed, "kinds": {}}
        for kind, occluded in (("annotated", False), ("occluded", True)):
            rows = {name: keypoint_rows(gt, res, occluded=occluded) for name, res in results.items()}
            ref, thresholds = rows[models[0][0]]
            entry = {models[0][0]: {"AP": pooled_keypoint_ap(list(ref.values()), thresholds)}}
            print(f"{kind} keypoints, {len(ref)} images: {models[0][0]} AP {100 * entry[models[0][0]]['AP']:.2f}")
            for name, _ in models[1:]:
                r = paired_keypoint_ap_difference(ref, rows[name][0], thresholds, args.samples, args.seed)
                entry[name] = {"AP": r.b, "difference": r.difference, "interval": list(r.interval),
                               "ahead": r.b_ahead}
                print(f"  {name}: AP {100 * r.b:.2f}, paired {100 * r.difference:+.2f} "
                      f"[{100 * r.interval[0]:+.2f}, {100 * r.interval[1]:+.2f}], ahead in {100 * r.b_ahead:.1f}% "
                      f"of {r.samples} draws")
            out["kinds"][kind] = entry
    except (ValueError, EvaluationInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
