"""`cluenet demo` (what `make demo` runs): synthetic stream -> node over DDS -> files."""
import json

import pytest

pytest.importorskip("rclpy")

from cluenet_ros.cli import main as cluenet  # noqa: E402


def test_demo_writes_its_outputs(tmp_path):
    out = tmp_path / "demo"
    # the capsule world: the realistic one (the default) needs the anny cache, built by `make demo`
    assert cluenet(["demo", "--out", str(out), "--frames", "6", "--rate", "3", "--world", "capsules"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_sent"] == 6
    assert 1 <= summary["frames_answered"] <= 6
    assert summary["frames_answered"] + summary["frames_dropped_by_node"] == 6
    assert summary["latency_ms_median"] > 0
    assert (out / "grid.png").stat().st_size > 1000 and (out / "demo.mp4").stat().st_size > 1000
    assert len(list((out / "stream" / "camera" / "images").glob("*.png"))) == 6
    # the demo says how many of the stream's people the node found (test_demo_recall checks the counting)
    assert summary["world"] == "capsules" and summary["people_reasonable"] > 0
    assert 0 <= summary["found_reasonable"] <= summary["people_reasonable"]
    assert summary["recall_reasonable"] == summary["found_reasonable"] / summary["people_reasonable"]
    assert summary["false_detections_per_frame"] >= 0
