"""pedestrian_node over DDS: track ids across frames, the debug image built only
while someone subscribes, and ground positions from camera_info."""
from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import Harness, rgb_image, start_node, stop  # noqa: E402
from rclpy.qos import QoSProfile, ReliabilityPolicy  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image  # noqa: E402

from cluenet_ros.ground import GroundCamera, ground_positions  # noqa: E402

NS = "/cluenet_features"
H, W = 97, 131
FOCAL, CAM_HEIGHT, PITCH = 150.0, 1.4, 0.05


@pytest.fixture(scope="module")
def node(ros_context):
    proc = start_node(NS, "score_threshold:=0.0", "max_detections:=5", "ground.enable:=true",
                      f"ground.camera_height:={CAM_HEIGHT}", f"ground.camera_pitch:={PITCH}",
                      "diagnostics_period:=0.2")
    # no subscription to debug_image: the node must not build it
    harness = Harness(ros_context, NS, topics=("detections", "pedestrians", "skeletons", "ground_detections",
                                               "ground_markers"))
    harness.pub_info = harness.node.create_publisher(CameraInfo, f"{NS}/camera_info",
                                                     QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    try:
        harness.wait_ready(proc)
        harness.spin_until(lambda: harness.pub_info.get_subscription_count() > 0, 20)
        yield harness, proc
    finally:
        harness.close()
        print(stop(proc))


def camera_info(stamp: int) -> CameraInfo:
    info = CameraInfo(width=W, height=H, distortion_model="plumb_bob", d=[0.0] * 5)
    info.k = [FOCAL, 0.0, W / 2, 0.0, FOCAL, H / 2, 0.0, 0.0, 1.0]
    info.header.stamp.sec, info.header.frame_id = stamp, "test_camera"
    return info


def send_with_info(h, msg, topics, with_info=True):
    stamp = h._stamp + 1
    if with_info:
        h.pub_info.publish(camera_info(stamp))
    return h.send_and_wait(msg, topics=topics)


def test_track_ids_persist_over_frames(node):
    h, _ = node
    msg = rgb_image(H, W, seed=11)
    stamps = [send_with_info(h, msg, ("detections", "pedestrians")) for _ in range(3)]
    ids = [[d.id for d in h.outputs_for(s, "detections")[0].detections] for s in stamps]
    assert len(ids[0]) >= 1 and ids[0] == ids[1] == ids[2]  # the same frame again: the same tracks
    ped = h.outputs_for(stamps[-1], "pedestrians")[0]
    assert [p.track_id for p in ped.pedestrians] == [int(i) for i in ids[0]]
    # another image: what matches an old track keeps its id, the rest get ids never used before
    other = send_with_info(h, rgb_image(H, W, seed=12), ("detections",))
    new_ids = [int(d.id) for d in h.outputs_for(other, "detections")[0].detections]
    old = {int(i) for i in ids[0]}
    assert len(set(new_ids)) == len(new_ids)
    assert all(i in old or i > max(old) for i in new_ids)


def test_ground_positions_from_camera_info(node):
    h, _ = node
    stamp = send_with_info(h, rgb_image(H, W, seed=13), ("pedestrians", "ground_detections", "ground_markers"))
    ped = h.outputs_for(stamp, "pedestrians")[0]
    g = h.outputs_for(stamp, "ground_detections")[0]
    assert g.header.frame_id == "test_camera"
    boxes = np.array([[p.full_box.center.position.x - p.full_box.size_x / 2,
                       p.full_box.center.position.y - p.full_box.size_y / 2,
                       p.full_box.center.position.x + p.full_box.size_x / 2,
                       p.full_box.center.position.y + p.full_box.size_y / 2] for p in ped.pedestrians])
    cam = GroundCamera(FOCAL, FOCAL, W / 2, H / 2, CAM_HEIGHT, PITCH)
    expected = ground_positions(cam, boxes, 1.7)
    valid = [p.id for p, ok in zip(ped.pedestrians, expected.valid()) if ok]
    assert [d.id for d in g.detections] == valid  # boxes ending above the horizon have no ground point
    assert len(valid) >= 1
    for d in g.detections:
        i = [p.id for p in ped.pedestrians].index(d.id)
        c = d.bbox.center.position
        assert (c.x, c.y, c.z) == pytest.approx(tuple(expected.centres[i]), rel=1e-4, abs=1e-4)
        assert d.bbox.size.y == pytest.approx(1.7)
        assert d.results[0].hypothesis.class_id == "pedestrian"
    sk = [m for m in h.received["ground_markers"] if m.markers[0].header.stamp.sec == stamp][-1]
    cylinders = [m for m in sk.markers[1:] if m.ns == "cluenet_ground"]
    assert [str(m.id) for m in cylinders] == valid


def test_frame_without_camera_info_gets_no_ground_positions_and_the_node_keeps_going(node):
    h, proc = node
    stamp = send_with_info(h, rgb_image(H, W, seed=14), ("detections",), with_info=False)
    h.spin_until(lambda: False, 0.6)
    assert not h.outputs_for(stamp, "ground_detections")
    assert proc.poll() is None
    assert int(h.diagnostics()["ground_frames_without_camera_info"]) >= 1
    stamp = send_with_info(h, rgb_image(H, W, seed=14), ("detections", "ground_detections"))


def test_debug_image_only_while_subscribed(node):
    h, _ = node
    for seed in (20, 21):
        send_with_info(h, rgb_image(H, W, seed=seed), ("detections",))
    h.spin_until(lambda: False, 0.5)
    assert h.diagnostics()["debug_images_published"] == "0"  # nobody listened: never drawn
    got = []
    sub = h.node.create_subscription(Image, f"{NS}/debug_image", got.append,
                                     QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE))
    assert h.spin_until(lambda: sub.get_publisher_count() > 0, 20)
    stamp = None
    for _ in range(10):  # until the node has seen the subscription too
        stamp = send_with_info(h, rgb_image(H, W, seed=22), ("detections",))
        if h.spin_until(lambda: any(m.header.stamp.sec == stamp for m in got), 2.0):
            break
    img = [m for m in got if m.header.stamp.sec == stamp][0]
    assert (img.width, img.height, img.encoding) == (W, H, "rgb8")
    h.spin_until(lambda: False, 0.5)
    published = int(h.diagnostics()["debug_images_published"])
    assert published >= 1
    h.node.destroy_subscription(sub)
    h.spin_until(lambda: False, 1.5)  # the node notices the subscription is gone
    for seed in (23, 24):
        send_with_info(h, rgb_image(H, W, seed=seed), ("detections",))
    h.spin_until(lambda: False, 0.5)
    assert int(h.diagnostics()["debug_images_published"]) == published


def test_tracking_switched_off_and_on_at_run_time(node):
    h, _ = node
    msg = rgb_image(H, W, seed=30)
    assert h.set_parameters(**{"tracking.enable": False})[0].successful
    try:
        stamp = send_with_info(h, msg, ("detections", "pedestrians"))
        ped = h.outputs_for(stamp, "pedestrians")[0]
        n = len(ped.pedestrians)
        assert [p.id for p in ped.pedestrians] == [str(i) for i in range(n)]  # ranks, as without a tracker
        assert all(p.track_id == -1 for p in ped.pedestrians)
    finally:
        assert h.set_parameters(**{"tracking.enable": True})[0].successful
    stamp = send_with_info(h, msg, ("pedestrians",))
    assert all(p.track_id >= 1 for p in h.outputs_for(stamp, "pedestrians")[0].pedestrians)
    bad = h.set_parameters(**{"tracking.match_iou": 1.5})[0]
    assert not bad.successful
