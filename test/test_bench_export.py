"""`cluenet bench` writes the documented figures; `cluenet export` produces ONNX
files that onnxruntime runs with PyTorch's results."""
import json

import numpy as np
import onnxruntime as ort
import pytest

from cluenet_ros.cli import main as cluenet
from conftest import REPO

TINY = str(REPO / "test" / "data" / "tiny_model.yaml")


def test_bench_json(tmp_path):
    out = tmp_path / "bench.json"
    assert cluenet(["bench", "--device", "cpu", "--backend", "torch", "--resolution", "256x128", "--config", TINY,
                    "--people", "3",
                    "--frames", "3", "--warmup", "1", "--stage2-scaling", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    for key in ("device", "resolution", "precision", "people", "e2e_ms_median", "e2e_ms_p95", "fps",
                "stages_ms", "peak_mem_mb"):
        assert key in res, key
    assert res["device"] == "cpu" and res["resolution"] == "256x128" and res["people"] == 3
    assert res["backend"] == "torch" and res["detection_flip_test"] is True  # as the node runs by default
    assert set(res["stages_ms"]) == {"preprocess", "stage1", "crop_mask", "stage2", "postprocess"}
    assert res["e2e_ms_p95"] >= res["e2e_ms_median"] > 0 and res["fps"] > 0 and res["peak_mem_mb"] > 0
    assert set(res["stage2_ms_by_crops"]) == {"1", "20"}


def test_bench_records_the_stage1_flip_test(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert cluenet(["bench", "--device", "cpu", "--backend", "torch", "--resolution", "128x64", "--config", TINY,
                    "--people", "3", "--frames", "2", "--warmup", "1", "--no-detection-flip-test",
                    "--detection-extra-scale", "1.5", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["detection_flip_test"] is False and res["detection_extra_scale"] == 1.5 and res["people"] == 3
    assert "no stage-1 flip test, extra scale 1.5" in capsys.readouterr().out


@pytest.mark.skipif(not __import__("importlib").util.find_spec("rclpy"), reason="needs rclpy")
def test_bench_node(tmp_path):
    out = tmp_path / "bench.json"
    assert cluenet(["bench", "--device", "cpu", "--backend", "torch", "--resolution", "128x64", "--config", TINY,
                    "--people", "2", "--frames", "2", "--warmup", "1", "--node", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res["node"]) == {"1280x720", "2048x1024"}
    assert all(v["node_overhead_ms_median"] > 0 and v["transport_ms_median"] > 0 for v in res["node"].values())
    assert all(0 < v["node_overhead_none_subscribed_ms_median"] for v in res["node"].values())
    assert all(0 < v["node_overhead_ms_min"] <= v["node_overhead_ms_median"] for v in res["node"].values())
    assert all(v["raw_publishing"] is True for v in res["node"].values())  # the node's default


@pytest.mark.runtimes
def test_bench_compares_the_peer_on_both_runtimes(tmp_path):
    """--compare times keypointrcnn eagerly and, exported whole, on ONNX Runtime: the
    exported peer gives the eager peer's detections, and each ratio is the quotient
    of the medians it names (ClueNet's own onnxruntime run when the bench ran torch)."""
    out = tmp_path / "bench.json"
    assert cluenet(["bench", "--device", "cpu", "--backend", "torch", "--resolution", "128x64", "--config", TINY,
                    "--people", "2", "--frames", "2", "--warmup", "1", "--compare", "keypointrcnn",
                    "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["peer_ms_median"] > 0 and res["ratio"] == pytest.approx(res["e2e_ms_median"] / res["peer_ms_median"])
    assert res["ratio_same_runtime_torch"] == pytest.approx(res["e2e_ms_median_torch"] / res["peer_ms_median"])
    assert res["e2e_ms_median_torch"] == res["e2e_ms_median"]  # the bench itself ran torch
    peer_ort = res["peer_onnxruntime_ms_median"]
    assert peer_ort > 0 and res["peer_onnxruntime_export_s"] > 0
    assert res["peer_onnxruntime_max_abs_diff"] < 1e-2  # boxes in pixels, scores, keypoints: the same network
    assert res["e2e_ms_median_onnxruntime"] > 0 and res["e2e_ms_median_onnxruntime"] != res["e2e_ms_median"]
    assert res["ratio_same_runtime_onnxruntime"] == pytest.approx(res["e2e_ms_median_onnxruntime"] / peer_ort)
    assert res["ratio_against_peer_onnxruntime"] == pytest.approx(res["e2e_ms_median"] / peer_ort)


def test_onnx_export_matches_pytorch(tmp_path):
    out = tmp_path / "cluenet.onnx"
    assert cluenet(["export", "--onnx", str(out), "--weights", "random", "--config", TINY, "--size", "128x64"]) == 0
    s2 = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    heat = s2.run(None, {"input": np.random.rand(4, 3, 64, 64).astype(np.float32)})[0]
    assert heat.shape == (4, 13, 16, 16)
    s1 = ort.InferenceSession(str(tmp_path / "cluenet.stage1.onnx"), providers=["CPUExecutionProvider"])
    logits, feats = s1.run(None, {"input": np.random.rand(1, 3, 96, 160).astype(np.float32)})  # another size
    assert logits.shape == (1, 1, 96, 160) and feats.shape[2:] == (3, 5)


def test_onnx_export_defaults_to_the_nodes_weights(tmp_path):
    """Without --weights: the packaged demo weights (what the node loads by default),
    not a random model; the exported stage 2 reproduces them."""
    import torch

    from cluenet_ros.inference.onnx_export import default_weights
    from cluenet_ros.models.checkpoint import load_models

    demo = default_weights()
    if not demo.is_file():
        pytest.skip("demo weights not installed")
    out = tmp_path / "demo.onnx"
    assert cluenet(["export", "--onnx", str(out), "--size", "128x64"]) == 0
    stage2 = load_models(demo, ("stage2",))["stage2"].eval()
    crops = torch.rand(2, 3, *stage2.config.input_size, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        ref = stage2(crops).numpy()
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"input": crops.numpy()})[0]
    assert np.abs(got - ref).max() <= 1e-3 * np.abs(ref).max()


def test_onnx_export_check_failure_is_one_line(tmp_path, monkeypatch, capsys):
    from cluenet_ros.inference import onnx_export

    monkeypatch.setattr(onnx_export, "relative_difference", lambda got, ref: 0.5)
    code = cluenet(["export", "--onnx", str(tmp_path / "m.onnx"), "--weights", "random", "--config", TINY,
                    "--size", "64x64"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "differs from PyTorch by 5.00e-01" in err and "tolerance 1e-03" in err
    assert cluenet(["export", "--onnx", str(tmp_path / "m.onnx"), "--config", TINY]) == 2
    assert "--weights random" in capsys.readouterr().err
    assert cluenet(["export", "--onnx", str(tmp_path / "m.onnx"), "--weights", "random", "--config", TINY,
                    "--size", "100x64"]) == 2
    assert "multiples of 32" in capsys.readouterr().err


def test_export_check_is_relative_and_deterministic():
    import torch

    from cluenet_ros.inference.onnx_export import _fixed_input, relative_difference

    ref = [np.array([[400.0, -800.0]]), np.array([0.5, 0.25])]
    got = [np.array([[400.02, -800.0]]), np.array([0.5, 0.25001])]
    # 2e-2 absolute on outputs of 800 is 2.5e-5 of their scale; the small output by its own scale
    assert relative_difference(got, ref) == pytest.approx(max(0.02 / 800, 1e-5 / 0.5))
    assert torch.equal(_fixed_input((2, 3), 4), _fixed_input((2, 3), 4))
