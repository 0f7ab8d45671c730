"""`cluenet demo` (what `make demo` runs): synthetic stream -> node over DDS -> files."""
import json

import pytest

pytest.importorskip("rclpy")

from cluenet_ros.cli import main as cluenet  # noqa: E402


def test_demo_writes_its_outputs(tmp_path):
    out = tmp_path / "demo"
    # the capsule world: the realistic one (the default) needs the anny cache, built by `make demo`
    assert cluenet(["demo", "--out", str(out), "--frames", "6", "--rate", "3", "--world", "capsules",
                    "--param", "max_detections:=2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frames_sent"] == 6
    assert 1 <= summary["frames_answered"] <= 6
    assert summary["frames_answered"] + summary["frames_dropped_by_node"] == 6
    assert summary["latency_ms_median"] > 0
    # --param reaches the node: no frame reports more than two people
    assert summary["node_parameters"] == ["max_detections:=2"]
    assert 0 <= summary["pedestrians_per_frame_mean"] <= 2
    assert (out / "grid.png").stat().st_size > 1000 and (out / "demo.mp4").stat().st_size > 1000
    assert len(list((out / "stream" / "camera" / "images").glob("*.png"))) == 6
    # the demo says how many of the stream's people the node found (test_demo_recall checks the counting)
    assert summary["world"] == "capsules" and summary["people_reasonable"] > 0
    assert 0 <= summary["found_reasonable"] <= summary["people_reasonable"]
    assert summary["recall_reasonable"] == summary["found_reasonable"] / summary["people_reasonable"]
    assert summary["false_detections_per_frame"] >= 0


@pytest.mark.parametrize("bad, message", [("max_detections=2", "is not NAME:=VALUE"),
                                          (":=2", "is not NAME:=VALUE"),
                                          ("no_such_thing:=1", "is not a pedestrian_node parameter")])
def test_demo_refuses_a_malformed_or_unknown_parameter(tmp_path, capsys, bad, message):
    with pytest.raises(SystemExit) as exc:
        cluenet(["demo", "--out", str(tmp_path / "d"), "--param", bad])
    assert exc.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "d").exists()  # refused before anything ran
