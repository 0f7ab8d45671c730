"""The node's floor with nothing subscribed, split by the one thing left in it: the
tracker. ``PedestrianNode._process`` on a fixed 10-pedestrian result (the pipeline
replaced, as in ``cluenet bench --node``), no subscriber on any output, with
``tracking.enable`` switched on and off in alternating rounds so that both settings
see the same load. Prints one JSON line: the median of the rounds' medians and the
least frame per setting, in ms.

    .venv/bin/python tools/node_tracking_floor.py [--resolution 2048x1024] [--rounds 5] [--frames 300]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", default="2048x1024")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args()
    w, h = (int(v) for v in args.resolution.split("x"))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")

    import cluenet_ros  # noqa: F401  (AMENT_PREFIX_PATH for the venv)
    import rclpy
    from rclpy.parameter import Parameter
    from sensor_msgs.msg import Image

    from cluenet_ros._environment import packaged_file
    from cluenet_ros.benchmark.node_bench import synthetic_result
    from cluenet_ros.inference.interface import apply_keep
    from cluenet_ros.ros.image_codec import rgb8_message
    from cluenet_ros.ros.pedestrian_node import PedestrianNode

    result = synthetic_result(w, h, args.people)

    class FixedResult:
        """Stands in for the pipeline: the same result every frame; threshold
        changes (the node forwards some parameter changes) are accepted and ignored."""
        def __call__(self, image, bgr=False, keep=None):
            return apply_keep(result, keep)

        def set_thresholds(self, **_):
            pass

    rclpy.init()
    overrides = [Parameter("weights", value="random"), Parameter("device", value="cpu"),
                 Parameter("backend", value="torch"),
                 Parameter("model_config", value=str(packaged_file(Path("config") / "model_mobile.yaml")))]
    node = PedestrianNode(parameter_overrides=overrides, namespace="/tracking_floor")
    try:
        node.stop_worker()
        node.pipeline = FixedResult()
        image = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
        msg = rgb8_message(image, None, Image)
        msg.encoding = "bgr8"
        msg.header.stamp = node.get_clock().now().to_msg()

        def run(n):
            out = np.empty(n)
            for i in range(n):
                t0 = time.perf_counter()
                node._process(msg, "raw")
                out[i] = 1000 * (time.perf_counter() - t0)
            return out

        run(30)
        medians = {"on": [], "off": []}
        least = {"on": [], "off": []}
        for _ in range(args.rounds):
            for setting in ("on", "off"):
                node.set_parameters([Parameter("tracking.enable", value=setting == "on")])
                run(20)
                t = run(args.frames)
                medians[setting].append(float(np.median(t)))
                least[setting].append(float(t.min()))
        print(json.dumps({"resolution": args.resolution, "people": args.people, "frames": args.frames,
                          "median_of_round_medians_ms": {k: float(np.median(v)) for k, v in medians.items()},
                          "round_medians_ms": medians,
                          "least_ms": {k: float(np.min(v)) for k, v in least.items()}}))
    finally:
        node.destroy_node()
        rclpy.try_shutdown()


if __name__ == "__main__":
    main()
