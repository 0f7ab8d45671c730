"""The node's own cost per frame, outside the inference pipeline: converting the
incoming image, building the output messages and publishing them (all outputs
subscribed, and none: unsubscribed outputs are not built); and the transport time
of a camera image between two nodes over DDS."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.interface import FrameResult, apply_keep


def synthetic_result(width: int, height: int, people: int, seed: int = 0) -> FrameResult:
    """A FrameResult of the right shapes (values do not change the cost)."""
    rng = np.random.default_rng(seed)
    x1 = rng.uniform(0, width * 0.9, people)
    y1 = rng.uniform(0, height * 0.5, people)
    boxes = np.stack([x1, y1, x1 + 40, y1 + 100], 1).astype(np.float32)
    kps = np.concatenate([rng.uniform(0, min(width, height), (people, kp.NUM_KEYPOINTS, 2)),
                          rng.uniform(0, 1, (people, kp.NUM_KEYPOINTS, 1))], -1).astype(np.float32)
    mask = np.zeros((height, width), np.uint8)
    mask[: height // 3, : width // 3] = 255
    return FrameResult(boxes=boxes, scores=rng.uniform(0.5, 1, people).astype(np.float32), visible_boxes=boxes.copy(),
                       visibility=np.ones(people, np.float32), keypoints=kps,
                       occluded=rng.random((people, kp.NUM_KEYPOINTS)) < 0.3, mask=mask)


def bench_node(resolutions=((1280, 720), (2048, 1024)), people: int = 10, frames: int = 30,
               raw_publishing: bool = True) -> dict:
    """The node's own code per frame (``PedestrianNode._process`` with the pipeline
    replaced by a fixed result), with every default output subscribed over DDS and
    with none subscribed; and the DDS transport of the camera image.
    ``raw_publishing``: the node parameter (outputs serialised from the arrays, or
    built as message objects), so that both can be measured."""
    import rclpy
    from cluenet_msgs.msg import PedestrianArray
    from rclpy.parameter import Parameter
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray
    from visualization_msgs.msg import MarkerArray

    from cluenet_ros._environment import packaged_file
    from cluenet_ros.ros.image_codec import rgb8_message
    from cluenet_ros.ros.pedestrian_node import PedestrianNode

    rclpy.init()
    overrides = [Parameter("weights", value="random"), Parameter("device", value="cpu"),
                 Parameter("backend", value="torch"), Parameter("raw_publishing", value=raw_publishing),
                 Parameter("model_config", value=str(packaged_file(Path("config") / "model_mobile.yaml")))]
    node = PedestrianNode(parameter_overrides=overrides, namespace="/cluenet_node_bench")
    node.stop_worker()  # frames go to _process directly
    receiver = rclpy.create_node("cluenet_node_bench_rx")
    qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
    cam = receiver.create_publisher(Image, "bench/image", qos)
    arrived = []
    receiver.create_subscription(Image, "bench/image", lambda m: arrived.append(time.perf_counter()), qos)
    outputs = {"detections": (Detection2DArray, node.pub_detections), "pedestrians": (PedestrianArray, node.pub_pedestrians),
               "mask": (Image, node.pub_mask), "skeletons": (MarkerArray, node.pub_skeletons)}

    def spin_until(pred, timeout=10.0):
        deadline = time.time() + timeout
        while not pred() and time.time() < deadline:
            rclpy.spin_once(receiver, timeout_sec=0.01)
        return pred()

    def timed(msg) -> list[float]:
        out = []
        for i in range(frames + 3):
            t0 = time.perf_counter()
            node._process(msg, "raw")
            if i >= 3:
                out.append(1000 * (time.perf_counter() - t0))
            for _ in range(4):  # drain what arrived (outside the timing)
                rclpy.spin_once(receiver, timeout_sec=0)
        return out

    out = {}
    try:
        for w, h in resolutions:
            rgb = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
            msg = rgb8_message(rgb, None, Image)
            msg.encoding = "bgr8"  # the common camera encoding
            msg.header.stamp = node.get_clock().now().to_msg()
            result = synthetic_result(w, h, people)
            node.pipeline = lambda image, bgr=False, keep=None: apply_keep(result, keep)  # everything but inference
            none = timed(msg)
            subs = [receiver.create_subscription(typ, f"/cluenet_node_bench/{name}", lambda m: None, 10)
                    for name, (typ, _) in outputs.items()]
            spin_until(lambda: all(pub.get_subscription_count() > 0 for _, pub in outputs.values()))
            every = timed(msg)
            for sub in subs:
                receiver.destroy_subscription(sub)
            spin_until(lambda: all(pub.get_subscription_count() == 0 for _, pub in outputs.values()))
            spin_until(lambda: cam.get_subscription_count() > 0)
            transport = []
            for i in range(frames + 3):
                arrived.clear()
                t0 = time.perf_counter()
                cam.publish(msg)
                spin_until(lambda: bool(arrived), 5)
                if arrived and i >= 3:
                    transport.append(1000 * (arrived[0] - t0))
            out[f"{w}x{h}"] = {"node_overhead_ms_median": float(np.median(every)),
                               "node_overhead_ms_p95": float(np.percentile(every, 95)),
                               # the least-disturbed frame: the closest to an idle machine's figure
                               # when other processes share the cores
                               "node_overhead_ms_min": float(np.min(every)),
                               "node_overhead_none_subscribed_ms_median": float(np.median(none)),
                               "node_overhead_none_subscribed_ms_p95": float(np.percentile(none, 95)),
                               "transport_ms_median": float(np.median(transport)) if transport else None,
                               "people": people, "outputs_subscribed": list(outputs),
                               "raw_publishing": raw_publishing}
    finally:
        node.destroy_node()
        receiver.destroy_node()
        rclpy.try_shutdown()
    return out
