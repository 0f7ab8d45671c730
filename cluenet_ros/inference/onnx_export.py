"""The dense networks as ONNX, verified with onnxruntime.

Two graphs: stage 2 (segmented crops in [0, 1] -> keypoint heatmaps, dynamic
batch) and the dense part of stage 1 (image -> pedestrian mask logits and the
attended features F_att, dynamic batch and size in multiples of the model's
``size_divisible``). The region proposal network and RoI heads (data-dependent
NMS and sampling) stay in PyTorch. ``cluenet export`` writes both with the image
normalisation inside stage 1; the inference backends (:mod:`.backends`) export
stage 1 without it, since the pipeline's detection transform normalises first.

Each export is run once with onnxruntime on a fixed (seeded) input and compared
with PyTorch. The tolerance is relative to the output's scale: the largest
|difference| divided by the largest |value| of the PyTorch output. A randomly
initialised full-size model has outputs in the hundreds, where float32 rounding
of a different (but equally valid) summation order alone reaches 1e-2 absolute.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from torch import nn

LOG = logging.getLogger(__name__)

RELATIVE_TOLERANCE = 1e-3
OPSET = 17


class ExportCheckFailed(RuntimeError):
    """The exported graph does not reproduce PyTorch within the tolerance."""


class Stage1Dense(nn.Module):
    """Padded image batch -> (mask logits, F_att); ``normalize`` includes the
    mean/std normalisation (inputs in [0, 1]), else inputs are already normalised."""

    def __init__(self, stage1, normalize: bool = True):
        super().__init__()
        self.stage1 = stage1
        self.normalize = normalize

    def forward(self, images: torch.Tensor):
        x = self.stage1.normalize(images) if self.normalize else images
        feats = self.stage1.features(x)
        return self.stage1.seg_decoder(feats, tuple(images.shape[-2:])), feats


class Stage2Normalised(nn.Module):
    """Crops in [0, 1] -> heatmaps (normalisation included)."""

    def __init__(self, stage2):
        super().__init__()
        self.stage2 = stage2

    def forward(self, crops: torch.Tensor):
        return self.stage2(crops)


def default_weights() -> Path:
    """The weights the node uses without ``weights:=``: the packaged demo weights."""
    from cluenet_ros._environment import packaged_file

    return packaged_file(Path("models") / "cluenet_demo.pt")


def load_for_export(weights: str | None, config: str | None):
    """(stage1, stage2) in eval mode: ``weights`` a checkpoint; None the packaged
    demo weights (the node's default); 'random' random weights of ``config``."""
    from cluenet_ros.errors import InputError
    from cluenet_ros.models.checkpoint import load_models
    from cluenet_ros.models.factory import load_model_configs
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_ros.models.stage2 import ClueNetStage2

    if weights == "random":
        LOG.warning("--weights random: exporting a randomly initialised model (for checking the export only)")
        torch.manual_seed(0)
        s1, s2 = load_model_configs(config)
        return ClueNetStage1(s1).eval(), ClueNetStage2(s2).eval()
    if config:
        raise InputError("--config applies to --weights random only (a checkpoint carries its own configuration)")
    path = Path(weights) if weights else default_weights()
    if not weights and not path.is_file():
        raise InputError(f"{path}: the packaged demo weights are not installed; pass --weights CHECKPOINT "
                         "(or --weights random --config MODEL.yaml to check the export only)")
    m = load_models(path, ("stage1", "stage2"))
    return m["stage1"].eval(), m["stage2"].eval()


def export_stage2(stage2, path: Path, opset: int = OPSET) -> nn.Module:
    module = Stage2Normalised(stage2).eval()
    hc, wc = stage2.config.input_size
    crops = _fixed_input((2, 3, hc, wc), seed=1)
    torch.onnx.export(module, (crops,), str(path), input_names=["input"], output_names=["heatmaps"],
                      dynamic_axes={"input": {0: "crops"}, "heatmaps": {0: "crops"}}, opset_version=opset,
                      dynamo=False)
    return module


def export_stage1_dense(stage1, path: Path, size: tuple[int, int], normalize: bool = True,
                        opset: int = OPSET) -> nn.Module:
    module = Stage1Dense(stage1, normalize).eval()
    w, h = size
    img = _fixed_input((1, 3, h, w), seed=2)
    torch.onnx.export(module, (img,), str(path), input_names=["input"], output_names=["mask_logits", "features"],
                      dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"},
                                    "mask_logits": {0: "batch", 2: "height", 3: "width"},
                                    "features": {0: "batch", 2: "fheight", 3: "fwidth"}},
                      opset_version=opset, dynamo=False)
    return module


def _fixed_input(shape, seed: int) -> torch.Tensor:
    """The same input in every run (the check must not pass or fail by chance)."""
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def relative_difference(got, ref) -> float:
    """max |got - ref| / max |ref| over all outputs (each output by its own scale)."""
    worst = 0.0
    for g, r in zip(got, ref):
        r = r.detach().cpu().numpy() if isinstance(r, torch.Tensor) else np.asarray(r)
        g = g.detach().cpu().numpy() if isinstance(g, torch.Tensor) else np.asarray(g)
        scale = max(float(np.abs(r).max()), 1e-6)
        worst = max(worst, float(np.abs(g - r).max()) / scale)
    return worst


def check_onnx(path: Path, module: nn.Module, inputs: torch.Tensor, rtol: float = RELATIVE_TOLERANCE) -> float:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": inputs.numpy()})
    with torch.no_grad():
        ref = module(inputs)
    ref = ref if isinstance(ref, (tuple, list)) else (ref,)
    diff = relative_difference(got, ref)
    if diff > rtol:
        raise ExportCheckFailed(f"{path}: onnxruntime differs from PyTorch by {diff:.2e} of the output's "
                                f"scale (tolerance {rtol:.0e})")
    return diff


def export_onnx(out: str | Path, weights: str | None = None, config: str | None = None,
                size: tuple[int, int] = (512, 256), opset: int = OPSET, rtol: float = RELATIVE_TOLERANCE) -> dict:
    out = Path(out)
    stage1, stage2 = load_for_export(weights, config)
    div = stage1.config.size_divisible
    if size[0] % div or size[1] % div or min(size) <= 0:
        from cluenet_ros.errors import InputError

        raise InputError(f"--size {size[0]}x{size[1]}: both sides must be positive multiples of {div}")
    out.parent.mkdir(parents=True, exist_ok=True)
    s1_path = out.with_name(out.stem + ".stage1.onnx")
    s2 = export_stage2(stage2, out, opset)
    s1 = export_stage1_dense(stage1, s1_path, size, True, opset)
    hc, wc = stage2.config.input_size
    w, h = size
    diffs = {"stage2": check_onnx(out, s2, _fixed_input((5, 3, hc, wc), seed=3), rtol),
             "stage1_dense": check_onnx(s1_path, s1, _fixed_input((1, 3, h, w), seed=4), rtol)}
    return {"stage2": str(out), "stage1_dense": str(s1_path), "max_rel_diff": diffs}
