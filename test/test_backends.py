"""Inference backends: the same results as eager torch, one export per weights
(cached by their hash), clear errors for backends that cannot be used.

Parity tolerances (all outputs float32, so the runtimes differ only in the order
of their sums and in fused kernels, ~1e-6 relative per layer):
- boxes: 0.05 px. The RoI head regresses boxes from F_att; a 1e-5 relative change
  of the features moves a box by well under 0.01 px at these sizes; 0.05 px is
  20x below the 1-px resolution anyone draws or evaluates boxes at.
- mask probabilities: 1e-3 (a sigmoid's slope is at most 1/4, so 1e-3 allows
  4e-3 of logit error; a pixel flips only when its probability is within that of
  the threshold).
- heatmaps: 1e-3 of the heatmap's largest value (the same relative bound as the
  export check); keypoints 0.05 px for at least 95% of them (a keypoint is a
  heatmap's peak, and two near-equal peaks can swap on a 1e-6 difference).
"""
from __future__ import annotations

import json
import os

import copy

import numpy as np
import pytest

# OpenVINO and ONNX Runtime in-process: a pytest process of their own (`make test` does), see setup.cfg
pytestmark = pytest.mark.runtimes
import torch

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference import backends as B
from cluenet_ros.models.factory import load_model_configs
from conftest import REPO

