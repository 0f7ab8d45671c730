"""The node's one-slot mailbox when frames come on both image topics: the newest
frame waits, whichever topic it came on, and within one topic the latest arrival
wins (a looping bag); the copy of a frame that came on the other topic too
(image_transport publishes raw and compressed of each image) is never taken. The node runs in this process with its worker stopped, so the
mailbox can be read between offers."""
from __future__ import annotations

import sys

import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS, REPO  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import rgb_image  # noqa: E402

TINY_MODEL = REPO / "test" / "data" / "tiny_model.yaml"


def test_a_late_frame_from_the_other_topic_does_not_replace_a_newer_one(ros_context):
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import CompressedImage

    from cluenet_ros.ros.pedestrian_node import PedestrianNode

    overrides = [Parameter("weights", value="random"), Parameter("model_config", value=str(TINY_MODEL)),
                 Parameter("device", value="cpu"), Parameter("backend", value="torch"),
                 Parameter("subscribe_compressed", value=True)]
    node = PedestrianNode(context=ros_context, parameter_overrides=overrides, namespace="/cluenet_mailbox")

    def raw(sec, nanosec=0):
        msg = rgb_image(8, 8)
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
        return msg

    def compressed(sec, nanosec=0):
        msg = CompressedImage(format="jpeg")
        msg.header.stamp.sec, msg.header.stamp.nanosec = sec, nanosec
        return msg

    def waiting():
        msg, kind = node._mailbox
        return kind, msg.header.stamp.sec, msg.header.stamp.nanosec

    try:
        node.stop_worker()
        base = dict(node.stats)
        node._offer(raw(10), "raw")
        node._offer(compressed(9, 999), "compressed")  # older, late from the other topic: dropped
        assert waiting() == ("raw", 10, 0)
        node._offer(compressed(10, 1), "compressed")  # newer: replaces
        assert waiting() == ("compressed", 10, 1)
        node._offer(raw(10, 1), "raw")  # the same frame on the other topic (image_transport): a duplicate
        assert waiting() == ("compressed", 10, 1)
        node._offer(raw(11), "raw")  # newer: replaces
        assert waiting() == ("raw", 11, 0)
        node._offer(raw(2), "raw")  # the same topic going back (a bag looping): followed
        assert waiting() == ("raw", 2, 0)
        node._offer(compressed(1), "compressed")  # older, from the other topic: dropped
        assert waiting() == ("raw", 2, 0)
        node._offer(compressed(2), "compressed")  # the copy of the waiting frame: a duplicate
        assert waiting() == ("raw", 2, 0)
        node._offer(raw(0), "raw")  # unstamped frames cannot be matched across topics...
        node._offer(compressed(0), "compressed")  # ...so the latest one waits
        assert waiting() == ("compressed", 0, 0)
        delta = {k: node.stats[k] - base[k] for k in ("received", "dropped", "duplicates")}
        # one waits; every other frame is counted as dropped, the two copies also as duplicates
        assert delta == {"received": 10, "dropped": 9, "duplicates": 2}
    finally:
        node.destroy_node()
