"""``cluenet export --onnx OUT``: the dense networks as ONNX, verified with onnxruntime.

Two files: ``OUT`` holds stage 2 (segmented crops -> keypoint heatmaps, dynamic
batch) and ``<OUT stem>.stage1.onnx`` the dense part of stage 1 (image -> pedestrian
mask logits and attended features F_att, dynamic size in multiples of 32). The
region proposal network and RoI heads (data-dependent NMS and sampling) stay in
PyTorch. Each export is run with onnxruntime on the CPU and compared with PyTorch.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

LOG = logging.getLogger(__name__)


class Stage1Dense(nn.Module):
    """Normalised, padded image batch -> (mask logits, F_att)."""

    def __init__(self, stage1):
        super().__init__()
        self.stage1 = stage1

    def forward(self, images: torch.Tensor):
        x = self.stage1.normalize(images)
        feats = self.stage1.features(x)
        return self.stage1.seg_decoder(feats, tuple(images.shape[-2:])), feats


class Stage2Normalised(nn.Module):
    """Crops in [0, 1] -> heatmaps (normalisation included)."""

    def __init__(self, stage2):
        super().__init__()
        self.stage2 = stage2

    def forward(self, crops: torch.Tensor):
        return self.stage2(crops)


def _load(weights: str | None, config: str | None):
    from cluenet_ros.models.checkpoint import load_models
    from cluenet_ros.models.factory import load_model_configs
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_ros.models.stage2 import ClueNetStage2

    if weights:
        m = load_models(weights, ("stage1", "stage2"))
        return m["stage1"].eval(), m["stage2"].eval()
    LOG.warning("no --weights: exporting a randomly initialised model (for checking the export only)")
    s1, s2 = load_model_configs(config)
    return ClueNetStage1(s1).eval(), ClueNetStage2(s2).eval()


def _check(path: Path, module: nn.Module, inputs: torch.Tensor, names: list[str], tol: float) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": inputs.numpy()})
    with torch.no_grad():
        ref = module(inputs)
    ref = ref if isinstance(ref, (tuple, list)) else (ref,)
    diff = max(float(np.abs(g - r.numpy()).max()) for g, r in zip(got, ref))
    if diff > tol:
        raise RuntimeError(f"{path}: onnxruntime differs from PyTorch by {diff:.2e} (> {tol:.0e})")
    return diff


def export_onnx(out: str | Path, weights: str | None = None, config: str | None = None,
                size: tuple[int, int] = (512, 256), opset: int = 17, tol: float = 1e-3) -> dict:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage1, stage2 = _load(weights, config)
    s2 = Stage2Normalised(stage2).eval()
    hc, wc = stage2.config.input_size
    crops = torch.rand(3, 3, hc, wc)
    torch.onnx.export(s2, (crops,), str(out), input_names=["input"], output_names=["heatmaps"],
                      dynamic_axes={"input": {0: "crops"}, "heatmaps": {0: "crops"}}, opset_version=opset,
                      dynamo=False)
    s1 = Stage1Dense(stage1).eval()
    w, h = size
    img = torch.rand(1, 3, h, w)
    s1_path = out.with_name(out.stem + ".stage1.onnx")
    torch.onnx.export(s1, (img,), str(s1_path), input_names=["input"], output_names=["mask_logits", "features"],
                      dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}}, opset_version=opset,
                      dynamo=False)
    diffs = {"stage2": _check(out, s2, torch.rand(5, 3, hc, wc), ["heatmaps"], tol),
             "stage1_dense": _check(s1_path, s1, torch.rand(1, 3, h, w), ["mask_logits", "features"], tol)}
    return {"stage2": str(out), "stage1_dense": str(s1_path), "max_abs_diff": diffs}


def register(sub) -> None:
    p = sub.add_parser("export", help="export the dense networks to ONNX (checked with onnxruntime)")
    p.add_argument("--onnx", required=True, help="stage-2 ONNX file; stage 1 goes to <stem>.stage1.onnx")
    p.add_argument("--weights", help="ClueNet checkpoint (default: random weights of --config)")
    p.add_argument("--config", help="model YAML for random weights")
    p.add_argument("--size", default="512x256", help="example stage-1 input WIDTHxHEIGHT (multiples of 32)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    w, h = (int(v) for v in args.size.lower().split("x"))
    info = export_onnx(args.onnx, args.weights, args.config, (w, h))
    print(f"wrote {info['stage2']} and {info['stage1_dense']}; onnxruntime vs PyTorch max |diff|: "
          + ", ".join(f"{k} {v:.2e}" for k, v in info["max_abs_diff"].items()))
    return 0
