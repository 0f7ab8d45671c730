"""The whole ClueNet pipeline as compiled graphs, run without torch.

Why: a process that imports torch starts at about 700-800 MB resident (the CUDA
build this project installs), above the 600 MB a vehicle computer may give the
node (issue 20), before any model runs. Here the eager pipeline is exported once,
in a child process that imports torch, to ONNX graphs:

- ``stage1_dense.onnx``: uint8 image (H, W, 3) and the input scale -> the detection
  transform (resize, normalise, pad) and the convolutional part: mask logits, F_att
  and the scaled size. Run on OpenVINO where installed (``backend`` auto or openvino),
  else ONNX Runtime; OpenVINO's dense kernels are the faster ones on a few CPU threads.
- ``stage1_heads.onnx``: those outputs and the frame size -> every scored detection
  (boxes, scores, sorted by score) and the pedestrian probability map (H, W), on ONNX
  Runtime always. The RoI heads run with no score threshold, an NMS that suppresses
  nothing and every proposal kept, so that the score threshold, NMS IoU and detection
  count stay run-time settings: they are applied here, in numpy, in torchvision's
  order (score, NMS, top k).
- the pose graphs, the eager pipeline's own ``_poses`` traced in three parts, not a
  second implementation: ``poses_crops.onnx`` (uint8 image, mask, boxes -> crops of
  the segmented image, their masks and regions; ONNX Runtime), ``stage2.onnx`` (the
  stage-2 network, crops -> heatmaps; ONNX Runtime, or OpenVINO with ``backend:
  openvino`` where its export check passed) and ``poses_decode.onnx`` (heatmaps, crop masks,
  regions, boxes -> keypoints in image pixels, occlusion flags, visible boxes and
  visibility; ONNX Runtime). With the flip test the crops and their mirror images go
  through stage 2 as one batch and ``poses_decode_flip.onnx`` averages the two first,
  so the stage-2 weights are held once.

This process then imports only numpy, ONNX Runtime and (for the dense graph) OpenVINO.
The graphs live in the backend cache, in a folder named by a hash of the checkpoint
file and the settings baked into them (crop padding, occlusion tolerance, RoI
sampling): :func:`ensure_exported` finds or makes them.

The scale is an input of the dense graph, resized there as the eager transform
resizes (the same pixels, which a resize here in numpy would not give), so the input
scale and the node's second scale (``detection_extra_scale``, on by default since
session 44) stay run-time settings, and the second scale's views run on the same
graphs. Only ``detection_extra_weights`` (another stage 1 for those views) is a
folder of its own, its stage-1 graphs alone.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.detection_flip import (VIEW_SCORE_FLOOR, check_merge, merge_views,  # noqa: F401
                                                  mirror_boxes, nms, view_detections)
from cluenet_ros.inference.interface import FrameResult, PipelineConfig, check_image, kept_rows, perspective_settings
from cluenet_ros.inference.cache import mark_used, stale_summary
from cluenet_ros.inference.perspective import rescore_detections
from cluenet_ros.inference.runtimes import cache_root, open_session

LOG = logging.getLogger(__name__)

FORMAT = 4  # bump when the graphs' inputs, outputs or meaning change (3: the input scale an input; 4: poses in parts)
# the dense graphs' runtimes (stage 1's dense part, stage 2), fastest first. The rest runs
# on ONNX Runtime only: OpenVINO 2026.4 gave wrong detections (one box repeated) on the
# first inference at every new frame size when it ran stage 1 whole, NMS included
# (docs/bench/README.md, "Standalone"), and a node cannot afford a wrong first frame per
# size. The export checks OpenVINO's first inferences of each dense graph and names the
# runtimes that passed in the manifest (dense_runtimes, stage2_runtimes).
RUNTIMES = ("openvino", "onnxruntime")
BAKED = ("crop_padding", "occlusion_tolerance", "roi_sampling_ratio")


def baked_settings(config: PipelineConfig) -> dict:
    """The settings an export fixes (changing one needs another export)."""
    return {"crop_padding": float(config.crop_padding),
            "occlusion_tolerance": float(config.occlusion_tolerance),
            "roi_sampling_ratio": int(config.roi_sampling_ratio)}


def graph_key(weights: Path, settings: dict, stage1_only: bool = False) -> str:
    text = f"standalone format {FORMAT}; {json.dumps(settings, sort_keys=True)}"
    h = hashlib.sha256((text + "; stage 1 only" if stage1_only else text).encode())
    with open(weights, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:24]


def ensure_exported(weights: str | Path, settings: dict, cache: Path | None = None, stage1_only: bool = False) -> Path:
    """The folder holding the graphs for ``weights`` and ``settings``; exported
    first (in a child process: this one never imports torch) when missing.
    ``stage1_only``: the stage-1 graphs alone (an extra-scale view needs no poses)."""
    weights = Path(weights)
    if not weights.is_file():
        raise FileNotFoundError(f"{weights}: no such checkpoint")
    folder = (cache or cache_root()) / f"standalone-{graph_key(weights, settings, stage1_only)}"
    if (folder / "manifest.json").is_file():
        mark_used(folder)
        return folder
    import importlib.util

    elsewhere = (f"export them where torch is installed (`cluenet export --standalone --weights {weights} "
                 f"--cache DIR`, the same checkpoint file) and copy DIR/{folder.name} into {folder.parent} (or set "
                 "CLUENET_CACHE_DIR to DIR)")
    if importlib.util.find_spec("torch") is None:
        raise RuntimeError(f"no standalone graphs for {weights} in {folder.parent}, and torch, which exports them, "
                           f"is not installed here: {elsewhere}")
    cmd = [sys.executable, "-m", "cluenet_ros.inference.standalone_export", "--weights", str(weights),
           "--out", str(folder), "--settings", json.dumps(settings)] + (["--stage1-only"] if stage1_only else [])
    LOG.info("exporting the standalone graphs for %s to %s (once per weights; a child process)",
             weights, folder)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode < 0:  # killed: under a memory limit most likely the kernel's OOM killer
        import signal

        name = signal.Signals(-proc.returncode).name if -proc.returncode in signal.valid_signals() else "?"
        raise RuntimeError(f"exporting the standalone graphs was killed by signal {-proc.returncode} ({name}). The "
                           "export loads torch and the model (about 1.1 GB at its peak for the demo weights, far "
                           f"above the node itself); under a memory limit, {elsewhere}")
    if proc.returncode != 0 or not (folder / "manifest.json").is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"exporting the standalone graphs failed (exit {proc.returncode}): " + " | ".join(tail))
    LOG.info("exported in %.1f s", time.perf_counter() - t0)
    count, size = stale_summary(folder.parent)
    if count:
        LOG.info("the cache holds %d entries (%.0f MB) that this version no longer reads; `cluenet cache prune` "
                 "removes them", count, size / 1e6)
    return folder


def installed_runtimes() -> list[str]:
    import importlib.util

    return [r for r in RUNTIMES if importlib.util.find_spec(r) is not None]


class StandalonePipeline:
    """ClueNetPipeline's interface (``__call__``, ``process_batch``, the run-time
    setters, ``device``, ``backend``) on the exported graphs, without torch. CPU
    only; no int8. Thread-compatible, not thread-safe."""

    device = "cpu"
    int8 = False

    def __init__(self, folder: str | Path, config: PipelineConfig | None = None, threads: int | None = None,
                 extra_folder: str | Path | None = None, input_scale: float = 1.0):
        """``extra_folder``: stage 1 of ``config.detection_extra_weights`` (see
        :meth:`from_checkpoint`, which exports it); without one the extra scale's views
        run on ``folder``'s own stage 1, as the eager pipeline runs them."""
        self.config = config or PipelineConfig(device="cpu", backend="auto", detection_extra_scale=0.0)
        self._settings_lock = threading.Lock()
        if self.config.device == "cuda":
            raise ValueError("the standalone pipeline runs on the CPU only (device cuda needs the torch pipeline)")
        if self.config.int8:
            raise ValueError("int8 is not available in the standalone pipeline; set int8 false")
        self.folder = Path(folder)
        self.manifest = json.loads((self.folder / "manifest.json").read_text())
        if self.manifest.get("format") != FORMAT:
            raise ValueError(f"{self.folder}: graphs of format {self.manifest.get('format')}, this version reads "
                             f"{FORMAT} (from_checkpoint exports them again)")
        baked = self.manifest["settings"]
        for name in BAKED:
            if baked[name] != baked_settings(self.config)[name]:
                raise ValueError(f"{self.folder}: exported with {name} {baked[name]}, asked for "
                                 f"{getattr(self.config, name)}")
        self.extra_folder = None if extra_folder is None else Path(extra_folder)
        if self.extra_folder is not None:
            extra = json.loads((self.extra_folder / "manifest.json").read_text())
            if not extra.get("stage1_only") or extra.get("format") != FORMAT:
                raise ValueError(f"{self.extra_folder}: not a stage-1 export of format {FORMAT} "
                                 "(detection_extra_weights' graphs)")
        self.input_scale = 1.0
        self.set_input_scale(input_scale)
        self.set_detection_extra_scale(self.config.detection_extra_scale)
        self.backend, self.stage2_backend = self._dense_runtimes(self.config.backend)
        threads = threads or len(os.sched_getaffinity(0))

        # the ONNX Runtime graphs run one after another, so their intermediate tensors come
        # from one arena (ONNX Runtime's environment allocator), not one per session each
        # holding its own peak: demo weights at 1024x512 with the node's default views, the
        # pipeline peaked at 439-440 instead of 548-550 MiB, at the same speed
        # (docs/bench/README.md, "Standalone", session 49)
        def session(folder: Path, name: str, runtime: str = "onnxruntime"):
            return open_session(runtime, folder / name, threads, folder, memory_pattern=False, shared_arena=True)

        def stage1(folder: Path) -> _Stage1:
            return _Stage1(session(folder, "stage1_dense.onnx", self.backend), session(folder, "stage1_heads.onnx"))

        self._stage1 = stage1(self.folder)
        self._extra_stage1 = self._stage1 if self.extra_folder is None else stage1(self.extra_folder)
        self._pose_sessions = {name: session(self.folder, f"{name}.onnx")
                               for name in ("poses_crops", "poses_decode", "poses_decode_flip")}
        self._pose_sessions["stage2"] = session(self.folder, "stage2.onnx", self.stage2_backend)
        self.set_thresholds(self.config.score_threshold, self.config.nms_iou, self.config.max_detections)

    def _dense_runtimes(self, backend: str) -> tuple[str, str]:
        """The runtimes of the dense graphs, (stage 1's dense part, stage 2): ``backend``
        for both; for auto, stage 1's on the first of RUNTIMES that is installed and whose
        export check passed in every folder, and stage 2 on ONNX Runtime. Stage 2 on
        OpenVINO saved 1-2 ms a frame at 10 people (about 5 with the stage-2 flip test) for
        17-33 MiB more at the node's peak, as a second runtime holds the weights and its
        own buffers (docs/bench/README.md, "Standalone", session 51): auto keeps the
        memory."""
        import importlib.util

        if backend not in ("auto", *RUNTIMES):
            raise ValueError(f"the standalone pipeline runs on onnxruntime, with the dense graphs on "
                             f"openvino or onnxruntime (backend auto, openvino or onnxruntime), not {backend!r}")
        if importlib.util.find_spec("onnxruntime") is None:
            raise RuntimeError("the standalone pipeline needs the Python package 'onnxruntime' (pip install onnxruntime)")
        folders = [self.folder] + ([self.extra_folder] if self.extra_folder is not None else [])
        dense = [r for r in RUNTIMES if all(r in json.loads((f / "manifest.json").read_text())["dense_runtimes"]
                                            for f in folders)]
        stage2 = [r for r in RUNTIMES if r in self.manifest["stage2_runtimes"]]
        if backend == "auto":
            return next(r for r in dense if r in installed_runtimes()), "onnxruntime"
        if backend not in installed_runtimes():
            raise RuntimeError(f"backend {backend!r} requested but the Python package {backend!r} is not installed "
                               f"(pip install {backend})")
        for passed, graph in ((dense, "the dense stage-1 graph"), (stage2, "the stage-2 graph")):
            if backend not in passed:
                raise RuntimeError(f"backend {backend!r}: its first inferences of {graph} did not match ONNX "
                                   f"Runtime's when exported ({self.folder / 'manifest.json'}); use backend auto "
                                   "or onnxruntime")
        return backend, backend

    @classmethod
    def from_checkpoint(cls, path: str | Path, config: PipelineConfig | None = None, input_scale: float = 1.0,
                        cache: Path | None = None) -> "StandalonePipeline":
        """The graphs of ``path``, exported first where missing; with
        ``config.detection_extra_weights`` also that checkpoint's stage 1."""
        config = config or PipelineConfig(device="cpu", backend="auto", detection_extra_scale=0.0)
        extra = None
        if config.detection_extra_weights:
            extra = ensure_exported(config.detection_extra_weights, baked_settings(config), cache, stage1_only=True)
        return cls(ensure_exported(path, baked_settings(config), cache), config, extra_folder=extra,
                   input_scale=input_scale)

    # -- run-time settings (the same checks as the torch pipeline's) -------------------
    def set_thresholds(self, score: float | None = None, nms_iou: float | None = None,
                       max_detections: int | None = None) -> None:
        changes = {k: v for k, v in (("score_threshold", score), ("nms_iou", nms_iou),
                                     ("max_detections", max_detections)) if v is not None}
        self._change(**changes)

    def _change(self, **changes) -> None:
        """Replace the whole (frozen) config under a lock: two threads' changes never
        overwrite each other, and a frame reads the config once (``_frame``)."""
        with self._settings_lock:
            self.config = replace(self.config, **changes)

    def set_mask_threshold(self, threshold: float) -> None:
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"mask_threshold {threshold} is not within [0, 1]")
        self._change(mask_threshold=float(threshold))

    def set_perspective(self, enabled: bool, anchor_score: float | None = None, tolerance: float | None = None,
                        sigma: float | None = None) -> None:
        """Perspective rescoring on or off, and its settings, at run time."""
        from cluenet_ros.inference.perspective import PerspectiveSettings

        cfg = self.config
        changes = dict(perspective_rescore=bool(enabled),
                       perspective_anchor_score=cfg.perspective_anchor_score if anchor_score is None else float(anchor_score),
                       perspective_tolerance=cfg.perspective_tolerance if tolerance is None else float(tolerance),
                       perspective_sigma=cfg.perspective_sigma if sigma is None else float(sigma))
        try:
            PerspectiveSettings(changes["perspective_anchor_score"], changes["perspective_tolerance"],
                                changes["perspective_sigma"])
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        self._change(**changes)

    def set_flip_test(self, enabled: bool) -> None:
        self._change(flip_test=bool(enabled))

    def set_detection_flip_test(self, enabled: bool, merge: str | None = None) -> None:
        with self._settings_lock:
            merge = self.config.detection_flip_merge if merge is None else merge
            check_merge(merge)
            self.config = replace(self.config, detection_flip_test=bool(enabled), detection_flip_merge=merge)

    def set_detection_extra_scale(self, scale: float, min_height: float | None = None) -> None:
        """A second input scale for stage 1 (0: none), as a multiple of the input scale;
        ``min_height``: the least height of its boxes that join the merge (0: all). The
        eager pipeline's checks; the graphs take any scale."""
        scale = float(scale)
        if min_height is not None and not 0.0 <= float(min_height) <= 4096.0:
            raise ValueError(f"detection_extra_scale_min_height must be within [0, 4096], got {float(min_height):g}")
        if not 0.0 <= scale <= 4.0:
            raise ValueError(f"detection_extra_scale must be 0 (off) or within (0, 4], got {scale:g}")
        with self._settings_lock:
            if scale > 0 and not 0.05 <= self.input_scale * scale <= 4.0:
                raise ValueError(f"detection_extra_scale {scale:g} times the input scale {self.input_scale:g} "
                                 "leaves [0.05, 4]")
            changes = {"detection_extra_scale": scale}
            if min_height is not None:
                changes["detection_extra_scale_min_height"] = float(min_height)
            self.config = replace(self.config, **changes)

    def set_input_scale(self, scale: float) -> None:
        """Resize factor applied to frames before stage 1 (outputs stay in input pixels)."""
        scale = float(scale)
        if not 0.05 <= scale <= 4.0:
            raise ValueError(f"input scale must be within [0.05, 4], got {scale}")
        with self._settings_lock:
            extra = self.config.detection_extra_scale
            if extra > 0 and not 0.05 <= scale * extra <= 4.0:
                raise ValueError(f"input scale {scale:g} times detection_extra_scale {extra:g} leaves [0.05, 4]")
            self.input_scale = scale

    # -- inference ------------------------------------------------------------------
    def __call__(self, image: np.ndarray, bgr: bool = False, keep=None) -> FrameResult:
        return self.process_batch([image], bgr=bgr, keep=keep)[0]

    def process_batch(self, images: Sequence[np.ndarray], timings: dict | None = None,
                      bgr: bool = False, keep=None) -> list[FrameResult]:
        """One frame after another (the graphs take one image each); ``keep`` as the
        eager pipeline's."""
        for i, image in enumerate(images):
            check_image(image, i)
        return [self._frame(img, bgr, timings, keep, i) for i, img in enumerate(images)]

    def _frame(self, image: np.ndarray, bgr: bool, timings: dict | None, keep=None, index: int = 0) -> FrameResult:
        lap = _Laps(timings)
        rgb = np.ascontiguousarray(image[..., ::-1] if bgr else image)
        with self._settings_lock:  # one consistent set of settings per frame
            cfg, scale = self.config, self.input_scale
        if cfg.detection_flip_test or cfg.detection_extra_scale:
            boxes, scores, prob = self._views(rgb, cfg, scale)
        else:
            boxes, scores, prob = self._stage1(rgb, scale)
            boxes, scores = view_detections(boxes, scores, cfg.score_threshold, cfg.nms_iou, cfg.max_detections)
            boxes, scores = boxes.astype(np.float32), scores.astype(np.float32)
        settings = perspective_settings(cfg)
        if settings is not None:
            rows, new = rescore_detections(boxes, scores, rgb.shape[0], settings, cfg.score_threshold)
            boxes, scores = boxes[rows], new.astype(scores.dtype)
        if keep is not None:
            rows = kept_rows(keep, boxes, scores, index)
            boxes, scores = boxes[rows], scores[rows]
        lap("stage1")
        mask = prob > cfg.mask_threshold
        n = len(boxes)
        if n:
            kps, occluded, vis, visibility = run_poses(self._pose_sessions, rgb, mask.astype(np.float32), boxes,
                                                       bool(cfg.flip_test))
        else:
            kps = np.zeros((0, kp.NUM_KEYPOINTS, 3), np.float32)
            occluded = np.zeros((0, kp.NUM_KEYPOINTS), bool)
            vis, visibility = np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
        lap("stage2")
        result = FrameResult(boxes=boxes, scores=scores, visible_boxes=vis.astype(np.float32),
                             visibility=visibility.astype(np.float32), keypoints=kps.astype(np.float32),
                             occluded=occluded.astype(bool), mask=mask.astype(np.uint8) * 255)
        lap("postprocess")
        return result

    def _views(self, rgb: np.ndarray, cfg: PipelineConfig, scale: float):
        """The eager pipeline's ``_stage1_views`` for one frame: the frame (and its mirror
        image with the flip test) through stage 1, then through the extra-scale graph,
        whose boxes below the floor are dropped; boxes merged, masks averaged."""
        floor = min(VIEW_SCORE_FLOOR, cfg.score_threshold)
        runs = [(self._stage1, scale, 0.0)]
        if cfg.detection_extra_scale:
            # the floor is in the main view's pixels (input pixels x input scale)
            runs.append((self._extra_stage1, scale * cfg.detection_extra_scale,
                         cfg.detection_extra_scale_min_height / scale))
        mirrored = np.ascontiguousarray(rgb[:, ::-1]) if cfg.detection_flip_test else None
        views, probs = [], []
        for stage1, view_scale, min_height in runs:
            for image in (rgb, mirrored) if mirrored is not None else (rgb,):
                boxes, scores, prob = stage1(image, view_scale)
                boxes, scores = view_detections(boxes, scores, floor, cfg.nms_iou, cfg.max_detections)
                if min_height > 0:
                    tall = boxes[:, 3] - boxes[:, 1] >= min_height
                    boxes, scores = boxes[tall], scores[tall]
                if image is mirrored:
                    boxes, prob = mirror_boxes(boxes, rgb.shape[1]), prob[:, ::-1]
                views.append((boxes, scores))
                probs.append(prob)
        boxes, scores = merge_views(views, cfg.score_threshold, cfg.nms_iou, cfg.max_detections,
                                    cfg.detection_flip_merge)
        return boxes, scores, np.mean(probs, axis=0)


