"""cluenet_ros.ros.cdr against rclpy: each encoder's bytes against
``serialize_message`` of the message the existing builders make, for empty,
single and crowded frames, with and without track ids, at header frame ids and
ids of every length modulo 4 and 8 (so every alignment case occurs), and the
mask at odd widths.

Fast DDS leaves its padding bytes uninitialised (they differ from call to call),
so the comparison is byte for byte on every byte that carries data, found by an
independent walk over the message's rosidl type description (``data_mask``), with
the encoder's padding required to be zeros; both byte strings must also decode to
the same message."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rclpy")

from rclpy.serialization import deserialize_message, serialize_message  # noqa: E402
from rosidl_parser.definition import AbstractSequence, AbstractString, Array, BasicType, NamespacedType  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from cluenet_ros import keypoints as kp  # noqa: E402
from cluenet_ros.inference.pipeline import FrameResult  # noqa: E402
from cluenet_ros.ros import cdr, messages  # noqa: E402

_SIZES = {"boolean": 1, "octet": 1, "char": 1, "uint8": 1, "int8": 1, "int16": 2, "uint16": 2, "int32": 4,
          "uint32": 4, "float": 4, "int64": 8, "uint64": 8, "double": 8}


def data_mask(msg) -> np.ndarray:
    """True on each payload byte (after the 4-byte encapsulation header) that holds
    data rather than alignment padding, from the message's type description:
    primitives aligned to their size, strings and sequence counts to 4."""
    spans: list[tuple[int, int]] = []

    def put(pos: int, size: int, align: int) -> int:
        pos += -pos % align
        spans.append((pos, size))
        return pos + size

    def elements(t, values, pos: int) -> int:
        if isinstance(t, BasicType):  # packed back to back after the first one's alignment
            size = _SIZES[t.typename]
            return put(pos, size * len(values), size) if len(values) else pos
        for v in values:
            pos = field(t, v, pos)
        return pos

    def field(t, value, pos: int) -> int:
        if isinstance(t, BasicType):
            return put(pos, _SIZES[t.typename], _SIZES[t.typename])
        if isinstance(t, AbstractString):
            return put(pos, 4 + len(value.encode()) + 1, 4)
        if isinstance(t, NamespacedType):
            return struct(value, pos)
        if isinstance(t, AbstractSequence):
            return elements(t.value_type, value, put(pos, 4, 4))
        if isinstance(t, Array):
            return elements(t.value_type, value, pos)
        raise TypeError(f"no layout rule for {t!r}")

    def struct(m, pos: int) -> int:
        for name, t in zip(m.get_fields_and_field_types(), m.SLOT_TYPES):
            pos = field(t, getattr(m, name), pos)
        return pos

    end = struct(msg, 0)
    mask = np.zeros(end, bool)
    for start, size in spans:
        mask[start:start + size] = True
    return mask


def assert_same_message(ours: bytes, reference_msg) -> None:
    """``ours`` carries exactly what rclpy serialises for ``reference_msg``."""
    assert type(ours) is bytes  # Publisher.publish takes bytes (not bytearray) as serialised
    theirs = serialize_message(reference_msg)
    assert len(ours) == len(theirs)
    assert ours[:4] == theirs[:4] == b"\x00\x01\x00\x00"
    mask = data_mask(reference_msg)
    assert mask.size == len(theirs) - 4  # the walk accounts for every byte
    a = np.frombuffer(ours, np.uint8)[4:]
    b = np.frombuffer(theirs, np.uint8)[4:]
    differ = np.flatnonzero(mask & (a != b))
    assert differ.size == 0, f"data bytes differ at payload offsets {differ[:10].tolist()}"
    assert not a[~mask].any(), "padding written as something other than zeros"
    kind = type(reference_msg)
    assert deserialize_message(ours, kind) == deserialize_message(theirs, kind)


def frame(people: int, track_ids=None, width: int = 641, height: int = 363, seed: int = 0) -> FrameResult:
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(0, width * 0.9, people)
    y1 = rng.uniform(0, height * 0.5, people)
    boxes = np.stack([x1, y1, x1 + rng.uniform(3, 90, people), y1 + rng.uniform(5, 200, people)], 1)
    kps = np.concatenate([rng.uniform(0, min(width, height), (people, kp.NUM_KEYPOINTS, 2)),
                          rng.uniform(0, 1, (people, kp.NUM_KEYPOINTS, 1))], -1)
    mask = (rng.random((height, width)) < 0.2).astype(np.uint8) * 255
    return FrameResult(boxes=boxes.astype(np.float32), scores=rng.uniform(0.3, 1, people).astype(np.float32),
                       visible_boxes=(boxes * [1, 1, 1, 0.7]).astype(np.float32),
                       visibility=rng.uniform(0, 1, people).astype(np.float32), keypoints=kps.astype(np.float32),
                       occluded=rng.random((people, kp.NUM_KEYPOINTS)) < 0.3, mask=mask,
                       track_ids=None if track_ids is None else np.asarray(track_ids, np.int64))


def header(frame_id: str, sec: int = 1_700_000_123, nanosec: int = 987_654_321) -> Header:
    h = Header(frame_id=frame_id)
    h.stamp.sec, h.stamp.nanosec = sec, nanosec
    return h


# frame ids of lengths 0-9 and more (every remainder modulo 4 and 8) and one with
# multi-byte UTF-8 characters (the count is of bytes, not characters)
FRAME_IDS = ["", "a", "ab", "cam", "cam0", "camera", "cam_left", "camera_fr", "front_camera_optical_frame",
             "kamera_vörn_ü"]
# (people, track ids): untracked ranks "0".."9", and track ids of 1 to 6 digits
RESULTS = [(0, None), (0, []), (1, None), (1, [7]), (3, [12345, 7, 99]), (10, None),
           (10, [1, 22, 333, 4444, 55555, 666666, 7, 88, 999, 12345])]


def _case_id(case) -> str:
    n, tids = case
    return f"{n}people-" + ("untracked" if tids is None else "tracked")


@pytest.mark.parametrize("case", RESULTS, ids=_case_id)
@pytest.mark.parametrize("frame_id", FRAME_IDS)
def test_detections_bytes_are_rclpys(case, frame_id):
    result = frame(case[0], case[1], seed=case[0])
    h = header(frame_id)
    assert_same_message(cdr.detections(result, h), messages.detections(result, h))


@pytest.mark.parametrize("case", RESULTS, ids=_case_id)
@pytest.mark.parametrize("frame_id", FRAME_IDS)
def test_pedestrians_bytes_are_rclpys(case, frame_id):
    result = frame(case[0], case[1], seed=case[0] + 1)
    h = header(frame_id)
    assert_same_message(cdr.pedestrians(result, h), messages.pedestrians(result, h))


@pytest.mark.parametrize("case", RESULTS, ids=_case_id)
@pytest.mark.parametrize("frame_id", FRAME_IDS)
def test_skeleton_markers_bytes_are_rclpys(case, frame_id):
    result = frame(case[0], case[1], seed=case[0] + 2)
    h = header(frame_id)
    assert_same_message(cdr.skeleton_markers(result, h, scale=0.001),
                        messages.skeleton_markers(result, h, scale=0.001))


@pytest.mark.parametrize("namespace, scale, lifetime_s", [("cluenet", 1.0, 0.0), ("ns", 0.37, 0.25),
                                                           ("a", 2.5, 1.75), ("skeletons_of_cam3", 1e-6, 12.0)])
def test_skeleton_marker_options_bytes_are_rclpys(namespace, scale, lifetime_s):
    for result in (frame(4, [3, 17, 250, 9999], seed=5), frame(4, None, seed=6)):
        h = header("cam_1")
        assert_same_message(cdr.skeleton_markers(result, h, namespace, scale, lifetime_s),
                            messages.skeleton_markers(result, h, namespace, scale, lifetime_s))


@pytest.mark.parametrize("width, height", [(2, 2), (3, 5), (641, 363), (1279, 719), (2048, 1024)])
@pytest.mark.parametrize("frame_id", ["", "a", "abc", "camera_fr"])
def test_mask_image_bytes_are_rclpys(width, height, frame_id):
    from sensor_msgs.msg import Image

    from cluenet_ros.ros.image_codec import mono8_message

    mask = frame(1, width=width, height=height, seed=width).mask
    h = header(frame_id)
    assert_same_message(cdr.mono8_image(mask, h), mono8_message(mask, h, Image))
    # a non-contiguous view is written as its pixels, like the message path does
    view = np.asfortranarray(mask)
    assert_same_message(cdr.mono8_image(view, h), mono8_message(view, h, Image))


@pytest.mark.parametrize("width, height", [(1, 1), (3, 5), (641, 363), (2048, 1024)])
@pytest.mark.parametrize("frame_id", ["", "ab", "camera_fr"])
def test_debug_image_bytes_are_rclpys(width, height, frame_id):
    from sensor_msgs.msg import Image

    from cluenet_ros.ros.image_codec import rgb8_message

    rgb = np.random.default_rng(width).integers(0, 256, (height, width, 3), dtype=np.uint8)
    h = header(frame_id)
    assert_same_message(cdr.rgb8_image(rgb, h), rgb8_message(rgb, h, Image))
    view = rgb[:, ::-1]  # the node's BGR input reversed: a strided view, written as its pixels
    assert_same_message(cdr.rgb8_image(view, h), rgb8_message(view, h, Image))
    with pytest.raises(ValueError, match="rgb8 needs"):
        cdr.rgb8_image(rgb[..., 0], h)


def test_the_comparison_catches_a_changed_data_byte_or_dirty_padding():
    """The checker itself: one data byte changed, or a padding byte set, fails it."""
    result = frame(2, [5, 61], seed=3)
    h = header("ab")
    ref = messages.pedestrians(result, h)
    ours = cdr.pedestrians(result, h)
    mask = data_mask(ref)
    assert mask.sum() > 0.8 * mask.size and (~mask).sum() > 0  # data and some padding in this message
    assert_same_message(ours, ref)
    for offset, expected in ((int(np.flatnonzero(mask)[-1]), "data bytes differ"),
                             (int(np.flatnonzero(~mask)[0]), "padding")):
        broken = bytearray(ours)
        broken[4 + offset] ^= 0x5A
        with pytest.raises(AssertionError, match=expected):
            assert_same_message(bytes(broken), ref)


def test_node_publishes_the_same_messages_with_and_without_raw_publishing(ros_context):
    """Through DDS: what a subscriber receives from the node with raw_publishing on
    equals what it receives with it off (the message-object path), for every
    output the encoder writes."""
    import sys
    import time

    import rclpy
    from cluenet_msgs.msg import PedestrianArray
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray
    from visualization_msgs.msg import MarkerArray

    from conftest import HELPERS, REPO
    from cluenet_ros.ros.pedestrian_node import PedestrianNode

    sys.path.insert(0, str(HELPERS))
    from ros_harness import rgb_image

    ns = "/cluenet_raw_publishing"
    overrides = [Parameter("weights", value="random"),
                 Parameter("model_config", value=str(REPO / "test" / "data" / "tiny_model.yaml")),
                 Parameter("device", value="cpu"), Parameter("backend", value="torch"),
                 Parameter("tracking.enable", value=False)]
    node = PedestrianNode(context=ros_context, parameter_overrides=overrides, namespace=ns)
    listener = rclpy.create_node("raw_publishing_listener", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(listener)
    topics = {"detections": Detection2DArray, "pedestrians": PedestrianArray, "mask": Image,
              "skeletons": MarkerArray, "debug_image": Image}
    got: dict[str, list] = {name: [] for name in topics}
    try:
        node.stop_worker()
        assert node.p("raw_publishing") is True  # the default
        result = frame(4, [3, 1234, 7, 56], width=97, height=65, seed=9)
        node.pipeline = lambda image, bgr=False: result
        assert node.tracker is None  # the fixed result's track ids go out unchanged
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        for name, kind in topics.items():
            listener.create_subscription(kind, f"{ns}/{name}", got[name].append, qos)
        publishers = [node.pub_detections, node.pub_pedestrians, node.pub_mask, node.pub_skeletons, node.pub_debug]
        deadline = time.monotonic() + 20
        while not all(p.get_subscription_count() for p in publishers) and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        for raw in (True, False):
            node.set_parameters([Parameter("raw_publishing", value=raw)])
            node._process(rgb_image(65, 97, seed=1), "raw")
            deadline = time.monotonic() + 20
            while not all(len(v) == (1 if raw else 2) for v in got.values()) and time.monotonic() < deadline:
                executor.spin_once(timeout_sec=0.05)
        for name, msgs in got.items():
            assert len(msgs) == 2, (name, len(msgs))
            assert msgs[0] == msgs[1], name
        assert len(got["pedestrians"][0].pedestrians) == 4
        assert [p.track_id for p in got["pedestrians"][0].pedestrians] == [3, 1234, 7, 56]
        assert got["mask"][0].width == 97 and bytes(got["mask"][0].data) == result.mask.tobytes()
        debug = got["debug_image"][0]
        assert (debug.encoding, debug.width, debug.height, debug.step) == ("rgb8", 97, 65, 3 * 97)
        # the result drawn on the input frame
        from cluenet_ros.overlay import draw_overlay

        drawn = np.frombuffer(bytes(debug.data), np.uint8).reshape(65, 97, 3)
        source = np.frombuffer(bytes(rgb_image(65, 97, seed=1).data), np.uint8).reshape(65, 97, 3)
        assert np.array_equal(drawn, draw_overlay(source.copy(), result)) and not np.array_equal(drawn, source)
    finally:
        executor.shutdown()
        listener.destroy_node()
        node.destroy_node()