TINY = REPO / "test" / "data" / "tiny_model.yaml"
RUNTIMES = [b for b in ("onnxruntime", "openvino") if B.installed(b)]


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """One export cache for the module: both runtimes read the same ONNX files."""
    folder = tmp_path_factory.mktemp("backend_cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("CLUENET_CACHE_DIR", str(folder))
    yield folder
    mp.undo()


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    s1, s2 = load_model_configs(TINY)
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_ros.models.stage2 import ClueNetStage2

    return ClueNetStage1(s1).eval(), ClueNetStage2(s2).eval()


def frame(h=128, w=192, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[h // 4: h - h // 8, w // 3: w // 3 + w // 5] = 20  # a dark figure-sized block
    return img


@pytest.mark.parametrize("backend", RUNTIMES)
def test_parity_with_torch(models, backend):
    s1, s2 = models
    cfg = PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=0.7, max_detections=5)
    ref = ClueNetPipeline(s1, s2, cfg)
    other = ClueNetPipeline(copy.deepcopy(s1), copy.deepcopy(s2), PipelineConfig(**{**cfg.__dict__, "backend": backend}))
    assert (ref.backend, other.backend) == ("torch", backend)
    img = frame()
    a, b = ref(img), other(img)
    # the raw dense outputs first
    x = torch.from_numpy(img).permute(2, 0, 1).float()[None] / 255
    x = s1.normalize(x)
    with torch.no_grad():
        feats = s1.features(x)
        logits = s1.seg_decoder(feats, tuple(x.shape[-2:]))
        got_logits, got_feats = other.stage1.dense_runner(x)
        crops = torch.rand(4, 3, *ref.crop_hw, generator=torch.Generator().manual_seed(1))
        heat_ref = s2(crops)
        heat = other._stage2_runner(crops)
    assert (got_logits - logits).abs().max() <= 1e-3 * logits.abs().max()
    assert (got_feats - feats).abs().max() <= 1e-3 * feats.abs().max()
    assert heat.shape == heat_ref.shape and (heat - heat_ref).abs().max() <= 1e-3 * heat_ref.abs().max()
    # then the whole pipeline's results
    assert len(a) == len(b) >= 1
    assert np.abs(a.boxes - b.boxes).max() <= 0.05
    assert np.abs(a.scores - b.scores).max() <= 1e-3
    # keypoints come from heatmap peaks: where two peaks tie within float noise, a
    # 1e-6 difference picks the other one (1 of 1716 with the demo weights, see
    # docs/bench/parity.json), so most, not all, must agree to 0.05 px
    moved = np.abs(a.keypoints[..., :2] - b.keypoints[..., :2]).max(-1)
    assert (moved <= 0.05).mean() >= 0.95, moved
    assert (a.mask != b.mask).mean() <= 1e-3  # thresholded masks: a pixel may sit on the threshold


def test_export_once_per_weights(models, cache, monkeypatch):
    if not RUNTIMES:
        pytest.skip("no compiled backend installed")
    s1, s2 = models
    c1 = B.compile_models(s1, s2, RUNTIMES[0])  # (exported by the parity test, or now)
    os.utime(c1.folder, (1e9, 1e9))  # long unused
    c2 = B.compile_models(s1, s2, RUNTIMES[0])
    assert not c2.exported and c1.folder == c2.folder and c1.folder.parent == cache
    assert c2.folder.stat().st_mtime > 1e9  # a load from the cache is its last use (cluenet cache prune)
    # the torch version the key holds, for `cluenet cache` once another is installed
    assert json.loads((c1.folder / "export.json").read_text())["torch"] == torch.__version__
    assert len([p for p in cache.iterdir() if p.is_dir()]) == 1
    assert {p.name for p in c1.folder.glob("*.onnx")} == {"stage1_dense.onnx", "stage2.onnx"}
    key = B.weights_hash(s1, s2)
    p = next(s2.parameters())
    idx = (0,) * p.dim()
    saved = p[idx].item()
    with torch.no_grad():
        p[idx] += 1.0
    try:
        assert B.weights_hash(s1, s2) != key
        c3 = B.compile_models(s1, s2, RUNTIMES[0])
        assert c3.exported and c3.folder != c1.folder
    finally:
        with torch.no_grad():
            p[idx] = saved
    assert B.weights_hash(s1, s2) == key
    # many frames of different sizes: no new export (the graphs take any size)
    pipe = ClueNetPipeline(s1, s2, PipelineConfig(device="cpu", backend=RUNTIMES[0]))
    monkeypatch.setattr(B, "compile_models", lambda *a, **k: pytest.fail("exported again"))
    for h, w in ((64, 96), (128, 160), (96, 64)):
        pipe(frame(h, w))
    s1.dense_runner = None


def test_temporary_export_is_removed_with_its_runners(models):
    """persist=False exports live in a temp folder that must not outlive the runners
    (each export is ~100 MB; leaked folders once filled a CI machine's disk)."""
    if not RUNTIMES:
        pytest.skip("no compiled backend installed")
    import gc

    s1, s2 = models
    c = B.compile_models(s1, s2, RUNTIMES[0], persist=False)
    folder = c.folder
    assert c.exported and folder.parent != B.cache_root() and (folder / "stage2.onnx").is_file()
    runner = c.stage2
    del c
    gc.collect()
    assert folder.is_dir()  # still in use by the runner
    out = runner(torch.zeros(1, 3, s2.config.input_size[0], s2.config.input_size[1]))
    assert out.shape[0] == 1 and torch.isfinite(out).all()
    del runner
    gc.collect()
    assert not folder.exists()


def test_backend_choice_and_errors(monkeypatch):
    cpu = torch.device("cpu")
    assert B.resolve_backend("torch", cpu) == "torch"
    assert B.resolve_backend("auto", cpu) == B.available()[0]
    assert B.resolve_backend("auto", torch.device("cuda")) == "torch"
    with pytest.raises(ValueError, match="one of auto, torch, onnxruntime, openvino"):
        B.resolve_backend("tensorrt", cpu)
    with pytest.raises(ValueError, match="CPU only"):
        B.resolve_backend("onnxruntime", torch.device("cuda"))
    monkeypatch.setattr(B, "installed", lambda b: b in ("torch", "onnxruntime"))
    assert B.resolve_backend("auto", cpu) == "onnxruntime"
    with pytest.raises(RuntimeError, match="pip install openvino"):
        B.resolve_backend("openvino", cpu)
    monkeypatch.setattr(B, "installed", lambda b: b == "torch")
    assert B.resolve_backend("auto", cpu) == "torch"


def test_random_weights_stay_eager_under_auto():
    s1, s2 = load_model_configs(TINY)
    pipe = ClueNetPipeline.random(PipelineConfig(device="cpu", backend="auto"), s1, s2)
    assert pipe.backend == "torch" and pipe.config.backend == "auto"
    assert pipe.stage1.dense_runner is None and pipe._stage2_runner is None


def test_auto_falls_back_when_a_runtime_fails(models, monkeypatch, caplog):
    from cluenet_ros.inference import pipeline as P

    s1, s2 = copy.deepcopy(models[0]), copy.deepcopy(models[1])

    def broken(*args, **kwargs):
        raise OSError("no such device")

    monkeypatch.setattr(P, "compile_models", broken)
    pipe = ClueNetPipeline(s1, s2, PipelineConfig(device="cpu", backend="auto"))
    assert pipe.backend == "torch" and pipe.stage1.dense_runner is None
    assert len(pipe(frame())) >= 0
    if RUNTIMES:
        assert "trying the next one" in caplog.text
        with pytest.raises(RuntimeError, match=f"backend {RUNTIMES[0]}: OSError: no such device"):
            ClueNetPipeline(s1, s2, PipelineConfig(device="cpu", backend=RUNTIMES[0]))
