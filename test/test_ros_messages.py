"""The ROS layer is real: generated vision_msgs match upstream and cross processes."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import HELPERS, REPO

rclpy = pytest.importorskip("rclpy")


def test_vision_msgs_type_hashes_match_upstream():
    from ament_index_python.packages import get_package_share_directory

    expected = json.loads((REPO / "test" / "data" / "vision_msgs_rihs01.json").read_text())["hashes"]
    share = Path(get_package_share_directory("vision_msgs")) / "msg"
    found = {}
    for desc in share.glob("*.json"):
        for entry in json.loads(desc.read_text())["type_hashes"]:
            if entry["type_name"].startswith("vision_msgs/"):
                found[entry["type_name"]] = entry["hash_string"]
    assert found == expected


def test_cluenet_msgs_fields():
    from cluenet_msgs.msg import Keypoint, Pedestrian, PedestrianArray

    assert list(Keypoint.get_fields_and_field_types()) == ["x", "y", "confidence", "occluded"]
    ped = Pedestrian.get_fields_and_field_types()
    assert ped["full_box"] == "vision_msgs/BoundingBox2D"
    assert ped["keypoints"] == "sequence<cluenet_msgs/Keypoint>"
    assert PedestrianArray.get_fields_and_field_types()["keypoint_names"] == "sequence<string>"


def test_detection2darray_round_trip_between_processes(ros_context):
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from vision_msgs.msg import Detection2DArray

    sys.path.insert(0, str(HELPERS))
    from publish_detections import sample_message

    topic = f"/cluenet_test/detections_{int(time.time() * 1000) % 100000}"
    node = rclpy.create_node("roundtrip_listener", context=ros_context)
    received: list = []
    node.create_subscription(Detection2DArray, topic, received.append,
                             QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    proc = subprocess.Popen([sys.executable, str(HELPERS / "publish_detections.py"), topic])
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    try:
        deadline = time.monotonic() + 40
        while not received and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.1)
        assert proc.wait(timeout=40) == 0
    finally:
        proc.kill()
        executor.shutdown()
        node.destroy_node()
    assert received, "no Detection2DArray arrived from the publisher process"
    assert received[0] == sample_message()
    det = received[0].detections[2]
    assert det.id == "ped-2" and det.bbox.size_y == 100.0
    assert list(det.results[1].pose.covariance) == [float(k + 2) for k in range(36)]
