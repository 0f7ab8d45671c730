"""Export the standalone pipeline's graphs (see :mod:`.standalone`); needs torch.

Run as ``python -m cluenet_ros.inference.standalone_export --weights W --out DIR
--settings JSON`` (what :func:`.standalone.ensure_exported` does, in a child
process). The files are written to a temporary folder beside ``DIR`` and renamed
into place last, so an interrupted export never leaves a folder a later start
would take for complete. Each graph is checked against the eager pipeline with
ONNX Runtime on a fixed frame before the rename; the figures go into
``manifest.json``.
"""
from __future__ import annotations

import argparse
import copy
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.image_list import ImageList

from cluenet_ros.inference.interface import PipelineConfig
from cluenet_ros.inference.onnx_export import (OPSET, RELATIVE_TOLERANCE, ExportCheckFailed, export_stage2,
                                               relative_difference)
from cluenet_ros.inference.standalone import BAKED, FORMAT
from cluenet_ros.models.stage1 import scaled_size


class Stage1Dense(nn.Module):
    """uint8 image (H, W, 3) and input scale () float32 -> (mask logits, F_att, scaled
    size (2,) int64): the detection transform (resize, normalise, pad) and the
    convolutional part, the graph a dense runtime (OpenVINO or ONNX Runtime) runs. The
    scale is an input, so one graph serves the input scale and the extra scale's views,
    and both stay run-time settings. ``stage1`` must have input scale 1 (the resize is
    here, not in its transform)."""

    def __init__(self, stage1):
        super().__init__()
        if stage1.config.input_scale != 1.0:
            raise ValueError("Stage1Dense resizes itself: give it a stage 1 at input scale 1")
        self.stage1 = stage1

    def forward(self, image: torch.Tensor, scale: torch.Tensor):
        img = image.permute(2, 0, 1).float() / 255.0
        # the eager transform leaves a frame at scale 1 as it is; here it is resized to its
        # own size, which bilinear interpolation returns unchanged
        size = scaled_size(img.shape[-2], img.shape[-1], scale if torch.jit.is_tracing() else float(scale))
        img = F.interpolate(img[None], size=size, mode="bilinear", align_corners=False)[0]
        image_list, _ = self.stage1._prepare([img], None)
        seg_logits, feats = self.stage1.dense(image_list.tensors)
        size = torch.stack([torch.as_tensor(d) for d in image_list.image_sizes[0]]).long()
        return seg_logits, feats, size


class Stage1Heads(nn.Module):
    """(mask logits, F_att, resized size, frame size (2,) int64) -> (boxes, scores,
    pedestrian probability (H, W)): proposals, RoI heads and NMS (ONNX Runtime only)."""

    def __init__(self, stage1):
        super().__init__()
        self.stage1 = stage1

    def forward(self, seg_logits: torch.Tensor, feats: torch.Tensor, size: torch.Tensor, frame_size: torch.Tensor):
        # the anchors read only the padded size of ImageList's tensors: the logits have it
        image_list = ImageList(seg_logits, [(size[0], size[1])])
        out = self.stage1.detect(image_list, seg_logits, feats, [(frame_size[0], frame_size[1])])[0]
        return out["boxes"], out["scores"], out["mask"]


class Stage1Whole(nn.Module):
    """uint8 image -> (boxes, scores, probability) at ``scale``: the eager reference of
    the two graphs."""

    def __init__(self, stage1, scale: float):
        super().__init__()
        self.stage1 = copy.deepcopy(stage1)
        self.stage1.set_input_scale(scale)

    def forward(self, image: torch.Tensor):
        out = self.stage1([image.permute(2, 0, 1).float() / 255.0])[0]
        return out["boxes"], out["scores"], out["mask"]


class Poses(nn.Module):
    """uint8 image (H, W, 3), mask (H, W, 0/1) and boxes (N >= 1, 4) -> the eager
    pipeline's ``_poses``: keypoints, occluded, visible boxes, visibility. The eager
    reference of the three pose graphs in a chain."""

    def __init__(self, pipeline, flip_test: bool):
        super().__init__()
        self.pipeline, self.flip_test = pipeline, flip_test

    def forward(self, image: torch.Tensor, mask: torch.Tensor, boxes: torch.Tensor):
        img = image.permute(2, 0, 1).float() / 255.0
        return self.pipeline._poses([img], [mask > 0.5], [boxes], flip_test=self.flip_test)


