"""Large frames reach the node's best-effort subscription over Fast DDS on one host
when both ends use the shipped profile (what the launch file sets): 640x480,
1280x720 and 2048x1024 rgb8 at 10 Hz, from a reliable and a best-effort publisher.
Receptions are counted (the node's frames_received), not answers."""
from __future__ import annotations

import os

import pytest

pytest.importorskip("rclpy")

from cluenet_ros.benchmark.dds_delivery import measure  # noqa: E402
from conftest import REPO  # noqa: E402


@pytest.mark.skipif(os.environ.get("RMW_IMPLEMENTATION", "rmw_fastrtps_cpp") != "rmw_fastrtps_cpp",
                    reason="the shipped profile is for Fast DDS")
def test_large_frames_arrive_with_the_shipped_profile(tmp_path):
    res = measure("shipped", frames=10, rate=10.0, namespace="/cluenet_dds", log_path=tmp_path / "node.log",
                  model_config=REPO / "test" / "data" / "tiny_model.yaml")
    print(res)
    for reliability, by_size in res.items():
        assert set(by_size) == {"640x480", "1280x720", "2048x1024"}
        for size, fraction in by_size.items():
            assert fraction >= 0.95, (reliability, size, res, (tmp_path / "node.log").read_text()[-3000:])


def test_transport_loss_is_reported_once_with_what_to_do(tmp_path):
    """Without the profile on either side, large frames to the best-effort subscription
    are lost in transport; the node says so once and names the fix."""
    log = tmp_path / "node.log"
    res = measure("none", sizes=((1280, 720),), frames=10, rate=10.0, reliabilities=("reliable",),
                  namespace="/cluenet_dds_loss", log_path=log, model_config=REPO / "test" / "data" / "tiny_model.yaml")
    if res["reliable"]["1280x720"] >= 1.0:
        pytest.skip("nothing was lost without the profile on this machine")
    warnings = [line for line in log.read_text().splitlines() if "lost in transport" in line]
    assert len(warnings) == 1, log.read_text()[-3000:]
    assert "FASTDDS_DEFAULT_PROFILES_FILE=" in warnings[0] and "qos.reliability:=reliable" in warnings[0]
