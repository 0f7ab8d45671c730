"""MOTA and IDF1 of the tracker on synthetic sequences with true identities
(py-motmetrics), from the truth plus a realistic detector's noise, or from the
model's own detections on the rendered frames.

    python -m cluenet_ros.evaluation.tracking_study truth-noise --seeds 0-9 --frames 150
    python -m cluenet_ros.evaluation.tracking_study model --weights models/cluenet_demo.pt --frames 80

A person counts as a true object in a frame where at least ``min_visibility`` of
its full-body box is visible (a hidden person may be kept by the tracker, but is
not required of it); boxes match at IoU >= 0.5.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from cluenet_ros.synth.sequence import DetectorNoise, make_sequence, noisy_detections
from cluenet_ros.tracking import ByteTracker, TrackerConfig, iou_matrix

MIN_VISIBILITY = 0.25
IOU = 0.5


def _accumulate(acc, truth_ids, truth_boxes, hyp_ids, hyp_boxes) -> None:
    # the distance matrix motmetrics expects: 1 - IoU, NaN where no match is allowed
    # (motmetrics 1.4's own iou_matrix uses np.asfarray, which NumPy 2 removed)
    iou = iou_matrix(np.asarray(truth_boxes).reshape(-1, 4), np.asarray(hyp_boxes).reshape(-1, 4))
    dist = np.where(iou >= IOU, 1.0 - iou, np.nan)
    acc.update(list(truth_ids), list(hyp_ids), dist)


def _summarise(accs, names) -> dict:
    import motmetrics as mm

    mh = mm.metrics.create()
    metrics = ["mota", "idf1", "num_switches", "num_misses", "num_false_positives", "num_objects",
               "num_unique_objects", "mostly_tracked"]
    s = mh.compute_many(accs, metrics=metrics, names=names, generate_overall=True)
    row = s.loc["OVERALL"]
    return {m: (float(row[m]) if m in ("mota", "idf1") else int(row[m])) for m in metrics}


def truth_noise(seeds, frames: int = 150, people: int = 6, tracker: TrackerConfig | None = None,
                noise: DetectorNoise = DetectorNoise()) -> dict:
    import motmetrics as mm

    accs, names = [], []
    for seed in seeds:
        seq = make_sequence(seed, frames=frames, people=people)
        rng = np.random.default_rng(10_000 + seed)
        tr = ByteTracker(tracker)
        acc = mm.MOTAccumulator(auto_id=True)
        for k in range(frames):
            truth = seq.truth(k)
            boxes, scores = noisy_detections(truth, rng, seq.camera, noise)
            ids = tr.update(boxes, scores)
            keep = ids >= 0
            gt = [p for p in truth if p.visibility >= MIN_VISIBILITY]
            _accumulate(acc, [p.id for p in gt], [p.box for p in gt], ids[keep].tolist(), boxes[keep])
        accs.append(acc)
        names.append(f"seed{seed}")
    out = _summarise(accs, names)
    out.update(sequences=len(seeds), frames_per_sequence=frames, people=people)
    return out


def model_detections(weights: str | Path, seed: int = 0, frames: int = 80, people: int = 5, size=(512, 256),
                     device: str = "auto", min_score: float = 0.1, log=print) -> dict:
    """The model's detections (score >= ``min_score``) on each frame of a rendered
    sequence, with the frame's true people (id, full box, visible share)."""
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
    from cluenet_ros.synth.render import SceneRenderer

    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device=device, score_threshold=min_score))
    seq = make_sequence(seed, frames=frames, people=people, size=size, depth_range=(5.0, 14.0))
    renderer = SceneRenderer(size[0], size[1], max_people=people)
    out = dict(frames=[], seed=seed, size=f"{size[0]}x{size[1]}", people=people, weights=str(weights))
    t_model = 0.0
    try:
        for k in range(frames):
            scene = renderer.render_frame(**seq.render_arguments(k))
            t0 = time.perf_counter()
            result = pipe(scene.image)
            t_model += time.perf_counter() - t0
            out["frames"].append(dict(
                boxes=result.boxes.tolist(), scores=result.scores.tolist(),
                truth=[dict(id=i + 1, box=list(p.full_box), visibility=float(p.visible_mask.sum() / max(p.full_area, 1)))
                       for i, p in enumerate(scene.people) if p.full_area]))
            if log and (k + 1) % 20 == 0:
                log(f"frame {k + 1}/{frames}: {len(result)} detections")
    finally:
        renderer.close()
    out["model_s_per_frame"] = t_model / frames
    return out


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Greedy non-maximum suppression (rows kept, by score)."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    for i in order:
        if not keep or iou_matrix(boxes[i:i + 1], boxes[keep]).max() <= iou:
            keep.append(int(i))
    return np.array(keep, dtype=np.int64)