def run_poses(sessions: dict, rgb: np.ndarray, mask: np.ndarray, boxes: np.ndarray, flip_test: bool):
    """The pose graphs in a chain (``sessions`` by graph name): the eager ``_poses``.
    With the flip test the crops and their mirror images go through stage 2 as one
    batch, as ``_heatmaps`` batches them; the decoding graph averages the two."""
    crops, crop_masks, regions = sessions["poses_crops"](rgb, mask, boxes)
    batch = np.concatenate([crops, crops[..., ::-1]]) if flip_test else crops
    heatmaps = sessions["stage2"](np.ascontiguousarray(batch))[0]
    return sessions["poses_decode_flip" if flip_test else "poses_decode"](heatmaps, crop_masks, regions, boxes)


class _Stage1:
    """Stage 1 on two graphs: the dense one (OpenVINO or ONNX Runtime), then the heads
    (ONNX Runtime): uint8 image -> (boxes, scores, probability map)."""

    def __init__(self, dense, heads):
        self.dense, self.heads = dense, heads

    def __call__(self, image: np.ndarray, scale: float) -> list[np.ndarray]:
        frame_size = np.array(image.shape[:2], np.int64)
        return self.heads(*self.dense(image, np.array(scale, np.float32)), frame_size)


class _Laps:
    def __init__(self, out: dict | None):
        self.out, self.t = out, time.perf_counter()

    def __call__(self, name: str) -> None:
        if self.out is not None:
            now = time.perf_counter()
            self.out[name] = self.out.get(name, 0.0) + 1000 * (now - self.t)
            self.t = now
