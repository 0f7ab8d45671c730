"""``pedestrian_node``: camera images in; detections, pedestrians with keypoints,
mask, skeleton markers, an optional debug image and diagnostics out.

Frames are never queued: the subscription callback only parks the newest frame
in a one-slot mailbox (replacing any frame still waiting there) and a worker
thread runs the inference pipeline on whatever is in the mailbox when it is
free. The output is therefore at most one frame behind the camera, and frames
the node cannot keep up with are counted as dropped.

Shutdown: SIGINT and SIGTERM only ask the node to stop; the worker finishes the
frame it is on, then the node is destroyed and the process exits with status 0
(no KeyboardInterrupt traceback, also when ``ros2 launch`` and the terminal both
send SIGINT).
"""
from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections import deque
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import SetParametersResult
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CompressedImage, Image
from vision_msgs.msg import Detection2DArray
from cluenet_msgs.msg import PedestrianArray
from visualization_msgs.msg import MarkerArray

from cluenet_ros.errors import InputError
from cluenet_ros.ros import messages
from cluenet_ros.ros.image_codec import (BadImage, ImageTooLarge, compressed_to_rgb, image_to_array, mono8_message,
                                         rgb8_message)
from cluenet_ros.ros.parameters import BY_NAME, PARAMS

DEMO_WEIGHTS = Path("models") / "cluenet_demo.pt"
FASTDDS_PROFILE = Path("config") / "fastdds_shm.xml"
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
            try:
                self.declare_parameter(p.name, p.default, p.descriptor())
            except ParameterException as exc:
                raise StartupError(f"parameter {p.name}: {_one_line(exc)}") from None
        self._check_start_parameters()
        self.pipeline = self._load_pipeline()
        self.add_on_set_parameters_callback(self._on_set_parameters)

        qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=self.p("qos.depth"),
                         reliability=(ReliabilityPolicy.BEST_EFFORT if self.p("qos.reliability") == "best_effort"
                                      else ReliabilityPolicy.RELIABLE))
        self._lost = 0
        self._warned_loss = self._warned_incompatible = False
        events = SubscriptionEventCallbacks(message_lost=self._on_message_lost,
                                            incompatible_qos=self._on_incompatible_qos)
        self.create_subscription(Image, "image", lambda m: self._offer(m, "raw"), qos, event_callbacks=events)
        if self.p("subscribe_compressed"):
            self.create_subscription(CompressedImage, "image/compressed", lambda m: self._offer(m, "compressed"), qos,
                                     event_callbacks=events)
        self.pub_detections = self.create_publisher(Detection2DArray, "detections", 10)
        self.pub_pedestrians = self.create_publisher(PedestrianArray, "pedestrians", 10)
        self.pub_mask = self.create_publisher(Image, "mask", 10)
        self.pub_skeletons = self.create_publisher(MarkerArray, "skeletons", 10)
        self.pub_debug = self.create_publisher(Image, "debug_image", 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)

        self.stats = {"received": 0, "processed": 0, "dropped": 0, "bad": 0, "too_large": 0, "failed": 0}
        self._last_reported = dict(self.stats)
        self._last_skip_reason = ""
        self._latencies: deque[float] = deque(maxlen=100)
        self._done_times: deque[float] = deque(maxlen=100)
        self._worker = threading.Thread(target=self._work, name="cluenet_inference", daemon=True)
        self._worker.start()
        self.create_timer(self.p("diagnostics_period"), self._publish_diagnostics)
        self.get_logger().debug("parameters: " + ", ".join(f"{p.name}={self.p(p.name)!r}" for p in PARAMS))
        self.get_logger().info(f"ready on {self.pipeline.device} with backend {self.pipeline.backend} "
                               f"(score >= {self.p('score_threshold')}, subscribed to "
                               f"{self.resolve_topic_name('image')})")

    def p(self, name: str):
        return self.get_parameter(name).value

    # -- start-up ---------------------------------------------------------------------
    def _check_start_parameters(self) -> None:
        """What rclpy's descriptors do not check: choices, and finite numbers."""
        for spec in PARAMS:
            value = self.p(spec.name)
            reason = _invalid(spec, value)
            if reason:
                raise StartupError(f"parameter {spec.name}: {reason}")

    def _load_pipeline(self):
        from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
        from cluenet_ros.models.factory import load_model_configs

        cfg = PipelineConfig(device=self.p("device"), precision=self.p("precision"),
                             score_threshold=self.p("score_threshold"), nms_iou=self.p("nms_iou"),
                             max_detections=self.p("max_detections"), mask_threshold=self.p("mask_threshold"),
                             backend=self.p("backend"))
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
            reason = _invalid(spec, prm.value) if spec else None
            if reason:
                return SetParametersResult(successful=False, reason=f"{prm.name}: {reason}")
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

    def _on_message_lost(self, info) -> None:
        self._lost = int(info.total_count)
        if not self._warned_loss:
            self._warned_loss = True
            self.get_logger().warning(
                f"{info.total_count_change} image message(s) were lost in transport before reaching the node "
                "(large frames over UDP with a best-effort subscription). Start the publisher with "
                f"FASTDDS_DEFAULT_PROFILES_FILE={_share_file(FASTDDS_PROFILE)} (pedestrian.launch.py sets it for "
                "the node), or set qos.reliability:=reliable if the publisher is reliable. See README, "
                "'Large images over DDS'.")

    def _on_incompatible_qos(self, info) -> None:
        if not self._warned_incompatible:
            self._warned_incompatible = True
            self.get_logger().warning(
                "a publisher on the image topic has a QoS incompatible with this subscription "
                f"(qos.reliability={self.p('qos.reliability')}; policy {info.last_policy_kind.name}): "
                "no frames from it will arrive. A best-effort camera needs qos.reliability:=best_effort.")

    def _work(self) -> None:
        while True:
            with self._cv:
                while self._mailbox is None and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                msg, kind = self._mailbox
                self._mailbox = None
            frame = getattr(msg.header, "frame_id", "")
            try:
                self._process(msg, kind)
            except BadImage as exc:
                with self._cv:
                    self.stats["bad"] += 1
                    if isinstance(exc, ImageTooLarge):
                        self.stats["too_large"] += 1
                self._last_skip_reason = f"bad input: {exc}"
                self.get_logger().warning(f"skipping {kind} frame from '{frame}': {exc}",
                                          throttle_duration_sec=THROTTLE_S)
            except Exception as exc:  # keep running whatever a frame does to the pipeline
                with self._cv:
                    self.stats["failed"] += 1
                self._last_skip_reason = f"inference failed: {type(exc).__name__}"
                self.get_logger().error(f"frame failed: {type(exc).__name__}: {exc}",
                                        throttle_duration_sec=THROTTLE_S)

    def _process(self, msg, kind: str) -> None:
        limits = dict(max_pixels=self.p("max_image_pixels"), max_side=self.p("max_image_side"))
        if kind == "raw":
            image, bgr = image_to_array(msg, **limits)
        else:
            decoder_said: list[str] = []
            image, bgr = compressed_to_rgb(msg, warnings=decoder_said, **limits), False
            if decoder_said:
                self.get_logger().warning(f"image decoder on a {kind} frame from '{msg.header.frame_id}': "
                                          f"{decoder_said[0]}", throttle_duration_sec=THROTTLE_S)
        result = self.pipeline(image, bgr=bgr)
        header = msg.header
        if self.p("publish.detections") and _wanted(self.pub_detections):
            self.pub_detections.publish(messages.detections(result, header))
        if self.p("publish.pedestrians") and _wanted(self.pub_pedestrians):
            self.pub_pedestrians.publish(messages.pedestrians(result, header))
        if self.p("publish.mask") and _wanted(self.pub_mask):
            self.pub_mask.publish(mono8_message(result.mask, header, Image))
        if self.p("publish.skeletons") and _wanted(self.pub_skeletons):
            self.pub_skeletons.publish(messages.skeleton_markers(result, header, scale=self.p("marker_scale")))
        if self.p("publish.debug_image") and _wanted(self.pub_debug):
            rgb = image[..., ::-1] if bgr else image
            self.pub_debug.publish(rgb8_message(messages.draw_debug(np.ascontiguousarray(rgb), result), header, Image))
        # the node's clock: system time, or /clock under use_sim_time, like the stamps
        now = self.get_clock().now().nanoseconds * 1e-9
        stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
        with self._cv:
            self.stats["processed"] += 1
        self._latencies.append(now - stamp)
        self.get_logger().debug(f"{kind} frame {image.shape[1]}x{image.shape[0]}: {len(result.boxes)} pedestrian(s), "
                                f"{1000 * (now - stamp):.0f} ms after its stamp")
        self._done_times.append(time.monotonic())

    # -- diagnostics --------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        lat = sorted(self._latencies)
        done = list(self._done_times)
        rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
        with self._cv:
            stats = dict(self.stats)
        previous, self._last_reported = self._last_reported, stats
        skipped = (stats["bad"] - previous["bad"]) + (stats["failed"] - previous["failed"])
        status = DiagnosticStatus(name=f"{self.get_name()}: pedestrian perception", hardware_id=str(self.pipeline.device))
        status.level = DiagnosticStatus.OK
        status.message = "ok"
        # a WARN describes the last period only, so it clears once its cause is gone
        if skipped:
            status.level = DiagnosticStatus.WARN
            status.message = f"{skipped} frame(s) skipped since the last report ({self._last_skip_reason})"
        elif stats["processed"] == 0:
            status.level, status.message = DiagnosticStatus.WARN, "no frame processed yet"
        values = {
            "latency_ms_median": 1000 * lat[len(lat) // 2] if lat else float("nan"),
            "latency_ms_max": 1000 * lat[-1] if lat else float("nan"),
            "rate_hz": rate,
            "frames_received": stats["received"],
            "frames_processed": stats["processed"],
            "frames_dropped": stats["dropped"],
            "frames_bad": stats["bad"],
            "frames_too_large": stats["too_large"],
            "frames_failed": stats["failed"],
            "frames_lost_in_transport": self._lost,
            "backend": self.pipeline.backend,
        }
        status.values = [KeyValue(key=k, value=(f"{v:.2f}" if isinstance(v, float) else str(v)))
                         for k, v in values.items()]
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)

    def stop_worker(self) -> None:
        """Let the worker finish the frame it is on (however long that takes: a
        thread inside a torch operator cannot be interrupted, and leaving it running
        at interpreter exit aborts the process), then end it."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._worker is not None:
            self._worker.join()

    def destroy_node(self):
        self.stop_worker()
        return super().destroy_node()


def _wanted(publisher) -> bool:
    """Lazy outputs (as image_transport users expect): a message nobody subscribes
    to is neither built nor published."""
    return publisher.get_subscription_count() > 0


def _one_line(exc: Exception) -> str:
    text = str(exc.args[0]) if getattr(exc, "args", None) else str(exc)
    return " ".join(text.split())


def _invalid(spec, value) -> str | None:
    """Why ``value`` is not acceptable for parameter ``spec`` (None if it is)."""
    if spec.choices and value not in spec.choices:
        return f"{value!r} is not one of {', '.join(spec.choices)}"
    if isinstance(value, float) and not math.isfinite(value):
        return f"{value} is not a finite number"
    return None


def _share_file(relative: Path) -> str:
    try:
        from ament_index_python.packages import get_package_share_directory

        return str(Path(get_package_share_directory("cluenet_ros")) / relative)
    except Exception:
        return f"<share/cluenet_ros>/{relative}"


def main(args=None) -> int:
    # rclpy's own handlers raise KeyboardInterrupt wherever the main thread is (a
    # second Ctrl-C then lands inside the clean-up); ours only ask to stop.
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    try:
        node = PedestrianNode()
    except StartupError as exc:
        rclpy.logging.get_logger("pedestrian_node").fatal(str(exc))
        rclpy.try_shutdown()
        return 1
    if stop.is_set():  # a signal during start-up
        node.destroy_node()
        rclpy.try_shutdown()
        return 0
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)  # returns to Python so the handlers run
    except rclpy.executors.ExternalShutdownException:
        pass
    node.get_logger().info("stopping")
    node.stop_worker()
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown()
    return 0


def entry_point() -> None:
    """The executable: ``main()``, then exit without the interpreter's finalisation,
    which unloads torch's libraries for 1-3 s after the node has already shut down
    cleanly (and would keep a stopping node alive past launch's SIGTERM timeout)."""
    import logging
    import os

    code = main()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    entry_point()