def score_detections(recorded: dict, tracker: TrackerConfig | None = None, nms_iou: float | None = None) -> dict:
    """MOTA/IDF1 of the tracker run on recorded detections (model_detections);
    ``nms_iou``: a further suppression of the recorded detections at this IoU (the
    pipeline's nms_iou parameter set lower than when they were recorded)."""
    import motmetrics as mm

    tr = ByteTracker(tracker)
    acc = mm.MOTAccumulator(auto_id=True)
    for f in recorded["frames"]:
        boxes = np.asarray(f["boxes"], dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(f["scores"], dtype=np.float64)
        if nms_iou is not None and len(boxes):
            rows = _nms(boxes, scores, nms_iou)
            boxes, scores = boxes[rows], scores[rows]
        ids = tr.update(boxes, scores)
        keep = ids >= 0
        gt = [t for t in f["truth"] if t["visibility"] >= MIN_VISIBILITY]
        _accumulate(acc, [t["id"] for t in gt], [t["box"] for t in gt], ids[keep].tolist(), boxes[keep])
    out = _summarise([acc], ["model"])
    out.update(frames=len(recorded["frames"]), high_threshold=tr.config.high_threshold)
    return out


def sweep(rec: dict, cfg: TrackerConfig) -> dict:
    """The figures at other first-stage (and new-track) thresholds, with the recorded
    suppression (NMS 0.5) and with NMS at 0.3; the grid holds ``cfg``'s own threshold."""
    out = {}
    grid = sorted({0.5, 0.6, 0.7, 0.8, 0.9, round(cfg.high_threshold, 2)})
    for nms, key in ((None, "by_high_threshold"), (0.3, "by_high_threshold_nms_0.3")):
        out[key] = {}
        for high in grid:
            c = TrackerConfig(**{**cfg.__dict__, "high_threshold": high, "new_track_threshold": high})
            r = score_detections(rec, c, nms)
            out[key][f"{high:g}"] = {k: r[k] for k in ("mota", "idf1", "num_switches", "num_false_positives",
                                                         "num_misses")}
    return out


def model(weights: str | Path, seed: int = 0, frames: int = 80, people: int = 5, size=(512, 256),
          device: str = "auto", tracker: TrackerConfig | None = None, log=print, save=None) -> dict:
    """The model's detections on a rendered sequence, tracked with ``tracker``; also
    the figures at other high (first-stage and new-track) thresholds."""
    cfg = tracker or TrackerConfig()
    rec = model_detections(weights, seed, frames, people, size, device, cfg.low_threshold, log)
    if save:
        Path(save).write_text(json.dumps(rec) + "\n")
    out = score_detections(rec, cfg)
    out.update(sweep(rec, cfg))
    out.update(people=people, size=rec["size"], seed=seed, model_s_per_frame=rec["model_s_per_frame"],
               weights=str(weights))
    return out


def _seeds(text: str) -> list[int]:
    if "-" in text:
        a, b = text.split("-")
        return list(range(int(a), int(b) + 1))
    return [int(s) for s in text.split(",")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="tracking_study", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("truth-noise", help="truth boxes plus detector noise (no rendering, no model)")
    a.add_argument("--seeds", default="0-9")
    a.add_argument("--frames", type=int, default=150)
    a.add_argument("--people", type=int, default=6)
    b = sub.add_parser("model", help="the model's detections on a rendered sequence")
    b.add_argument("--weights", default="models/cluenet_demo.pt")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--frames", type=int, default=80)
    b.add_argument("--people", type=int, default=5)
    b.add_argument("--size", default="512x256")
    b.add_argument("--device", default="auto")
    b.add_argument("--save", help="also write the recorded detections and truth (JSON) here")
    b.add_argument("--score-threshold", type=float, default=None,
                   help="the tracker's first-stage and new-track threshold, as the node sets it from its "
                        "score_threshold (default: the node's default)")
    for p in (a, b):
        p.add_argument("--json", help="write the figures here")
    args = ap.parse_args(argv)
    if args.mode == "truth-noise":
        out = truth_noise(_seeds(args.seeds), frames=args.frames, people=args.people)
    else:
        w, h = (int(v) for v in args.size.lower().split("x"))
        if not Path(args.weights).is_file():
            print(f"error: {args.weights}: no such weights file", file=sys.stderr)
            return 2
        from cluenet_ros.inference import PipelineConfig

        high = PipelineConfig().score_threshold if args.score_threshold is None else args.score_threshold
        tracker = TrackerConfig(high_threshold=high, new_track_threshold=high,
                                low_threshold=min(TrackerConfig().low_threshold, high))
        out = model(args.weights, seed=args.seed, frames=args.frames, people=args.people, size=(w, h),
                    device=args.device, tracker=tracker, save=args.save)
    text = json.dumps(out, indent=2)
    print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
