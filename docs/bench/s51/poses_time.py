#!/usr/bin/env python3
"""Session 51: the standalone pipeline's pose part (crops, stage 2, decoding) timed alone,
with the stage-2 flip test off and on, in a process of its own (its peak RSS too).
Imports the package from PYTHONPATH, so the same script times two trees.

    poses_time.py --folder GRAPHS [--backend auto] [--people 10] [--frames 20] [--flip]
"""
import argparse
import json
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--folder", required=True)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--flip", action="store_true")
    a = ap.parse_args()
    from cluenet_ros.inference.interface import PipelineConfig
    from cluenet_ros.inference.standalone import FORMAT, StandalonePipeline

    pipe = StandalonePipeline(a.folder, PipelineConfig(device="cpu", backend=a.backend, score_threshold=0.0,
                                                       nms_iou=1.0, max_detections=a.people, flip_test=a.flip,
                                                       detection_flip_test=False, detection_extra_scale=0.0))
    img = np.random.default_rng(0).integers(0, 256, (512, 1024, 3), dtype=np.uint8)
    laps, counts = [], []
    for i in range(3 + a.frames):
        t = {}
        res = pipe.process_batch([img], timings=t)[0]
        if i >= 3:
            laps.append(t["stage2"])
            counts.append(len(res))
    hwm = next(int(line.split()[1]) / 1024 for line in open("/proc/self/status") if line.startswith("VmHWM"))
    print(json.dumps({"format": FORMAT, "backend": pipe.backend,
                      "stage2_backend": getattr(pipe, "stage2_backend", "onnxruntime"), "flip_test": a.flip,
                      "people": int(np.median(counts)), "poses_ms_median": float(np.median(laps)),
                      "poses_ms_p10_p90": [float(np.percentile(laps, 10)), float(np.percentile(laps, 90))],
                      "peak_rss_mb": hwm}))


if __name__ == "__main__":
    main()
