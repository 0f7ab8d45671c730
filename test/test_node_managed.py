"""The managed (lifecycle) pedestrian_node over DDS: transitions driven through
its change_state service, and autostart."""
from __future__ import annotations

import sys

import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS  # noqa: E402

sys.path.insert(0, str(HELPERS))
from lifecycle_msgs.msg import State, Transition  # noqa: E402
from lifecycle_msgs.srv import ChangeState, GetState  # noqa: E402
from ros_harness import Harness, rgb_image, start_node, stop  # noqa: E402

NS = "/cluenet_managed"


class Lifecycle:
    def __init__(self, h: Harness, ns: str):
        self.h = h
        self.change = h.node.create_client(ChangeState, f"{ns}/pedestrian_node/change_state")
        self.get = h.node.create_client(GetState, f"{ns}/pedestrian_node/get_state")

    def _call(self, client, req, tries: int = 1):
        """``tries`` > 1 only for idempotent requests: right after discovery DDS can
        match the service's request reader before its reply writer has matched this
        client, and that first reply is then lost (seen once in CI: get_state found,
        no answer in 60 s); asking again is the standard remedy."""
        assert client.wait_for_service(timeout_sec=30)
        for attempt in range(tries):
            fut = client.call_async(req)
            if self.h.spin_until(fut.done, 60 if attempt == tries - 1 else 15):
                return fut.result()
            client.remove_pending_request(fut)
        raise AssertionError(f"no reply from {client.service_name} after {tries} request(s)")

    def state(self) -> int:
        return self._call(self.get, GetState.Request(), tries=3).current_state.id

    def transition(self, tid: int) -> bool:
        return self._call(self.change, ChangeState.Request(transition=Transition(id=tid))).success


def no_output_for(h, msg, wait=1.0) -> bool:
    stamp = h.next_stamp(msg)
    h.pub_raw.publish(msg)
    h.spin_until(lambda: False, wait)
    return not h.outputs_for(stamp, "detections")


def test_transitions(ros_context):
    proc = start_node(NS, "score_threshold:=0.0", "max_detections:=3", "autostart:=false", managed=True)
    h = Harness(ros_context, NS, topics=("detections", "pedestrians"))
    lc = Lifecycle(h, NS)
    frame = rgb_image(64, 80, seed=1)
    try:
        assert lc.state() == State.PRIMARY_STATE_UNCONFIGURED
        assert h.pub_raw.get_subscription_count() == 0
        assert lc.transition(Transition.TRANSITION_CONFIGURE)
        assert lc.state() == State.PRIMARY_STATE_INACTIVE
        assert h.pub_raw.get_subscription_count() == 0 and no_output_for(h, frame)  # inactive: no inference

        assert lc.transition(Transition.TRANSITION_ACTIVATE)
        assert lc.state() == State.PRIMARY_STATE_ACTIVE
        assert h.spin_until(lambda: h.pub_raw.get_subscription_count() > 0, 20)
        stamp = h.send_and_wait(frame, topics=("detections", "pedestrians"))
        assert len(h.outputs_for(stamp, "pedestrians")[0].pedestrians) >= 1

        assert lc.transition(Transition.TRANSITION_DEACTIVATE)
        assert lc.state() == State.PRIMARY_STATE_INACTIVE
        assert h.spin_until(lambda: h.pub_raw.get_subscription_count() == 0, 20)
        assert no_output_for(h, frame)

        assert lc.transition(Transition.TRANSITION_ACTIVATE)  # again, without reloading the model
        assert h.spin_until(lambda: h.pub_raw.get_subscription_count() > 0, 20)
        h.send_and_wait(frame, topics=("detections",))

        assert lc.transition(Transition.TRANSITION_DEACTIVATE)
        assert lc.transition(Transition.TRANSITION_CLEANUP)
        assert lc.state() == State.PRIMARY_STATE_UNCONFIGURED
        assert not lc.transition(Transition.TRANSITION_ACTIVATE)  # not allowed from unconfigured
        assert proc.poll() is None
    finally:
        h.close()
        log = stop(proc)
    assert log.count("configured: model loaded") == 1, log
    assert log.count("deactivated: no inference; the model stays loaded") == 2, log
    assert "cleaned up: model freed" in log
    assert "Traceback" not in log


def test_autostart_comes_up_active(ros_context):
    proc = start_node(NS + "_auto", "score_threshold:=0.0", managed=True)
    h = Harness(ros_context, NS + "_auto", topics=("detections",))
    lc = Lifecycle(h, NS + "_auto")
    try:
        h.wait_ready(proc)
        assert lc.state() == State.PRIMARY_STATE_ACTIVE
        h.send_and_wait(rgb_image(64, 80, seed=2), topics=("detections",))
    finally:
        h.close()
        stop(proc)
