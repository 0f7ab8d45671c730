"""The standalone pipeline (issue 20's memory target): the whole pipeline as exported
graphs, run without torch (the dense stage-1 graph on OpenVINO or ONNX Runtime, the rest
on ONNX Runtime); the same results as the eager pipeline.

Parity tolerances (float32 on both sides; the runtimes differ in summation order
and fused kernels): boxes 0.05 px and scores 1e-4 (as test_backends.py); mask
pixels: at most 0.1% differ (a pixel flips only where its probability is within
~1e-6 of the threshold); keypoints, occlusion flags and visible boxes: 95% of
them within 0.05 px / equal, since a keypoint is a heatmap's arg-max and two
near-equal peaks can swap on a 1e-6 difference.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import replace

import numpy as np
import pytest

# OpenVINO and ONNX Runtime in-process: a pytest process of their own (`make test` does), see setup.cfg
pytestmark = pytest.mark.runtimes
import torch  # noqa: E402

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig  # noqa: E402
from cluenet_ros.inference import standalone as S  # noqa: E402
from cluenet_ros.models.checkpoint import save_checkpoint  # noqa: E402
from cluenet_ros.models.factory import load_model_configs  # noqa: E402
from cluenet_ros.models.stage1 import ClueNetStage1  # noqa: E402
from cluenet_ros.models.stage2 import ClueNetStage2  # noqa: E402
from conftest import HELPERS, REPO  # noqa: E402

TINY = REPO / "test" / "data" / "tiny_model.yaml"
RUNTIMES = S.installed_runtimes()


def B_installed(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None
# random weights: accept every detection; one scale (the second is the extra-scale tests' own)
FORCED = dict(score_threshold=0.0, nms_iou=0.7, max_detections=5, detection_extra_scale=0.0)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A tiny random checkpoint and its graphs, exported once (in a child process)."""
    root = tmp_path_factory.mktemp("standalone")
    torch.manual_seed(0)
    s1, s2 = load_model_configs(TINY)
    ckpt = root / "tiny.pt"
    save_checkpoint(ckpt, {"stage1": ClueNetStage1(s1).eval(), "stage2": ClueNetStage2(s2).eval()})
    cache = root / "cache"
    t0 = time.perf_counter()
    folder = S.ensure_exported(ckpt, S.baked_settings(PipelineConfig()), cache)
    return ckpt, cache, folder, time.perf_counter() - t0


def frame(h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    img[h // 4: h - h // 8, w // 3: w // 3 + w // 5] = 20  # a dark figure-sized block
    return img


def assert_same(a, b):
    assert len(a) == len(b) >= 1
    np.testing.assert_allclose(a.boxes, b.boxes, atol=0.05)
    np.testing.assert_allclose(a.scores, b.scores, atol=1e-4)
    assert a.mask.shape == b.mask.shape and a.mask.dtype == b.mask.dtype == np.uint8
    assert (a.mask != b.mask).mean() <= 1e-3
    close = np.abs(a.keypoints[..., :2] - b.keypoints[..., :2]).max(axis=-1) <= 0.05
    assert close.mean() >= 0.95, np.abs(a.keypoints - b.keypoints).max()
    np.testing.assert_allclose(a.keypoints[..., 2], b.keypoints[..., 2], atol=1e-3)
    assert (a.occluded == b.occluded).mean() >= 0.95
    assert (np.abs(a.visible_boxes - b.visible_boxes).max(axis=1) <= 0.05).mean() >= 0.95


@pytest.mark.parametrize("backend", RUNTIMES)
def test_standalone_matches_the_eager_pipeline(exported, backend):
    ckpt, _, folder, _ = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    assert max(manifest["check_max_rel_diff"].values()) <= 1e-3
    sa = S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend=backend, **FORCED))
    ref = ClueNetPipeline.from_checkpoint(ckpt, PipelineConfig(device="cpu", backend="torch", **FORCED))
    assert sa.backend == sa.stage2_backend == backend and sa.device == "cpu"
    kind = {"openvino": "OpenVinoSession", "onnxruntime": "OnnxRuntimeSession"}[backend]
    assert type(sa._stage1.dense).__name__ == type(sa._pose_sessions["stage2"]).__name__ == kind
    auto = S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend="auto", **FORCED))
    assert (auto.backend, auto.stage2_backend) == (RUNTIMES[0], "onnxruntime")  # auto keeps stage 2's memory
    # one arena for all ONNX Runtime graphs (they run one after another): the peak of one, not the sum
    sessions = (sa._stage1.dense, sa._stage1.heads, *sa._pose_sessions.values())
    sessions = [x for x in sessions if type(x).__name__ == "OnnxRuntimeSession"]
    assert len(sessions) == {"openvino": 4, "onnxruntime": 6}[backend]
    for session in sessions:
        assert session.session.get_session_options().get_session_config_entry("session.use_env_allocators") == "1"
    # sizes other than the traced one (and not multiples of the stride), with and without the flip test
    for (h, w), flip in (((128, 192), False), ((150, 203), True), ((97, 131), False)):
        sa.set_flip_test(flip)
        ref.set_flip_test(flip)
        img = frame(h, w, seed=h)
        assert_same(sa(img), ref(img))
    # BGR input is swapped as the eager pipeline swaps it
    img = frame(128, 192, seed=5)
    assert_same(sa(img, bgr=True), ref(img, bgr=True))


