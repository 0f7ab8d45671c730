"""FrameResult -> ROS messages, field by field, for every pedestrian (no DDS)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy")

from std_msgs.msg import Header  # noqa: E402

from cluenet_ros import keypoints as kp  # noqa: E402
from cluenet_ros.inference.pipeline import FrameResult  # noqa: E402
from cluenet_ros.ros import messages  # noqa: E402


@pytest.fixture
def result() -> FrameResult:
    rng = np.random.default_rng(0)
    n = 3
    boxes = np.array([[10, 20, 50, 140], [100, 5, 130, 60], [0, 0, 7, 90]], np.float32)
    kps = np.concatenate([rng.uniform(0, 150, (n, 13, 2)), rng.uniform(0, 1, (n, 13, 1))], axis=2).astype(np.float32)
    return FrameResult(boxes=boxes, scores=np.array([0.9, 0.7, 0.55], np.float32),
                       visible_boxes=boxes * np.array([1, 1, 1, 0.8], np.float32),
                       visibility=np.array([0.8, 0.5, 0.0], np.float32), keypoints=kps,
                       occluded=rng.random((n, 13)) > 0.5, mask=np.zeros((150, 160), np.uint8))


def header() -> Header:
    h = Header(frame_id="cam_front")
    h.stamp.sec, h.stamp.nanosec = 12, 345
    return h


def box_of(b) -> list[float]:
    cx, cy = b.center.position.x, b.center.position.y
    return [cx - b.size_x / 2, cy - b.size_y / 2, cx + b.size_x / 2, cy + b.size_y / 2]


def test_detections_carry_every_box_score_and_id(result):
    msg = messages.detections(result, header())
    assert msg.header == header() and len(msg.detections) == 3
    for i, d in enumerate(msg.detections):
        assert d.header == header() and d.id == str(i)
        assert box_of(d.bbox) == pytest.approx(result.boxes[i].tolist(), abs=1e-4)
        assert (d.bbox.size_x, d.bbox.size_y) == pytest.approx(
            (result.boxes[i, 2] - result.boxes[i, 0], result.boxes[i, 3] - result.boxes[i, 1]))
        assert len(d.results) == 1 and d.results[0].hypothesis.class_id == "pedestrian"
        assert d.results[0].hypothesis.score == pytest.approx(result.scores[i])


def test_pedestrians_carry_boxes_visibility_and_every_keypoint(result):
    msg = messages.pedestrians(result, header())
    assert msg.header == header() and list(msg.keypoint_names) == list(kp.NAMES)
    for i, p in enumerate(msg.pedestrians):
        assert p.id == str(i) and p.score == pytest.approx(result.scores[i])
        assert box_of(p.full_box) == pytest.approx(result.boxes[i].tolist(), abs=1e-4)
        assert box_of(p.visible_box) == pytest.approx(result.visible_boxes[i].tolist(), abs=1e-4)
        assert p.visibility == pytest.approx(result.visibility[i])
        got = np.array([[k.x, k.y, k.confidence] for k in p.keypoints])
        assert np.allclose(got, result.keypoints[i], atol=1e-5)
        assert [k.occluded for k in p.keypoints] == result.occluded[i].tolist()
