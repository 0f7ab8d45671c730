"""Drive a pedestrian_node process from a test: publish frames, collect outputs."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import rclpy
from cluenet_msgs.msg import PedestrianArray
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray, Detection3DArray
from visualization_msgs.msg import MarkerArray

REPO = Path(__file__).resolve().parents[2]
TINY_MODEL = REPO / "test" / "data" / "tiny_model.yaml"


def start_node(namespace: str, *params: str, weights: str = "random", ros_args=(), env=None,
               params_file: bool = True, managed: bool = False) -> subprocess.Popen:
    """The node as a process; ``params`` are NAME:=VALUE, ``ros_args`` further --ros-args.
    (rcl keeps a --params-file value over a ``-p`` of another type, silently.)
    ``managed``: the lifecycle node."""
    args = [sys.executable, "-m", "cluenet_ros.ros.pedestrian_node"] + (["--managed"] if managed else []) \
        + ["--ros-args", "-r", f"__ns:={namespace}"]
    if params_file:
        args += ["--params-file", str(REPO / "config" / "pedestrian.yaml")]
    args += ["-p", f"weights:={weights}", "-p", f"model_config:={TINY_MODEL}", "-p", "device:=cpu", "-p", "backend:=torch",
            "-p", "qos.reliability:=reliable", "-p", "qos.depth:=5"]
    for p in params:
        args += ["-p", p]
    args += list(ros_args)
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=dict(env or os.environ, PYTHONUNBUFFERED="1"))


def rgb_image(h: int, w: int, seed: int = 0, encoding: str = "rgb8") -> Image:
    channels = {"rgb8": 3, "bgr8": 3, "rgba8": 4, "bgra8": 4, "mono8": 1}[encoding]
    msg = Image(height=h, width=w, encoding=encoding, step=w * channels)
    msg.data = np.random.default_rng(seed).integers(0, 256, h * w * channels, dtype=np.uint8).tobytes()
    msg.header.frame_id = "test_camera"
    return msg


class Harness:
    TOPICS = {"detections": Detection2DArray, "pedestrians": PedestrianArray, "mask": Image,
              "skeletons": MarkerArray, "debug_image": Image}

    EXTRA_TOPICS = {"ground_detections": Detection3DArray, "ground_markers": MarkerArray}

    def __init__(self, context, namespace: str, topics=None):
        """``topics``: the output topics to subscribe to (default: TOPICS)."""
        self.ns = namespace
        self.node = rclpy.create_node(f"harness_{namespace.strip('/')}", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.received = defaultdict(list)
        qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
        all_topics = {**self.TOPICS, **self.EXTRA_TOPICS}
        self.subscriptions = {}
        for topic in (self.TOPICS if topics is None else topics):
            typ = all_topics[topic]
            self.subscriptions[topic] = self.node.create_subscription(typ, f"{namespace}/{topic}",
                                          lambda m, t=topic: self.received[t].append(m), qos)
        self.node.create_subscription(DiagnosticArray, "/diagnostics",
                                      lambda m: self.received["diagnostics"].append(m), qos)
        self.pub_raw = self.node.create_publisher(Image, f"{namespace}/image", qos)
        self.pub_compressed = self.node.create_publisher(CompressedImage, f"{namespace}/image/compressed", qos)
        self.param_client = self.node.create_client(SetParameters, f"{namespace}/pedestrian_node/set_parameters")
        self._stamp = 1000

    def next_stamp(self, msg):
        self._stamp += 1
        msg.header.stamp.sec = self._stamp
        msg.header.stamp.nanosec = 0
        return self._stamp

    def spin_until(self, predicate, timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return True
            self.executor.spin_once(timeout_sec=0.05)
        return predicate()

    def wait_ready(self, proc, timeout: float = 60.0) -> None:
        ok = self.spin_until(lambda: self.pub_raw.get_subscription_count() > 0 or proc.poll() is not None, timeout)
        assert ok and proc.poll() is None, "node did not come up:\n" + (proc.stdout.read() if proc.poll() is not None else "")

    def outputs_for(self, stamp: int, topic: str):
        return [m for m in self.received[topic] if m.header.stamp.sec == stamp]

    def diagnostics(self) -> dict:
        """The values of the latest /diagnostics message from the node."""
        msg = self.received["diagnostics"][-1].status[0]
        return {kv.key: kv.value for kv in msg.values}

    def send_and_wait(self, msg, topics=("detections", "pedestrians", "mask", "skeletons"), timeout=30.0,
                      compressed: bool = False):
        stamp = self.next_stamp(msg)
        (self.pub_compressed if compressed else self.pub_raw).publish(msg)

        def arrived():
            return all(self._stamped(t, stamp) for t in topics)

        assert self.spin_until(arrived, timeout), f"no outputs for stamp {stamp} on {topics}"
        return stamp

    def _stamped(self, topic, stamp):
        if topic in ("skeletons", "ground_markers"):
            return any(m.markers and m.markers[0].header.stamp.sec == stamp for m in self.received[topic])
        return bool(self.outputs_for(stamp, topic))

    def set_parameters(self, **values):
        assert self.param_client.wait_for_service(timeout_sec=20)
        req = SetParameters.Request(parameters=[Parameter(k, value=v).to_parameter_msg() for k, v in values.items()])
        future = self.param_client.call_async(req)
        assert self.spin_until(future.done, 20)
        return future.result().results

    def close(self):
        self.executor.shutdown()
        self.node.destroy_node()


def stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(2)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.stdout.read() if proc.stdout else ""