def test_keep_is_the_eager_pipelines(exported):
    """The tracker's choice between the stages (``keep``) selects the same rows, with
    the same poses, as in the eager pipeline."""
    ckpt, _, folder, _ = exported
    sa = S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend="onnxruntime", **FORCED))
    ref = ClueNetPipeline.from_checkpoint(ckpt, PipelineConfig(device="cpu", backend="torch", **FORCED))
    img = frame(128, 192, seed=7)
    full = sa(img)
    assert len(full) >= 3
    rows = [2, 0]
    kept = sa(img, keep=lambda b, s: rows)
    assert_same(kept, ref(img, keep=lambda b, s: rows))
    np.testing.assert_allclose(kept.boxes, full.boxes[rows], atol=1e-4)
    np.testing.assert_allclose(kept.keypoints, full.keypoints[rows], atol=1e-3)
    assert len(sa(img, keep=lambda b, s: [])) == 0
    with pytest.raises(ValueError, match="more than once"):
        sa(img, keep=lambda b, s: [0, 0])


@pytest.mark.parametrize("merge", ["nms", "fusion"])
def test_stage1_flip_test_matches_the_eager_pipeline(exported, merge):
    ckpt, _, folder, _ = exported
    sa = S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend=RUNTIMES[0], **FORCED))
    ref = ClueNetPipeline.from_checkpoint(ckpt, PipelineConfig(device="cpu", backend="torch", **FORCED))
    for p in (sa, ref):
        p.set_detection_flip_test(True, merge)
    for h, w in ((128, 192), (150, 203)):
        img = frame(h, w, seed=h + 1)
        a, b = sa(img), ref(img)
        assert_same(a, b)
        sa.set_detection_flip_test(False)
        assert len(sa(img)) != len(a) or not np.allclose(sa(img).boxes, a.boxes, atol=0.05)
        sa.set_detection_flip_test(True, merge)
    with pytest.raises(ValueError, match="detection_flip_merge"):
        sa.set_detection_flip_test(True, "mean")


@pytest.fixture(scope="module")
def second_model(exported):
    """Another tiny model's stage 1 alone, for ``detection_extra_weights``."""
    ckpt = exported[0].parent / "second_stage1.pt"
    torch.manual_seed(1)
    save_checkpoint(ckpt, {"stage1": ClueNetStage1(load_model_configs(TINY)[0]).eval()})
    return ckpt


