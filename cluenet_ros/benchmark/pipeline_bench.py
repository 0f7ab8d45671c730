"""End-to-end and per-stage latency of the inference pipeline on one frame size.

Weights do not change the arithmetic, so the benchmark runs a randomly
initialised model of the chosen configuration. ``people`` pedestrians are forced
through stage 2 by accepting every detection (score threshold 0, no NMS) and
capping the count at ``people``.
"""
from __future__ import annotations

import logging
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.models.factory import load_model_configs

STAGES = ("preprocess", "stage1", "crop_mask", "stage2", "postprocess")


@dataclass
class BenchOptions:
    device: str = "auto"
    resolution: tuple[int, int] = (2048, 1024)
    precision: str = "fp16"
    config: str | None = None
    people: int = 10
    frames: int = 20
    warmup: int = 3
    compile: bool = False
    backend: str = "torch"
    int8: bool = False
    weights: str | None = None  # a checkpoint instead of random weights
    detection_flip_test: bool = True
    detection_extra_scale: float = 0.0


def frame(width: int, height: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def _peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _rss_parts_mb() -> dict:
    """Current RSS split into anonymous memory (tensors, heaps) and file-backed pages
    (mapped libraries: the CUDA build of torch maps most of its RSS this way)."""
    out = {}
    try:
        for line in open("/proc/self/status"):
            if line.startswith(("RssAnon:", "RssFile:")):
                out["rss_" + line[3:7].lower() + "_mb"] = int(line.split()[1]) / 1024
    except OSError:
        pass
    return out


def _import_rss_mb() -> float | None:
    """RSS of a fresh interpreter after ``import torch, torchvision`` (the floor)."""
    import subprocess
    import sys

    code = ("import torch, torchvision\nfor l in open('/proc/self/status'):\n"
            "    l.startswith('VmRSS:') and print(int(l.split()[1]) / 1024)")
    try:
        return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                    timeout=120).stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def _reset_peak_rss() -> bool:
    """Linux: restart the peak-RSS count from the current RSS (so that one-off
    set-up, such as exporting a backend's graphs, is not counted as run time)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _peak_rss_mb() -> float | None:
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def _summary(times_ms: list[float]) -> dict:
    arr = np.asarray(times_ms)
    return {"e2e_ms_mean": float(arr.mean()), "e2e_ms_median": float(np.median(arr)),
            "e2e_ms_p95": float(np.percentile(arr, 95)), "fps": float(1000.0 / arr.mean())}


@torch.no_grad()
def calibrate_batchnorm(pipe: ClueNetPipeline, image: np.ndarray, passes: int = 2) -> None:
    """Give a randomly initialised model sensible batch-norm statistics.

    Untrained BN layers (mean 0, variance 1) let activations grow through the 50
    layers of the trunk until the RPN proposes almost nothing, so a random model
    would time stage 2 with no pedestrians. A few forward passes in training mode
    with cumulative averaging fix the scale without changing any weight.
    """
    from torchvision.ops import FrozenBatchNorm2d

    bns = [m for m in (*pipe.stage1.modules(), *pipe.stage2.modules()) if isinstance(m, torch.nn.BatchNorm2d)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None

    def set_stats(m, inputs):  # frozen BN (the trunk's default) takes its input's statistics
        x = inputs[0].detach()
        m.running_mean.copy_(x.mean(dim=(0, 2, 3)))
        m.running_var.copy_(x.var(dim=(0, 2, 3)) + 1e-5)

    frozen = [m for m in (*pipe.stage1.modules(), *pipe.stage2.modules()) if isinstance(m, FrozenBatchNorm2d)]
    hooks = [m.register_forward_pre_hook(set_stats) for m in frozen]
    x = pipe._to_tensor(image)[None]
    x = pipe.stage1.normalize(x)
    crops = torch.rand(8, 3, *pipe.crop_hw, device=pipe.device)
    pipe.stage1.train()
    pipe.stage2.train()
    for _ in range(passes):
        feats = pipe.stage1.features(x)
        pipe.stage1.seg_decoder(feats, tuple(x.shape[-2:]))
        pipe.stage2(crops)
    for h in hooks:
        h.remove()
    pipe.stage1.eval()
    pipe.stage2.eval()


def bench_pipeline(opt: BenchOptions) -> dict:
    logging.getLogger("cluenet_ros").setLevel(logging.ERROR)
    torch.manual_seed(0)
    cfg = PipelineConfig(device=opt.device, precision=opt.precision, score_threshold=0.0, nms_iou=1.0,
                         max_detections=max(1, opt.people), detection_flip_test=opt.detection_flip_test,
                         detection_extra_scale=opt.detection_extra_scale)
    if opt.weights:  # trained weights: eager at first, the backend below (from the cache when there)
        pipe = ClueNetPipeline.from_checkpoint(opt.weights, PipelineConfig(**{**cfg.__dict__, "backend": "torch"}))
    else:
        s1, s2 = load_model_configs(opt.config)
        pipe = ClueNetPipeline.random(cfg, s1, s2)
    if opt.compile:
        pipe.stage2 = torch.compile(pipe.stage2)
        pipe.stage1.trunk = torch.compile(pipe.stage1.trunk)
    w, h = opt.resolution
    img = frame(w, h)
    if not opt.weights:
        calibrate_batchnorm(pipe, img)
    t0 = time.perf_counter()
    # after batch-norm calibration: export the calibrated model (random weights: no cache entry)
    backend = pipe.use_backend(opt.backend, persist=bool(opt.weights), int8=opt.int8)
    setup_s = time.perf_counter() - t0
    setup_peak = _peak_memory_mb(pipe.device)
    reset = pipe.device.type == "cpu" and _reset_peak_rss()
    for _ in range(opt.warmup):
        pipe(img)
    if pipe.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(pipe.device)
    e2e, stages, counts = [], {s: [] for s in STAGES}, []
    for _ in range(opt.frames):
        t0 = time.perf_counter()
        res = pipe(img)
        if pipe.device.type == "cuda":
            torch.cuda.synchronize()
        e2e.append(1000 * (time.perf_counter() - t0))
        counts.append(len(res))
    for _ in range(max(3, opt.frames // 4)):  # the breakdown needs synchronisation: separate frames
        t = {}
        pipe.process_batch([img], timings=t)
        for s in STAGES:
            stages[s].append(t.get(s, 0.0))
    out = {"device": str(pipe.device), "resolution": f"{w}x{h}", "precision": opt.precision if pipe.device.type == "cuda" else "fp32",
           "people": int(round(statistics.mean(counts))), "frames": opt.frames,
           "config": opt.weights or opt.config or "full-size (paper)", "int8": pipe.int8,
           **_summary(e2e), "stages_ms": {s: float(np.median(v)) for s, v in stages.items()},
           "peak_mem_mb": (_peak_rss_mb() if reset else None) or _peak_memory_mb(pipe.device),
           "peak_mem_mb_including_setup": max(setup_peak, _peak_memory_mb(pipe.device)),
           **(_rss_parts_mb() if pipe.device.type == "cpu" else {}),
           "rss_import_mb": _import_rss_mb() if pipe.device.type == "cpu" else None,
           "threads": torch.get_num_threads(),
           "torch_compile": opt.compile, "backend": backend, "backend_setup_s": setup_s,
           "detection_flip_test": opt.detection_flip_test, "detection_extra_scale": opt.detection_extra_scale}
    return out


def bench_stage2_scaling(opt: BenchOptions, counts=(1, 20)) -> dict:
    """Stage-2 time for 1 and 20 crops (the target: 20 at most twice 1)."""
    s1, s2 = load_model_configs(opt.config)
    cfg = PipelineConfig(device=opt.device, precision=opt.precision)
    pipe = ClueNetPipeline.random(cfg, s1, s2)
    hc, wc = pipe.crop_hw
    out = {}
    with torch.inference_mode():
        for n in counts:
            x = torch.rand(n, 3, hc, wc, device=pipe.device)
            times = []
            for i in range(opt.warmup + opt.frames):
                t0 = time.perf_counter()
                with pipe._autocast():
                    pipe.stage2(pipe._layout(x))
                if pipe.device.type == "cuda":
                    torch.cuda.synchronize()
                if i >= opt.warmup:
                    times.append(1000 * (time.perf_counter() - t0))
            out[n] = float(np.median(times))
    return out


def _keypointrcnn(opt: BenchOptions, device: torch.device):
    """The peer as its users build it (random weights: the arithmetic is the same),
    with its internal resize set to the input size (no rescaling)."""
    from torchvision.models.detection import keypointrcnn_resnet50_fpn

    w, h = opt.resolution
    torch.manual_seed(0)
    return keypointrcnn_resnet50_fpn(weights=None, weights_backbone=None, min_size=min(w, h),
                                     max_size=max(w, h), box_detections_per_img=max(1, opt.people),
                                     box_score_thresh=0.0).eval().to(device)


def bench_keypointrcnn(opt: BenchOptions) -> dict:
    """torchvision's keypointrcnn_resnet50_fpn on the same input, device and
    precision, run eagerly (the way its users run it)."""
    from cluenet_ros.inference.pipeline import resolve_device

    device = resolve_device(opt.device)
    w, h = opt.resolution
    model = _keypointrcnn(opt, device)
    img = torch.from_numpy(frame(w, h)).to(device).permute(2, 0, 1).float() / 255
    use_amp = device.type == "cuda" and opt.precision != "fp32"
    dtype = torch.float16 if opt.precision == "fp16" else torch.bfloat16
    times = []
    with torch.inference_mode():
        for i in range(opt.warmup + opt.frames):
            t0 = time.perf_counter()
            with torch.autocast("cuda", dtype=dtype, enabled=use_amp):
                model([img])
            if device.type == "cuda":
                torch.cuda.synchronize()
            if i >= opt.warmup:
                times.append(1000 * (time.perf_counter() - t0))
    return {"peer": "keypointrcnn_resnet50_fpn", "peer_ms_median": float(np.median(times)),
            "peer_ms_p95": float(np.percentile(times, 95))}


def bench_keypointrcnn_onnxruntime(opt: BenchOptions) -> dict:
    """The same peer (same weights, same frame) exported whole to ONNX (torchvision's
    detection models export with the TorchScript exporter at opset 11) and run by
    ONNX Runtime with the session options of ClueNet's own onnxruntime backend, so
    that a ratio between the two is the architectures' cost on one runtime.

    The export is set-up, not run time. ``peer_onnxruntime_max_abs_diff`` compares
    the exported peer's boxes, scores and keypoints with the eager model's on the
    timed frame: it says the timed graph is the same network (NaN when the two keep
    a different number of detections, which random weights can cause at a near-tie)."""
    from cluenet_ros.inference.runtimes import OnnxRuntimeSession

    w, h = opt.resolution
    model = _keypointrcnn(opt, torch.device("cpu"))
    img = torch.from_numpy(frame(w, h)).permute(2, 0, 1).float() / 255
    with tempfile.TemporaryDirectory(prefix="cluenet_peer_") as tmp:
        path = Path(tmp) / "keypointrcnn.onnx"
        t0 = time.perf_counter()
        with torch.no_grad():
            torch.onnx.export(model, ([img],), str(path), opset_version=11, dynamo=False, input_names=["input"],
                              output_names=["boxes", "labels", "scores", "keypoints", "keypoints_scores"])
        export_s = time.perf_counter() - t0
        runner = OnnxRuntimeSession(path, torch.get_num_threads())
        img_np = img.numpy()
        times, outs = [], None
        for i in range(opt.warmup + opt.frames):
            t0 = time.perf_counter()
            outs = runner(img_np)
            if i >= opt.warmup:
                times.append(1000 * (time.perf_counter() - t0))
    with torch.inference_mode():
        ref = model([img])[0]
    outs = [torch.from_numpy(o) for o in outs]
    pairs = [(outs[0], ref["boxes"]), (outs[2], ref["scores"]), (outs[3], ref["keypoints"])]
    diff = (max(float((a - b).abs().max()) if a.numel() else 0.0 for a, b in pairs)
            if all(a.shape == b.shape for a, b in pairs) else float("nan"))
    return {"peer_onnxruntime_ms_median": float(np.median(times)),
            "peer_onnxruntime_ms_p95": float(np.percentile(times, 95)),
            "peer_onnxruntime_export_s": export_s, "peer_onnxruntime_max_abs_diff": diff}


def environment() -> dict:
    info = {"torch": torch.__version__, "cpu_count": os.cpu_count()}
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info
