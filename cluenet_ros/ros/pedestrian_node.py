"""``pedestrian_node``: camera images in; detections, pedestrians with keypoints,
mask, skeleton markers, an optional debug image and diagnostics out.

Frames are never queued: the subscription callback only parks the newest frame
in a one-slot mailbox (replacing any frame still waiting there) and a worker
thread runs the inference pipeline on whatever is in the mailbox when it is
free. The output is therefore at most one frame behind the camera, and frames
the node cannot keep up with are counted as dropped.
"""
from __future__ import annotations

import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray
from cluenet_msgs.msg import PedestrianArray
from visualization_msgs.msg import MarkerArray

from cluenet_ros.errors import InputError
from cluenet_ros.ros import messages
from cluenet_ros.ros.image_codec import BadImage, compressed_to_rgb, image_to_array, mono8_message, rgb8_message
from cluenet_ros.ros.parameters import BY_NAME, PARAMS

DEMO_WEIGHTS = Path("models") / "cluenet_demo.pt"
THROTTLE_S = 5.0


class StartupError(Exception):
    pass


def default_weights() -> Path:
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("cluenet_ros")) / DEMO_WEIGHTS


class PedestrianNode(Node):
    def __init__(self, **kwargs):
        super().__init__("pedestrian_node", **kwargs)
        self._cv = threading.Condition()
        self._mailbox = None
        self._stop = False
        self._worker: threading.Thread | None = None
        for p in PARAMS:
            self.declare_parameter(p.name, p.default, p.descriptor())
        self.pipeline = self._load_pipeline()
        self.add_on_set_parameters_callback(self._on_set_parameters)

        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=self.p("qos.depth"),
                         reliability=(ReliabilityPolicy.BEST_EFFORT if self.p("qos.reliability") == "best_effort"
                                      else ReliabilityPolicy.RELIABLE))
        self.create_subscription(Image, "image", lambda m: self._offer(m, "raw"), qos)
        if self.p("subscribe_compressed"):
            self.create_subscription(CompressedImage, "image/compressed", lambda m: self._offer(m, "compressed"), qos)
        self.pub_detections = self.create_publisher(Detection2DArray, "detections", 10)
        self.pub_pedestrians = self.create_publisher(PedestrianArray, "pedestrians", 10)
        self.pub_mask = self.create_publisher(Image, "mask", 10)
        self.pub_skeletons = self.create_publisher(MarkerArray, "skeletons", 10)
        self.pub_debug = self.create_publisher(Image, "debug_image", 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        self.stats = {"received": 0, "processed": 0, "dropped": 0, "bad": 0, "failed": 0}
        self._latencies: deque[float] = deque(maxlen=100)
        self._done_times: deque[float] = deque(maxlen=100)
        self._worker = threading.Thread(target=self._work, name="cluenet_inference", daemon=True)
        self._worker.start()
        self.create_timer(self.p("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().info(f"ready on {self.pipeline.device} "
                               f"(score >= {self.p('score_threshold')}, subscribed to "
                               f"{self.resolve_topic_name('image')})")

    def p(self, name: str):
        return self.get_parameter(name).value

    # -- start-up ---------------------------------------------------------------------
    def _load_pipeline(self):
        from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
        from cluenet_ros.models.factory import load_model_configs

        for name in ("device", "precision"):
            if self.p(name) not in BY_NAME[name].choices:
                raise StartupError(f"parameter {name}: {self.p(name)!r} is not one of "
                                   f"{', '.join(BY_NAME[name].choices)}")
        cfg = PipelineConfig(device=self.p("device"), precision=self.p("precision"),
                             score_threshold=self.p("score_threshold"), nms_iou=self.p("nms_iou"),
                             max_detections=self.p("max_detections"), mask_threshold=self.p("mask_threshold"))
        weights = self.p("weights")
        try:
            if weights == "random":
                self.get_logger().warning("weights:=random -- a randomly initialised model: detections are "
                                          "meaningless; use it only to test the plumbing")
                s1, s2 = load_model_configs(self.p("model_config") or None)
                pipeline = ClueNetPipeline.random(cfg, s1, s2)
            else:
                path = Path(weights) if weights else default_weights()
                if not weights and not path.is_file():
                    raise StartupError(f"{path}: the packaged demo weights are not installed; pass "
                                       "weights:=/path/to/checkpoint.pt (or weights:=random to test the plumbing)")
                pipeline = ClueNetPipeline.from_checkpoint(path, cfg)
        except (InputError, RuntimeError, ValueError) as exc:
            raise StartupError(str(exc)) from None
        pipeline.set_input_scale(self.p("input_scale"))
        return pipeline

    # -- parameters at run time ---------------------------------------------------------
    def _on_set_parameters(self, params) -> SetParametersResult:
        for prm in params:
            spec = BY_NAME.get(prm.name)
            if spec and spec.choices and prm.value not in spec.choices:
                return SetParametersResult(successful=False,
                                           reason=f"{prm.name} must be one of {', '.join(spec.choices)}")
        try:
            for prm in params:
                if prm.name == "score_threshold":
                    self.pipeline.set_thresholds(score=prm.value)
                elif prm.name == "nms_iou":
                    self.pipeline.set_thresholds(nms_iou=prm.value)
                elif prm.name == "max_detections":
                    self.pipeline.set_thresholds(max_detections=prm.value)
                elif prm.name == "input_scale":
                    self.pipeline.set_input_scale(prm.value)
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    # -- frames -------------------------------------------------------------------------
    def _offer(self, msg, kind: str) -> None:
        with self._cv:
            self.stats["received"] += 1
            if self._mailbox is not None:
                self.stats["dropped"] += 1
            self._mailbox = (msg, kind)
            self._cv.notify()

    def _work(self) -> None:
        while True:
            with self._cv:
                while self._mailbox is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                msg, kind = self._mailbox
                self._mailbox = None
            try:
                self._process(msg, kind)
            except BadImage as exc:
                self.stats["bad"] += 1
                self.get_logger().warning(f"skipping {kind} frame from '{msg.header.frame_id}': {exc}",
                                          throttle_duration_sec=THROTTLE_S)
            except Exception as exc:  # keep running whatever a frame does to the pipeline
                self.stats["failed"] += 1
                self.get_logger().error(f"frame failed: {type(exc).__name__}: {exc}",
                                        throttle_duration_sec=THROTTLE_S)

    def _process(self, msg, kind: str) -> None:
        image, bgr = image_to_array(msg) if kind == "raw" else (compressed_to_rgb(msg), False)
        result = self.pipeline(image, bgr=bgr)
        header = msg.header
        if self.p("publish.detections"):
            self.pub_detections.publish(messages.detections(result, header))
        if self.p("publish.pedestrians"):
            self.pub_pedestrians.publish(messages.pedestrians(result, header))
        if self.p("publish.mask"):
            self.pub_mask.publish(mono8_message(result.mask, header, Image))
        if self.p("publish.skeletons"):
            self.pub_skeletons.publish(messages.skeleton_markers(result, header, scale=self.p("marker_scale")))
        if self.p("publish.debug_image"):
            rgb = image[..., ::-1] if bgr else image
            self.pub_debug.publish(rgb8_message(messages.draw_debug(np.ascontiguousarray(rgb), result), header, Image))
        now = time.time()
        stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
        self.stats["processed"] += 1
        self._latencies.append(now - stamp)
        self._done_times.append(now)

    # -- diagnostics --------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        lat = sorted(self._latencies)
        done = list(self._done_times)
        rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
        status = DiagnosticStatus(name=f"{self.get_name()}: pedestrian perception", hardware_id=str(self.pipeline.device))
        status.level = DiagnosticStatus.OK
        status.message = "ok"
        if self.stats["processed"] == 0:
            status.level, status.message = DiagnosticStatus.WARN, "no frame processed yet"
        elif self.stats["failed"] or self.stats["bad"]:
            status.level, status.message = DiagnosticStatus.WARN, "some frames were skipped"
        values = {
            "latency_ms_median": 1000 * lat[len(lat) // 2] if lat else float("nan"),
            "latency_ms_max": 1000 * lat[-1] if lat else float("nan"),
            "rate_hz": rate,
            "frames_received": self.stats["received"],
            "frames_processed": self.stats["processed"],
            "frames_dropped": self.stats["dropped"],
            "frames_bad": self.stats["bad"],
            "frames_failed": self.stats["failed"],
        }
        status.values = [KeyValue(key=k, value=(f"{v:.2f}" if isinstance(v, float) else str(v)))
                         for k, v in values.items()]
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)

    def destroy_node(self):
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._worker is not None:
            self._worker.join(timeout=5)
        return super().destroy_node()


def main(args=None) -> int:
    rclpy.init(args=args if args is not None else sys.argv)
    try:
        node = PedestrianNode()
    except StartupError as exc:
        rclpy.logging.get_logger("pedestrian_node").fatal(str(exc))
        rclpy.try_shutdown()
        return 1
    try:
        rclpy.spin(node)
    except (KeyboardInterrupt, rclpy.executors.ExternalShutdownException):
        pass
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
