"""int8 post-training quantisation of the exported dense graphs (``int8: true``).

Static (calibrated) quantisation with ONNX Runtime's quantiser
(``onnxruntime.quantization.quantize_static``): QDQ format (QuantizeLinear /
DequantizeLinear pairs around every quantisable operator, which ONNX Runtime fuses
into integer kernels and OpenVINO's low-precision transformations read as int8),
activations uint8 per tensor, weights int8 per output channel (symmetric).

Calibration inputs are synthetic, never real images: :class:`CalibrationRecipe`
renders ``images`` capsule-world street scenes (the renderer of ``cluenet synth``,
its default options) from a fixed seed that is not the benchmark's (``cluenet synth
--seed 2024``), runs the fp32 pipeline of the same backend on them and records what
its dense runners receive: the normalised, padded stage-1 batch of every image and
the segmented crops stage 2 gets (the top ``max_detections`` detections per image
at ``score_threshold``, so a calibration set is never empty, even for random
weights). Activation ranges: min/max over that set. ``op_types`` and
``extra_options`` (empty by default) pass through to the quantiser for variants;
docs/bench/int8.md has the variants tried and what they cost.

The quantised graphs are cached beside the fp32 ones (same folder, the weights'
hash) under names carrying a hash of the recipe and the quantiser's version, with
a JSON record of the recipe; quantisation happens once per weights and recipe,
never per frame. ``int8.<key>.json`` is written last: a start interrupted during
calibration leaves no record and the next start quantises again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class CalibrationRecipe:
    images: int = 32              # synthetic calibration images
    seed: int = 20                # rendering seed (the benchmark uses 2024)
    width: int = 1024
    height: int = 512
    people: tuple[int, int] = (1, 6)
    world: str = "capsules"       # cluenet synth's default world, source domain, default occluders
    score_threshold: float = 0.0  # crops for stage 2: the top max_detections detections per image
    nms_iou: float = 0.5
    max_detections: int = 8
    method: str = "MinMax"        # onnxruntime CalibrationMethod
    format: str = "QDQ"
    activations: str = "QUInt8"   # per tensor, asymmetric
    weights: str = "QInt8"        # per output channel, symmetric
    per_channel: bool = True
    op_types: tuple[str, ...] = ()  # operators to quantise; empty: every one the quantiser supports
    extra_options: tuple[tuple[str, object], ...] = ()  # quantize_static's extra_options, as (name, value) pairs
    version: int = 1              # bump when the procedure changes

    def key(self) -> str:
        import onnxruntime

        fields = asdict(self)
        for name in ("op_types", "extra_options"):  # defaults: keys written before these fields stay valid
            if not fields[name]:
                del fields[name]
        text = json.dumps({**fields, "onnxruntime": onnxruntime.__version__}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


DEFAULT_RECIPE = CalibrationRecipe()


@dataclass
class QuantizedGraphs:
    stage1: Path
    stage2: Path
    record: Path
    quantized: bool  # False: loaded from the cache


def quantized_paths(folder: Path, recipe: CalibrationRecipe) -> tuple[Path, Path, Path]:
    k = recipe.key()
    return (folder / f"stage1_dense.int8-{k}.onnx", folder / f"stage2.int8-{k}.onnx", folder / f"int8-{k}.json")


def calibration_images(recipe: CalibrationRecipe) -> list[np.ndarray]:
    """The recipe's synthetic images (H x W x 3 uint8 RGB), the same on every run."""
    from cluenet_ros.synth.dataset import SynthOptions, make_renderer

    if recipe.world != "capsules":
        raise ValueError(f"calibration world {recipe.world!r}: only 'capsules' is supported")
    options = SynthOptions(width=recipe.width, height=recipe.height, people=tuple(recipe.people))
    renderer = make_renderer(options)
    out = []
    for i in range(recipe.images):
        rng = np.random.default_rng([recipe.seed, i])
        n = int(rng.integers(options.people[0], options.people[1] + 1))
        out.append(renderer.render(rng, n, options.occlusion).image)
    return out


