"""int8 (statically quantised QDQ) dense networks on the compiled backends.

A tiny random model (test/data/tiny_model.yaml) and a tiny calibration recipe (two
synthetic 128x64 scenes) keep this fast; the shipped default recipe is what
docs/bench/int8.md measures on the demo model.

Closeness to fp32 (``INT8_RTOL``): the quantiser rounds every quantised tensor to
256 levels of its calibrated range (activations per tensor, weights per output
channel), an error of up to half a level, 1/510 of the range, per tensor. Through
the ~20 quantised layers between input and output of these graphs such errors add
up, and more so in an untrained network (its activations have no trained batch-norm
statistics, so a few large values set each tensor's range and the rest get few
levels) calibrated on two images: the relative RMS difference
||int8 - fp32|| / ||fp32|| measured 0.04-0.12 for this tiny random model on both
runtimes (scenes of another seed than the calibration's). It is held to 0.25, about
twice that; a broken quantisation (wrong scale, zero point or channel axis, or an
output clipped to nothing) gives differences of the order of the output itself, a
ratio near 1.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

# OpenVINO and ONNX Runtime in-process: a pytest process of their own (`make test` does), see setup.cfg
pytestmark = pytest.mark.runtimes
import torch

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference import backends as B
from cluenet_ros.inference import quantize as Q
from cluenet_ros.models.factory import load_model_configs
from conftest import REPO

TINY = REPO / "test" / "data" / "tiny_model.yaml"
RUNTIMES = [b for b in ("onnxruntime", "openvino") if B.installed(b)]
RECIPE = Q.CalibrationRecipe(images=2, width=128, height=64, people=(1, 2), max_detections=4)
INT8_RTOL = 0.25

needs_runtime = pytest.mark.skipif(not RUNTIMES, reason="no compiled backend installed")


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    folder = tmp_path_factory.mktemp("int8_cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("CLUENET_CACHE_DIR", str(folder))
    mp.setattr(Q, "DEFAULT_RECIPE", RECIPE)  # what int8=True in a PipelineConfig uses
    yield folder
    mp.undo()


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    s1, s2 = load_model_configs(TINY)
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_ros.models.stage2 import ClueNetStage2

    return ClueNetStage1(s1).eval(), ClueNetStage2(s2).eval()


def _pipe(models, backend, int8):
    s1, s2 = copy.deepcopy(models[0]), copy.deepcopy(models[1])
    return ClueNetPipeline(s1, s2, PipelineConfig(device="cpu", backend=backend, int8=int8, score_threshold=0.0,
                                                  max_detections=5))


def _rel_rms(got: torch.Tensor, ref: torch.Tensor) -> float:
    return float((got - ref).norm() / ref.norm().clamp_min(1e-12))


@needs_runtime
def test_quantised_graphs_are_integer_and_cached(models, cache, monkeypatch):
    pipe = _pipe(models, RUNTIMES[0], int8=True)
    assert pipe.int8 and pipe.backend == RUNTIMES[0]
    s1, s2, record = Q.quantized_paths(next(p for p in cache.iterdir() if p.is_dir()), RECIPE)
    for path in (s1, s2):
        ops = Q.integer_ops(path)
        assert ops.get("QuantizeLinear", 0) > 0 and ops.get("DequantizeLinear", 0) > 0, ops
    import onnx

    weights = [t for t in onnx.load(str(s1)).graph.initializer if t.data_type == onnx.TensorProto.INT8]
    assert weights and any(len(t.dims) == 4 for t in weights)  # int8 convolution weights
    info = __import__("json").loads(record.read_text())
    assert info["key"] == RECIPE.key() and info["stage1_inputs"] == RECIPE.images and info["stage2_crops"] >= 1
    assert len(pipe(np.zeros((64, 96, 3), np.uint8))) >= 0
    # a second start: the cached graphs, no calibration, no quantisation, files untouched
    mtimes = {p: p.stat().st_mtime_ns for p in (s1, s2, record)}
    monkeypatch.setattr(Q, "collect_calibration", lambda *a, **k: pytest.fail("calibrated again"))
    monkeypatch.setattr(Q, "quantize_graph", lambda *a, **k: pytest.fail("quantised again"))
    again = _pipe(models, RUNTIMES[0], int8=True)
    assert again.int8 and {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    compiled = B.compile_models(again.stage1, again.stage2, RUNTIMES[0])
    assert not B.quantize_compiled(compiled, lambda: pytest.fail("calibrated again"), RECIPE).quantized
    # another recipe: another key, other files beside the same fp32 graphs
    other = Q.CalibrationRecipe(**{**RECIPE.__dict__, "images": 3})
    assert other.key() != RECIPE.key() and Q.quantized_paths(compiled.folder, other)[0] != s1


@pytest.mark.parametrize("backend", RUNTIMES)
def test_int8_close_to_fp32(models, backend):
    fp32, int8 = _pipe(models, backend, int8=False), _pipe(models, backend, int8=True)
    assert not fp32.int8 and int8.int8
    s1 = models[0]
    # inputs like the calibration set's, but other scenes (another seed)
    imgs = Q.calibration_images(Q.CalibrationRecipe(**{**RECIPE.__dict__, "seed": 99}))
    with torch.no_grad():
        for img in imgs:
            x = s1.normalize(torch.from_numpy(img).permute(2, 0, 1).float()[None] / 255)
            for ref, got in zip(fp32.stage1.dense_runner(x), int8.stage1.dense_runner(x)):
                assert ref.shape == got.shape and _rel_rms(got, ref) <= INT8_RTOL
        crops = torch.from_numpy(np.stack([img[:, 32:96] for img in imgs])).permute(0, 3, 1, 2).float() / 255
        ref, got = fp32._stage2_runner(crops), int8._stage2_runner(crops)
        assert ref.shape == got.shape and _rel_rms(got, ref) <= INT8_RTOL
    # the int8 graphs differ from the fp32 ones (they are not the same file run twice)
    assert _rel_rms(got, ref) > 0


def test_int8_needs_a_compiled_backend(models, monkeypatch):
    s1, s2 = copy.deepcopy(models[0]), copy.deepcopy(models[1])
    with pytest.raises(ValueError, match="int8 needs backend onnxruntime or openvino"):
        ClueNetPipeline(s1, s2, PipelineConfig(device="cpu", backend="torch", int8=True))
    with pytest.raises(ValueError, match="int8 needs backend onnxruntime or openvino"):
        ClueNetPipeline.random(PipelineConfig(device="cpu", backend="torch", int8=True),
                               *load_model_configs(TINY))
    monkeypatch.setattr(B, "installed", lambda b: b == "torch")  # auto resolving to eager torch
    with pytest.raises(ValueError, match="backend 'auto' runs eager torch here"):
        ClueNetPipeline(s1, s2, PipelineConfig(device="cpu", backend="auto", int8=True))


@needs_runtime
def test_bench_int8_flag(tmp_path, capsys):
    from cluenet_ros.cli import main as cluenet

    out = tmp_path / "bench.json"
    common = ["bench", "--device", "cpu", "--resolution", "128x64", "--config", str(TINY), "--people", "2",
              "--frames", "2", "--warmup", "1"]
    assert cluenet(common + ["--backend", RUNTIMES[0], "--int8", "--json", str(out)]) == 0
    res = __import__("json").loads(out.read_text())
    assert res["backend"] == RUNTIMES[0] and res["int8"] is True and res["e2e_ms_median"] > 0
    assert cluenet(common + ["--backend", "torch", "--int8"]) == 2
    assert "int8 needs backend onnxruntime or openvino" in capsys.readouterr().err
