"""pedestrian_node as a real process over DDS: outputs, parameters, bad input,
compressed input, flooding, and start-up errors."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import Harness, rgb_image, start_node, stop  # noqa: E402
from sensor_msgs.msg import CompressedImage  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

NS = "/cluenet_test"


@pytest.fixture(scope="module")
def node(ros_context):
    proc = start_node(NS, "score_threshold:=0.0", "max_detections:=5", "publish.debug_image:=true",
                      "subscribe_compressed:=true")
    harness = Harness(ros_context, NS)
    try:
        harness.wait_ready(proc)
        yield harness, proc
    finally:
        harness.close()
        log = stop(proc)
        print(log)


def test_all_outputs_with_matching_headers_and_contents(node):
    h, proc = node
    msg = rgb_image(97, 131, seed=1)
    stamp = h.send_and_wait(msg, topics=("detections", "pedestrians", "mask", "skeletons", "debug_image"))
    det = h.outputs_for(stamp, "detections")[0]
    ped = h.outputs_for(stamp, "pedestrians")[0]
    mask = h.outputs_for(stamp, "mask")[0]
    debug = h.outputs_for(stamp, "debug_image")[0]
    sk = [m for m in h.received["skeletons"] if m.markers[0].header.stamp.sec == stamp][0]
    for m in (det, ped, mask, debug):
        assert m.header.frame_id == "test_camera"
    n = len(det.detections)
    assert 1 <= n <= 5 and len(ped.pedestrians) == n
    # tracking is on by default: ids are track ids, the same on both topics and in the markers
    ids = [d.id for d in det.detections]
    assert ids == [p.id for p in ped.pedestrians] and len(set(ids)) == n
    assert [p.track_id for p in ped.pedestrians] == [int(i) for i in ids] and min(int(i) for i in ids) >= 1
    for d, p in zip(det.detections, ped.pedestrians):
        assert d.results[0].hypothesis.class_id == "pedestrian"
        assert d.results[0].hypothesis.score == pytest.approx(p.score, abs=1e-6)
        assert d.bbox.size_x == pytest.approx(p.full_box.size_x, abs=1e-3)
        assert len(p.keypoints) == 13 and 0.0 <= p.visibility <= 1.0
    assert list(ped.keypoint_names)[:2] == ["head", "left_shoulder"]
    assert (mask.width, mask.height, mask.encoding, mask.step) == (131, 97, "mono8", 131)
    assert set(np.frombuffer(mask.data, np.uint8).tolist()) <= {0, 255}
    assert (debug.width, debug.height, debug.encoding) == (131, 97, "rgb8")
    assert sk.markers[0].action == Marker.DELETEALL
    assert len(sk.markers) == 3 + n
    bones, joints = sk.markers[1], sk.markers[2]
    labels = sk.markers[3:]
    assert [m.id for m in labels] == [int(i) for i in ids] and [m.text for m in labels] == [f"#{i}" for i in ids]
    assert all(m.type == Marker.TEXT_VIEW_FACING and m.ns == "cluenet/tracks" for m in labels)
    # each pedestrian's 28 bone ends carry its track's colour, the same as its label's
    for k, m in enumerate(labels):
        c = bones.colors[28 * k]
        assert (c.r, c.g, c.b) == pytest.approx((m.color.r, m.color.g, m.color.b))
    assert joints.type == Marker.SPHERE_LIST and len(joints.points) == 13 * n and len(joints.colors) == 13 * n
    assert bones.type == Marker.LINE_LIST and len(bones.points) == 28 * n
    first = ped.pedestrians[0].keypoints[0]
    assert joints.points[0].x == pytest.approx(first.x * 0.001) and joints.points[0].y == pytest.approx(first.y * 0.001)
    occluded = [k.occluded for p in ped.pedestrians for k in p.keypoints]
    assert [c.r > 0.5 for c in joints.colors] == occluded  # orange where estimated under occlusion


@pytest.mark.parametrize("encoding", ["bgr8", "rgba8", "bgra8", "mono8"])
def test_encodings(node, encoding):
    h, _ = node
    stamp = h.send_and_wait(rgb_image(64, 80, seed=2, encoding=encoding), topics=("mask",))
    assert h.outputs_for(stamp, "mask")[0].width == 80


def test_runtime_parameter_change(node):
    h, _ = node
    res = h.set_parameters(max_detections=2)
    assert res[0].successful
    stamp = h.send_and_wait(rgb_image(97, 131, seed=3), topics=("detections",))
    assert len(h.outputs_for(stamp, "detections")[0].detections) <= 2
    # (with tracking on, tracks continue on detections down to tracking.low_threshold)
    assert h.set_parameters(score_threshold=1.0, **{"tracking.low_threshold": 1.0})[0].successful
    stamp = h.send_and_wait(rgb_image(97, 131, seed=3), topics=("detections",))
    assert len(h.outputs_for(stamp, "detections")[0].detections) == 0
    assert h.set_parameters(**{"tracking.low_threshold": 0.1})[0].successful
    bad = h.set_parameters(score_threshold=1.5)[0]
    assert not bad.successful and bad.reason
    ro = h.set_parameters(device="cuda")[0]
    assert not ro.successful and "read-only" in ro.reason.lower()
    assert h.set_parameters(score_threshold=0.0, max_detections=5)[0].successful


def malformed():
    wrong_enc = rgb_image(20, 20)
    wrong_enc.encoding = "yuv422"
    short = rgb_image(20, 20)
    short.data = bytes(short.data)[:100]
    bad_step = rgb_image(20, 20)
    bad_step.step = 10
    empty = rgb_image(20, 20)
    empty.height = 0
    empty.data = b""
    return {"encoding": wrong_enc, "truncated": short, "step": bad_step, "empty": empty}


@pytest.mark.parametrize("kind", ["encoding", "truncated", "step", "empty", "corrupt_jpeg"])
def test_malformed_frames_are_skipped_and_the_node_keeps_working(node, kind):
    h, proc = node
    if kind == "corrupt_jpeg":
        bad = CompressedImage(format="jpeg", data=b"\xff\xd8\xff\xe0garbage")
        h.next_stamp(bad)
        h.pub_compressed.publish(bad)
    else:
        bad = malformed()[kind]
        h.next_stamp(bad)
        h.pub_raw.publish(bad)
    bad_stamp = bad.header.stamp.sec
    h.spin_until(lambda: False, 0.5)
    stamp = h.send_and_wait(rgb_image(50, 60, seed=4), topics=("detections", "mask"))
    assert proc.poll() is None
    assert not h.outputs_for(bad_stamp, "detections")
    assert h.outputs_for(stamp, "mask")[0].width == 60


@pytest.mark.parametrize("ext,fmt", [(".jpg", "jpeg"), (".png", "png")])
def test_compressed_input(node, ext, fmt):
    h, _ = node
    rgb = np.random.default_rng(5).integers(0, 256, (70, 90, 3), dtype=np.uint8)
    ok, buf = cv2.imencode(ext, rgb[..., ::-1])
    msg = CompressedImage(format=fmt, data=buf.tobytes())
    msg.header.frame_id = "test_camera"
    stamp = h.send_and_wait(msg, topics=("mask", "detections"), compressed=True)
    assert h.outputs_for(stamp, "mask")[0].width == 90


def test_flood_drops_frames_instead_of_queueing(node):
    h, _ = node
    first = h._stamp + 1
    msg = rgb_image(240, 320, seed=6)
    for _ in range(60):
        h.next_stamp(msg)
        h.pub_raw.publish(msg)
    last = h._stamp
    assert h.spin_until(lambda: bool(h.outputs_for(last, "mask")), 60), "the newest frame was never processed"
    processed = {m.header.stamp.sec for m in h.received["mask"] if first <= m.header.stamp.sec <= last}
    assert len(processed) < 30  # most of the 60 frames were dropped, not queued
    h.spin_until(lambda: False, 1.5)  # let a diagnostics message go out
    diag = h.received["diagnostics"][-1].status[0]
    values = {kv.key: kv.value for kv in diag.values}
    # frames replaced in the node's one-frame mailbox are counted; the rest were
    # already overwritten in the subscription's keep-last history
    assert int(values["frames_dropped"]) >= 1
    assert int(values["frames_processed"]) + int(values["frames_dropped"]) + int(values["frames_bad"]) \
        + int(values["frames_failed"]) <= int(values["frames_received"]) + 1
    assert float(values["latency_ms_median"]) >= 0
    assert values["backend"] == "torch"  # what the harness asked for


def run_expecting_failure(tmp_path, weights):
    proc = start_node("/cluenet_fail", weights=weights)
    out, _ = proc.communicate(timeout=90)
    return proc.returncode, out


def test_missing_and_corrupt_weights_exit_with_a_clear_error(tmp_path):
    code, out = run_expecting_failure(tmp_path, str(tmp_path / "nope.pt"))
    assert code != 0 and "nope.pt: checkpoint file not found" in out
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"not a checkpoint")
    code, out = run_expecting_failure(tmp_path, str(corrupt))
    assert code != 0 and "corrupt.pt: not a readable checkpoint" in out
    assert "Traceback" not in out
