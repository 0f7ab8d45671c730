"""The node's own cost per frame, outside the inference pipeline: converting the
incoming image, building every output message and publishing them; and the
transport time of a camera image between two nodes over DDS."""
from __future__ import annotations

import time

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.pipeline import FrameResult


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


def bench_node(resolutions=((1280, 720), (2048, 1024)), people: int = 10, frames: int = 30) -> dict:
    import rclpy
    from cluenet_msgs.msg import PedestrianArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray
    from visualization_msgs.msg import MarkerArray

    from cluenet_ros.ros import messages
    from cluenet_ros.ros.image_codec import image_to_array, mono8_message, rgb8_message

    rclpy.init()
    node = rclpy.create_node("cluenet_node_bench")
    receiver = rclpy.create_node("cluenet_node_bench_rx")
    qos = QoSProfile(depth=2, reliability=ReliabilityPolicy.RELIABLE)
    pubs = {"detections": node.create_publisher(Detection2DArray, "bench/detections", 10),
            "pedestrians": node.create_publisher(PedestrianArray, "bench/pedestrians", 10),
            "mask": node.create_publisher(Image, "bench/mask", 10),
            "skeletons": node.create_publisher(MarkerArray, "bench/skeletons", 10)}
    cam = node.create_publisher(Image, "bench/image", qos)
    arrived = []
    receiver.create_subscription(Image, "bench/image", lambda m: arrived.append(time.perf_counter()), qos)
    out = {}
    try:
        for w, h in resolutions:
            rgb = np.random.default_rng(1).integers(0, 256, (h, w, 3), dtype=np.uint8)
            msg = rgb8_message(rgb, None, Image)
            msg.encoding = "bgr8"  # the common camera encoding: needs a conversion
            result = synthetic_result(w, h, people)
            overhead = []
            for i in range(frames + 3):
                t0 = time.perf_counter()
                frame, _ = image_to_array(msg)
                header = msg.header
                pubs["detections"].publish(messages.detections(result, header))
                pubs["pedestrians"].publish(messages.pedestrians(result, header))
                pubs["mask"].publish(mono8_message(result.mask, header, Image))
                pubs["skeletons"].publish(messages.skeleton_markers(result, header))
                if i >= 3:
                    overhead.append(1000 * (time.perf_counter() - t0))
                del frame
            deadline = time.time() + 10
            while cam.get_subscription_count() == 0 and time.time() < deadline:
                rclpy.spin_once(receiver, timeout_sec=0.05)
            transport = []
            for i in range(frames + 3):
                arrived.clear()
                t0 = time.perf_counter()
                cam.publish(msg)
                end = time.time() + 5
                while not arrived and time.time() < end:
                    rclpy.spin_once(receiver, timeout_sec=0.001)
                if arrived and i >= 3:
                    transport.append(1000 * (arrived[0] - t0))
            out[f"{w}x{h}"] = {"node_overhead_ms_median": float(np.median(overhead)),
                               "node_overhead_ms_p95": float(np.percentile(overhead, 95)),
                               "transport_ms_median": float(np.median(transport)) if transport else None,
                               "people": people}
    finally:
        node.destroy_node()
        receiver.destroy_node()
        rclpy.try_shutdown()
    return out