@pytest.mark.parametrize("extra_weights", [False, True], ids=["same_weights", "extra_weights"])
def test_the_extra_scale_matches_the_eager_pipeline(exported, second_model, extra_weights):
    """The node's default second scale runs here too: the frame at the input scale times
    the extra scale through the same graphs (the scale is an input of the dense one), or
    through detection_extra_weights' stage 1, its views merged as the eager pipeline merges
    them, with and without the floor and the flip test, and changed at run time."""
    ckpt, cache, folder, _ = exported
    cfg = PipelineConfig(device="cpu", backend=RUNTIMES[0], **{**FORCED, "detection_extra_scale": 0.5},
                         detection_extra_scale_min_height=0.0,
                         detection_extra_weights=str(second_model) if extra_weights else "")
    sa = S.StandalonePipeline.from_checkpoint(ckpt, cfg, cache=cache)
    ref = ClueNetPipeline.from_checkpoint(ckpt, replace(cfg, backend="torch"))
    assert sa.folder == folder
    if extra_weights:
        manifest = json.loads((sa.extra_folder / "manifest.json").read_text())
        assert manifest["stage1_only"] is True and manifest["weights"] == str(second_model.resolve())
        assert sorted(f.name for f in sa.extra_folder.glob("*.onnx")) == ["stage1_dense.onnx", "stage1_heads.onnx"]
        assert sa._extra_stage1 is not sa._stage1
    else:  # no export of its own: the same sessions
        assert sa.extra_folder is None and sa._extra_stage1 is sa._stage1
    img = frame(150, 203, seed=4)
    one = S.StandalonePipeline(folder, replace(cfg, detection_extra_scale=0.0))
    for flip, scale, min_height in ((False, 0.5, 0.0), (True, 0.5, 0.0), (True, 0.5, 40.0), (True, 0.75, 0.0)):
        for p in (sa, ref):
            p.set_detection_flip_test(flip)
            p.set_detection_extra_scale(scale, min_height)
        one.set_detection_flip_test(flip)
        a, b = sa(img), ref(img)
        # the averaged masks at the default threshold; random models' probabilities sit within
        # 3e-4 of 0.5, so a few pixels flip there and move the keypoints of the crops holding
        # them: all of it is compared at a threshold the probabilities are far from
        assert (a.mask != b.mask).mean() <= 1e-3 and 0 < (a.mask > 0).mean() < 1
        for p in (sa, ref):
            p.set_mask_threshold(0.3)
        a = sa(img)
        assert_same(a, ref(img))
        for p in (sa, ref):
            p.set_mask_threshold(0.5)
        # the extra views did something: not the frame's views alone
        b = one(img)
        assert len(a) != len(b) or not np.allclose(a.boxes, b.boxes, atol=0.05) or (a.mask != b.mask).mean() > 0.01
    # off at run time is one scale
    sa.set_detection_extra_scale(0.0)
    assert_same(sa(img), one(img))
    # the eager pipeline's checks
    with pytest.raises(ValueError, match="min_height"):
        sa.set_detection_extra_scale(0.5, -1.0)
    with pytest.raises(ValueError, match="within"):
        sa.set_detection_extra_scale(5.0)


def test_the_input_scale_changes_at_run_time_and_matches(exported):
    """The scale is an input of the dense graph: one export serves every input scale,
    rounded as the eager transform rounds it (97 x 0.75 = 72.75, 131 x 0.75 = 98.25)."""
    ckpt, cache, folder, _ = exported
    cfg = PipelineConfig(device="cpu", backend=RUNTIMES[0], **FORCED)
    sa = S.StandalonePipeline.from_checkpoint(ckpt, cfg, input_scale=0.75, cache=cache)
    ref = ClueNetPipeline.from_checkpoint(ckpt, replace(cfg, backend="torch"))
    ref.set_input_scale(0.75)
    assert sa.folder == folder and sa.input_scale == 0.75
    for scale in (0.75, 1.3):
        for p in (sa, ref):
            p.set_input_scale(scale)
        for h, w in ((128, 192), (97, 131)):
            img = frame(h, w, seed=h + 2)
            a, b = sa(img), ref(img)
            assert (a.mask != b.mask).mean() <= 1e-3
            # poses at a mask threshold away from the random model's probabilities (see above)
            for p in (sa, ref):
                p.set_mask_threshold(0.3)
            assert_same(sa(img), ref(img))
            for p in (sa, ref):
                p.set_mask_threshold(0.5)
    with pytest.raises(ValueError, match="within"):
        sa.set_input_scale(0.01)
    sa.set_detection_extra_scale(0.5)
    with pytest.raises(ValueError, match="leaves"):
        sa.set_input_scale(0.08)  # 0.04 for the extra views
    assert sa.input_scale == 1.3


