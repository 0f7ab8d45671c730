"""pedestrian_node against hostile input: decompression bombs and oversized frames
(dropped from their headers, bounded memory), decoder messages through the node's
logger, diagnostics that clear, and a bounded fuzz run of malformed frames."""
from __future__ import annotations

import struct
import sys
import time

import numpy as np
import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS  # noqa: E402

sys.path.insert(0, str(HELPERS))
import fuzz_frames as fz  # noqa: E402
from ros_harness import Harness, rgb_image, start_node, stop  # noqa: E402
from sensor_msgs.msg import CompressedImage  # noqa: E402

NS = "/cluenet_robust"
FUZZ_FRAMES = 1200
MEMORY_BOUND_MB = 300


def peak_rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def diagnostics(h: Harness, delay: float = 0.0, timeout: float = 10.0):
    """The node's first /diagnostics status stamped more than ``delay`` s from now
    (the node stamps them with its clock: wall time here)."""
    after = time.time() + delay

    def fresh():
        return [m for m in h.received["diagnostics"] if m.header.stamp.sec + m.header.stamp.nanosec * 1e-9 > after]

    assert h.spin_until(lambda: bool(fresh()), timeout + delay), "no diagnostics"
    msg = fresh()[0]
    h.received["diagnostics"].clear()
    st = [s for s in msg.status if "pedestrian_node" in s.name][0]
    return st, {kv.key: kv.value for kv in st.values}


def settled_counts(h: Harness, timeout: float = 60.0) -> dict:
    """Diagnostics counts once the node is idle (two equal reports in a row)."""
    last = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, values = diagnostics(h)
        counts = {k: int(v) for k, v in values.items() if k.startswith("frames_")}
        if counts == last:
            return counts
        last = counts
    raise AssertionError(f"node never settled: {last}")


def compressed(data: bytes, fmt: str) -> CompressedImage:
    msg = CompressedImage(format=fmt, data=data)
    msg.header.frame_id = "test_camera"
    return msg


@pytest.fixture(scope="module")
def node(ros_context):
    proc = start_node(NS, "subscribe_compressed:=true", "qos.depth:=10")
    harness = Harness(ros_context, NS)
    try:
        harness.wait_ready(proc)
        harness.send_and_wait(rgb_image(60, 80, seed=1), topics=("mask",))  # warm-up
        yield harness, proc
    finally:
        harness.close()
        print(stop(proc)[-20000:])


def test_bombs_are_dropped_from_their_headers_with_bounded_memory(node):
    h, proc = node
    h.send_and_wait(compressed(fz.small_png(1), "png"), topics=("mask",), compressed=True)  # decoder warm-up
    before = peak_rss_mb(proc.pid)
    bomb = compressed(fz.png_bomb(8000, 8000), "png")  # 192 MB of pixels in ~190 KB
    flipped = compressed(fz.jpeg_with_size(fz.small_jpeg(2), 65328, 64), "jpeg")  # 4 KB, claims 65328x64
    raw_lie = rgb_image(20, 20)
    raw_lie.width, raw_lie.height, raw_lie.step = 8000, 8000, 24000  # fields claim 192 MB
    t0 = time.monotonic()
    for msg, comp in ((bomb, True), (flipped, True), (raw_lie, False)):
        h.next_stamp(msg)
        (h.pub_compressed if comp else h.pub_raw).publish(msg)
        h.spin_until(lambda: False, 0.3)
    good = rgb_image(60, 80, seed=3)
    sent = time.monotonic()
    stamp = h.send_and_wait(good, topics=("mask",), timeout=30)
    answered = time.monotonic() - sent
    rise = peak_rss_mb(proc.pid) - before
    _, values = diagnostics(h)
    print(f"peak RSS rise {rise:.0f} MB; good frame answered {answered:.2f} s after it was sent "
          f"({time.monotonic() - t0:.1f} s for the whole test)")
    assert h.outputs_for(stamp, "mask")[0].width == 80
    assert rise <= MEMORY_BOUND_MB
    assert answered < 2.0  # 1 s in the issue; slack for a loaded 2-core CI machine
    assert int(values["frames_too_large"]) >= 3
    assert proc.poll() is None


