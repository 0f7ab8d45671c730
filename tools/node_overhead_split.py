"""Where the node's own time per frame goes, inside the frame sequence itself:
``PedestrianNode._process`` on a fixed result (the pipeline replaced, as in
``cluenet bench --node``), every output subscribed over DDS, with the tracker, each
encoder or builder and each ``publish`` call wrapped in a timer. Figures timed
alone in a loop come out lower (warm caches), so this is the split that adds up to
the node benchmark's.

    .venv/bin/python tools/node_overhead_split.py [--resolution 2048x1024] [--frames 200] [--message-objects]
"""
from __future__ import annotations

import argparse
import collections
import os
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", default="2048x1024")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--frames", type=int, default=200)
    ap.add_argument("--message-objects", action="store_true", help="raw_publishing:=false")
    args = ap.parse_args()
    w, h = (int(v) for v in args.resolution.split("x"))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

    import cluenet_ros  # noqa: F401  (AMENT_PREFIX_PATH for the venv)
    import rclpy
    from cluenet_msgs.msg import PedestrianArray
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray
    from visualization_msgs.msg import MarkerArray

    from cluenet_ros._environment import packaged_file
    from cluenet_ros.benchmark.node_bench import synthetic_result
    from cluenet_ros.inference.interface import apply_keep
    from cluenet_ros.ros import cdr, messages, pedestrian_node
    from cluenet_ros.ros.image_codec import rgb8_message

    times: dict[str, list[float]] = collections.defaultdict(list)

    def timed(name, fn):
        def wrapper(*a, **k):
            t0 = time.perf_counter()
            out = fn(*a, **k)
            times[name].append(1000 * (time.perf_counter() - t0))
            return out
        return wrapper

    for module, names in ((cdr, ("detections", "pedestrians", "mono8_image", "skeleton_markers")),
                          (messages, ("detections", "pedestrians", "skeleton_markers")),
                          (pedestrian_node, ("mono8_message",))):
        for name in names:
            setattr(module, name, timed(f"build {name}", getattr(module, name)))

    rclpy.init()
    overrides = [Parameter("weights", value="random"), Parameter("device", value="cpu"),
                 Parameter("backend", value="torch"), Parameter("raw_publishing", value=not args.message_objects),
                 Parameter("model_config", value=str(packaged_file(Path("config") / "model_mobile.yaml")))]
    node = pedestrian_node.PedestrianNode(parameter_overrides=overrides, namespace="/cluenet_overhead_split")
    node.stop_worker()
    receiver = rclpy.create_node("cluenet_overhead_split_rx")
    try:
        rgb = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
        frame = rgb8_message(rgb, None, Image)
        frame.encoding = "bgr8"
        frame.header.stamp = node.get_clock().now().to_msg()
        result = synthetic_result(w, h, args.people)
        node.pipeline = lambda image, bgr=False, keep=None: apply_keep(result, keep)
        if node.tracker is not None:  # the node asks it between the stages, then after them
            node.tracker.select = timed("tracker (association)", node.tracker.select)
            node.tracker.tracked = timed("tracker (ids, smoothing)", node.tracker.tracked)
        outputs = {"detections": (Detection2DArray, node.pub_detections),
                   "pedestrians": (PedestrianArray, node.pub_pedestrians),
                   "mask": (Image, node.pub_mask), "skeletons": (MarkerArray, node.pub_skeletons)}
        for name, (kind, pub) in outputs.items():
            receiver.create_subscription(kind, f"/cluenet_overhead_split/{name}", lambda m: None, 10)
            pub.publish = timed(f"publish {name}", pub.publish)
        deadline = time.monotonic() + 20
        while not all(p.get_subscription_count() for _, p in outputs.values()) and time.monotonic() < deadline:
            rclpy.spin_once(receiver, timeout_sec=0.01)
        for i in range(args.frames + 5):
            if i == 5:
                times.clear()
            t0 = time.perf_counter()
            node._process(frame, "raw")
            times["whole frame"].append(1000 * (time.perf_counter() - t0))
            for _ in range(4):  # drain what arrived (outside the timing)
                rclpy.spin_once(receiver, timeout_sec=0)
    finally:
        node.destroy_node()
        receiver.destroy_node()
        rclpy.try_shutdown()
    print(f"{w}x{h}, {args.people} pedestrians, raw_publishing {not args.message_objects}, "
          f"{args.frames} frames (ms)")
    for name, v in sorted(times.items(), key=lambda kv: -np.median(kv[1])):
        print(f"  {name:<26} median {np.median(v):7.3f}  least {np.min(v):7.3f}")


if __name__ == "__main__":
    main()