def test_extra_weights_graphs_are_checked(exported, second_model, tmp_path):
    ckpt, cache, folder, _ = exported
    cfg = PipelineConfig(device="cpu", backend=RUNTIMES[0], **{**FORCED, "detection_extra_scale": 0.5})
    extra = S.ensure_exported(second_model, S.baked_settings(cfg), cache, stage1_only=True)
    assert extra.name != f"standalone-{S.graph_key(second_model, S.baked_settings(cfg))}"  # not a full export's
    assert S.StandalonePipeline(folder, cfg, extra_folder=extra).extra_folder == extra
    # a full export is not detection_extra_weights' graphs
    with pytest.raises(ValueError, match="not a stage-1 export"):
        S.StandalonePipeline(folder, cfg, extra_folder=folder)
    # graphs of an earlier format are not read (from_checkpoint exports again)
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    manifest = json.loads((old / "manifest.json").read_text())
    (old / "manifest.json").write_text(json.dumps({**manifest, "format": S.FORMAT - 1}))
    with pytest.raises(ValueError, match="format"):
        S.StandalonePipeline(old, cfg)
    with pytest.raises(ValueError, match="leaves"):
        S.StandalonePipeline.from_checkpoint(ckpt, replace(cfg, detection_extra_scale=0.04), cache=cache)
    # a stage-1-only checkpoint exports a stage-1 graph, and nothing more
    with pytest.raises(RuntimeError, match="exporting the standalone graphs failed"):
        S.ensure_exported(second_model, S.baked_settings(cfg), cache)


def test_the_standalone_benchmark_runs_the_extra_scale(exported):
    """`cluenet bench --standalone` times the node's default views, the second scale
    included, and says so in its figures."""
    from cluenet_ros.benchmark.standalone_bench import run

    _, _, folder, _ = exported
    two = run(str(folder), 160, 96, 2, 1, 0, "onnxruntime", True, 0.5)
    one = run(str(folder), 160, 96, 2, 1, 0, "onnxruntime", True)
    assert two["detection_extra_scale"] == 0.5 and one["detection_extra_scale"] == 0.0
    assert two["backend"] == one["backend"] == "onnxruntime"


