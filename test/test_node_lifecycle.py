"""pedestrian_node's process life: start-up parameter errors (one line, non-zero
exit), the level of its own logger, and SIGINT/SIGTERM in the middle of a slow
frame (exit 0 within the frame's remaining time plus 1 s, no traceback, no abort)."""
from __future__ import annotations

import os
import signal
import sys
import time

import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS, REPO  # noqa: E402

sys.path.insert(0, str(HELPERS))
from ros_harness import TINY_MODEL, Harness, rgb_image, start_node, stop  # noqa: E402

from cluenet_ros.ros.launch_support import log_level_arguments  # noqa: E402


@pytest.mark.parametrize("param,expected", [
    ("score_threshold:=abc", "expecting type 'DOUBLE'"),
    ("qos.reliability:=foo", "'foo' is not one of best_effort, reliable"),
])
def test_bad_start_parameters_give_one_line_and_a_non_zero_exit(param, expected):
    proc = start_node("/cluenet_badparam", param, params_file=False)
    try:
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:  # it started after all: fail without leaving it running
            proc.kill()
            proc.wait()
    lines = [line for line in out.splitlines() if line.strip()]
    assert proc.returncode != 0
    assert "Traceback" not in out
    assert len(lines) == 1 and "FATAL" in lines[0] and param.split(":=")[0] in lines[0] and expected in lines[0], out


@pytest.mark.parametrize("name,value,expected", [
    ("score_threshold", 1.5, "out of range"),
    ("max_detections", 1.5, "expecting type 'INTEGER'"),
    ("nms_iou", float("nan"), "nan"),
    ("input_scale", float("inf"), "inf"),
    ("marker_scale", float("-inf"), "inf"),
    ("max_image_pixels", 0, "out of range"),
    ("device", "tpu", "'tpu' is not one of auto, cuda, cpu"),
    ("backend", "tensorrt", "'tensorrt' is not one of auto, torch, onnxruntime, openvino"),
])
def test_bad_start_parameters_are_startup_errors(ros_context, name, value, expected):
    """The same checks in-process (each a one-line StartupError, which main() prints as FATAL)."""
    from rclpy.parameter import Parameter

    from cluenet_ros.ros.pedestrian_node import PedestrianNode, StartupError

    overrides = [Parameter("weights", value="random"), Parameter("model_config", value=str(TINY_MODEL)),
                 Parameter(name, value=value)]
    with pytest.raises(StartupError) as err:
        PedestrianNode(context=ros_context, parameter_overrides=overrides, namespace="/cluenet_badparam_inproc")
    text = str(err.value)
    assert text.startswith(f"parameter {name}: "), text
    assert expected.lower() in text.lower(), text
    assert "\n" not in text


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def slow_frame_then_signal(ros_context, ns, sig, ros_args=(), repeat_signal=False):
    """Start a node, send a frame that takes seconds, signal the node while it works
    on it; returns (frame done time, exit time, return code, output). The node runs with
    the shipped Fast DDS profile, as the launch file starts it: its writers' 0.1 s
    heartbeat lets a subscriber ask again for a lost piece of the last frame while the
    stopping node waits for acknowledgements (Fast DDS's default 3 s came too late, about
    one run in 40 here)."""
    env = dict(os.environ, FASTDDS_DEFAULT_PROFILES_FILE=str(REPO / "config" / "fastdds_shm.xml"))
    proc = start_node(ns, "input_scale:=2.0", ros_args=ros_args, env=env)
    h = Harness(ros_context, ns)
    try:
        h.wait_ready(proc)
        h.send_and_wait(rgb_image(60, 80, seed=1), topics=("mask",))  # warm-up
        msg = rgb_image(400, 560, seed=2)  # seconds at input_scale 2 on a CPU
        t_sent = time.monotonic()
        stamp = h.next_stamp(msg)
        cpu0 = _cpu_seconds(proc.pid)
        h.pub_raw.publish(msg)
        # The node is inside the frame once it has spent CPU time on it (an idle node spends
        # next to none). A fixed wait let a loaded machine signal before the frame was taken.
        assert h.spin_until(lambda: _cpu_seconds(proc.pid) - cpu0 > 0.3, 60), "the node never took the frame"
        assert not h.outputs_for(stamp, "mask"), "frame too fast to test stopping in its middle"
        proc.send_signal(sig)
        if repeat_signal:  # ros2 launch forwards Ctrl-C and the terminal sends it too
            time.sleep(0.2)
            proc.send_signal(sig)
        if not h.spin_until(lambda: bool(h.outputs_for(stamp, "mask")), 60):
            try:
                rc = proc.wait(timeout=30)
            except Exception:
                proc.kill()
                rc = proc.wait()
            raise AssertionError(f"the frame in flight was not finished (exit code {rc}); "
                                 f"the node said:\n{proc.stdout.read()}")
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


def test_latency_is_measured_on_the_node_clock_under_sim_time(ros_context):
    """With use_sim_time, stamps and 'now' are both simulation time (from /clock)."""
    from rosgraph_msgs.msg import Clock

    ns = "/cluenet_simtime"
    proc = start_node(ns, "use_sim_time:=true")
    h = Harness(ros_context, ns)
    clock_pub = h.node.create_publisher(Clock, "/clock", 10)
    sim = [5000.0]  # seconds of simulation time, far from wall time

    def tick():
        sim[0] += 0.05
        clock_pub.publish(Clock(clock=_time_msg(sim[0])))

    timer = h.node.create_timer(0.05, tick)
    try:
        h.wait_ready(proc)
        h.spin_until(lambda: False, 1.0)  # the node has seen /clock
        for i in range(3):
            msg = rgb_image(60, 80, seed=i)
            msg.header.stamp = _time_msg(sim[0] - 0.25)  # captured 0.25 s of sim time ago
            stamp = msg.header.stamp.sec
            h.pub_raw.publish(msg)
            assert h.spin_until(lambda: any(m.header.stamp.sec == stamp for m in h.received["mask"]), 60)
        h.received["diagnostics"].clear()
        assert h.spin_until(lambda: bool(h.received["diagnostics"]), 20), "no diagnostics on sim time"
        values = {kv.key: kv.value for kv in h.received["diagnostics"][-1].status[0].values}
        latency = float(values["latency_ms_median"])
        assert 200 <= latency < 30_000, latency  # 250 ms + processing, not wall time minus sim time
    finally:
        h.node.destroy_timer(timer)
        h.close()
        print(stop(proc))


def _time_msg(seconds: float):
    from builtin_interfaces.msg import Time

    return Time(sec=int(seconds), nanosec=int((seconds % 1) * 1e9))
