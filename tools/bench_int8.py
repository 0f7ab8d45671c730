#!/usr/bin/env python3
"""fp32 against int8 latency, interleaved in one process (docs/bench/int8.md).

For each backend, an fp32 and an int8 pipeline of the same weights run the same
frame in alternating order (fp32, int8, int8, fp32, ...), so that a shared, busy
machine's load falls on both alike; medians and the int8/fp32 ratio of each round's
pair are reported. Pedestrians are forced through stage 2 as in `cluenet bench`
(score threshold 0, no NMS, at most --people). Set-up (export, calibration and
quantisation, from the cache when there) is not timed. Peak RSS of each setting
alone comes from `cluenet bench --weights ... [--int8]` (one process per setting).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", default="models/cluenet_demo.pt")
    ap.add_argument("--image", help="an RGB image (default: a seeded noise frame at --resolution)")
    ap.add_argument("--resolution", default="1024x512")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--backends", default="openvino,onnxruntime")
    ap.add_argument("--json")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    import cv2
    import torch

    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig

    w, h = (int(v) for v in args.resolution.split("x"))
    if args.image:
        img = cv2.cvtColor(cv2.imread(args.image), cv2.COLOR_BGR2RGB)
        img = cv2.resize(img, (w, h)) if img.shape[:2] != (h, w) else img
    else:
        img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)
    load_before = os.getloadavg()
    out = {"weights": args.weights, "resolution": f"{w}x{h}", "people_max": args.people, "rounds": args.rounds,
           "image": args.image or "seeded noise", "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
           "loadavg_before": load_before, "backends": {}}
    for backend in args.backends.split(","):
        pipes = {}
        for mode in ("fp32", "int8"):
            t0 = time.perf_counter()
            pipes[mode] = ClueNetPipeline.from_checkpoint(args.weights, PipelineConfig(
                device="cpu", backend=backend, int8=mode == "int8", score_threshold=0.0, nms_iou=1.0,
                max_detections=args.people))
            print(f"{backend} {mode}: set-up {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        for _ in range(args.warmup):
            for p in pipes.values():
                p(img)
        times = {m: [] for m in pipes}
        stages = {m: {} for m in pipes}
        people = {m: [] for m in pipes}
        for r in range(args.rounds):
            order = ("fp32", "int8") if r % 2 == 0 else ("int8", "fp32")
            for mode in order:
                t = {}
                t0 = time.perf_counter()
                res = pipes[mode].process_batch([img], timings=t)[0]
                times[mode].append(1000 * (time.perf_counter() - t0))
                people[mode].append(len(res))
                for k, v in t.items():
                    stages[mode].setdefault(k, []).append(v)
        ratios = [b / a for a, b in zip(times["fp32"], times["int8"])]
        fig = {m: {"e2e_ms_median": statistics.median(times[m]), "e2e_ms_min": min(times[m]),
                   "e2e_ms_all": [round(v, 1) for v in times[m]],
                   "stages_ms_median": {k: statistics.median(v) for k, v in stages[m].items()},
                   "people_mean": float(np.mean(people[m]))} for m in pipes}
        fig["int8_over_fp32_median_of_pairs"] = statistics.median(ratios)
        fig["int8_over_fp32_medians"] = fig["int8"]["e2e_ms_median"] / fig["fp32"]["e2e_ms_median"]
        out["backends"][backend] = fig
        print(f"{backend}: fp32 {fig['fp32']['e2e_ms_median']:.0f} ms, int8 {fig['int8']['e2e_ms_median']:.0f} ms "
              f"(median of pairs int8/fp32 {fig['int8_over_fp32_median_of_pairs']:.2f}); stage 1 "
              f"{fig['fp32']['stages_ms_median']['stage1']:.0f} / {fig['int8']['stages_ms_median']['stage1']:.0f} ms, "
              f"stage 2 {fig['fp32']['stages_ms_median']['stage2']:.0f} / "
              f"{fig['int8']['stages_ms_median']['stage2']:.0f} ms")
        del pipes
    out["loadavg_after"] = os.getloadavg()
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