@pytest.mark.parametrize("backend", RUNTIMES)
def test_run_time_settings_are_applied_as_the_eager_pipeline_applies_them(exported, backend):
    ckpt, _, folder, _ = exported
    sa = S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend=backend, detection_extra_scale=0.0))
    ref = ClueNetPipeline.from_checkpoint(ckpt, PipelineConfig(device="cpu", backend="torch", detection_extra_scale=0.0))
    img = frame(128, 192, seed=3)
    counts = []
    for score, nms, top in ((0.0, 0.7, 5), (0.0, 0.3, 50), (0.0, 1.0, 3), (0.0, 0.5, 1)):
        for p in (sa, ref):
            p.set_thresholds(score=score, nms_iou=nms, max_detections=top)
        a, b = sa(img), ref(img)
        assert_same(a, b)
        counts.append(len(a))
    assert counts[2] == 3 and counts[3] == 1 and counts[1] != counts[0]  # the settings did something
    # a cut between two scores, not on one: a score equal to it would fall on either side
    # of the threshold by the runtimes' 1e-7 differences
    ref.set_thresholds(score=0.0, nms_iou=1.0, max_detections=50)
    ranked = np.sort(ref(img).scores)
    k = len(ranked) // 2
    cut = float(ranked[k - 1] + ranked[k]) / 2
    for p in (sa, ref):
        p.set_thresholds(score=cut, nms_iou=1.0, max_detections=50)
        p.set_mask_threshold(0.3)
    a, b = sa(img), ref(img)
    assert len(a) == len(b) == len(ranked) - k and (a.scores > cut).all()
    assert (a.mask != b.mask).mean() <= 1e-3
    # perspective rescoring, every box an anchor (random weights give few confident ones),
    # on the first frame whose boxes fit a height line
    from cluenet_ros.inference.perspective import fit_height_line

    for p in (sa, ref):
        p.set_thresholds(score=0.0, nms_iou=0.7, max_detections=50)
    for seed in range(3, 30):
        img = frame(128, 192, seed=seed)
        plain = ref(img)
        if fit_height_line(plain.boxes, plain.scores, 0.01, 128) is not None:
            break
    else:
        pytest.fail("no frame of seeds 3-29 gave boxes on a height line")
    for p in (sa, ref):
        p.set_perspective(True, anchor_score=0.01, tolerance=0.1, sigma=0.05)
    a, b = sa(img), ref(img)
    assert_same(a, b)
    assert len(b) < len(plain) or not np.allclose(b.scores, plain.scores)
    for p in (sa, ref):
        p.set_perspective(False)
    with pytest.raises(ValueError, match="within"):
        sa.set_input_scale(5.0)


def test_graphs_are_exported_once_per_checkpoint_and_settings(exported, tmp_path):
    ckpt, cache, folder, first_s = exported
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    t0 = time.perf_counter()
    assert S.ensure_exported(ckpt, S.baked_settings(PipelineConfig()), cache) == folder
    assert time.perf_counter() - t0 < first_s / 3 and (folder / "manifest.json").stat().st_mtime_ns == stamp
    assert not list(cache.glob("*.part-*"))  # no half-written folder left behind
    other = S.graph_key(ckpt, S.baked_settings(PipelineConfig(crop_padding=1.3)))
    assert f"standalone-{other}" != folder.name
    copy = tmp_path / "copy.pt"
    copy.write_bytes(ckpt.read_bytes() + b"\0")
    assert S.graph_key(copy, S.baked_settings(PipelineConfig())) != folder.name.split("-", 1)[1]
    with pytest.raises(ValueError, match="crop_padding"):
        S.StandalonePipeline(folder, PipelineConfig(device="cpu", crop_padding=1.3))
    with pytest.raises(ValueError, match="not 'torch'"):
        S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend="torch"))
    with pytest.raises(FileNotFoundError):
        S.ensure_exported(tmp_path / "missing.pt", S.baked_settings(PipelineConfig()), cache)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(RuntimeError, match="exporting the standalone graphs failed"):
        S.ensure_exported(bad, S.baked_settings(PipelineConfig()), cache)


