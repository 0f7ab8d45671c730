#!/usr/bin/env python3
"""Pooled MR^-2 of several models over one or more renderings of the same scenes, and
each model's paired scene-bootstrap difference from the first
(:mod:`cluenet_ros.evaluation.detection_uncertainty`).

Each model is NAME=RUN[,RUN...]: the ``cluenet eval full --out`` folders of that model,
one per ``--data`` split and in the same order (their ``detections.json`` is read).

    tools/paired_mr.py --data A/val B/val C/val \\
        --model shipped=runs/x/pv36,runs/x/pv37,runs/x/pv38 --model cand=runs/y/pv36,runs/y/pv37,runs/y/pv38 \\
        [--setup reasonable] [--samples 2000] [--seed 0] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluenet_ros.evaluation import detection as det_eval  # noqa: E402
from cluenet_ros.evaluation.detection_uncertainty import (image_rows, paired_mr_difference,  # noqa: E402
                                                          pooled_mr, setup_named)
from cluenet_ros.evaluation.errors import EvaluationInputError  # noqa: E402


def parse_model(spec: str, n_splits: int) -> tuple[str, list[Path]]:
    name, sep, runs = spec.partition("=")
    if not sep or not name or not runs:
        raise ValueError(f"{spec!r}: expected NAME=RUN[,RUN...]")
    folders = [Path(r) for r in runs.split(",")]
    if len(folders) != n_splits:
        raise ValueError(f"{name}: {len(folders)} run folders for {n_splits} --data splits")
    return name, folders


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", dest="models", action="append", required=True,
                    help="NAME=RUN[,RUN...], repeated; the first is the reference")
    ap.add_argument("--data", nargs="+", required=True, help="split folders holding citypersons.json")
    ap.add_argument("--setup", default="reasonable")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    try:
        setup = setup_named(a.setup)
        gts = [det_eval.load_ground_truth(Path(d) / "citypersons.json") for d in a.data]
        models = [parse_model(s, len(gts)) for s in a.models]
        rows = {name: [image_rows(gt, det_eval.load_detections(f / "detections.json", gt), setup)
                       for gt, f in zip(gts, folders)] for name, folders in models}
    except (ValueError, EvaluationInputError, OSError) as e:
        print(f"paired_mr: {e}", file=sys.stderr)
        return 2
    ref = models[0][0]
    out = {"setup": setup.name, "data": a.data, "samples": a.samples, "seed": a.seed, "pooled": {},
           "per_split": {}, "versus_" + ref: {}}
    print(f"| model | pooled MR^-2 {setup.label} | " + " | ".join(Path(d).parent.name for d in a.data) + " |")
    print("|---|---|" + "---|" * len(a.data))
    for name, sets in rows.items():
        pooled = pooled_mr([r for s in sets for r in s.values()])
        each = [pooled_mr(list(s.values())) for s in sets]
        out["pooled"][name], out["per_split"][name] = pooled, each
        print(f"| {name} | {100 * pooled:.2f}% | " + " | ".join(f"{100 * v:.2f}%" for v in each) + " |")
    if len(rows) > 1:
        print(f"\npaired scene-bootstrap differences from {ref} (points; 95% interval; P = share of draws lower)\n"
              "| model | difference | interval | P lower |\n|---|---|---|---|")
    for name in list(rows)[1:]:
        d = paired_mr_difference(rows[ref], rows[name], a.samples, seed=a.seed)
        out["versus_" + ref][name] = d
        print(f"| {name} | {100 * d['difference']:+.2f} | [{100 * d['interval'][0]:+.2f}, "
              f"{100 * d['interval'][1]:+.2f}] | {d['p_b_lower']:.3f} |")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
