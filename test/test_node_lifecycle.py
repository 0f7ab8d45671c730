"""pedestrian_node's process life: start-up parameter errors (one line, non-zero
exit), the level of its own logger, and SIGINT/SIGTERM in the middle of a slow
frame (exit 0 within the frame's remaining time plus 1 s, no traceback, no abort)."""
from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import Harness, rgb_image, start_node  # noqa: E402

from cluenet_ros.ros.launch_support import log_level_arguments  # noqa: E402


@pytest.mark.parametrize("param,expected", [
    ("score_threshold:=1.5", "score_threshold"),
    ("score_threshold:=abc", "score_threshold"),
    ("max_detections:=1.5", "max_detections"),
    ("qos.reliability:=foo", "'foo' is not one of best_effort, reliable"),
    ("nms_iou:=.nan", "nms_iou"),
    ("input_scale:=.inf", "input_scale"),
])
def test_bad_start_parameters_give_one_line_and_a_non_zero_exit(param, expected):
    proc = start_node("/cluenet_badparam", param, params_file=False)
    out, _ = proc.communicate(timeout=90)
    lines = [line for line in out.splitlines() if line.strip()]
    assert proc.returncode != 0
    assert "Traceback" not in out
    fatal = [line for line in lines if "FATAL" in line]
    assert len(fatal) == 1 and expected in fatal[0], out
    assert len(lines) == 1, out


def slow_frame_then_signal(ros_context, ns, sig, ros_args=(), repeat_signal=False):
    """Start a node, send a frame that takes seconds, signal the node while it works
    on it; returns (frame done time, exit time, return code, output)."""
    proc = start_node(ns, "input_scale:=2.0", ros_args=ros_args)
    h = Harness(ros_context, ns)
    try:
        h.wait_ready(proc)
        h.send_and_wait(rgb_image(60, 80, seed=1), topics=("mask",))  # warm-up
        msg = rgb_image(400, 560, seed=2)  # seconds at input_scale 2 on a CPU
        t_sent = time.monotonic()
        stamp = h.next_stamp(msg)
        h.pub_raw.publish(msg)
        h.spin_until(lambda: False, 0.5)  # the node is inside the frame now
        assert not h.outputs_for(stamp, "mask"), "frame too fast to test stopping in its middle"
        proc.send_signal(sig)
        if repeat_signal:  # ros2 launch forwards Ctrl-C and the terminal sends it too
            time.sleep(0.2)
            proc.send_signal(sig)
        assert h.spin_until(lambda: bool(h.outputs_for(stamp, "mask")), 60), "the frame in flight was not finished"
        t_done = time.monotonic()
        rc = proc.wait(timeout=60)
        t_exit = time.monotonic()
        out = proc.stdout.read()
        return t_done - t_sent, t_exit - t_done, rc, out
    finally:
        h.close()
        if proc.poll() is None:
            proc.kill()


def test_sigterm_mid_frame_exits_cleanly_and_debug_is_ours_only(ros_context):
    ns = "/cluenet_sigterm"
    frame_s, after_s, rc, out = slow_frame_then_signal(ros_context, ns, signal.SIGTERM,
                                                       log_level_arguments(ns, "debug")[1:])
    print(f"frame {frame_s:.1f} s, exit {after_s:.2f} s after it\n{out}")
    assert rc == 0
    assert after_s < 1.0 + 1.0  # the 1 s, plus slack for a loaded CI machine
    assert "Traceback" not in out and "terminate called" not in out
    debug = [line for line in out.splitlines() if "[DEBUG]" in line]
    assert any("cluenet_sigterm.pedestrian_node]: raw frame 560x400" in line for line in debug), out
    assert all("[cluenet_sigterm.pedestrian_node]" in line for line in debug), debug[:5]


def test_double_sigint_mid_frame_like_ros2_launch(ros_context):
    frame_s, after_s, rc, out = slow_frame_then_signal(ros_context, "/cluenet_sigint", signal.SIGINT,
                                                       repeat_signal=True)
    print(f"frame {frame_s:.1f} s, exit {after_s:.2f} s after it\n{out}")
    assert rc == 0
    assert after_s < 1.0 + 1.0
    assert "Traceback" not in out and "KeyboardInterrupt" not in out and "terminate called" not in out
    assert "[DEBUG]" not in out