def test_export_cli_prepares_a_cache_for_a_target_that_cannot_export(exported, tmp_path, monkeypatch, capsys):
    """`cluenet export --standalone` on a machine with torch; the folder copied into
    another cache is found there by a start that never exports."""
    from cluenet_ros.cli import main as cluenet

    ckpt, _, folder, _ = exported
    here = tmp_path / "workstation"
    assert cluenet(["export", "--standalone", "--weights", str(ckpt), "--cache", str(here)]) == 0
    out = capsys.readouterr().out
    made = here / folder.name  # the same key as the node's own export
    assert f"exported: {made}" in out and "dense stage 1" in out and (made / "manifest.json").is_file()
    assert cluenet(["export", "--standalone", "--weights", str(ckpt), "--cache", str(here)]) == 0
    assert f"already in the cache: {made}" in capsys.readouterr().out
    target = tmp_path / "vehicle"
    target.mkdir()
    shutil.copytree(made, target / made.name)

    def no_export(*args, **kwargs):
        raise AssertionError("the target exported again")

    monkeypatch.setattr(S.subprocess, "run", no_export)
    sa = S.StandalonePipeline.from_checkpoint(ckpt, PipelineConfig(device="cpu", backend="onnxruntime", **FORCED),
                                              cache=target)
    assert sa.folder == target / made.name and len(sa(frame(97, 131, seed=3))) > 0
    for bad in (["--onnx", str(tmp_path / "m.onnx")], ["--weights", "random"]):
        assert cluenet(["export", "--standalone", *bad]) == 2
    assert cluenet(["export", "--standalone", "--weights", str(tmp_path / "none.pt")]) == 2
    assert "no such checkpoint" in capsys.readouterr().err
    assert cluenet(["export", "--cache", str(here), "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert cluenet(["export"]) == 2 and "--standalone" in capsys.readouterr().err


def test_a_start_that_cannot_export_says_what_to_do(tmp_path, monkeypatch):
    """No torch to export with, or an export killed (a memory limit's OOM killer):
    the error names the way out, exporting elsewhere and copying the folder."""
    import importlib.util

    weights = tmp_path / "w.pt"
    weights.write_bytes(b"never read")
    settings = S.baked_settings(PipelineConfig())
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else find_spec(name, *a))
    with pytest.raises(RuntimeError, match="torch, which exports them, is not installed here") as err:
        S.ensure_exported(weights, settings, tmp_path / "cache")
    assert "cluenet export --standalone" in str(err.value) and "CLUENET_CACHE_DIR" in str(err.value)
    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(S.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, -9, "", ""))
    with pytest.raises(RuntimeError, match=r"killed by signal 9 \(SIGKILL\)") as err:
        S.ensure_exported(weights, settings, tmp_path / "cache")
    assert "memory limit" in str(err.value) and "cluenet export --standalone" in str(err.value)


