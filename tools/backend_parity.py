#!/usr/bin/env python3
"""Max |difference| of every compiled backend against eager torch on real frames:
boxes (px), mask probabilities, stage-2 heatmaps and keypoints (px), with the
node's weights (the packaged demo model) by default.

    .venv/bin/python tools/backend_parity.py --data /tmp/synth/benchmark --images 5 --out docs/bench/parity.json
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
from pathlib import Path

import numpy as np
import torch

from cluenet_ros.data.split import SplitFolder
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference.backends import available
from cluenet_ros.inference.onnx_export import default_weights
from cluenet_ros.models.checkpoint import load_models


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=None)
    ap.add_argument("--data", required=True)
    ap.add_argument("--images", type=int, default=5)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    logging.getLogger("cluenet_ros").setLevel(logging.ERROR)
    weights = Path(a.weights) if a.weights else default_weights()
    m = load_models(weights, ("stage1", "stage2"))
    cfg = PipelineConfig(device="cpu", score_threshold=0.05, backend="torch")
    ref = ClueNetPipeline(m["stage1"], m["stage2"], cfg)
    data = SplitFolder.open(a.data)
    frames = [data.read_rgb(i) for i in data.images[: a.images]]
    out = {"weights": str(weights), "images": len(frames), "backends": {}}
    for backend in [b for b in available() if b != "torch"]:
        pipe = ClueNetPipeline(copy.deepcopy(m["stage1"]), copy.deepcopy(m["stage2"]),
                               PipelineConfig(**{**cfg.__dict__, "backend": backend}))
        d = {"boxes_px": 0.0, "scores": 0.0, "mask_prob": 0.0, "mask_pixels_flipped": 0.0, "heatmaps": 0.0,
             "heatmaps_rel": 0.0, "keypoints_px": 0.0, "keypoints": 0, "keypoints_moved_over_1px": 0,
             "same_count": True}
        for img in frames:
            a_res, b_res = ref(img), pipe(img)
            d["same_count"] &= len(a_res) == len(b_res)
            if len(a_res) == len(b_res) and len(a_res):
                d["boxes_px"] = max(d["boxes_px"], float(np.abs(a_res.boxes - b_res.boxes).max()))
                d["scores"] = max(d["scores"], float(np.abs(a_res.scores - b_res.scores).max()))
                moved = np.abs(a_res.keypoints[..., :2] - b_res.keypoints[..., :2]).max(-1)
                d["keypoints_px"] = max(d["keypoints_px"], float(moved.max()))
                # heatmap decoding takes a peak: where two peaks are within float noise
                # of each other, a 1e-6 difference can pick the other one
                d["keypoints"] += int(moved.size)
                d["keypoints_moved_over_1px"] += int((moved > 1.0).sum())
            d["mask_pixels_flipped"] = max(d["mask_pixels_flipped"], float((a_res.mask != b_res.mask).mean()))
            x = ref.stage1.transform([ref._to_tensor(img)])[0].tensors
            with torch.no_grad():
                feats = ref.stage1.features(x)
                prob = torch.sigmoid(ref.stage1.seg_decoder(feats, tuple(x.shape[-2:])))
                prob_b = torch.sigmoid(pipe.stage1.dense_runner(x)[0])
                d["mask_prob"] = max(d["mask_prob"], float((prob - prob_b).abs().max()))
                crops = torch.rand(10, 3, *ref.crop_hw, generator=torch.Generator().manual_seed(0))
                h_ref, h_b = ref.stage2(crops), pipe._stage2_runner(crops)
                diff = float((h_ref - h_b).abs().max())
                d["heatmaps"] = max(d["heatmaps"], diff)
                d["heatmaps_rel"] = max(d["heatmaps_rel"], diff / float(h_ref.abs().max()))
        out["backends"][backend] = d
        print(backend, json.dumps(d))
    Path(a.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
