#!/usr/bin/env python3
"""MR^-2 and RoI-stage time against the number of RPN proposals kept at test time.

The RoI box head's fully connected layers run once per proposal, so fewer
proposals are faster; this measures what that costs in detection quality before
any default changes. Stage 1's dense part runs once per image; only the RPN's
post-NMS count changes between settings (the same features, the same thresholds
as `cluenet eval full`: score 0.05, NMS 0.5, 100 detections).

    cluenet synth --out /tmp/synth --images 100 --seed 2024 --split benchmark
    .venv/bin/python tools/proposal_study.py --data /tmp/synth/benchmark --out docs/bench/proposals.json
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch

from cluenet_ros.data.split import SplitFolder
from cluenet_ros.evaluation import detection as det_eval
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference.onnx_export import default_weights


@torch.inference_mode()
def study(weights: Path, data: SplitFolder, counts: list[int], max_images: int | None) -> dict:
    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", score_threshold=0.05, backend="torch"))
    s1 = pipe.stage1
    default = s1.rpn._post_nms_top_n["testing"]
    dets = {n: [] for n in counts}
    roi_ms = {n: [] for n in counts}
    images = data.images[:max_images] if max_images else data.images
    for img in images:
        t = pipe._to_tensor(data.read_rgb(img))
        size = [(int(t.shape[-2]), int(t.shape[-1]))]
        image_list, _ = s1._prepare([t], None)
        fmap = OrderedDict([("0", s1.features(image_list.tensors))])
        for n in counts:
            s1.rpn._post_nms_top_n["testing"] = n
            t0 = time.perf_counter()
            proposals, _ = s1.rpn(image_list, fmap)
            out, _ = s1.roi_heads(fmap, proposals, image_list.image_sizes)
            roi_ms[n].append(1000 * (time.perf_counter() - t0))
            out = s1.transform.postprocess(out, image_list.image_sizes, size)[0]
            for b, sc in zip(out["boxes"].tolist(), out["scores"].tolist()):
                dets[n].append({"image_id": img["id"], "category_id": 1,
                                "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "score": sc})
    s1.rpn._post_nms_top_n["testing"] = default
    gt = det_eval.load_ground_truth(data.citypersons)
    ids = {i["id"] for i in images}
    gt = det_eval.load_ground_truth({**data.citypersons,
                                     "images": [i for i in data.citypersons["images"] if i["id"] in ids],
                                     "annotations": [a for a in data.citypersons["annotations"]
                                                     if a["image_id"] in ids]}) if max_images else gt
    rows = {}
    for n in counts:
        mr = det_eval.evaluate_detections(gt, det_eval.load_detections(dets[n], gt))
        rows[str(n)] = {"mr": mr, "rpn_and_roi_ms_median": float(np.median(roi_ms[n]))}
    return {"weights": str(weights), "images": len(images), "default_post_nms_top_n_test": default, "results": rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None, help="default: the packaged demo weights (the node's)")
    ap.add_argument("--data", required=True, help="split folder (cluenet synth --split benchmark)")
    ap.add_argument("--counts", default="25,50,100,200,1000")
    ap.add_argument("--max-images", type=int, default=None)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    logging.getLogger("cluenet_ros").setLevel(logging.ERROR)
    res = study(Path(a.weights) if a.weights else default_weights(), SplitFolder.open(a.data),
                [int(c) for c in a.counts.split(",")], a.max_images)
    Path(a.out).write_text(json.dumps(res, indent=2) + "\n")
    keys = list(next(iter(res["results"].values()))["mr"])
    print(f"{res['images']} images, default {res['default_post_nms_top_n_test']} proposals")
    print("| proposals | " + " | ".join(f"MR^-2 {k}" for k in keys) + " | RPN+RoI ms |")
    for n, r in res["results"].items():
        print(f"| {n} | " + " | ".join(f"{100 * r['mr'][k]:.1f}%" for k in keys) + f" | {r['rpn_and_roi_ms_median']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
