"""What rclpy and Fast DDS charge to publish the node's mask, whatever the node does:
``Publisher.publish`` of the mask's already-serialised bytes (as the node publishes
it with raw_publishing on) with no subscriber, with a subscriber in the same process
(as ``cluenet bench --node`` measures) and with one in another process (as RViz
would be), against one copy of the same bytes in memory.

Why: at 2048x1024 the mask is 2 MiB, and its publish call was the largest single
part of the node's own time in the split (tools/node_overhead_split.py). rclpy takes
``bytes`` into a C++ string (a copy), Fast DDS copies that into its payload pool,
and a subscriber in another process gets it through shared memory (another copy);
none of that is the node's code, so it bounds from below what any node written on
rclpy pays per frame for a full-resolution mask.

    .venv/bin/python tools/mask_publish_floor.py [--resolution 2048x1024] [--repeats 300] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

_RECEIVER = """
import sys, time
import cluenet_ros, rclpy
from sensor_msgs.msg import Image
rclpy.init()
node = rclpy.create_node("mask_floor_rx")
count = [0]
node.create_subscription(Image, sys.argv[1], lambda m: count.__setitem__(0, count[0] + 1), 10, raw=True)
deadline = time.time() + float(sys.argv[2])
while time.time() < deadline:
    rclpy.spin_once(node, timeout_sec=0.05)
print(count[0], flush=True)
"""


def _times(fn, repeats: int, between=None) -> list[float]:
    out = []
    for i in range(repeats + 10):
        t0 = time.perf_counter()
        fn()
        if i >= 10:
            out.append(1000 * (time.perf_counter() - t0))
        if between is not None:
            between()
    return out


def _row(times: list[float]) -> dict:
    return {"median_ms": float(np.median(times)), "least_ms": float(np.min(times)),
            "p95_ms": float(np.percentile(times, 95))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", default="2048x1024")
    ap.add_argument("--repeats", type=int, default=300)
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()
    w, h = (int(v) for v in args.resolution.split("x"))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

    import cluenet_ros  # noqa: F401  (AMENT_PREFIX_PATH for the venv)
    import rclpy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from cluenet_ros.benchmark.node_bench import synthetic_result
    from cluenet_ros.ros import cdr

    mask = synthetic_result(w, h, 10).mask
    header = Header(frame_id="camera_optical_frame")
    data = cdr.mono8_image(mask, header)
    spare = np.empty_like(mask)
    rows = {"copy of the mask (np.copyto)": _row(_times(lambda: np.copyto(spare, mask), args.repeats)),
            "serialise (cdr.mono8_image)": _row(_times(lambda: cdr.mono8_image(mask, header), args.repeats))}

    rclpy.init()
    node = rclpy.create_node("mask_floor_tx")
    try:
        topic = f"/mask_floor_{os.getpid()}"
        pub = node.create_publisher(Image, topic, 10)
        rows["publish, no subscriber"] = _row(_times(lambda: pub.publish(data), args.repeats))

        rx = rclpy.create_node("mask_floor_rx_here")
        got = []
        sub = rx.create_subscription(Image, topic, lambda m: got.append(1), 10, raw=True)
        deadline = time.time() + 10
        while pub.get_subscription_count() == 0 and time.time() < deadline:
            rclpy.spin_once(rx, timeout_sec=0.05)
        rows["publish, subscriber in this process"] = _row(
            _times(lambda: pub.publish(data), args.repeats, between=lambda: rclpy.spin_once(rx, timeout_sec=0)))
        rows["publish, subscriber in this process"]["received"] = len(got)
        rx.destroy_subscription(sub)
        rx.destroy_node()
        deadline = time.time() + 10
        while pub.get_subscription_count() > 0 and time.time() < deadline:
            time.sleep(0.05)

        # the receiver outlives the timed loop (10 ms apart, as a camera's frames are)
        seconds = 5 + 0.02 * (args.repeats + 10)
        child = subprocess.Popen([sys.executable, "-c", _RECEIVER, topic, str(seconds)], stdout=subprocess.PIPE,
                                 text=True)
        deadline = time.time() + 20
        while pub.get_subscription_count() == 0 and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # let discovery settle before timing
        other = _times(lambda: pub.publish(data), args.repeats, between=lambda: time.sleep(0.01))
        received = child.communicate(timeout=seconds + 30)[0].strip()
        rows["publish, subscriber in another process"] = {**_row(other), "received": int(received or 0)}
    finally:
        node.destroy_node()
        rclpy.try_shutdown()

    print(f"mono8 mask {w}x{h} ({len(data) / 2**20:.2f} MiB serialised), {args.repeats} calls each (ms)")
    print(f"{'':<42} {'median':>8} {'least':>8} {'p95':>8}")
    for name, r in rows.items():
        extra = f"   ({r['received']} received)" if "received" in r else ""
        print(f"{name:<42} {r['median_ms']:8.3f} {r['least_ms']:8.3f} {r['p95_ms']:8.3f}{extra}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"resolution": f"{w}x{h}", "bytes": len(data), "repeats": args.repeats, "rows": rows}, f,
                      indent=1)


if __name__ == "__main__":
    main()