class PoseCrops(nn.Module):
    """uint8 image, mask, boxes (N >= 1) -> (crops of the segmented image (N, 3, hc,
    wc), their masks (N, hc, wc), crop regions (N, 4)): ``_crop``, on ONNX Runtime."""

    def __init__(self, pipeline):
        super().__init__()
        self.pipeline = pipeline

    def forward(self, image: torch.Tensor, mask: torch.Tensor, boxes: torch.Tensor):
        img = image.permute(2, 0, 1).float() / 255.0
        return self.pipeline._crop([img], [mask > 0.5], [boxes])


class PoseDecode(nn.Module):
    """(heatmaps, crop masks, regions, boxes) -> keypoints, occluded, visible boxes,
    visibility: ``_decode``, after ``_average_flip`` when ``flip_test`` (then the
    heatmaps are the crops' and then their mirror images', 2N). On ONNX Runtime."""

    def __init__(self, pipeline, flip_test: bool):
        super().__init__()
        self.pipeline, self.flip_test = pipeline, flip_test

    def forward(self, heatmaps: torch.Tensor, crop_masks: torch.Tensor, regions: torch.Tensor, boxes: torch.Tensor):
        if self.flip_test:
            heatmaps = self.pipeline._average_flip(heatmaps)
        return self.pipeline._decode(heatmaps, crop_masks, regions, boxes)


CHECK_SCALES = (1.0, 0.5, 0.75)  # the scale is a graph input: checked at these


