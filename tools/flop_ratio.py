#!/usr/bin/env python3
"""Arithmetic of ClueNet against keypointrcnn_resnet50_fpn on the same frame.

Issue 20 asks for ClueNet full on its best backend at <= 0.5 of the peer's eager
time. A time ratio is an arithmetic ratio divided by an efficiency ratio: this
counts the floating-point operations of one frame of each (torch's FlopCounterMode:
convolutions, matrix products, RoI align excluded), with `people` detections forced
through each model's per-person heads, as `cluenet bench` forces them, so the time
ratios in docs/bench can be read against it.

    tools/flop_ratio.py [--resolution 1024x512] [--people 10] [--config F] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode


def count(fn) -> tuple[float, dict]:
    with FlopCounterMode(display=False) as mode:
        fn()
    per_module = {k: float(sum(v.values())) for k, v in mode.get_flop_counts().items()}
    return float(mode.get_total_flops()), per_module


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", default="1024x512")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--config", default=None, help="ClueNet model YAML (default: the full-size paper model)")
    ap.add_argument("--json")
    a = ap.parse_args()
    w, h = (int(v) for v in a.resolution.split("x"))
    from cluenet_ros.benchmark.pipeline_bench import _keypointrcnn, BenchOptions, calibrate_batchnorm, frame
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
    from cluenet_ros.models.factory import load_model_configs

    torch.manual_seed(0)
    img = frame(w, h)
    s1, s2 = load_model_configs(a.config)
    pipe = ClueNetPipeline.random(PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=1.0,
                                                 max_detections=a.people), s1, s2)
    calibrate_batchnorm(pipe, img)
    with torch.inference_mode():
        found = len(pipe(img))
        total, mods = count(lambda: pipe(img))
    stage2 = mods.get("ClueNetStage2", 0.0)
    peer = _keypointrcnn(BenchOptions(device="cpu", resolution=(w, h), people=a.people), torch.device("cpu"))
    x = torch.from_numpy(img).permute(2, 0, 1).float() / 255
    with torch.inference_mode():
        peer_found = len(peer([x])[0]["boxes"])
        peer_total, peer_mods = count(lambda: peer([x]))
    res = {"resolution": f"{w}x{h}", "people_forced": a.people, "cluenet_people": found, "peer_people": peer_found,
           "cluenet_config": a.config or "full-size (paper)", "cluenet_gflops": total / 1e9,
           "cluenet_stage2_gflops": stage2 / 1e9, "cluenet_stage1_gflops": (total - stage2) / 1e9,
           "peer": "keypointrcnn_resnet50_fpn", "peer_gflops": peer_total / 1e9,
           "peer_parts_gflops": {k: v / 1e9 for k, v in peer_mods.items()
                                 if k.count(".") == 1 and v > 0},
           "flop_ratio": total / peer_total}
    print(json.dumps(res, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            f.write(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    np.set_printoptions(precision=3)
    sys.exit(main())