def collect_calibration(pipeline, recipe: CalibrationRecipe) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(stage-1 inputs, stage-2 crop batches) that ``pipeline`` (fp32, its compiled
    runners installed) feeds its dense runners on the recipe's images."""
    stage1_in, stage2_in = [], []
    runner1, runner2 = pipeline.stage1.dense_runner, pipeline._stage2_runner
    if runner1 is None or runner2 is None:
        raise RuntimeError("calibration needs the fp32 compiled runners installed")

    def rec1(x):
        stage1_in.append(x.detach().float().contiguous().numpy().copy())
        return runner1(x)

    def rec2(x):
        stage2_in.append(x.detach().float().contiguous().numpy().copy())
        return runner2(x)

    saved, scale = _thresholds(pipeline), pipeline.stage1.config.input_scale
    extra = pipeline.config.detection_extra_scale
    pipeline.stage1.dense_runner, pipeline._stage2_runner = rec1, rec2
    pipeline.set_thresholds(recipe.score_threshold, recipe.nms_iou, recipe.max_detections)
    pipeline.set_input_scale(1.0)
    # the recipe's frames at one scale: the cached graphs are keyed by the recipe alone, so
    # what they were calibrated on must not depend on the pipeline's second scale
    pipeline.set_detection_extra_scale(0.0)
    try:
        for img in calibration_images(recipe):
            pipeline(img)
    finally:
        pipeline.stage1.dense_runner, pipeline._stage2_runner = runner1, runner2
        pipeline.set_thresholds(*saved)
        pipeline.set_input_scale(scale)
        pipeline.set_detection_extra_scale(extra)
    if not stage2_in:
        raise RuntimeError("calibration produced no stage-2 crops")
    return stage1_in, stage2_in


def _thresholds(pipeline) -> tuple[float, float, int]:
    r = pipeline.stage1.roi_heads  # the current values (a node may have changed them since start)
    return r.score_thresh, r.nms_thresh, r.detections_per_img


class _Reader:
    """onnxruntime CalibrationDataReader over a list of input arrays."""

    def __init__(self, arrays: list[np.ndarray]):
        self.arrays = arrays
        self.i = 0

    def get_next(self):
        if self.i >= len(self.arrays):
            return None
        self.i += 1
        return {"input": self.arrays[self.i - 1]}

    def rewind(self):
        self.i = 0


def quantize_graph(src: Path, dst: Path, inputs: list[np.ndarray], recipe: CalibrationRecipe) -> None:
    """``src`` (fp32 ONNX) -> ``dst`` (QDQ int8), calibrated on ``inputs``."""
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    reader = type("Reader", (_Reader, CalibrationDataReader), {})(inputs)
    work = dst.with_name(dst.name + ".work")
    work.mkdir(exist_ok=True)
    try:
        pre = work / "preprocessed.onnx"
        try:  # shape inference and constant folding, as the quantiser's documentation recommends
            quant_pre_process(str(src), str(pre))
        except Exception as exc:  # pragma: no cover - depends on the graph's operators
            LOG.warning("quantisation pre-processing failed (%s: %s); quantising the export as is",
                        type(exc).__name__, exc)
            shutil.copy(src, pre)
        part = work / "quantized.onnx"
        quantize_static(str(pre), str(part), reader, quant_format=getattr(QuantFormat, recipe.format),
                        activation_type=getattr(QuantType, recipe.activations),
                        weight_type=getattr(QuantType, recipe.weights), per_channel=recipe.per_channel,
                        calibrate_method=getattr(CalibrationMethod, recipe.method),
                        op_types_to_quantize=list(recipe.op_types) or None,
                        extra_options=dict(recipe.extra_options) or None)
        part.replace(dst)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def quantize_models(folder: Path, fp32_pipeline_factory: Callable[[], object],
                    recipe: CalibrationRecipe = DEFAULT_RECIPE) -> QuantizedGraphs:
    """The int8 graphs of the fp32 ones in ``folder`` (from the cache when there).

    ``fp32_pipeline_factory()`` returns the pipeline whose compiled fp32 runners
    produce the calibration inputs (called only when quantising)."""
    s1, s2, record = quantized_paths(folder, recipe)
    if s1.is_file() and s2.is_file() and record.is_file():
        return QuantizedGraphs(s1, s2, record, quantized=False)
    t0 = time.perf_counter()
    stage1_in, stage2_in = collect_calibration(fp32_pipeline_factory(), recipe)
    t1 = time.perf_counter()
    quantize_graph(folder / "stage2.onnx", s2, stage2_in, recipe)
    quantize_graph(folder / "stage1_dense.onnx", s1, stage1_in, recipe)
    t2 = time.perf_counter()
    import onnxruntime

    info = {"recipe": asdict(recipe), "key": recipe.key(), "onnxruntime": onnxruntime.__version__,
            "stage1_inputs": len(stage1_in), "stage2_crops": int(sum(len(a) for a in stage2_in)),
            "calibration_run_s": round(t1 - t0, 1), "quantisation_s": round(t2 - t1, 1)}
    tmp = record.with_name(record.name + ".part")
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    tmp.replace(record)
    LOG.info("int8: quantised the dense networks in %.0f s (%d calibration images, %d crops) into %s",
             t2 - t0, len(stage1_in), info["stage2_crops"], folder)
    return QuantizedGraphs(s1, s2, record, quantized=True)


def integer_ops(path: Path) -> dict[str, int]:
    """Counts of the quantisation operators in an ONNX file."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    counts: dict[str, int] = {}
    for node in model.graph.node:
        if node.op_type in ("QuantizeLinear", "DequantizeLinear", "QLinearConv", "ConvInteger", "MatMulInteger"):
            counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts
