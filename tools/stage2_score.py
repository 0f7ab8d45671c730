#!/usr/bin/env python3
"""Scores stage-2 checkpoints side by side on one validation split, at several hidden
shares, with the studies' scoring (COCO OKS keypoint AP on true crops, the trainer's
validation; tools/ablation_eval.py does the same for a whole study's runs).

It answers "is this stage 2 better than that one on this world?": for example the
shipped demo's against a study run, each on the other's data (docs/accuracy, "Should
the demo ship this stage 2?"). Any checkpoint with a stage 2 works: a training run's
last.pt or best.pt, or a combined pipeline file such as models/cluenet_demo.pt. The
crop padding is each checkpoint's own (its training config), unless --padding says.

    tools/stage2_score.py --checkpoint demo=models/cluenet_demo.pt \\
        --checkpoint study=runs/ablation17_unoccluded/full_uniform/seed1/last.pt \\
        --val data/demo/val --visibility coco --levels 0 0.2 0.7 --out capsule.json
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from cluenet_ros.errors import InputError
from cluenet_ros.models.checkpoint import CheckpointError, load_models, read_checkpoint
from cluenet_training.config import Stage2ValidationConfig, ap_key
from cluenet_training.datasets import VISIBILITY, CocoPersons
from cluenet_training.stage2 import validate


def crop_padding(path: Path) -> float:
    """The crop padding the checkpoint's stage 2 trained with: a run's own train_config,
    or, in a combined file, the stage-2 provenance that `cluenet train combine` keeps."""
    data = read_checkpoint(path)
    for config in (data.get("train_config"), (data.get("provenance") or {}).get("stage2", {}).get("train_config")):
        if config and "crop_padding" in config:
            return float(config["crop_padding"])
    raise CheckpointError(path, "records no stage-2 crop_padding (neither train_config nor provenance.stage2); "
                                "pass --padding")


def score(path: Path, val: CocoPersons, levels: tuple[float, ...], people: int, padding: float | None) -> dict:
    model = load_models(path, ("stage2",))["stage2"].float()
    pad = crop_padding(path) if padding is None else padding
    result = validate(model, val, people, pad, torch.device("cpu"), Stage2ValidationConfig(hidden_fractions=levels))
    return {"ap_vs_occlusion": {str(lv): result[ap_key(lv)] for lv in levels}, "crop_padding": pad,
            "checkpoint": str(path)}


def named(text: str) -> tuple[str, Path]:
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH, got {text!r}")
    return name, Path(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=named, action="append", required=True, metavar="NAME=PATH",
                    help="a checkpoint with a stage 2, under a name for the report (repeatable)")
    ap.add_argument("--val", type=Path, required=True, help="a split folder (coco_keypoints.json and images)")
    ap.add_argument("--visibility", choices=VISIBILITY, default="coco",
                    help="which people count as fully visible (training/datasets.CocoPersons)")
    ap.add_argument("--levels", type=float, nargs="+", default=[0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7],
                    help="hidden shares to score at (0-0.9)")
    ap.add_argument("--people", type=int, default=300, help="validation people scored")
    ap.add_argument("--padding", type=float, help="crop padding for every checkpoint (default: each one's own)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    ap.add_argument("--out", type=Path, help="write the report here as JSON")
    a = ap.parse_args(argv)
    names = [n for n, _ in a.checkpoint]
    if len(set(names)) != len(names):
        ap.error(f"checkpoint names must differ: {names}")
    if not all(0.0 <= lv < 1.0 for lv in a.levels):
        ap.error(f"--levels must lie in [0, 1): {a.levels}")
    if a.threads:
        torch.set_num_threads(a.threads)
    try:
        val = CocoPersons(a.val / "coco_keypoints.json", a.val, visibility=a.visibility)
        report = {"val": str(a.val), "visibility": a.visibility, "people": a.people, "checkpoints": {}}
        for name, path in a.checkpoint:
            t0 = time.monotonic()
            report["checkpoints"][name] = score(path, val, tuple(a.levels), a.people, a.padding)
            aps = report["checkpoints"][name]["ap_vs_occlusion"]
            print(f"{name:24s} " + " ".join(f"{100 * float(k):.0f}%: {100 * v:5.1f}" for k, v in aps.items())
                  + f"   ({time.monotonic() - t0:.0f} s)", flush=True)
    except (InputError, OSError) as exc:
        print(f"stage2_score: {exc}", file=sys.stderr)
        return 2
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
