"""Distance error of the ground positions on rendered street scenes, where the
renderer knows each person's true position and its camera's height and pitch.

    python -m cluenet_ros.evaluation.ground_study --images 150 --detector model --json OUT

For every true person matched by a detection (IoU >= 0.5 of the full-body boxes;
with ``--detector truth``, the true boxes themselves), the ground distance from
the bottom centre of the full-body box is compared with the true horizontal
distance of the person's root, and so is the estimate from the bottom of the
visible-part box (what a detector of visible parts would give). Errors are
relative, |estimate - truth| / truth, binned by true distance; "legs occluded"
means both knees and both ankles are hidden while the person is otherwise in view.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.ground import GroundCamera, ground_positions
from cluenet_ros.tracking import iou_matrix

MAX_RANGE = 100.0  # m; estimates further away (or with no ground point) count as this far
BINS = ((5.0, 10.0), (10.0, 20.0), (20.0, 40.0))
LEGS = tuple(kp.NAMES.index(n) for n in ("left_knee", "right_knee", "left_ankle", "right_ankle"))
OCCLUDERS = {"car": 0.7, "pole": 0.3, "vegetation": 0.4, "pedestrian": 0.3}


def _bin_name(lo, hi) -> str:
    return f"{lo:g}-{hi:g}"


def _box_of(mask) -> np.ndarray | None:
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if len(rows) == 0:
        return None
    return np.array([cols[0], rows[0], cols[-1] + 1, rows[-1] + 1], dtype=np.float64)


def collect(images: int, seed: int = 0, size=(512, 256), detector: str = "model", weights=None,
            device: str = "auto", people: int = 4, log=print, occluders: dict | None = None) -> list[dict]:
    """One record per matched true person: true distance, legs occluded, estimates."""
    from cluenet_ros.synth.render import SceneRenderer

    pipe = None
    if detector == "model":
        from cluenet_ros.inference import ClueNetPipeline, PipelineConfig

        pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device=device, score_threshold=0.5))
    elif detector != "truth":
        raise ValueError(f"detector must be model or truth, got {detector!r}")
    W, H = size
    renderer = SceneRenderer(W, H, max_people=people)
    rng = np.random.default_rng(seed)
    records = []
    try:
        for i in range(images):
            scene = renderer.render(rng, int(rng.integers(1, people + 1)), occluders or OCCLUDERS)
            f = H / (2 * math.tan(math.radians(scene.fov_deg) / 2))
            cam = GroundCamera(f, f, W / 2, H / 2, scene.camera_height, -scene.camera_pitch)
            truth = [p for p in scene.people if p.full_area > 0 and p.visible_mask.any()]
            if not truth:
                continue
            tboxes = np.array([p.full_box for p in truth])
            if pipe is not None:
                result = pipe(scene.image)
                iou = iou_matrix(tboxes, result.boxes)
                from scipy.optimize import linear_sum_assignment

                rows, cols = linear_sum_assignment(-iou) if iou.size else ([], [])
                pairs = [(r, c) for r, c in zip(rows, cols) if iou[r, c] >= 0.5]
                full = np.array([result.boxes[c] for _, c in pairs]).reshape(-1, 4)
                vis = np.array([result.visible_boxes[c] for _, c in pairs]).reshape(-1, 4)
                matched = [truth[r] for r, _ in pairs]
            else:
                matched = truth
                full = tboxes
                vis = np.array([_box_of(p.visible_mask) for p in truth]).reshape(-1, 4)
            if not matched:
                continue
            est_full = ground_positions(cam, full).distance
            est_vis = ground_positions(cam, vis).distance
            for p, ef, ev in zip(matched, est_full, est_vis):
                x, z = p.position
                true_d = math.hypot(x, z)
                legs_hidden = not p.keypoint_visible[list(LEGS)].any()
                records.append(dict(image=i, distance=true_d, legs_occluded=bool(legs_hidden),
                                    visibility=float(p.visible_mask.sum() / max(p.full_area, 1)),
                                    full_box=float(ef), visible_box=float(ev)))
            if log and (i + 1) % 25 == 0:
                log(f"{i + 1}/{images} images, {len(records)} people")
    finally:
        renderer.close()
    return records


def _capped(d: float) -> float:
    return min(d, MAX_RANGE) if math.isfinite(d) else MAX_RANGE


def summarise(records: list[dict]) -> dict:
    def rel(rs, key):
        # a box bottom at or above the horizon (no ground point) reads as MAX_RANGE away
        e = [abs(_capped(r[key]) - r["distance"]) / r["distance"] for r in rs]
        return float(np.median(e)) if e else None  # no sample in the bin

    out = {"median_rel_error": {}, "median_rel_error_fully_visible": {}, "median_rel_error_legs_occluded": {},
           "visible_box_median_rel_error_legs_occluded": {}, "count": {}, "count_legs_occluded": {}}
    for lo, hi in BINS:
        name = _bin_name(lo, hi)
        rs = [r for r in records if lo <= r["distance"] < hi]
        legs = [r for r in rs if r["legs_occluded"]]
        visible = [r for r in rs if not r["legs_occluded"] and r["visibility"] >= 0.9]
        out["median_rel_error"][name] = rel(rs, "full_box")
        out["median_rel_error_fully_visible"][name] = rel(visible, "full_box")
        out["median_rel_error_legs_occluded"][name] = rel(legs, "full_box")
        out["visible_box_median_rel_error_legs_occluded"][name] = rel(legs, "visible_box")
        out["count"][name] = len(rs)
        out["count_legs_occluded"][name] = len(legs)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="ground_study", description=__doc__.split("\n\n")[0])
    ap.add_argument("--images", type=int, default=150)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", default="512x256")
    ap.add_argument("--detector", choices=("model", "truth"), default="model")
    ap.add_argument("--weights", default="models/cluenet_demo.pt")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--people", type=int, default=4, help="most people per image")
    ap.add_argument("--occluders", default="car=0.7,pole=0.3,vegetation=0.4,pedestrian=0.3",
                    help="chance of each occluder kind per image")
    ap.add_argument("--json", help="write the figures (and the records) here")
    args = ap.parse_args(argv)
    if args.detector == "model" and not Path(args.weights).is_file():
        print(f"error: {args.weights}: no such weights file", file=sys.stderr)
        return 2
    w, h = (int(v) for v in args.size.lower().split("x"))
    occluders = {k: float(v) for k, v in (item.split("=") for item in args.occluders.split(","))}
    records = collect(args.images, args.seed, (w, h), args.detector, args.weights, args.device, args.people,
                      occluders=occluders)
    out = dict(summarise(records), detector=args.detector, images=args.images, size=args.size, seed=args.seed,
               people=args.people, occluders=occluders)
    print(json.dumps(out, indent=2))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(dict(out, records=records), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
