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
    assert cluenet(["bench", "--device", "cpu", "--resolution", "256x128", "--config", TINY, "--people", "3",
                    "--frames", "3", "--warmup", "1", "--stage2-scaling", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    for key in ("device", "resolution", "precision", "people", "e2e_ms_median", "e2e_ms_p95", "fps",
                "stages_ms", "peak_mem_mb"):
        assert key in res, key
    assert res["device"] == "cpu" and res["resolution"] == "256x128" and res["people"] == 3
    assert set(res["stages_ms"]) == {"preprocess", "stage1", "crop_mask", "stage2", "postprocess"}
    assert res["e2e_ms_p95"] >= res["e2e_ms_median"] > 0 and res["fps"] > 0 and res["peak_mem_mb"] > 0
    assert set(res["stage2_ms_by_crops"]) == {"1", "20"}


@pytest.mark.skipif(not __import__("importlib").util.find_spec("rclpy"), reason="needs rclpy")
def test_bench_node_and_compare(tmp_path):
    out = tmp_path / "bench.json"
    assert cluenet(["bench", "--device", "cpu", "--resolution", "128x64", "--config", TINY, "--people", "2",
                    "--frames", "2", "--warmup", "1", "--compare", "keypointrcnn", "--node", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["peer_ms_median"] > 0 and res["ratio"] == pytest.approx(res["e2e_ms_median"] / res["peer_ms_median"])
    assert set(res["node"]) == {"1280x720", "2048x1024"}
    assert all(v["node_overhead_ms_median"] > 0 and v["transport_ms_median"] > 0 for v in res["node"].values())


def test_onnx_export_matches_pytorch(tmp_path):
    out = tmp_path / "cluenet.onnx"
    assert cluenet(["export", "--onnx", str(out), "--config", TINY, "--size", "128x64"]) == 0
    s2 = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    heat = s2.run(None, {"input": np.random.rand(4, 3, 64, 64).astype(np.float32)})[0]
    assert heat.shape == (4, 13, 16, 16)
    s1 = ort.InferenceSession(str(tmp_path / "cluenet.stage1.onnx"), providers=["CPUExecutionProvider"])
    logits, feats = s1.run(None, {"input": np.random.rand(1, 3, 96, 160).astype(np.float32)})  # another size
    assert logits.shape == (1, 1, 96, 160) and feats.shape[2:] == (3, 5)
