"""Latency and memory of the torch-free standalone pipeline, in a process of its own.

Run as ``python -m cluenet_ros.benchmark.standalone_bench --folder F ...`` (what
``cluenet bench --standalone`` does): this module imports numpy and the runtimes,
never torch, so its peak RSS is what a node running the standalone pipeline needs
(the figure issue 20 bounds at 600 MB). It prints one JSON object.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

STAGES = ("stage1", "stage2", "postprocess")


def _status_mb(key: str) -> float:
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(folder: str, width: int, height: int, people: int, frames: int, warmup: int, backend: str,
        detection_flip_test: bool = True, detection_extra_scale: float = 0.0) -> dict:
    from cluenet_ros.inference.interface import PipelineConfig
    from cluenet_ros.inference.standalone import StandalonePipeline

    t0 = time.perf_counter()
    # every detection accepted and capped at `people`: as the torch benchmark forces them
    pipe = StandalonePipeline(folder, PipelineConfig(device="cpu", backend=backend, score_threshold=0.0,
                                                     nms_iou=1.0, max_detections=max(1, people),
                                                     detection_flip_test=detection_flip_test,
                                                     detection_extra_scale=detection_extra_scale))
    setup_s = time.perf_counter() - t0
    img = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    for _ in range(warmup):
        pipe(img)
    e2e, counts, stages = [], [], {s: [] for s in STAGES}
    for _ in range(frames):
        t = {}
        t0 = time.perf_counter()
        res = pipe.process_batch([img], timings=t)[0]
        e2e.append(1000 * (time.perf_counter() - t0))
        counts.append(len(res))
        for s in STAGES:
            stages[s].append(t.get(s, 0.0))
    arr = np.asarray(e2e)
    return {"device": "cpu", "resolution": f"{width}x{height}", "precision": "fp32", "standalone": True,
            "backend": pipe.backend, "stage2_backend": pipe.stage2_backend, "int8": False, "people": int(round(float(np.mean(counts)))), "frames": frames,
            "e2e_ms_mean": float(arr.mean()), "e2e_ms_median": float(np.median(arr)),
            "e2e_ms_p95": float(np.percentile(arr, 95)), "fps": float(1000.0 / arr.mean()),
            "stages_ms": {s: float(np.median(v)) for s, v in stages.items()},
            "peak_mem_mb": _status_mb("VmHWM"), "rss_anon_mb": _status_mb("RssAnon"),
            "rss_file_mb": _status_mb("RssFile"), "torch_imported": "torch" in sys.modules,
            "threads": len(os.sched_getaffinity(0)), "backend_setup_s": setup_s, "graphs": folder,
            "detection_flip_test": detection_flip_test, "detection_extra_scale": pipe.config.detection_extra_scale}


def bench_standalone(opt) -> dict:
    """``cluenet bench --standalone``: export (once, cached) ``opt.weights`` and time
    it in a child process that never imports torch. ``opt``: a BenchOptions."""
    import subprocess

    from cluenet_ros.inference.interface import PipelineConfig
    from cluenet_ros.inference.standalone import baked_settings, ensure_exported

    if opt.device == "cuda" or opt.int8 or opt.backend == "torch":
        raise ValueError("--standalone runs fp32 on the CPU, its dense stage-1 graph on openvino or onnxruntime "
                         "(--backend auto, openvino or onnxruntime; no --int8)")
    folder = ensure_exported(opt.weights, baked_settings(PipelineConfig()))
    w, h = opt.resolution
    cmd = [sys.executable, "-m", __name__, "--folder", str(folder), "--resolution", f"{w}x{h}",
           "--people", str(opt.people), "--frames", str(opt.frames), "--warmup", str(opt.warmup),
           "--backend", opt.backend]
    if opt.detection_extra_scale:
        cmd += ["--detection-extra-scale", str(opt.detection_extra_scale)]
    cmd += [] if opt.detection_flip_test else ["--no-detection-flip-test"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError("the standalone benchmark failed: " + " | ".join(proc.stderr.strip().splitlines()[-5:]))
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["config"] = str(opt.weights)
    return res


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folder", required=True)
    ap.add_argument("--resolution", default="1024x512")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--no-detection-flip-test", dest="detection_flip_test", action="store_false")
    ap.add_argument("--detection-extra-scale", type=float, default=0.0)
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.resolution.lower().split("x"))
    print(json.dumps(run(a.folder, w, h, a.people, a.frames, a.warmup, a.backend, a.detection_flip_test,
                         a.detection_extra_scale)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