def _frame(w: int, h: int, seed: int) -> np.ndarray:
    """A fixed synthetic frame: smooth shapes over noise (random weights still propose on it)."""
    rng = np.random.default_rng(seed)
    img = (rng.random((h, w, 3)) * 80).astype(np.uint8)
    for _ in range(6):
        x, y = int(rng.integers(0, w - w // 8)), int(rng.integers(0, h - h // 3))
        img[y: y + h // 3, x: x + w // 8] = rng.integers(60, 255, 3)
    return img


def export(weights: Path, out: Path, settings: dict, opset: int = OPSET, size: tuple[int, int] = (320, 192),
           stage1_only: bool = False) -> dict:
    """``stage1_only``: the stage-1 graphs alone (the extra-scale view's)."""
    from cluenet_ros.inference.pipeline import ClueNetPipeline
    from cluenet_ros.models.checkpoint import load_models

    if sorted(settings) != sorted(BAKED):
        raise ValueError(f"settings must name exactly {', '.join(BAKED)}; got {', '.join(sorted(settings))}")
    # an extra-scale view's checkpoint may hold stage 1 alone (detection_extra_weights)
    models = load_models(weights, ("stage1",) if stage1_only else ("stage1", "stage2"))
    models["stage1"].set_input_scale(1.0)  # Stage1Dense resizes, by its scale input
    if not stage1_only:
        cfg = PipelineConfig(device="cpu", backend="torch", detection_flip_test=False, detection_extra_scale=0.0,
                             crop_padding=settings["crop_padding"], occlusion_tolerance=settings["occlusion_tolerance"],
                             roi_sampling_ratio=settings["roi_sampling_ratio"])
        pipe = ClueNetPipeline(models["stage1"], models["stage2"], cfg)
    # every scored detection leaves the graph: thresholds, NMS and top k are the runtime's
    stage1 = copy.deepcopy(models["stage1"]).eval()
    stage1.set_thresholds(score=0.0, nms_iou=1.0, max_detections=stage1.rpn._post_nms_top_n["testing"])
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out.name + ".part-", dir=out.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the cache is as readable as any other
    try:
        w, h = size
        div = stage1.config.size_divisible
        w, h = max(div, w // div * div), max(div, h // div * div)
        image = torch.from_numpy(_frame(w, h, 1))
        boxes = torch.tensor([[0.1 * w, 0.1 * h, 0.4 * w, 0.9 * h], [0.5 * w, 0.2 * h, 0.8 * w, 0.95 * h]])
        mask = torch.zeros((h, w))
        mask[h // 4: h - h // 8, w // 8: w // 2] = 1.0
        # checked on another frame size and person count than the ones traced: both must be dynamic
        w2, h2 = w + div, h + 2 * div
        check_image = torch.from_numpy(_frame(w2, h2, 2))
        check_mask = torch.zeros((h2, w2))
        check_mask[h2 // 3:, w2 // 4: w2 - w2 // 4] = 1.0
        check_boxes = torch.tensor([[0.2 * w2, 0.1 * h2, 0.5 * w2, 0.9 * h2], [0.4 * w2, 0.3 * h2, 0.9 * w2, 0.99 * h2],
                                    [0.0, 0.0, 0.1 * w2, 0.3 * h2]])
        check_poses = (check_image, check_mask, check_boxes)
        dense, heads = Stage1Dense(stage1).eval(), Stage1Heads(stage1).eval()
        with torch.no_grad():
            # traced at a scale other than 1, so that the graph keeps the resize and the heads
            # keep the probability map's way back to the frame size (both exact at scale 1)
            half = torch.tensor(0.5)
            torch.onnx.export(dense, (image, half), str(tmp / "stage1_dense.onnx"), opset_version=opset,
                              dynamo=False, input_names=["image", "scale"],
                              output_names=["mask_logits", "features", "size"],
                              dynamic_axes={"image": {0: "height", 1: "width"},
                                            "mask_logits": {2: "padded_height", 3: "padded_width"},
                                            "features": {2: "feature_height", 3: "feature_width"}})
            torch.onnx.export(heads, (*dense(image, half), torch.tensor([h, w])), str(tmp / "stage1_heads.onnx"),
                              opset_version=opset, dynamo=False,
                              input_names=["mask_logits", "features", "size", "frame_size"],
                              output_names=["boxes", "scores", "mask"],
                              dynamic_axes={"mask_logits": {2: "padded_height", 3: "padded_width"},
                                            "features": {2: "feature_height", 3: "feature_width"},
                                            "boxes": {0: "detections"}, "scores": {0: "detections"},
                                            "mask": {0: "height", 1: "width"}})
            diffs = {}
            if not stage1_only:
                _export_poses(pipe, tmp, (image, mask, boxes), opset)
                for flip in (False, True):
                    diffs["poses_flip" if flip else "poses"] = _check_poses(tmp, Poses(pipe, flip).eval(),
                                                                           check_poses, flip)
            for scale in CHECK_SCALES:
                diffs[f"stage1 at scale {scale:g}"] = _check_stage1(tmp, Stage1Whole(stage1, scale).eval(),
                                                                    check_image, scale)
            dense_runtimes, openvino_diff = _check_dense_on_openvino(
                tmp / "stage1_dense.onnx", [(i.numpy(), np.array(s, np.float32)) for i in (check_image, image)
                                            for s in CHECK_SCALES], exact_outputs=(2,))
            stage2_runtimes, stage2_openvino_diff = ["onnxruntime"], None
            if not stage1_only:  # three person counts, each the first inference at its batch size
                hc, wc = pipe.crop_hw
                crops = [np.random.default_rng(n).random((n, 3, hc, wc), dtype=np.float32) for n in (3, 2, 1)]
                stage2_runtimes, stage2_openvino_diff = _check_dense_on_openvino(tmp / "stage2.onnx",
                                                                                 [(c,) for c in crops])
        manifest = {"format": FORMAT, "weights": str(Path(weights).resolve()), "settings": settings,
                    "stage1_only": stage1_only, "opset": opset, "dense_runtimes": dense_runtimes,
                    "openvino_first_inference_rel_diff": openvino_diff, "stage2_runtimes": stage2_runtimes,
                    "stage2_openvino_first_inference_rel_diff": stage2_openvino_diff,
                    "torch": torch.__version__, "check_max_rel_diff": diffs,
                    "stage2_input_size": None if stage1_only else list(pipe.crop_hw)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
        if out.exists():  # another process finished the same export first
            shutil.rmtree(tmp)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _check_stage1(folder: Path, whole: nn.Module, image: torch.Tensor, scale: float) -> float:
    """The two stage-1 graphs in a chain on ONNX Runtime against the eager stage 1."""
    from cluenet_ros.inference.runtimes import OnnxRuntimeSession

    threads = torch.get_num_threads()
    dense = OnnxRuntimeSession(folder / "stage1_dense.onnx", threads)(image.numpy(), np.array(scale, np.float32))
    frame_size = np.array(image.shape[:2], np.int64)
    got = OnnxRuntimeSession(folder / "stage1_heads.onnx", threads)(*dense, frame_size)
    return _compare("stage1", got, whole, (image,))


def _check_dense_on_openvino(path: Path, inputs: list[tuple[np.ndarray, ...]],
                             exact_outputs: tuple[int, ...] = ()) -> tuple[list[str], float | None]:
    """The runtimes a dense graph may run on: ONNX Runtime always, OpenVINO (where
    installed) when its FIRST inference on each of ``inputs`` (new sizes) agrees with
    ONNX Runtime's (``exact_outputs``: integer outputs, equal). The whole stage-1 graph,
    NMS included, did not on OpenVINO 2026.4 (one box repeated on the first inference at
    a new size); a node cannot afford that."""
    import importlib.util

    from cluenet_ros.inference.runtimes import OnnxRuntimeSession, OpenVinoSession

    if importlib.util.find_spec("openvino") is None:
        return ["onnxruntime"], None
    threads = torch.get_num_threads()
    ov = OpenVinoSession(path, threads, path.parent / "openvino_cache")
    ort = OnnxRuntimeSession(path, threads)
    diff = 0.0
    for args in inputs:
        got, want = ov(*args), ort(*args)
        if any(g.shape != w.shape for g, w in zip(got, want)) or \
                any(not np.array_equal(got[i], want[i]) for i in exact_outputs):
            return ["onnxruntime"], float("inf")
        diff = max(diff, relative_difference([g for i, g in enumerate(got) if i not in exact_outputs],
                                             [w for i, w in enumerate(want) if i not in exact_outputs]))
    return (["openvino", "onnxruntime"] if diff <= RELATIVE_TOLERANCE else ["onnxruntime"]), diff


def _export_poses(pipe, folder: Path, example: tuple, opset: int) -> None:
    """The pose graphs: crops; the stage-2 network (a dense graph: OpenVINO or ONNX
    Runtime); decoding, with and without the flip test's average."""
    crops_module = PoseCrops(pipe).eval()
    torch.onnx.export(crops_module, example, str(folder / "poses_crops.onnx"), opset_version=opset, dynamo=False,
                      input_names=["image", "mask", "boxes"], output_names=["crops", "crop_masks", "regions"],
                      dynamic_axes={"image": {0: "height", 1: "width"}, "mask": {0: "height", 1: "width"},
                                    "boxes": {0: "people"}, "crops": {0: "people"}, "crop_masks": {0: "people"},
                                    "regions": {0: "people"}})
    crops, crop_masks, regions = crops_module(*example)
    export_stage2(pipe.stage2, folder / "stage2.onnx", opset)  # the eager backends' stage-2 graph
    boxes = example[2]
    for flip in (False, True):
        heatmaps = pipe.stage2(torch.cat([crops, crops.flip(-1)]) if flip else crops)
        torch.onnx.export(PoseDecode(pipe, flip).eval(), (heatmaps, crop_masks, regions, boxes),
                          str(folder / ("poses_decode_flip.onnx" if flip else "poses_decode.onnx")),
                          opset_version=opset, dynamo=False,
                          input_names=["heatmaps", "crop_masks", "regions", "boxes"],
                          output_names=["keypoints", "occluded", "visible_boxes", "visibility"],
                          dynamic_axes={"heatmaps": {0: "batch"}, "crop_masks": {0: "people"},
                                        "regions": {0: "people"}, "boxes": {0: "people"},
                                        "keypoints": {0: "people"}, "occluded": {0: "people"},
                                        "visible_boxes": {0: "people"}, "visibility": {0: "people"}})


def _check_poses(folder: Path, whole: nn.Module, inputs: tuple, flip: bool) -> float:
    """The pose graphs in a chain on ONNX Runtime (as the standalone pipeline runs them)
    against the eager ``_poses``."""
    from cluenet_ros.inference.runtimes import OnnxRuntimeSession
    from cluenet_ros.inference.standalone import run_poses

    threads = torch.get_num_threads()
    sessions = {name: OnnxRuntimeSession(folder / f"{name}.onnx", threads)
                for name in ("poses_crops", "stage2", "poses_decode", "poses_decode_flip")}
    got = run_poses(sessions, *(t.numpy() for t in inputs), flip)
    return _compare("poses_flip" if flip else "poses", list(got), whole, inputs)


def _compare(name: str, got: list[np.ndarray], module: nn.Module, inputs: tuple) -> float:
    with torch.no_grad():
        ref = [r.float() for r in module(*inputs)]
    if any(g.shape != tuple(r.shape) for g, r in zip(got, ref)):
        raise ExportCheckFailed(f"{name}: output shapes {[g.shape for g in got]} differ from eager "
                                f"{[tuple(r.shape) for r in ref]}")
    diff = relative_difference([g.astype(np.float32) for g in got], ref)
    if diff > RELATIVE_TOLERANCE:
        raise ExportCheckFailed(f"{name}: onnxruntime differs from PyTorch by {diff:.2e} of the output's "
                                f"scale (tolerance {RELATIVE_TOLERANCE:.0e})")
    return diff


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True, type=Path)
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--settings", required=True, help="JSON object of " + ", ".join(BAKED))
    ap.add_argument("--stage1-only", action="store_true", help="the stage-1 graphs alone (an extra-scale view)")
    args = ap.parse_args(argv)
    manifest = export(args.weights, args.out, json.loads(args.settings), stage1_only=args.stage1_only)
    print(json.dumps(manifest["check_max_rel_diff"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
