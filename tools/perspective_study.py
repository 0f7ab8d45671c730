#!/usr/bin/env python3
"""Perspective rescoring (:mod:`cluenet_ros.inference.perspective`) measured offline on
detections a model already made, with the very function the pipeline runs.

    tools/perspective_study.py synthetic --data A/val B/val --runs runs/x/pv36 runs/x/pv37 --out DIR
        writes DIR/<setting>/<split>/detections.json for every setting of the grid
        (the runs' eval-full detections rescored; "off" is a copy), for tools/paired_mr.py;
    tools/perspective_study.py real --weights W --setting a0.9_t0.2_s0.1 --json out.json
        the real-image check with and without that setting, HOG beside them, and the
        paired image-bootstrap differences (a read, choosing nothing).
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cluenet_ros.inference.perspective import PerspectiveSettings, rescore  # noqa: E402

ANCHOR_SCORES = (0.9, 0.97)
TOLERANCES = (0.2, 0.35)
SIGMAS = (0.1, 0.25)


def setting_name(s: PerspectiveSettings) -> str:
    return f"a{s.anchor_score:g}_t{s.tolerance:g}_s{s.sigma:g}"


def grid() -> dict[str, PerspectiveSettings | None]:
    out: dict[str, PerspectiveSettings | None] = {"off": None}
    for a, t, s in itertools.product(ANCHOR_SCORES, TOLERANCES, SIGMAS):
        st = PerspectiveSettings(anchor_score=a, tolerance=t, sigma=s)
        out[setting_name(st)] = st
    return out


def parse_setting(name: str) -> PerspectiveSettings:
    parts = dict((p[0], float(p[1:])) for p in name.split("_"))
    return PerspectiveSettings(anchor_score=parts["a"], tolerance=parts["t"], sigma=parts["s"])


def rescore_coco(dets: list[dict], heights: dict, settings: PerspectiveSettings | None) -> list[dict]:
    """COCO-format detections of many images, each image's rescored on its own."""
    if settings is None:
        return [dict(d) for d in dets]
    by_image: dict = {}
    for d in dets:
        by_image.setdefault(d["image_id"], []).append(d)
    out = []
    for image_id, group in by_image.items():
        xywh = np.array([d["bbox"] for d in group], dtype=np.float64)
        boxes = np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1)
        scores = rescore(boxes, np.array([d["score"] for d in group]), heights[image_id], settings)
        out += [dict(d, score=float(s)) for d, s in zip(group, scores)]
    return out


def synthetic(a) -> int:
    if len(a.data) != len(a.runs):
        raise SystemExit("--data and --runs need one run per split, in the same order")
    for data, run in zip(a.data, a.runs):
        gt = json.loads((Path(data) / "citypersons.json").read_text())
        heights = {img["id"]: img["height"] for img in gt["images"]}
        dets = json.loads((Path(run) / "detections.json").read_text())
        for name, settings in grid().items():
            out = Path(a.out) / name / Path(run).name
            out.mkdir(parents=True, exist_ok=True)
            (out / "detections.json").write_text(json.dumps(rescore_coco(dets, heights, settings)))
        print(f"{run}: {len(dets)} detections rescored at {len(grid())} settings")
    return 0


def real(a) -> int:
    from cluenet_ros.data.real_images import LABELS, default_dir, load_labels, read_image
    from cluenet_ros.evaluation import real_uncertainty
    from cluenet_ros.evaluation.real_check import cluenet_detector, figures, hog_detector, per_image
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
    from cluenet_ros.inference.onnx_export import default_weights

    settings = parse_setting(a.setting)
    weights = a.weights or str(default_weights())
    operating = PipelineConfig().score_threshold
    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", score_threshold=min(0.05, operating)))
    detect, hog = cluenet_detector(pipe), hog_detector()
    _, images = load_labels(LABELS)
    frames = [read_image(default_dir(), im) for im in images]
    plain = [detect(f) for f in frames]
    rescored = [(b, rescore(b, s, f.shape[0], settings)) for (b, s), f in zip(plain, frames)]
    runs = {"off": per_image(images, plain, operating), a.setting: per_image(images, rescored, operating),
            "hog": per_image(images, [hog(f) for f in frames], 0.0)}
    out = {"weights": weights, "setting": a.setting, "operating_threshold": operating, "figures": {}, "paired": {}}
    print(f"| detector | recall @0.5 IoU | AP | FP / image | max recall |\n|---|---|---|---|---|")
    for name, rows in runs.items():
        f = figures(rows)
        out["figures"][name] = f
        print(f"| {name} | {100 * f['recall']:.1f}% | {100 * f['ap']:.1f}% | {f['fp_per_image']:.2f} "
              f"| {100 * f['max_recall']:.1f}% |")
    paired = real_uncertainty.paired_difference(runs["off"], runs[a.setting], samples=2000, seed=0)
    out["paired"] = paired
    for key in ("recall", "ap", "fp_per_image"):
        d = paired[key]
        scale = 1 if key == "fp_per_image" else 100
        lo, hi = d["interval"]
        print(f"{a.setting} - off, {key}: {scale * d['difference']:+.2f} [{scale * lo:+.2f}, {scale * hi:+.2f}]")
    out["per_image"] = runs
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser("synthetic")
    s.add_argument("--data", nargs="+", required=True, help="split folders holding citypersons.json")
    s.add_argument("--runs", nargs="+", required=True, help="eval-full folders holding detections.json")
    s.add_argument("--out", required=True)
    r = sub.add_parser("real")
    r.add_argument("--weights")
    r.add_argument("--setting", required=True, help="a grid name, e.g. a0.9_t0.2_s0.1")
    r.add_argument("--json")
    a = p.parse_args(argv)
    return synthetic(a) if a.what == "synthetic" else real(a)


if __name__ == "__main__":
    sys.exit(main())