def test_a_standalone_process_never_imports_torch(exported):
    """The point of it: the node's modules and the pipeline run a frame with torch
    absent from sys.modules."""
    _, _, folder, _ = exported
    code = f"""
import sys, numpy as np
import cluenet_ros.ros.pedestrian_node, cluenet_ros.ros.messages, cluenet_ros.tracking
from cluenet_ros.inference import PipelineConfig
from cluenet_ros.inference.standalone import StandalonePipeline
p = StandalonePipeline({str(folder)!r}, PipelineConfig(device="cpu", backend="auto", score_threshold=0.0,
                                                         max_detections=4))
r = p(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
print(len(r), r.keypoints.shape, "torch" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-1] == "False" and int(out.stdout.split()[0]) >= 1


def test_nms_is_torchvisions():
    from torchvision.ops import nms

    rng = np.random.default_rng(0)
    for iou in (0.3, 0.5, 0.7, 1.0):
        xy = rng.uniform(0, 100, (200, 2))
        boxes = np.concatenate([xy, xy + rng.uniform(5, 40, (200, 2))], axis=1).astype(np.float32)
        scores = rng.permutation(200).astype(np.float32) / 200  # distinct: the order is unambiguous
        want = nms(torch.from_numpy(boxes), torch.from_numpy(scores), iou).numpy()
        np.testing.assert_array_equal(S.nms(boxes, scores, iou), want)
    assert S.nms(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), 0.5).shape == (0,)


def test_the_node_runs_standalone_and_says_so(exported, ros_context):
    sys.path.insert(0, str(HELPERS))
    from ros_harness import Harness, rgb_image, start_node, stop

    ckpt, cache, _, _ = exported
    import os

    env = dict(os.environ, CLUENET_CACHE_DIR=str(cache))
    ns = "/cluenet_standalone"
    proc = start_node(ns, "standalone:=true", "backend:=auto", "detection_extra_scale:=1.25", "score_threshold:=0.0",
                      "max_detections:=4", "diagnostics_period:=0.5", weights=str(ckpt), env=env)
    h = Harness(ros_context, ns)
    try:
        h.wait_ready(proc)
        stamp = h.send_and_wait(rgb_image(97, 131, seed=1))
        det = h.outputs_for(stamp, "detections")[0]
        ped = h.outputs_for(stamp, "pedestrians")[0]
        assert 1 <= len(det.detections) <= 4 and len(ped.pedestrians) == len(det.detections)
        assert all(len(p.keypoints) == 13 for p in ped.pedestrians)
        # the input scale and the second scale change at run time, as in the eager node (the
        # scale is an input of the exported graph); a value out of range is refused
        for name, value in (("input_scale", 0.75), ("detection_extra_scale", 1.5), ("detection_extra_scale", 0.0)):
            assert h.set_parameters(**{name: value})[0].successful, name
            stamp = h.send_and_wait(rgb_image(97, 131, seed=3))
            assert 1 <= len(h.outputs_for(stamp, "detections")[0].detections) <= 4
        assert h.set_parameters(detection_extra_scale=1.5)[0].successful
        res = h.set_parameters(input_scale=0.03)
        assert not res[0].successful
        assert h.spin_until(lambda: h.received["diagnostics"] and "standalone" in h.diagnostics(), 20)
        diag = h.diagnostics()
        assert diag["standalone"] == "True" and diag["backend"] == RUNTIMES[0]  # the dense graph's runtime
        assert diag["stage2_backend"] == "onnxruntime"  # auto's choice for stage 2 (memory)
        h.send_and_wait(rgb_image(97, 131, seed=2))
    finally:
        h.close()
        log = stop(proc)
    assert "standalone: no torch in this process" in log, log
    assert "not applied" not in log, log
    # a checkpoint is needed: weights:=random is refused with a clear error
    proc = start_node("/cluenet_standalone_bad", "standalone:=true", env=env)
    log = proc.communicate(timeout=120)[0]
    assert proc.returncode != 0 and "standalone: needs a checkpoint file" in log, log


@pytest.mark.skipif(not B_installed("openvino"), reason="OpenVINO not installed")
def test_openvino_runs_the_dense_graph_only_where_the_export_check_passed(exported, second_model, tmp_path):
    """OpenVINO 2026.4 once gave a wrong first inference at each new frame size on the
    whole stage-1 graph, so the export checks the dense graph's first inferences against
    ONNX Runtime's and names the runtimes that passed; a folder that does not name
    OpenVINO runs on ONNX Runtime under auto and refuses backend openvino."""
    from cluenet_ros.inference.runtimes import OpenVinoSession

    ckpt, cache, folder, _ = exported
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["dense_runtimes"] == manifest["stage2_runtimes"] == ["openvino", "onnxruntime"]
    assert 0 <= manifest["openvino_first_inference_rel_diff"] <= 1e-3
    assert 0 <= manifest["stage2_openvino_first_inference_rel_diff"] <= 1e-3
    # the check's claim, on sizes it never saw: each first inference agrees
    ort = S.StandalonePipeline(folder, PipelineConfig(device="cpu", backend="onnxruntime", **FORCED))._stage1.dense
    ov = OpenVinoSession(folder / "stage1_dense.onnx", 1, tmp_path / "openvino_cache")
    for h, w in ((97, 131), (61, 250), (97, 131)):
        img = frame(h, w, seed=w)
        scale = np.array(0.6, np.float32)
        got, want = ov(img, scale), ort(img, scale)
        np.testing.assert_array_equal(got[2], want[2])
        for g, r in zip(got[:2], want[:2]):
            assert np.abs(g - r).max() <= 1e-4 * max(1.0, np.abs(r).max())
    # and of the stage-2 graph, at person counts it never saw
    from cluenet_ros.inference.runtimes import OnnxRuntimeSession

    ort2 = OnnxRuntimeSession(folder / "stage2.onnx", 1)
    ov2 = OpenVinoSession(folder / "stage2.onnx", 1, tmp_path / "openvino_cache_stage2")
    for n in (4, 7, 4):
        crops = np.random.default_rng(n).random((n, 3, *manifest["stage2_input_size"]), dtype=np.float32)
        (got,), (want,) = ov2(crops), ort2(crops)
        assert got.shape == want.shape and np.abs(got - want).max() <= 1e-4 * max(1.0, np.abs(want).max())
    # a folder whose check failed (its manifest says so): ONNX Runtime, or a clear refusal
    failed = tmp_path / folder.name
    shutil.copytree(folder, failed)
    (failed / "manifest.json").write_text(json.dumps({**manifest, "dense_runtimes": ["onnxruntime"]}))
    auto = S.StandalonePipeline(failed, PipelineConfig(device="cpu", backend="auto"))
    assert (auto.backend, auto.stage2_backend) == ("onnxruntime", "onnxruntime")
    with pytest.raises(RuntimeError, match="dense stage-1 graph did not match"):
        S.StandalonePipeline(failed, PipelineConfig(device="cpu", backend="openvino"))
    # the same for the stage-2 graph, judged on its own
    (failed / "manifest.json").write_text(json.dumps({**manifest, "stage2_runtimes": ["onnxruntime"]}))
    auto = S.StandalonePipeline(failed, PipelineConfig(device="cpu", backend="auto"))
    assert (auto.backend, auto.stage2_backend) == ("openvino", "onnxruntime")
    with pytest.raises(RuntimeError, match="stage-2 graph did not match"):
        S.StandalonePipeline(failed, PipelineConfig(device="cpu", backend="openvino"))
    (failed / "manifest.json").write_text(json.dumps({**manifest, "dense_runtimes": ["onnxruntime"]}))
    # detection_extra_weights' folder is judged too: both must name the runtime
    extra = S.ensure_exported(second_model, S.baked_settings(PipelineConfig()), cache, stage1_only=True)
    cfg = PipelineConfig(device="cpu", backend="auto", detection_extra_scale=0.5)
    assert S.StandalonePipeline(folder, cfg, extra_folder=extra).backend == "openvino"
    assert S.StandalonePipeline(failed, cfg, extra_folder=extra).backend == "onnxruntime"


def test_eval_full_standalone_reports_what_the_eager_pipeline_reports(exported, tmp_path, monkeypatch):
    from cluenet_ros.cli import main as cluenet

    ckpt, cache, _, _ = exported
    monkeypatch.setenv("CLUENET_CACHE_DIR", str(cache))
    assert cluenet(["synth", "--out", str(tmp_path / "data"), "--images", "4", "--seed", "11",
                    "--size", "256x128", "--split", "val", "--people", "2-4"]) == 0
    reports = {}
    for name, extra in (("eager", []), ("standalone", ["--standalone"])):
        assert cluenet(["eval", "full", "--weights", str(ckpt), "--data", str(tmp_path / "data" / "val"),
                        "--out", str(tmp_path / name), "--device", "cpu", *extra]) == 0
        reports[name] = json.loads((tmp_path / name / "report.json").read_text())
    eager, sa = reports["eager"], reports["standalone"]
    assert sa["standalone"] is True and sa["backend"] == f"{RUNTIMES[0]} (standalone)" and eager["standalone"] is False
    assert sa["mask_iou"] == pytest.approx(eager["mask_iou"], abs=1e-3)
    for level, mr in eager["detection_mr"].items():
        assert sa["detection_mr"][level] == pytest.approx(mr, abs=1e-3)
    assert sa["keypoint_ap"]["AP"] == pytest.approx(eager["keypoint_ap"]["AP"], abs=1e-3)
    assert sa["ap_against_occlusion"] == eager["ap_against_occlusion"]  # the same eager study on true crops
    assert "standalone" in (tmp_path / "standalone" / "report.md").read_text()
