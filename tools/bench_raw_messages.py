"""Per-message cost of the node's outputs: building the rclpy message and serialising
it (what ``publish`` of a message object does before handing bytes to DDS) against
writing the same bytes with cluenet_ros.ros.cdr (what the node publishes with
raw_publishing on). 10 pedestrians with track ids, as in the node benchmark.

``serialize_message`` allocates its output buffer on every call, which for the
megabytes of a mask costs far more than ``publish`` pays (Fast DDS serialises into
its own payload pool), so the mask's "serialise" column overstates the old path;
``cluenet bench --node`` is the figure for the node as a whole.

    .venv/bin/python tools/bench_raw_messages.py [--resolution 2048x1024] [--repeats 300]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", default="2048x1024")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()
    w, h = (int(v) for v in args.resolution.split("x"))

    import cluenet_ros  # noqa: F401  (AMENT_PREFIX_PATH for the venv)
    from rclpy.serialization import serialize_message
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from cluenet_ros.benchmark.node_bench import synthetic_result
    from cluenet_ros.ros import cdr, messages
    from cluenet_ros.ros.image_codec import mono8_message

    result = synthetic_result(w, h, args.people)
    result.track_ids = np.arange(args.people, dtype=np.int64) * 7 + 3
    header = Header(frame_id="camera_optical_frame")
    header.stamp.sec, header.stamp.nanosec = 1_700_000_000, 123_456_789
    cases = {
        "detections": (lambda: messages.detections(result, header), lambda: cdr.detections(result, header)),
        "pedestrians": (lambda: messages.pedestrians(result, header), lambda: cdr.pedestrians(result, header)),
        "skeletons": (lambda: messages.skeleton_markers(result, header, scale=0.001),
                      lambda: cdr.skeleton_markers(result, header, scale=0.001)),
        "mask": (lambda: mono8_message(result.mask, header, Image), lambda: cdr.mono8_image(result.mask, header)),
    }

    def median_ms(fn) -> float:
        for _ in range(10):
            fn()
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return 1000 * float(np.median(times))

    print(f"{w}x{h}, {args.people} pedestrians with track ids; median of {args.repeats} (ms)")
    print(f"{'message':<12} {'build':>8} {'serialise':>10} {'both':>8} {'cdr':>8} {'ratio':>7}")
    total_old = total_new = 0.0
    for name, (build, encode) in cases.items():
        msg = build()
        t_build = median_ms(build)
        t_ser = median_ms(lambda: serialize_message(msg))
        t_old = median_ms(lambda: serialize_message(build()))
        t_new = median_ms(encode)
        total_old, total_new = total_old + t_old, total_new + t_new
        print(f"{name:<12} {t_build:8.3f} {t_ser:10.3f} {t_old:8.3f} {t_new:8.3f} {t_old / t_new:7.1f}")
    print(f"{'all four':<12} {'':>8} {'':>10} {total_old:8.3f} {total_new:8.3f} {total_old / total_new:7.1f}")


if __name__ == "__main__":
    main()
