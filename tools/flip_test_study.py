#!/usr/bin/env python3
"""Issue 18, session 31 (docs/accuracy/real_world/s31/PLAN.md): stage 1's flip test
measured over many models at once.

Why over models: one model's figure on the 14 real images moves by tens of points
between neighbouring checkpoints, so a change at inference time is measured as a
paired difference on every model this project still has, each its own unit.

Stage 1 runs once per image and view (plain, mirrored) and the per-view detections are
cached (``--cache``, one pickle per model and set): the fusions are then cheap to score.
For each model: the real check (recall and FP/image at --threshold, AP) and, with
``--synthetic``, MR^-2 on a synthetic split's first --max-images images, for

- ``plain``: the frame alone (what the pipeline gives without the flip test);
- ``nms``: both views' boxes, NMS at the pipeline's IoU (0.5);
- ``fusion``: weighted box fusion (cluenet_ros.inference.detection_flip), IoU 0.55;
- ``softnms``: both views' boxes, Gaussian soft-NMS (session 32's plan, candidate only);
- ``match``: one-to-one matching across views (session 32's addendum 1);
- ``agree``: the frame's boxes, scores raised by the mirror's (session 32's addendum 2).

Then, over models, each candidate minus plain: mean and 95% t interval. ``--scale S``
(addendum 1 of the plan) adds ``flip+S``: both views at input scale 1 and at S, four in
all, merged as ``nms``, also given minus ``nms``. ``--ensemble
NAME=M1,M2,...`` (exploratory) fuses the plain views of several models the same way.

    tools/flip_test_study.py --model shipped=models/cluenet_demo.pt --model a=runs/.../pipeline.pt \\
        --synthetic data/s27/abl_base/val --cache runs/s31/flip --out docs/accuracy/real_world/s31/flip
"""
from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cluenet_ros.inference.detection_flip import VIEW_SCORE_FLOOR, fuse_boxes, mirror_boxes  # noqa: E402

METHODS = ("plain", "nms", "fusion", "softnms", "match", "agree")
NMS_IOU = 0.5
SOFT_SIGMA = 0.5


def match_views(views, iou: float = NMS_IOU):
    """Cross-view matching: every box by decreasing score; one not yet absorbed is
    kept and absorbs, from each other view, the highest-scored unabsorbed box whose IoU
    with it exceeds ``iou``. Boxes of one view never suppress each other."""
    from cluenet_ros.inference.detection_flip import _iou_one

    b = np.concatenate([np.asarray(v[0], np.float64).reshape(-1, 4) for v in views])
    s = np.concatenate([np.asarray(v[1], np.float64).reshape(-1) for v in views])
    view = np.concatenate([np.full(len(v[1]), k) for k, v in enumerate(views)])
    order = np.argsort(-s, kind="stable")  # by score; a view's own boxes keep their order
    absorbed = np.zeros(len(s), bool)
    kept = []
    for i in order:
        if absorbed[i]:
            continue
        kept.append(i)
        absorbed[i] = True
        if not len(s):
            break
        ious = _iou_one(b[i], b)
        for k in range(len(views)):
            if k == view[i]:
                continue
            cand = np.flatnonzero((view == k) & ~absorbed & (ious > iou))
            if len(cand):
                absorbed[cand[np.argmax(s[cand])]] = True
    kept = np.asarray(kept, dtype=np.int64)
    return b[kept], s[kept]


def agree_views(frame, mirror, iou: float = NMS_IOU):
    """The frame's own boxes; each, by decreasing score, takes the higher of its score
    and that of the best-scored unclaimed mirrored box overlapping it (IoU above
    ``iou``). Mirrored boxes that match no frame box are dropped."""
    from cluenet_ros.inference.detection_flip import _iou_one

    fb = np.asarray(frame[0], np.float64).reshape(-1, 4)
    fs = np.asarray(frame[1], np.float64).reshape(-1)
    mb = np.asarray(mirror[0], np.float64).reshape(-1, 4)
    ms = np.asarray(mirror[1], np.float64).reshape(-1)
    claimed = np.zeros(len(ms), bool)
    out = fs.copy()
    for i in np.argsort(-fs, kind="stable"):
        if not len(ms):
            break
        cand = np.flatnonzero(~claimed & (_iou_one(fb[i], mb) > iou))
        if len(cand):
            j = cand[np.argmax(ms[cand])]
            claimed[j] = True
            out[i] = max(fs[i], ms[j])
    rank = np.argsort(-out, kind="stable")
    return fb[rank], out[rank]


