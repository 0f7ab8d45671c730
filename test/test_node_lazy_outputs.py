"""Lazy outputs: an output nobody subscribes to is neither built nor published,
and one that gains a subscriber over DDS is built and arrives. The node runs in
this process (so the message builders can be counted); the subscribers are real
DDS subscriptions, matched by discovery."""
from __future__ import annotations

import os
import sys
import time

import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS, REPO  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import rgb_image  # noqa: E402

TINY_MODEL = REPO / "test" / "data" / "tiny_model.yaml"
NS = "/cluenet_lazy"


def test_unsubscribed_outputs_are_not_built(ros_context, monkeypatch):
    import rclpy
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from vision_msgs.msg import Detection2DArray

    from cluenet_ros.ros import cdr, messages, pedestrian_node
    from cluenet_ros.ros.pedestrian_node import PedestrianNode

    built = {"detections": 0, "pedestrians": 0, "skeletons": 0, "mask": 0, "debug": 0}

    def counting(name, fn):
        def wrapper(*args, **kwargs):
            built[name] += 1
            return fn(*args, **kwargs)
        return wrapper

    # both ways of building an output count: message objects (raw_publishing off) and
    # bytes serialised from the arrays (on, the default)
    for module in (messages, cdr):
        monkeypatch.setattr(module, "detections", counting("detections", module.detections))
        monkeypatch.setattr(module, "pedestrians", counting("pedestrians", module.pedestrians))
        monkeypatch.setattr(module, "skeleton_markers", counting("skeletons", module.skeleton_markers))
    monkeypatch.setattr(messages, "draw_debug", counting("debug", messages.draw_debug))
    monkeypatch.setattr(pedestrian_node, "mono8_message", counting("mask", pedestrian_node.mono8_message))
    monkeypatch.setattr(cdr, "mono8_image", counting("mask", cdr.mono8_image))

    overrides = [Parameter("weights", value="random"), Parameter("model_config", value=str(TINY_MODEL)),
                 Parameter("device", value="cpu"), Parameter("backend", value="torch"),
                 Parameter("score_threshold", value=0.0), Parameter("max_detections", value=3),
                 Parameter("publish.debug_image", value=True)]
    node = PedestrianNode(context=ros_context, parameter_overrides=overrides, namespace=NS)
    listener = rclpy.create_node("lazy_listener", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(listener)
    try:
        node.stop_worker()  # frames go straight to _process here, not through the mailbox
        msg = rgb_image(64, 96, seed=1)
        node._process(msg, "raw")
        assert built == {k: 0 for k in built}, built  # nobody listens: nothing built
        assert node.stats["processed"] == 1

        got = []
        qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
        listener.create_subscription(Detection2DArray, f"{NS}/detections", got.append, qos)
        deadline = time.monotonic() + 20
        while node.pub_detections.get_subscription_count() == 0 and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert node.pub_detections.get_subscription_count() == 1
        msg.header.stamp.sec = 7
        node._process(msg, "raw")
        assert built == {"detections": 1, "pedestrians": 0, "skeletons": 0, "mask": 0, "debug": 0}, built
        deadline = time.monotonic() + 20
        while not got and time.monotonic() < deadline:
            executor.spin_once(timeout_sec=0.05)
        assert len(got) == 1 and got[0].header.stamp.sec == 7 and len(got[0].detections) >= 1

        # a subscriber but the output switched off: still nothing built for it
        node.set_parameters([Parameter("publish.detections", value=False)])
        node._process(msg, "raw")
        assert built["detections"] == 1

        # the message-object path (raw_publishing off) is as lazy
        node.set_parameters([Parameter("publish.detections", value=True), Parameter("raw_publishing", value=False)])
        node._process(msg, "raw")
        assert built == {"detections": 2, "pedestrians": 0, "skeletons": 0, "mask": 0, "debug": 0}, built

        # the node reads its parameters from a copy (node.p): it follows every accepted
        # set and no refused one
        from cluenet_ros.ros.parameters import PARAMS

        assert not node.set_parameters([Parameter("score_threshold", value=1.5)])[0].successful
        assert node.set_parameters([Parameter("marker_scale", value=0.5)])[0].successful
        assert node.p("score_threshold") == 0.0 and node.p("marker_scale") == 0.5
        assert {p.name: node.p(p.name) for p in PARAMS} == {p.name: node.get_parameter(p.name).value
                                                            for p in PARAMS}
    finally:
        executor.shutdown()
        listener.destroy_node()
        node.destroy_node()


def test_node_on_a_compiled_backend_says_so(ros_context, tmp_path):
    """A node process on ONNX Runtime: its start-up line and /diagnostics name the
    backend, and frames come out. Its random weights are exported to a temporary
    folder, which is gone once the node has stopped (it leaves through os._exit)."""
    from ros_harness import Harness, start_node, stop

    ns = "/cluenet_backend"
    proc = start_node(ns, "backend:=onnxruntime", "score_threshold:=0.0", "diagnostics_period:=0.2",
                      env=dict(os.environ, TMPDIR=str(tmp_path)))
    h = Harness(ros_context, ns)
    log = ""
    try:
        h.wait_ready(proc, timeout=120)
        h.send_and_wait(rgb_image(64, 96, seed=2), topics=("detections", "mask"))
        assert h.spin_until(lambda: any(s.values for m in h.received["diagnostics"] for s in m.status
                                        if s.name.startswith("pedestrian_node")), 10)
        status = [s for m in h.received["diagnostics"] for s in m.status if s.name.startswith("pedestrian_node")][-1]
        assert {kv.key: kv.value for kv in status.values}["backend"] == "onnxruntime"
        exports = list(tmp_path.glob("cluenet_backend_*/stage1_dense.onnx"))
        assert len(exports) == 1, list(tmp_path.iterdir())
    finally:
        h.close()
        log = stop(proc)
    assert "with backend onnxruntime" in log, log
    assert proc.returncode == 0 and not list(tmp_path.glob("cluenet_backend_*")), list(tmp_path.iterdir())
