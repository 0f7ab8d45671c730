"""Every run-time parameter of a running pedestrian_node changes what it publishes,
and every marker it publishes carries the frame's header."""
from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import Harness, rgb_image, start_node, stop  # noqa: E402
from visualization_msgs.msg import Marker  # noqa: E402

from cluenet_ros import keypoints as kp  # noqa: E402

NS = "/cluenet_params"
H, W = 128, 192


@pytest.fixture(scope="module")
def node(ros_context):
    # one scale: these tests read single-view behaviour; the extra scale's own test switches it on
    proc = start_node(NS, "score_threshold:=0.0", "max_detections:=30", "nms_iou:=0.15", "detection_extra_scale:=0.0",
                      "detection_extra_scale_min_height:=0.0")
    harness = Harness(ros_context, NS)
    try:
        harness.wait_ready(proc)
        yield harness, proc
    finally:
        harness.close()
        print(stop(proc))


def boxes_of(det) -> np.ndarray:
    b = [(d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.size_x, d.bbox.size_y) for d in det.detections]
    b = np.array(b, dtype=np.float64).reshape(-1, 4)
    return np.c_[b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2]


def max_pairwise_iou(b: np.ndarray) -> float:
    if len(b) < 2:
        return 0.0
    x1 = np.maximum(b[:, None, 0], b[None, :, 0])
    y1 = np.maximum(b[:, None, 1], b[None, :, 1])
    x2 = np.minimum(b[:, None, 2], b[None, :, 2])
    y2 = np.minimum(b[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    iou = inter / (area[:, None] + area[None, :] - inter)
    np.fill_diagonal(iou, 0)
    return float(iou.max())


def frame(h, seed=1, topics=("detections",)):
    stamp = h.send_and_wait(rgb_image(H, W, seed=seed), topics=topics)
    return stamp


def test_nms_iou_at_start_and_at_run_time(node):
    h, _ = node
    stamp = frame(h)
    tight = boxes_of(h.outputs_for(stamp, "detections")[0])
    assert len(tight) >= 1 and max_pairwise_iou(tight) <= 0.15 + 1e-3
    try:
        assert h.set_parameters(nms_iou=1.0)[0].successful
        stamp = frame(h)
        loose = boxes_of(h.outputs_for(stamp, "detections")[0])
    finally:
        assert h.set_parameters(nms_iou=0.15)[0].successful
    assert len(loose) > len(tight) and max_pairwise_iou(loose) > 0.3


def test_mask_threshold_at_run_time(node):
    """A higher threshold marks fewer pixels as pedestrian on the same frame; 0 marks
    every pixel whose probability is above 0, and 1 none (the random model's
    probabilities are strictly between)."""
    h, _ = node

    def pixels(threshold):
        assert h.set_parameters(mask_threshold=threshold)[0].successful
        stamp = frame(h, seed=3, topics=("mask",))
        m = h.outputs_for(stamp, "mask")[0]
        return int((np.frombuffer(bytes(m.data), np.uint8) > 0).sum())

    try:
        counts = [pixels(t) for t in (0.0, 0.5, 1.0)]
    finally:
        assert h.set_parameters(mask_threshold=0.5)[0].successful
    assert counts[0] == H * W and counts[2] == 0, counts
    assert not h.set_parameters(mask_threshold=1.5)[0].successful


def test_input_scale_keeps_outputs_in_input_pixels(node):
    h, _ = node
    plain = boxes_of(h.outputs_for(frame(h, seed=2), "detections")[0])
    try:
        assert h.set_parameters(input_scale=0.5)[0].successful
        stamp = frame(h, seed=2, topics=("detections", "mask"))
    finally:
        assert h.set_parameters(input_scale=1.0)[0].successful
    mask = h.outputs_for(stamp, "mask")[0]
    assert (mask.width, mask.height) == (W, H)
    b = boxes_of(h.outputs_for(stamp, "detections")[0])
    assert len(b) >= 3
    # boxes spread over the whole frame, not squeezed into its top-left quarter
    assert b[:, 2].max() > 0.6 * W or b[:, 3].max() > 0.6 * H
    assert (b[:, 2] <= W + 1e-3).all() and (b[:, 3] <= H + 1e-3).all()
    # the model saw a different (half-size) image
    assert b.shape != plain.shape or not np.allclose(b, plain, atol=0.5)
    assert not h.set_parameters(input_scale=0.0)[0].successful


def test_flip_test_at_run_time_moves_keypoints_not_boxes(node):
    h, _ = node

    def people(stamp):
        msg = h.outputs_for(stamp, "pedestrians")[0]
        boxes = np.array([(p.full_box.center.position.x, p.full_box.center.position.y, p.full_box.size_x,
                           p.full_box.size_y) for p in msg.pedestrians])
        joints = np.array([[(k.x, k.y) for k in p.keypoints] for p in msg.pedestrians])
        order = np.lexsort(boxes.T[::-1]) if len(boxes) else []
        return boxes[order], joints[order]

    plain = people(frame(h, seed=3, topics=("pedestrians",)))
    try:
        assert h.set_parameters(flip_test=True)[0].successful
        flipped = people(frame(h, seed=3, topics=("pedestrians",)))
    finally:
        assert h.set_parameters(flip_test=False)[0].successful
    again = people(frame(h, seed=3, topics=("pedestrians",)))
    assert len(plain[0]) >= 1 and plain[0].shape == flipped[0].shape == again[0].shape
    np.testing.assert_allclose(flipped[0], plain[0], atol=1e-3)      # stage 1 untouched
    assert np.abs(flipped[1] - plain[1]).max() > 0.1                 # stage 2 saw the mirrors too
    np.testing.assert_allclose(again[1], plain[1], atol=1e-3)         # and switched back


def test_detection_flip_test_at_run_time_merges_both_views(node):
    """Stage 1's flip test (on by default) in a running node: its detections are
    mirror-symmetric, switching it off changes them, and a merge outside the
    choices is refused."""
    h, _ = node
    img = rgb_image(H, W, seed=6)
    mirror = rgb_image(H, W, seed=6)
    mirror.data = np.frombuffer(bytes(img.data), np.uint8).reshape(H, W, 3)[:, ::-1].tobytes()

    def detections(image):
        stamp = h.send_and_wait(image, topics=("detections",))
        b = boxes_of(h.outputs_for(stamp, "detections")[0])
        return b[np.lexsort(b.T[::-1])]

    def mirrored(b):
        m = np.c_[W - b[:, 2], b[:, 1], W - b[:, 0], b[:, 3]]
        return m[np.lexsort(m.T[::-1])]

    both, both_m = detections(img), detections(mirror)  # on by default
    assert not h.set_parameters(detection_flip_merge="average")[0].successful
    try:  # without suppression (nms_iou 1) the mirror's boxes must add to the frame's
        assert h.set_parameters(nms_iou=1.0, max_detections=1000)[0].successful
        union = detections(img)
        assert h.set_parameters(detection_flip_test=False)[0].successful
        plain = detections(img)
    finally:
        assert h.set_parameters(detection_flip_test=True)[0].successful
        assert h.set_parameters(nms_iou=0.15, max_detections=30)[0].successful
    assert len(both) >= 1
    assert 1 <= len(plain) < len(union), (len(plain), len(union))
    assert all(np.abs(union - b).max(axis=1).min() < 1e-3 for b in plain)  # the frame's boxes are all kept
    assert both.shape == both_m.shape
    np.testing.assert_allclose(both, mirrored(both_m), atol=0.05)
    np.testing.assert_allclose(detections(img), both, atol=1e-3)  # switched back


def test_detection_extra_scale_at_run_time(node):
    """The extra scale's views join the merge in a running node. With no suppression
    (nms_iou 1) and a cap above what the views give, they must add boxes whatever the
    (unseeded, random) weights. (Checked at the module's NMS of 0.15, the frame once gave
    the same 15 boxes with and without the extra scale in CI; 76 seeded random models
    in-process never did, so the cause is not known.)"""
    h, _ = node
    img = rgb_image(H, W, seed=8)

    def detections():
        stamp = h.send_and_wait(img, topics=("detections",))
        b = boxes_of(h.outputs_for(stamp, "detections")[0])
        return b[np.lexsort(b.T[::-1])]

    try:
        assert h.set_parameters(nms_iou=1.0, max_detections=1000)[0].successful
        one = detections()
        assert h.set_parameters(detection_extra_scale=1.5)[0].successful
        two = detections()
        assert not h.set_parameters(detection_extra_scale=5.0)[0].successful  # outside its range
        assert h.set_parameters(detection_extra_scale=0.0)[0].successful
        again = detections()
    finally:
        assert h.set_parameters(detection_extra_scale=0.0)[0].successful
        assert h.set_parameters(nms_iou=0.15, max_detections=30)[0].successful
    assert 1 <= len(one) < len(two) < 1000, (len(one), len(two))
    assert (two[:, 2] <= W + 1e-3).all() and (two[:, 3] <= H + 1e-3).all()  # still in frame pixels
    # every box of the first scale survives the union untouched
    assert all(np.abs(two - b).max(axis=1).min() < 1e-3 for b in one)
    np.testing.assert_allclose(again, one, atol=1e-3)


def test_detection_extra_scale_min_height_at_run_time(node):
    """With the extra scale on, a height floor above every box leaves the main views' boxes
    alone; at 0 the extra views add theirs; a negative floor is refused."""
    h, _ = node
    img = rgb_image(H, W, seed=8)

    def detections():
        stamp = h.send_and_wait(img, topics=("detections",))
        b = boxes_of(h.outputs_for(stamp, "detections")[0])
        return b[np.lexsort(b.T[::-1])]

    try:
        assert h.set_parameters(nms_iou=1.0, max_detections=1000)[0].successful
        one = detections()
        assert h.set_parameters(detection_extra_scale=1.5, detection_extra_scale_min_height=4096.0)[0].successful
        floored = detections()
        assert h.set_parameters(detection_extra_scale_min_height=0.0)[0].successful
        two = detections()
        assert not h.set_parameters(detection_extra_scale_min_height=-1.0)[0].successful  # outside its range
    finally:
        assert h.set_parameters(detection_extra_scale=0.0, detection_extra_scale_min_height=0.0)[0].successful
        assert h.set_parameters(nms_iou=0.15, max_detections=30)[0].successful
    np.testing.assert_allclose(floored, one, atol=1e-3)
    assert len(two) > len(one)


def test_perspective_rescoring_at_run_time(node):
    """Switched on (every box an anchor, as random weights give few confident ones), the
    node publishes its plain boxes, none moved, with the scores the frame's height line
    gives them (boxes falling to the threshold leave); switched off, the plain scores
    again. Random boxes seldom line up: the first of a few frames whose plain boxes fit a
    line is used."""
    from cluenet_ros.inference.perspective import PerspectiveSettings, fit_height_line, rescore

    h, _ = node

    def detections(img):
        stamp = h.send_and_wait(img, topics=("detections",))
        det = h.outputs_for(stamp, "detections")[0]
        b = boxes_of(det)
        s = np.array([d.results[0].hypothesis.score for d in det.detections])
        order = np.lexsort(b.T[::-1])
        return b[order], s[order]

    settings = PerspectiveSettings(anchor_score=0.01, tolerance=0.1, sigma=0.05)
    for seed in range(9, 40):
        img = rgb_image(H, W, seed=seed)
        one, s_one = detections(img)
        if fit_height_line(one, s_one, settings.anchor_score, H) is not None:
            break
    else:
        pytest.fail("no frame of seeds 9-39 gave boxes on a height line")
    on = {"perspective.enable": True, "perspective.anchor_score": settings.anchor_score,
          "perspective.tolerance": settings.tolerance, "perspective.sigma": settings.sigma}
    try:
        assert all(r.successful for r in h.set_parameters(**on))
        two, s_two = detections(img)
        assert not h.set_parameters(**{"perspective.sigma": 0.0})[0].successful  # outside its range
        assert h.set_parameters(**{"perspective.enable": False})[0].successful
        again, s_again = detections(img)
    finally:
        h.set_parameters(**{"perspective.enable": False, "perspective.anchor_score": 0.97,
                            "perspective.tolerance": 0.35, "perspective.sigma": 0.1})
    expected = rescore(one, s_one, H, settings)
    assert 1 <= len(two) <= len(one) and (expected < s_one - 1e-3).any()
    at = [int(np.abs(one - b).max(axis=1).argmin()) for b in two]
    assert all(np.abs(one[k] - b).max() < 1e-3 for k, b in zip(at, two))   # boxes kept, none moved
    np.testing.assert_allclose(s_two, expected[at], atol=1e-4)
    np.testing.assert_allclose(again, one, atol=1e-3)
    np.testing.assert_allclose(s_again, s_one, atol=1e-5)


def test_random_weights_are_the_same_model_in_every_run(node, ros_context):
    """weights:=random is seeded, so a second node gives the first one's detections."""
    h, _ = node
    img = rgb_image(H, W, seed=9)
    mine = boxes_of(h.outputs_for(h.send_and_wait(img, topics=("detections",)), "detections")[0])
    ns = NS + "_again"
    proc = start_node(ns, "score_threshold:=0.0", "max_detections:=30", "nms_iou:=0.15", "detection_extra_scale:=0.0")
    other = Harness(ros_context, ns)
    try:
        other.wait_ready(proc)
        theirs = boxes_of(other.outputs_for(other.send_and_wait(img, topics=("detections",)), "detections")[0])
    finally:
        other.close()
        stop(proc)
    assert len(mine) >= 1 and mine.shape == theirs.shape
    np.testing.assert_allclose(theirs, mine, atol=1e-3)


@pytest.mark.parametrize("switch", ["detections", "pedestrians", "mask", "skeletons", "debug_image"])
def test_publish_switches(node, switch):
    h, _ = node
    default = True  # debug_image: on demand, and the harness subscribes to it
    others = tuple(t for t in ("detections", "pedestrians", "mask", "skeletons") if t != switch)
    try:
        for value in (not default, default):
            assert h.set_parameters(**{f"publish.{switch}": value})[0].successful
            stamp = frame(h, seed=3, topics=others + ((switch,) if value else ()))
            h.spin_until(lambda: False, 0.5)  # anything late would have come by now
            assert h._stamped(switch, stamp) == value, (switch, value)
    finally:
        assert h.set_parameters(**{f"publish.{switch}": default})[0].successful


def test_every_marker_has_the_frame_header_and_every_joint_its_keypoint(node):
    h, _ = node
    msg = rgb_image(H, W, seed=4)
    for scale in (0.001, 0.01):
        assert h.set_parameters(marker_scale=scale)[0].successful
        stamp = h.send_and_wait(msg, topics=("pedestrians", "skeletons"))
        ped = h.outputs_for(stamp, "pedestrians")[0]
        sk = [m for m in h.received["skeletons"] if m.markers and m.markers[0].header.stamp.sec == stamp][-1]
        for m in sk.markers:
            assert m.header.frame_id == "test_camera"
            assert (m.header.stamp.sec, m.header.stamp.nanosec) == (stamp, 0)
        assert sk.markers[0].action == Marker.DELETEALL
        bones, joints = sk.markers[1], sk.markers[2]
        assert bones.ns == joints.ns and bones.id != joints.id
        kps = np.array([[k.x, k.y] for p in ped.pedestrians for k in p.keypoints]).reshape(-1, 13, 2)
        pts = np.array([[q.x, q.y, q.z] for q in joints.points]).reshape(-1, 13, 3)
        assert len(pts) == len(kps) >= 1
        assert np.allclose(pts[..., :2], kps * scale, rtol=1e-5, atol=1e-6) and not pts[..., 2].any()
        ends = np.array([[q.x, q.y] for q in bones.points]).reshape(len(kps), len(kp.SKELETON), 2, 2)
        for e, (a, b) in enumerate(kp.SKELETON):
            assert np.allclose(ends[:, e, 0], kps[:, a] * scale, rtol=1e-5, atol=1e-6)
            assert np.allclose(ends[:, e, 1], kps[:, b] * scale, rtol=1e-5, atol=1e-6)
        occluded = [k.occluded for p in ped.pedestrians for k in p.keypoints]
        assert [c.r > 0.5 for c in joints.colors] == occluded
    assert h.set_parameters(marker_scale=0.001)[0].successful