def soft_nms(boxes: np.ndarray, scores: np.ndarray, sigma: float = SOFT_SIGMA, floor: float = VIEW_SCORE_FLOOR,
             cap: int = 100):
    """Gaussian soft-NMS: the highest current score is kept, every box still waiting has
    its score multiplied by exp(-IoU^2 / sigma) with it, and so on; boxes whose score
    falls under ``floor`` are dropped. Returns (boxes, scores) in the order kept."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    s = np.asarray(scores, dtype=np.float64).copy()
    area = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    waiting = np.flatnonzero(s >= floor)
    kept = []
    while len(waiting) and len(kept) < cap:
        i = waiting[np.argmax(s[waiting])]
        kept.append(i)
        waiting = waiting[waiting != i]
        if not len(waiting):
            break
        w = b[waiting]
        iw = np.clip(np.minimum(w[:, 2], b[i, 2]) - np.maximum(w[:, 0], b[i, 0]), 0, None)
        ih = np.clip(np.minimum(w[:, 3], b[i, 3]) - np.maximum(w[:, 1], b[i, 1]), 0, None)
        inter = iw * ih
        union = area[waiting] + area[i] - inter
        iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)
        s[waiting] *= np.exp(-(iou ** 2) / sigma)
        waiting = waiting[s[waiting] >= floor]
    kept = np.asarray(kept, dtype=np.int64)
    return b[kept], s[kept]


def _views(pipe, rgb: np.ndarray):
    """(plain, mirrored-back) detections of stage 1 at the score floor, in frame pixels
    at whatever input scale the pipeline is set to."""
    import torch

    out = []
    for flip in (False, True):
        img = np.ascontiguousarray(rgb[:, ::-1] if flip else rgb)
        with torch.inference_mode():
            o = pipe.stage1([pipe._to_tensor(img)])[0]
        b, s = o["boxes"].double().numpy(), o["scores"].double().numpy()
        out.append((mirror_boxes(b, img.shape[1]) if flip else b, s))
    return out


def detect_all(weights: str, frames, cache: Path | None, scale: float = 1.0):
    if cache is not None and cache.exists():
        return pickle.loads(cache.read_bytes())
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig

    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", detection_flip_test=False,
                                                                   score_threshold=VIEW_SCORE_FLOOR, nms_iou=NMS_IOU))
    pipe.set_input_scale(pipe.stage1.config.input_scale * scale)
    views = [_views(pipe, f()) for f in frames]
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps(views))
    return views


def combine(method: str, views):
    if method == "plain":
        return views[0]
    if not method.startswith("flip+"):
        views = views[:2]  # the frame and its mirror at scale 1 (the scale's views come after)
    b = np.concatenate([v[0] for v in views])
    s = np.concatenate([v[1] for v in views])
    if method == "nms" or method.startswith("flip+"):
        import torch
        from torchvision.ops import nms

        keep = nms(torch.from_numpy(b), torch.from_numpy(s), NMS_IOU).numpy()[:100]
        return b[keep], s[keep]
    if method == "fusion":
        fb, fs, _ = fuse_boxes(views)
        return fb[:100], fs[:100]
    if method == "softnms":
        return soft_nms(b, s)
    if method == "agree":
        ab, as_ = agree_views(views[0], views[1])
        return ab[:100], as_[:100]
    if method == "match":
        mb, ms = match_views(views)
        return mb[:100], ms[:100]
    raise ValueError(method)


def real_figures(images, per_image_views, method: str, threshold: float) -> dict:
    from cluenet_ros.evaluation.real_check import score

    return score(images, [combine(method, v) for v in per_image_views], threshold)


def synthetic_mr(gt, ids, per_image_views, method: str) -> dict:
    """MR^-2 of every setup (reasonable, heavy, reasonable_heavy, all)."""
    from cluenet_ros.evaluation import detection as det_eval

    dets = {}
    for i, v in zip(ids, per_image_views):
        b, s = combine(method, v)
        dets[i] = np.c_[b[:, :2], b[:, 2:] - b[:, :2], s].reshape(-1, 5)
    return det_eval.evaluate_detections(gt, dets)


def t_summary(values) -> dict:
    from scipy import stats

    v = np.asarray(values, dtype=np.float64)
    n = len(v)
    mean = float(v.mean())
    if n < 2:
        return {"n": n, "mean": mean, "lo": float("nan"), "hi": float("nan"), "positive": int((v > 0).sum())}
    half = float(stats.t.ppf(0.975, n - 1) * v.std(ddof=1) / math.sqrt(n))
    return {"n": n, "mean": mean, "lo": mean - half, "hi": mean + half, "sd": float(v.std(ddof=1)),
            "positive": int((v > 0).sum()), "negative": int((v < 0).sum())}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", action="append", required=True, metavar="NAME=PATH")
    ap.add_argument("--synthetic", help="a split folder (citypersons.json, images/) for MR^-2")
    ap.add_argument("--max-images", type=int, default=150)
    ap.add_argument("--synthetic-tag", default=None,
                    help="the synthetic set's name in the cache (default syn<max-images>, session 31's base val)")
    ap.add_argument("--threshold", type=float, default=0.5, help="operating point for recall and FP/image")
    ap.add_argument("--cache", default="runs/s31/flip")
    ap.add_argument("--ensemble", action="append", default=[], metavar="NAME=M1,M2,...")
    ap.add_argument("--scale", type=float, default=None, help="adds flip+SCALE (plan addendum 1)")
    ap.add_argument("--out", required=True, help="writes OUT.json and OUT.md")
    args = ap.parse_args(argv)

    from cluenet_ros.data.real_images import LABELS, default_dir, load_labels, read_image

    models = dict(m.split("=", 1) for m in args.model)
    _, images = load_labels(LABELS)
    real_frames = [lambda im=im: np.ascontiguousarray(read_image(default_dir(), im)[..., ::-1]) for im in images]
    syn = None
    if args.synthetic:
        from cluenet_ros.data.split import SplitFolder
        from cluenet_ros.evaluation import detection as det_eval

        data = SplitFolder.open(args.synthetic)
        sel = data.images[: args.max_images]
        ids = [im["id"] for im in sel]
        keep = set(ids)
        cp = dict(data.citypersons, images=[i for i in data.citypersons["images"] if i["id"] in keep],
                  annotations=[a for a in data.citypersons["annotations"] if a["image_id"] in keep])
        syn = (det_eval.load_ground_truth(cp), ids, [lambda im=im: data.read_rgb(im) for im in sel])
    cache = Path(args.cache)
    methods = METHODS + ((f"flip+{args.scale:g}",) if args.scale else ())

    def with_scale(views, name, path, frames, tag):
        if not args.scale:
            return views
        extra = detect_all(path, frames, cache / f"{name}.{tag}.x{args.scale:g}.pkl", args.scale)
        return [v + e for v, e in zip(views, extra)]  # (plain, mirrored) at 1, then at the scale

    rows, views_real = {}, {}
    for name, path in models.items():
        t0 = time.time()
        vr = with_scale(detect_all(path, real_frames, cache / f"{name}.real.pkl"), name, path, real_frames,
                        "real")
        views_real[name] = vr
        row = {"weights": path}
        for m in methods:
            f = real_figures(images, vr, m, args.threshold)
            row[m] = {"recall": f["recall"], "ap": f["ap"], "fp_per_image": f["fp_per_image"],
                      "max_recall": f["max_recall"]}
        if syn is not None:
            tag = args.synthetic_tag or f"syn{args.max_images}"
            vs = with_scale(detect_all(path, syn[2], cache / f"{name}.{tag}.pkl"), name, path, syn[2], tag)
            for m in methods:
                row[m].update({f"mr_{k}": v for k, v in synthetic_mr(syn[0], syn[1], vs, m).items()})
        rows[name] = row
        print(f"{name}: " + "  ".join(f"{m} AP {100 * row[m]['ap']:.1f}" for m in methods)
              + ("  MR-R " + "/".join(f"{100 * row[m]['mr_reasonable']:.2f}" for m in methods) if syn else "")
              + f"  ({time.time() - t0:.0f} s)", flush=True)
    keys = ("ap", "recall", "fp_per_image") + (("mr_reasonable", "mr_heavy", "mr_reasonable_heavy", "mr_all")
                                               if syn else ())

    def paired(m, ref):
        return {k: t_summary([100 * (r[m][k] - r[ref][k]) if k != "fp_per_image" else r[m][k] - r[ref][k]
                              for r in rows.values()]) for k in keys}

    summary = {m: paired(m, "plain") for m in methods[1:]}
    summary["softnms minus nms"] = paired("softnms", "nms")
    summary["match minus nms"] = paired("match", "nms")
    summary["agree minus nms"] = paired("agree", "nms")
    if args.scale:
        summary[f"{methods[-1]} minus nms"] = paired(methods[-1], "nms")
    ensembles = {}
    for spec in args.ensemble:
        name, members = spec.split("=", 1)
        members = members.split(",")
        per_image = [[views_real[mm][i][0] for mm in members] for i in range(len(images))]
        from cluenet_ros.evaluation.real_check import score

        f = score(images, [fuse_boxes(v)[:2] for v in per_image], args.threshold)
        ensembles[name] = {"members": members, "recall": f["recall"], "ap": f["ap"],
                           "fp_per_image": f["fp_per_image"],
                           "member_ap_mean": float(np.mean([rows[mm]["plain"]["ap"] for mm in members]))}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    report = {"methods": list(methods), "threshold": args.threshold, "synthetic": args.synthetic, "max_images": args.max_images,
              "models": rows, "paired_minus_plain": summary, "ensembles": ensembles}
    out.with_suffix(".json").write_text(json.dumps(report, indent=1))
    out.with_suffix(".md").write_text(render(report))
    print(render(report))
    return 0


def render(report: dict) -> str:
    syn = report["synthetic"] is not None
    methods = report.get("methods", METHODS)
    head = "| model | " + " | ".join(f"{m} recall / AP / FP" for m in methods)
    head += (" | " + " | ".join(f"{m} MR^-2 R" for m in methods)) if syn else ""
    lines = [f"Real check (recall and FP/image at {report['threshold']:g}; AP over all scores)"
             + (f"; MR^-2 Reasonable on the first {report['max_images']} images of {report['synthetic']}" if syn else ""),
             "", head + " |", "|---" * (1 + len(methods) * (2 if syn else 1)) + "|"]
    for name, r in report["models"].items():
        cells = [f"{100 * r[m]['recall']:.1f} / {100 * r[m]['ap']:.1f} / {r[m]['fp_per_image']:.2f}" for m in methods]
        if syn:
            cells += [f"{100 * r[m]['mr_reasonable']:.2f}%" for m in methods]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Paired over models, candidate minus plain (or as named): mean [95% t interval] "
              "(models above / below 0)", "",
              "| candidate | real AP (points) | recall (points) | FP/image |" + (" MR^-2 R (points) |" if syn else ""),
              "|---|---|---|---|" + ("---|" if syn else "")]
    for m, s in report["paired_minus_plain"].items():
        def cell(k, fmt="{:+.1f}"):
            x = s[k]
            return (f"{fmt.format(x['mean'])} [{fmt.format(x['lo'])}, {fmt.format(x['hi'])}] "
                    f"({x['positive']} / {x.get('negative', 0)})")
        lines.append(f"| {m} | {cell('ap')} | {cell('recall')} | {cell('fp_per_image', '{:+.2f}')} |"
                     + (f" {cell('mr_reasonable', '{:+.2f}')} |" if syn else ""))
    if report["ensembles"]:
        lines += ["", "Exploratory: output ensembles (plain views of several models, box fusion)", "",
                  "| ensemble | models | recall | AP | FP/image | members' mean AP |", "|---|---|---|---|---|---|"]
        for name, e in report["ensembles"].items():
            lines.append(f"| {name} | {len(e['members'])} | {100 * e['recall']:.1f} | {100 * e['ap']:.1f} | "
                         f"{e['fp_per_image']:.2f} | {100 * e['member_ap_mean']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