def test_frames_the_decoder_complains_about_are_still_answered(node):
    h, proc = node
    png = fz.small_png(4)  # a tEXt chunk with a bad CRC: libpng warns on stderr and decodes
    bad_text = png[:33] + struct.pack(">I", 9) + b"tEXt" + b"Comment\x00x" + b"\x00\x00\x00\x00" + png[33:]
    jpeg = fz.small_jpeg(3)  # cut short: libjpeg prints "Corrupt JPEG data" and decodes the rest
    cut = jpeg[: len(jpeg) // 2] + b"\xff\xd9"
    for data, fmt in ((bad_text, "png"), (cut, "jpeg")):
        stamp = h.send_and_wait(compressed(data, fmt), topics=("mask",), compressed=True)
        assert h.outputs_for(stamp, "mask")[0].width == (40 if fmt == "png" else 64)
    assert proc.poll() is None


def test_warning_clears_and_tiny_frames_are_bad_input(node):
    h, _ = node
    base = settled_counts(h)
    for _ in range(3):
        tiny = rgb_image(1, 1)
        h.next_stamp(tiny)
        h.pub_raw.publish(tiny)
        h.spin_until(lambda: False, 0.1)
    st, values = diagnostics(h, 0.1)
    assert st.level == st.WARN and "skipped" in st.message and "too small" in st.message
    assert int(values["frames_bad"]) - base["frames_bad"] == 3
    assert int(values["frames_failed"]) == base["frames_failed"]
    h.send_and_wait(rgb_image(50, 60, seed=6), topics=("mask",))
    h.spin_until(lambda: False, 1.2)  # one full period without a bad frame
    st, _ = diagnostics(h)
    assert st.level == st.OK, st.message


def test_fuzzed_frames_leave_the_node_alive_answering_and_counting(node):
    h, proc = node
    rng = np.random.default_rng(19)
    jpeg, png = fz.small_jpeg(7), fz.small_png(8)
    base = settled_counts(h)
    rss_before = peak_rss_mb(proc.pid)
    t0 = time.monotonic()
    sent = good = 0
    while sent < FUZZ_FRAMES:
        for _ in range(100):
            if rng.integers(0, 2):
                msg = fz.malformed_image(rng)
                h.next_stamp(msg)
                h.pub_raw.publish(msg)
            else:
                msg = fz.malformed_compressed(rng, jpeg, png)
                h.next_stamp(msg)
                h.pub_compressed.publish(msg)
            sent += 1
            h.executor.spin_once(timeout_sec=0.0)
            time.sleep(0.004)  # ~200 Hz: most frames reach the checks, not just the mailbox
        # answered in between: the newest frame, so no malformed one still queued on the
        # compressed topic may take the mailbox from it (CI stop 32 failed on that race)
        h.send_and_wait(rgb_image(40, 48, seed=sent), topics=("mask",), timeout=30)
        good += 1
    wall = time.monotonic() - t0
    counts = settled_counts(h)
    delta = {k: counts[k] - base[k] for k in counts}
    rise = peak_rss_mb(proc.pid) - rss_before
    print(f"fuzz: {sent} malformed + {good} good frames in {wall:.1f} s; {delta}; peak RSS rise {rise:.0f} MB")
    assert proc.poll() is None
    assert delta["frames_received"] == delta["frames_processed"] + delta["frames_dropped"] \
        + delta["frames_bad"] + delta["frames_failed"]
    assert delta["frames_received"] >= 0.95 * (sent + good)  # reliable QoS: (almost) all arrive
    # of the frames the node looked at (not dropped from its one-deep mailbox: a loaded
    # machine drops more), most were judged bad; and the checks ran on a good share at all
    looked_at = sent + good - delta["frames_dropped"]
    assert delta["frames_bad"] >= 0.5 * looked_at and delta["frames_bad"] >= 0.1 * sent
    assert delta["frames_too_large"] > 0
    assert delta["frames_failed"] == 0, "malformed input reached the network as a failure"
    assert rise <= MEMORY_BOUND_MB


def test_incompatible_publishers_are_reported(node):
    """A best-effort camera against this reliable subscription: frames can never arrive."""
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    h, proc = node
    qos = QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT)
    pubs = [h.node.create_publisher(Image, f"{NS}/image", qos) for _ in range(2)]
    h.spin_until(lambda: False, 2.0)
    for pub in pubs:
        h.node.destroy_publisher(pub)
    assert proc.poll() is None  # the log test below checks the warning (given once)


def test_log_has_no_traceback_and_decoder_text_only_through_the_logger(node):
    """Runs last: stops the node and reads everything it printed."""
    _, proc = node
    log = stop(proc)
    incompatible = [line for line in log.splitlines() if "QoS incompatible with this subscription" in line]
    assert len(incompatible) == 1 and "[WARN]" in incompatible[0] and "qos.reliability:=best_effort" in incompatible[0]
    assert proc.returncode == 0
    assert "Traceback" not in log and "terminate called" not in log
    decoder = [line for line in log.splitlines() if "libpng" in line or "Corrupt JPEG" in line]
    assert decoder, "the decoder complained about nothing?"
    assert all("cluenet_robust.pedestrian_node]" in line for line in decoder), decoder
