"""The ClueNet inference pipeline: image in, pedestrians out.

One call per frame (or one per batch of frames) runs stage 1 on the whole image,
cuts every detected pedestrian out of the image multiplied by the predicted
pedestrian mask (the paper's segmented input, which removes the background and
the occluders), sends all crops of all frames through stage 2 as one batch, and
maps the keypoints back to image pixels. Everything between the input copy and
the final copy back to the host stays on the device.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from cluenet_ros import keypoints as kp
from cluenet_ros.box_ops import mask_extents
from cluenet_ros.inference.detection_flip import VIEW_SCORE_FLOOR, check_merge, merge_views, mirror_boxes
from cluenet_ros.inference.backends import PREFERENCE, compile_models, installed, quantize_compiled, resolve_backend
from cluenet_ros.inference.geometry import crop_boxes, crop_to_image
from cluenet_ros.inference.interface import (DEVICES, PRECISIONS, FrameResult, Pedestrian,  # noqa: F401
                                             PipelineConfig, check_image, kept_rows, perspective_settings)
from cluenet_ros.inference.perspective import rescore_detections
from cluenet_ros.models.checkpoint import load_models
from cluenet_ros.models.heatmaps import decode_heatmaps, flip_test_average
from cluenet_ros.models.stage1 import ClueNetStage1, Stage1Config
from cluenet_ros.models.stage2 import ClueNetStage2, Stage2Config

LOG = logging.getLogger(__name__)


class _StageClock:
    """Stage timings for benchmarks; a no-op unless a dict is passed."""

    def __init__(self, device: torch.device, out: dict | None):
        self.out, self.cuda = out, device.type == "cuda"
        if out is not None:
            self._sync()
            self.t = time.perf_counter()

    def _sync(self) -> None:
        if self.cuda:
            torch.cuda.synchronize()

    def lap(self, name: str) -> None:
        if self.out is None:
            return
        self._sync()
        now = time.perf_counter()
        self.out[name] = self.out.get(name, 0.0) + 1000 * (now - self.t)
        self.t = now


def resolve_device(name: str) -> torch.device:
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA device is available")
    return torch.device(name)


class ClueNetPipeline:
    """Stage 1 + stage 2 on one device. One thread runs frames; the ``set_*`` run-time
    setters may be called from another (the node's parameter callbacks): a frame in
    flight may see part of a change, and no change is lost."""

    def __init__(self, stage1: ClueNetStage1, stage2: ClueNetStage2,
                 config: PipelineConfig | None = None, extra_stage1: ClueNetStage1 | None = None):
        """``extra_stage1``: the model of the extra-scale views (``detection_extra_weights``);
        None: ``stage1`` runs them. It runs eager torch whatever the backend."""
        self.config = config or PipelineConfig()
        self.device = resolve_device(self.config.device)
        self.stage1 = stage1.eval().to(self.device)
        self.stage2 = stage2.eval().to(self.device)
        self.extra_stage1 = None if extra_stage1 is None else extra_stage1.eval().to(self.device)
        if self.device.type == "cuda" and self.config.channels_last:
            for m in (self.stage1, self.stage2, self.extra_stage1):
                if m is not None:
                    m.to(memory_format=torch.channels_last)
        self.crop_hw = tuple(stage2.config.input_size)
        # stage 1's input scale is switched for the extra-scale pass and switched back:
        # a setter called meanwhile (the node's parameter thread) waits for it, or the
        # switch back would undo the new setting
        self._scale_lock = threading.RLock()
        # setters replace the whole (frozen) config under this lock, so two threads'
        # changes never overwrite each other; a frame reads the config once
        self._settings_lock = threading.Lock()
        self.set_detection_extra_scale(self.config.detection_extra_scale)
        self.set_thresholds(self.config.score_threshold, self.config.nms_iou, self.config.max_detections)
        self.backend = "torch"
        self.int8 = False
        self._stage2_runner = None
        self.use_backend(self.config.backend)

    def use_backend(self, name: str, persist: bool = True, int8: bool | None = None, recipe=None) -> str:
        """Run the dense networks on backend ``name`` (see PipelineConfig.backend);
        returns the backend chosen. Exports (once per weights, cached) when needed.
        ``persist=False`` keeps the export out of the cache (random weights).
        ``int8`` (default: the config's) quantises the exported graphs (once per
        weights and ``recipe``, a quantize.CalibrationRecipe; default its defaults)."""
        int8 = self.config.int8 if int8 is None else int8
        chosen = resolve_backend(name, self.device)
        if int8 and chosen == "torch":
            raise ValueError(f"int8 needs backend onnxruntime or openvino (backend {name!r} runs eager torch"
                             + (" here" if name == "auto" else "") + "); set int8 false or choose one of those")
        # auto falls back along the preference order when a runtime fails to compile
        candidates = [chosen] if name != "auto" else PREFERENCE[PREFERENCE.index(chosen):]
        self.stage1.dense_runner = self._stage2_runner = None
        for candidate in candidates:
            if candidate == "torch" or not installed(candidate):
                if int8:
                    raise RuntimeError("int8: no compiled backend could be used (see the warnings above)")
                chosen = "torch"
                break
            try:
                compiled = compile_models(self.stage1, self.stage2, candidate, persist=persist)
                if int8:
                    # calibration runs this pipeline on the fp32 graphs, then they are replaced
                    self.stage1.dense_runner, self._stage2_runner = compiled.stage1_dense, compiled.stage2
                    compiled = quantize_compiled(compiled, lambda: self, recipe)
            except Exception as exc:
                self.stage1.dense_runner = self._stage2_runner = None
                if name != "auto":
                    raise RuntimeError(f"backend {candidate}: {type(exc).__name__}: {exc}") from exc
                LOG.warning("backend %s failed (%s: %s); trying the next one", candidate, type(exc).__name__, exc)
                continue
            self.stage1.dense_runner = compiled.stage1_dense
            self._stage2_runner = compiled.stage2
            LOG.info("backend %s%s (%s %s)", candidate, " int8" if int8 else "",
                     "exported to" if compiled.exported else "loaded from", compiled.folder)
            chosen = candidate
            break
        self.backend = chosen
        self.int8 = int8 and chosen != "torch"
        return chosen

    # -- construction -----------------------------------------------------------
    @classmethod
    def from_checkpoint(cls, path: str | Path, config: PipelineConfig | None = None) -> "ClueNetPipeline":
        models = load_models(path, ("stage1", "stage2"))
        extra = config.detection_extra_weights if config is not None else ""
        extra_stage1 = load_models(extra, ("stage1",))["stage1"] if extra else None
        return cls(models["stage1"], models["stage2"], config, extra_stage1)

    @classmethod
    def random(cls, config: PipelineConfig | None = None, stage1: Stage1Config | None = None,
               stage2: Stage2Config | None = None, seed: int | None = 0) -> "ClueNetPipeline":
        """A pipeline of randomly initialised models, for plumbing tests and benchmarks.

        ``seed`` (default 0) makes it the same model in every process and every run, so
        a test that fails on its outputs fails again and can be debugged; it is drawn in
        a forked RNG, so the caller's global torch RNG is left as it was. ``None`` draws
        from the global RNG (a different model each time unless the caller seeds it)."""
        LOG.warning("ClueNet pipeline with RANDOM weights: outputs are meaningless "
                    "(for testing the plumbing only)")
        config = config or PipelineConfig()
        if seed is None:
            stage1_model, stage2_model = ClueNetStage1(stage1), ClueNetStage2(stage2)
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                stage1_model, stage2_model = ClueNetStage1(stage1), ClueNetStage2(stage2)
        pipe = cls(stage1_model, stage2_model, replace(config, backend="torch", int8=False))
        pipe.config = config
        # weights never seen again: no cache entry; and `auto` stays eager, since an
        # export that is thrown away at exit costs more than a plumbing test saves
        pipe.use_backend("torch" if config.backend == "auto" and not config.int8 else config.backend, persist=False)
        return pipe

    # -- run-time settings ----------------------------------------------------------
    def set_thresholds(self, score: float | None = None, nms_iou: float | None = None,
                       max_detections: int | None = None) -> None:
        changes = {k: v for k, v in (("score_threshold", score), ("nms_iou", nms_iou),
                                     ("max_detections", max_detections)) if v is not None}
        self._change(**changes)
        self._push_thresholds()

    def _change(self, **changes) -> PipelineConfig:
        with self._settings_lock:
            self.config = replace(self.config, **changes)
            return self.config

    def _push_thresholds(self, cfg: PipelineConfig | None = None) -> None:
        """Stage 1's RoI heads keep the operating threshold, or with the detection
        flip test the per-view floor (the threshold applies after the merge). Each
        frame pushes its own settings before stage 1 runs, under the lock that stage
        1 runs under, so a frame never mixes a threshold of one setting with the views
        of another."""
        with self._scale_lock:
            cfg = cfg or self.config
            score = min(VIEW_SCORE_FLOOR, cfg.score_threshold) if self._several_views(cfg) else cfg.score_threshold
            self.stage1.set_thresholds(score, cfg.nms_iou, cfg.max_detections)
            if self.extra_stage1 is not None:
                self.extra_stage1.set_thresholds(score, cfg.nms_iou, cfg.max_detections)

    def _several_views(self, cfg: PipelineConfig | None = None) -> bool:
        cfg = cfg or self.config
        return cfg.detection_flip_test or cfg.detection_extra_scale > 0

    def set_detection_flip_test(self, enabled: bool, merge: str | None = None) -> None:
        """Switch stage 1's flip test (and its merge) at run time."""
        with self._settings_lock:
            merge = self.config.detection_flip_merge if merge is None else merge
            check_merge(merge)
            self.config = replace(self.config, detection_flip_test=bool(enabled), detection_flip_merge=merge)
        self._push_thresholds()

    def set_detection_extra_scale(self, scale: float, min_height: float | None = None) -> None:
        """A second input scale for stage 1 (0: none), as a multiple of the input scale;
        ``min_height``: the least height of its boxes that join the merge (0: all)."""
        scale = float(scale)
        if min_height is not None and not 0.0 <= float(min_height) <= 4096.0:
            raise ValueError(f"detection_extra_scale_min_height must be within [0, 4096], got {float(min_height):g}")
        if not 0.0 <= scale <= 4.0:
            raise ValueError(f"detection_extra_scale must be 0 (off) or within (0, 4], got {scale:g}")
        with self._scale_lock:
            if scale > 0 and not 0.05 <= self.stage1.config.input_scale * scale <= 4.0:
                raise ValueError(f"detection_extra_scale {scale:g} times the input scale "
                                 f"{self.stage1.config.input_scale:g} leaves [0.05, 4]")
            changes = {"detection_extra_scale": scale}
            if min_height is not None:
                changes["detection_extra_scale_min_height"] = float(min_height)
            self._change(**changes)
            self._push_thresholds()

    def set_mask_threshold(self, threshold: float) -> None:
        """Probability above which a pixel is pedestrian, at run time (the mask is
        thresholded per frame, after the network)."""
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
        """Switch the stage-2 flip test at run time (nothing to recompile: the
        compiled stage 2 takes any batch size)."""
        self._change(flip_test=bool(enabled))

    def set_input_scale(self, scale: float) -> None:
        """Resize factor applied to frames before stage 1 (outputs stay in input pixels)."""
        with self._scale_lock:
            extra = self.config.detection_extra_scale
            if extra > 0 and not 0.05 <= float(scale) * extra <= 4.0:
                raise ValueError(f"input scale {float(scale):g} times detection_extra_scale {extra:g} leaves [0.05, 4]")
            self.stage1.set_input_scale(scale)

    def _autocast(self):
        if self.device.type != "cuda" or self.config.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.float16 if self.config.precision == "fp16" else torch.bfloat16
        return torch.autocast("cuda", dtype=dtype)

    # -- inference ------------------------------------------------------------------
    def __call__(self, image: np.ndarray, bgr: bool = False, keep=None) -> FrameResult:
        """One frame; ``bgr=True`` for BGR channel order (swapped on the device,
        which spares the host a colour conversion). ``keep``: see ``process_batch``."""
        return self.process_batch([image], bgr=bgr, keep=keep)[0]

    @torch.inference_mode()
    def process_batch(self, images: Sequence[np.ndarray], timings: dict | None = None,
                      bgr: bool = False, keep=None) -> list[FrameResult]:
        """Several frames in one stage-1 batch and one stage-2 batch.

        Frames of one size (one camera) give the same results as one call each;
        frames of mixed sizes are zero-padded to the largest, as in torchvision's
        detectors, which can change detections near the padded border.

        ``timings``, when given, receives the milliseconds spent in each stage
        (preprocess, stage1, crop_mask, stage2, postprocess); measuring them
        synchronises the device at stage boundaries, so leave it out when speed
        matters more than the breakdown.

        ``keep``, when given, is called once per frame, in order, with that frame's
        stage-1 boxes (N x 4 xyxy) and scores (N,) as numpy arrays, and returns the
        rows that go on to stage 2 (``interface.kept_rows``); the others get no pose
        and are not in the result, whose rows follow the order returned. A tracker
        that reports only some detections passes its choice here.
        """
        for i, image in enumerate(images):
            check_image(image, i)
        if not images:
            return []
        cfg = self.config  # one frame, one set of settings (a setter may run meanwhile)
        clock = _StageClock(self.device, timings)
        tensors = [self._to_tensor(img, bgr) for img in images]
        clock.lap("preprocess")
        with self._scale_lock, self._autocast():
            self._push_thresholds(cfg)
            stage1_out = self._stage1_views(tensors, cfg) if self._several_views(cfg) else self.stage1(tensors)
        settings = perspective_settings(cfg)
        if settings is not None:
            stage1_out = [self._perspective(o, t.shape[-2], settings, cfg.score_threshold)
                          for o, t in zip(stage1_out, tensors)]
        clock.lap("stage1")
        masks = [o["mask"] > cfg.mask_threshold for o in stage1_out]
        if keep is not None:
            stage1_out = [self._keep(o, keep, i) for i, o in enumerate(stage1_out)]
        boxes = [o["boxes"].float() for o in stage1_out]
        kps_img, occluded, vis_boxes, visibility = self._poses(tensors, masks, boxes, clock, cfg.flip_test)
        results = self._to_results(stage1_out, masks, boxes, kps_img, occluded, vis_boxes, visibility)
        clock.lap("postprocess")
        return results

    @staticmethod
    def _perspective(out: dict, image_height: int, settings, score_threshold: float) -> dict:
        rows, scores = rescore_detections(out["boxes"].float().cpu().numpy(), out["scores"].float().cpu().numpy(),
                                          image_height, settings, score_threshold)
        device = out["boxes"].device
        return {**out, "boxes": out["boxes"][torch.from_numpy(rows).to(device)],
                "scores": torch.from_numpy(scores).to(device=device, dtype=out["scores"].dtype)}

    @staticmethod
    def _keep(out: dict, keep, index: int) -> dict:
        rows = kept_rows(keep, out["boxes"].float().cpu().numpy(), out["scores"].float().cpu().numpy(), index)
        rows = torch.from_numpy(rows).to(out["boxes"].device)
        return {**out, "boxes": out["boxes"][rows], "scores": out["scores"][rows]}

    def _stage1_views(self, tensors: list[torch.Tensor], cfg: PipelineConfig) -> list[dict]:
        """Stage 1 on several views of each frame: the frame, its mirror image with the
        flip test (one batch), and both again at the extra scale; each frame's views
        merged (detection_flip) and their masks averaged."""
        n = len(tensors)
        flip = cfg.detection_flip_test
        batch = tensors + [t.flip(-1) for t in tensors] if flip else list(tensors)
        runs = [self.stage1(batch)]
        if cfg.detection_extra_scale > 0:
            with self._scale_lock:
                base = self.stage1.config.input_scale
                model = self.stage1 if self.extra_stage1 is None else self.extra_stage1
                own = model.config.input_scale
                model.set_input_scale(base * cfg.detection_extra_scale)
                try:
                    runs.append(model(batch))
                finally:
                    model.set_input_scale(own)
        merged = []
        # boxes of the extra scale's views below this height (main view's pixels = input pixels x input scale)
        floor = cfg.detection_extra_scale_min_height / self.stage1.config.input_scale
        for i, t in enumerate(tensors):
            views, masks = [], []
            for r, out in enumerate(runs):
                for k, mirrored in ((i, False), (n + i, True)) if flip else ((i, False),):
                    boxes = out[k]["boxes"].float().cpu().numpy()
                    scores = out[k]["scores"].float().cpu().numpy()
                    if r > 0 and floor > 0:
                        tall = boxes[:, 3] - boxes[:, 1] >= floor
                        boxes, scores = boxes[tall], scores[tall]
                    views.append((mirror_boxes(boxes, t.shape[-1]) if mirrored else boxes, scores))
                    masks.append(out[k]["mask"].flip(-1) if mirrored else out[k]["mask"])
            boxes, scores = merge_views(views, cfg.score_threshold, cfg.nms_iou, cfg.max_detections,
                                        cfg.detection_flip_merge)
            merged.append({"boxes": torch.from_numpy(boxes).to(t.device), "scores": torch.from_numpy(scores).to(t.device),
                           "mask": torch.stack(masks).mean(0)})
        return merged

    def _poses(self, tensors, masks, boxes, clock: _StageClock | None = None, flip_test: bool | None = None):
        """Everything after stage 1, for the boxes it kept: crops of the segmented
        image, stage 2, keypoints in image pixels, occlusion flags and visible boxes.
        (kps (N, 13, 3), occluded (N, 13), visible boxes (N, 4), visibility (N,)) over
        all frames. The standalone pipeline exports its parts (``_crop``, the stage-2
        network, ``_average_flip`` and ``_decode``) as graphs: the same code traced."""
        clock = clock or _StageClock(self.device, None)
        flip_test = self.config.flip_test if flip_test is None else flip_test
        crops, crop_masks, crop_regions = self._crop(tensors, masks, boxes)
        clock.lap("crop_mask")
        heatmaps = self._heatmaps(crops, flip_test) if len(crops) else None
        clock.lap("stage2")
        all_boxes = torch.cat(boxes) if boxes else crops.new_zeros((0, 4))
        return self._decode(heatmaps, crop_masks, crop_regions, all_boxes)

    def _heatmaps(self, crops: torch.Tensor, flip_test: bool) -> torch.Tensor:
        """Stage 2 on the crops (N >= 1), with the flip test averaged in. The standalone
        pipeline traces the parts of ``_poses`` apart (crops; stage 2; the flip average
        and decoding), so that stage 2 can run on OpenVINO."""
        # flip test: the crops and their mirror images in one stage-2 batch
        batch = torch.cat([crops, crops.flip(-1)]) if flip_test else crops
        if self._stage2_runner is not None:
            heatmaps = self._stage2_runner(batch)
        else:
            with self._autocast():
                heatmaps = self.stage2(self._layout(batch))
        return self._average_flip(heatmaps) if flip_test else heatmaps

    @staticmethod
    def _average_flip(heatmaps: torch.Tensor) -> torch.Tensor:
        """Heatmaps of the crops then of their mirror images (2N) -> their flip-test average (N)."""
        plain, mirrored = heatmaps.unflatten(0, (2, -1))  # not [:len(crops)]: stays dynamic when traced
        return flip_test_average(plain, mirrored)

    def _decode(self, heatmaps: torch.Tensor | None, crop_masks: torch.Tensor, crop_regions: torch.Tensor,
                all_boxes: torch.Tensor):
        """Heatmaps (None: no crops) -> keypoints in image pixels, occlusion flags,
        visible boxes and visibility."""
        if heatmaps is not None:
            kps = decode_heatmaps(heatmaps.float(), self.stage2.config.heatmap_stride)
        else:
            kps = crop_masks.new_zeros((0, kp.NUM_KEYPOINTS, 3))
        occluded = self._occluded(kps, crop_masks)
        kps_img = crop_to_image(kps, crop_regions, self.crop_hw)
        kps_img = torch.cat([kps_img[..., :2], kps_img[..., 2:].clamp(0.0, 1.0)], dim=-1)
        vis_boxes, visibility = self._visible_boxes(all_boxes, crop_masks, crop_regions)
        return kps_img, occluded, vis_boxes, visibility

    def _to_tensor(self, image: np.ndarray, bgr: bool = False) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(image))
        if self.device.type == "cuda":
            t = t.pin_memory().to(self.device, non_blocking=True)
        t = t.permute(2, 0, 1)
        if bgr:
            t = t.flip(0)
        return t.float().div_(255.0)

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        if self.device.type == "cuda" and self.config.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x

    def _crop(self, images, masks, boxes):
        """All crops of all frames in one roi_align: segmented RGB plus the mask."""
        hc, wc = self.crop_hw
        regions = [crop_boxes(b, self.crop_hw, self.config.crop_padding) for b in boxes]
        n = sum(len(r) for r in regions)
        if n == 0:
            empty = images[0].new_zeros((0, 3, hc, wc))
            return empty, images[0].new_zeros((0, hc, wc)), images[0].new_zeros((0, 4))
        h = max(i.shape[1] for i in images)
        w = max(i.shape[2] for i in images)
        layers = []
        for img, m in zip(images, masks):  # segmented RGB and the mask, zero-padded to (h, w)
            m = m.to(img.dtype)[None]
            x = torch.cat([img * m, m])
            layers.append(F.pad(x, (0, w - x.shape[2], 0, h - x.shape[1])))
        stacked = torch.stack(layers)  # built without in-place writes, so that it traces (standalone export)
        out = roi_align(stacked, [r.to(stacked.dtype) for r in regions], output_size=(hc, wc),
                        spatial_scale=1.0, sampling_ratio=self.config.roi_sampling_ratio, aligned=True)
        return out[:, :3], out[:, 3], torch.cat(regions)

    def _occluded(self, kps: torch.Tensor, crop_masks: torch.Tensor) -> torch.Tensor:
        """True where a keypoint is not on (or within tolerance of) the visible mask.

        Only the (2r+1)^2 window around each keypoint is read (a gather), not a
        dilation of the whole crop mask: 13 windows per crop instead of every pixel.
        """
        if len(kps) == 0:
            return torch.zeros(kps.shape[:2], dtype=torch.bool, device=kps.device)
        hc, wc = self.crop_hw
        r = int(round(self.config.occlusion_tolerance * hc))
        offsets = torch.arange(-r, r + 1, device=kps.device)
        col = kps[..., 0].floor().long()
        row = kps[..., 1].floor().long()
        inside = (col >= 0) & (col < wc) & (row >= 0) & (row < hc)
        rows = row[..., None, None] + offsets[:, None]          # (N, K, 2r+1, 1)
        cols = col[..., None, None] + offsets[None, :]          # (N, K, 1, 2r+1)
        valid = (rows >= 0) & (rows < hc) & (cols >= 0) & (cols < wc)
        idx = (rows.clamp(0, hc - 1) * wc + cols.clamp(0, wc - 1)).flatten(1)
        on = (crop_masks > 0.5).flatten(1).gather(1, idx).view_as(valid) & valid
        return ~(on.flatten(2).any(dim=2) & inside)

    def _visible_boxes(self, boxes: torch.Tensor, crop_masks: torch.Tensor, regions: torch.Tensor):
        """Box of the mask pixels inside each full-body box, from the crop's mask."""
        n = len(boxes)
        if n == 0:
            return boxes.new_zeros((0, 4)), boxes.new_zeros((0,))
        hc, wc = self.crop_hw
        dev = boxes.device
        sx = (regions[:, 2] - regions[:, 0]) / wc
        sy = (regions[:, 3] - regions[:, 1]) / hc
        xs = regions[:, 0:1] + (torch.arange(wc, device=dev) + 0.5) * sx[:, None]  # (N, wc) centres
        ys = regions[:, 1:2] + (torch.arange(hc, device=dev) + 0.5) * sy[:, None]
        in_x = (xs >= boxes[:, 0:1]) & (xs <= boxes[:, 2:3])
        in_y = (ys >= boxes[:, 1:2]) & (ys <= boxes[:, 3:4])
        m = (crop_masks > 0.5) & in_y[:, :, None] & in_x[:, None, :]
        has = m.flatten(1).any(dim=1)
        # pixel indices (x_min, y_min, x_max, y_max) of each mask; empty ones get a dummy
        px = mask_extents(m | ~has[:, None, None]).to(xs.dtype)
        x1 = regions[:, 0] + px[:, 0] * sx          # left edge of the first pixel
        x2 = regions[:, 0] + (px[:, 2] + 1) * sx    # right edge of the last
        y1 = regions[:, 1] + px[:, 1] * sy
        y2 = regions[:, 1] + (px[:, 3] + 1) * sy
        vis = torch.stack([torch.maximum(x1, boxes[:, 0]), torch.maximum(y1, boxes[:, 1]),
                           torch.minimum(x2, boxes[:, 2]), torch.minimum(y2, boxes[:, 3])], dim=1)
        vis = torch.where(has[:, None], vis, boxes.new_zeros(()).expand_as(vis))
        area = lambda b: (b[:, 2] - b[:, 0]).clamp_min(0) * (b[:, 3] - b[:, 1]).clamp_min(0)  # noqa: E731
        ratio = torch.where(has, area(vis) / area(boxes).clamp_min(1e-6), boxes.new_zeros(()))
        return vis, ratio.clamp(0.0, 1.0)

    @staticmethod
    def _to_results(stage1_out, masks, boxes, kps, occluded, vis_boxes, visibility) -> list[FrameResult]:
        # one device-to-host copy per tensor kind for the whole batch
        masks_u8 = [m.to(torch.uint8).mul_(255) for m in masks]
        host = [t.cpu() for t in (kps, occluded, vis_boxes, visibility)] if len(kps) else None
        results, start = [], 0
        for out, b, m in zip(stage1_out, boxes, masks_u8):
            n = len(b)
            sl = slice(start, start + n)
            start += n
            if n:
                k, o, vb, v = (t[sl].numpy() for t in host)
            else:
                k = np.zeros((0, kp.NUM_KEYPOINTS, 3), np.float32)
                o = np.zeros((0, kp.NUM_KEYPOINTS), bool)
                vb, v = np.zeros((0, 4), np.float32), np.zeros((0,), np.float32)
            results.append(FrameResult(
                boxes=b.cpu().numpy().astype(np.float32), scores=out["scores"].float().cpu().numpy(),
                visible_boxes=vb.astype(np.float32), visibility=v.astype(np.float32),
                keypoints=k.astype(np.float32), occluded=o.astype(bool), mask=m.cpu().numpy()))
        return results
