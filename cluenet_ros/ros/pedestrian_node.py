"""``pedestrian_node``: camera images in; detections, pedestrians with keypoints,
mask, skeleton markers, an optional debug image and diagnostics out.

Frames are never queued: the subscription callback only parks the newest frame
in a one-slot mailbox (replacing any frame still waiting there, unless that one is
newer and came on the other image topic) and a worker
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
from rclpy.duration import Duration
from rclpy.event_handler import SubscriptionEventCallbacks
from rclpy.exceptions import ParameterException
from rclpy.executors import SingleThreadedExecutor
from rclpy.lifecycle import Node as LifecycleNode
from rclpy.lifecycle import TransitionCallbackReturn
from rclpy.node import Node
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions
from sensor_msgs.msg import CameraInfo, CompressedImage, Image
from vision_msgs.msg import Detection2DArray, Detection3DArray
from cluenet_msgs.msg import PedestrianArray
from visualization_msgs.msg import MarkerArray

from cluenet_ros.errors import InputError
from cluenet_ros.ground import GroundCamera, ground_positions, up_quaternion
from cluenet_ros.overlay import draw_overlay
from cluenet_ros.ros import cdr, messages
from cluenet_ros.ros.image_codec import (BadImage, ImageTooLarge, compressed_to_rgb, image_to_array, mono8_message,
                                         rgb8_message)
from cluenet_ros.ros.parameters import BY_NAME, PARAMS

DEMO_WEIGHTS = Path("models") / "cluenet_demo.pt"
FASTDDS_PROFILE = Path("config") / "fastdds_shm.xml"
THROTTLE_S = 5.0
# How many stamps per image topic are remembered to recognise a frame that came on both:
# the two copies of one image arrive a few frames apart at most (one executor, two queues).
RECENT_STAMPS = 16
# How long a stopping node waits for subscribers to acknowledge what it published
# last, all publishers together: a 1 MB image or mask is still being sent (in
# fragments) when publish() returns, and destroying its publisher then loses it.
FLUSH_S = 0.5


class StartupError(Exception):
    pass


def default_weights() -> Path:
    from ament_index_python.packages import get_package_share_directory

    return Path(get_package_share_directory("cluenet_ros")) / DEMO_WEIGHTS


class _PedestrianCore:
    """What the plain node and the managed (lifecycle) node share. The host class
    is an rclpy Node; each step below is one piece of the life of the node:
    parameters, model, publishers, worker, subscriptions."""

    def _init_state(self) -> None:
        self._cv = threading.Condition()
        self._mailbox = None
        # the stamps of the last frames offered on each image topic, to know a frame that
        # image_transport also published on the other topic (see _offer)
        self._recent_stamps = {"raw": deque(maxlen=RECENT_STAMPS), "compressed": deque(maxlen=RECENT_STAMPS)}
        self._stop = False
        self._worker: threading.Thread | None = None
        self.pipeline = None
        self.tracker = None
        self._subscriptions_made: list = []
        self._publishers_made: list = []
        self._diag_timer = None
        self._camera_infos: deque = deque(maxlen=30)
        self._prev_stamp: float | None = None
        self._lost = 0
        self._warned_loss = self._warned_incompatible = False
        self.stats = {"received": 0, "processed": 0, "dropped": 0, "duplicates": 0, "bad": 0, "too_large": 0,
                      "failed": 0, "debug_images": 0, "ground_frames": 0, "ground_without_camera_info": 0}
        self._last_reported = dict(self.stats)
        self._last_skip_reason = ""
        self._latencies: deque[float] = deque(maxlen=100)
        self._done_times: deque[float] = deque(maxlen=100)

    def p(self, name: str):
        """A parameter's current value. The node's own parameters come from a copy
        kept current by rclpy's post-set callback: a frame reads about ten of them,
        and ``get_parameter`` costs about 3 us each (a tenth of the 0.3 ms a frame's
        overhead may take with nothing subscribed, issue #20)."""
        try:
            return self._values[name]
        except KeyError:
            return self.get_parameter(name).value

    def _declare_parameters(self) -> None:
        self._values: dict = {}
        for p in PARAMS:
            try:
                self.declare_parameter(p.name, p.default, p.descriptor())
            except ParameterException as exc:
                raise StartupError(f"parameter {p.name}: {_one_line(exc)}") from None
        self._values = {p.name: self.get_parameter(p.name).value for p in PARAMS}
        self.add_post_set_parameters_callback(self._remember_parameters)

    def _remember_parameters(self, params) -> None:
        """After a successful set (the values are in place): the copy ``p`` reads."""
        for prm in params:
            if prm.name in self._values:
                self._values[prm.name] = self.get_parameter(prm.name).value

    def _qos(self) -> QoSProfile:
        return QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=self.p("qos.depth"),
                          reliability=(ReliabilityPolicy.BEST_EFFORT if self.p("qos.reliability") == "best_effort"
                                       else ReliabilityPolicy.RELIABLE))

    def _subscribe(self) -> None:
        qos = self._qos()
        events = SubscriptionEventCallbacks(message_lost=self._on_message_lost,
                                            incompatible_qos=self._on_incompatible_qos)
        subs = [self.create_subscription(Image, "image", lambda m: self._offer(m, "raw"), qos,
                                         event_callbacks=events)]
        if self.p("subscribe_compressed"):
            subs.append(self.create_subscription(CompressedImage, "image/compressed",
                                                 lambda m: self._offer(m, "compressed"), qos, event_callbacks=events))
        if self.p("ground.enable"):
            subs.append(self.create_subscription(CameraInfo, "camera_info", self._on_camera_info, qos))
        self._subscriptions_made = subs

    def _unsubscribe(self) -> None:
        for sub in self._subscriptions_made:
            self.destroy_subscription(sub)
        self._subscriptions_made = []
        with self._cv:
            self._mailbox = None

    def _create_publishers(self) -> None:
        self.pub_detections = self.create_publisher(Detection2DArray, "detections", 10)
        self.pub_pedestrians = self.create_publisher(PedestrianArray, "pedestrians", 10)
        self.pub_mask = self.create_publisher(Image, "mask", 10)
        self.pub_skeletons = self.create_publisher(MarkerArray, "skeletons", 10)
        self.pub_debug = self.create_publisher(Image, "debug_image", 10)
        self.pub_diag = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._publishers_made = [self.pub_detections, self.pub_pedestrians, self.pub_mask, self.pub_skeletons,
                                 self.pub_debug, self.pub_diag]
        if self.p("ground.enable"):
            self.pub_ground = self.create_publisher(Detection3DArray, "ground_detections", 10)
            self.pub_ground_markers = self.create_publisher(MarkerArray, "ground_markers", 10)
            self._publishers_made += [self.pub_ground, self.pub_ground_markers]
        self._diag_timer = self.create_timer(self.p("diagnostics_period"), self._publish_diagnostics)

    def _destroy_publishers(self) -> None:
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None
        for pub in self._publishers_made:
            self.destroy_publisher(pub)
        self._publishers_made = []

    def _start_worker(self) -> None:
        with self._cv:
            self._stop = False
            self._mailbox = None
        self._worker = threading.Thread(target=self._work, name="cluenet_inference", daemon=True)
        self._worker.start()

    def _tracker_config(self, values: dict):
        from cluenet_ros.tracking import TrackerConfig

        high = values["score_threshold"]
        return TrackerConfig(high_threshold=high, low_threshold=min(values["tracking.low_threshold"], high),
                             new_track_threshold=high, match_iou=values["tracking.match_iou"],
                             low_match_iou=values["tracking.low_match_iou"],
                             track_buffer=values["tracking.track_buffer"],
                             confirm_hits=values["tracking.confirm_hits"])

    def _make_tracker(self):
        from cluenet_ros.tracking import PedestrianTracker

        values = {p.name: self.p(p.name) for p in PARAMS}
        try:
            return PedestrianTracker(self._tracker_config(values), smooth_keypoints=self.p("tracking.smooth_keypoints"),
                                     min_cutoff=self.p("tracking.smoothing_min_cutoff"),
                                     beta=self.p("tracking.smoothing_beta"))
        except ValueError as exc:
            raise StartupError(f"tracking: {exc}") from None

    @staticmethod
    def _pipeline_score(values: dict) -> float:
        """With tracking, the pipeline also keeps the second stage's low-score detections."""
        if values["tracking.enable"]:
            return min(values["score_threshold"], values["tracking.low_threshold"])
        return values["score_threshold"]

    def _ready_message(self) -> str:
        # said from sys.modules, not assumed: a stray import once loaded torch here unnoticed
        stage2 = getattr(self.pipeline, "stage2_backend", None)
        stage2 = f"; stage 2 on {stage2}" if stage2 and stage2 != self.pipeline.backend else ""
        standalone = (f" (standalone: torch is loaded in this process{stage2})" if "torch" in sys.modules else
                      f" (standalone: no torch in this process{stage2})") if self.p("standalone") else ""
        return (f"ready on {self.pipeline.device} with backend {self.pipeline.backend}"
                f"{' int8' if getattr(self.pipeline, 'int8', False) else ''}{standalone} "
                f"(score >= {self.p('score_threshold')}, "
                f"tracking {'on' if self.p('tracking.enable') else 'off'}, "
                f"ground positions {'on' if self.p('ground.enable') else 'off'}, subscribed to "
                f"{self.resolve_topic_name('image')})")

    def _warm_up(self) -> None:
        """One small frame through the model, so the first camera frame does not pay
        for lazy initialisation (allocator, kernels)."""
        self.pipeline(np.zeros((128, 128, 3), np.uint8))

    def _release_model(self) -> None:
        self.pipeline = None
        self.tracker = None
        import gc

        gc.collect()
        try:
            torch = sys.modules.get("torch")  # never imported here: a standalone node runs without it
            if torch is not None and torch.cuda.is_available():
                torch.cuda.empty_cache()
        except Exception:  # pragma: no cover - freeing is best effort
            pass

    def _check_start_parameters(self) -> None:
        """What rclpy's descriptors do not check: choices, and finite numbers."""
        for spec in PARAMS:
            value = self.p(spec.name)
            reason = _invalid(spec, value)
            if reason:
                raise StartupError(f"parameter {spec.name}: {reason}")

    def _load_pipeline(self):
        from cluenet_ros.inference import PipelineConfig

        values = {p.name: self.p(p.name) for p in PARAMS}
        cfg = PipelineConfig(device=self.p("device"), precision=self.p("precision"),
                             score_threshold=self._pipeline_score(values), nms_iou=self.p("nms_iou"),
                             max_detections=self.p("max_detections"), mask_threshold=self.p("mask_threshold"),
                             backend=self.p("backend"), int8=self.p("int8"), flip_test=self.p("flip_test"),
                             detection_flip_test=self.p("detection_flip_test"),
                             detection_flip_merge=self.p("detection_flip_merge"),
                             detection_extra_scale=self.p("detection_extra_scale"),
                             detection_extra_scale_min_height=self.p("detection_extra_scale_min_height"),
                             perspective_rescore=self.p("perspective.enable"),
                             perspective_anchor_score=self.p("perspective.anchor_score"),
                             perspective_tolerance=self.p("perspective.tolerance"),
                             perspective_sigma=self.p("perspective.sigma"))
        weights = self.p("weights")
        if self.p("standalone"):
            return self._load_standalone(weights, cfg)
        from cluenet_ros.inference import ClueNetPipeline
        from cluenet_ros.models.factory import load_model_configs

        try:
            if weights == "random":
                self.get_logger().warning("weights:=random -- a randomly initialised model: detections are "
                                          "meaningless; use it only to test the plumbing")
                s1, s2 = load_model_configs(self.p("model_config") or None)
                # seeded: the same random model in every run, so that a plumbing test
                # that fails once fails again
                pipeline = ClueNetPipeline.random(cfg, s1, s2, seed=0)
            else:
                path = Path(weights) if weights else default_weights()
                if not weights and not path.is_file():
                    raise StartupError(f"{path}: the packaged demo weights are not installed; pass "
                                       "weights:=/path/to/checkpoint.pt (or weights:=random to test the plumbing)")
                pipeline = ClueNetPipeline.from_checkpoint(path, cfg)
            pipeline.set_input_scale(self.p("input_scale"))
        except (InputError, RuntimeError, ValueError) as exc:
            raise StartupError(str(exc)) from None
        return pipeline

    def _load_standalone(self, weights: str, cfg):
        """The torch-free pipeline (exported once per checkpoint, in a child process)."""
        from cluenet_ros.inference.standalone import StandalonePipeline

        if weights == "random":
            raise StartupError("standalone: needs a checkpoint file (weights:=random builds an eager model); "
                               "set standalone:=false or pass weights:=/path/to/checkpoint.pt")
        if self.p("int8"):
            raise StartupError("standalone: int8 is not available there; set int8:=false or standalone:=false")
        path = Path(weights) if weights else default_weights()
        if not path.is_file():
            raise StartupError(f"{path}: no such checkpoint" + ("" if weights else
                               " (the packaged demo weights are not installed; pass weights:=...)"))
        try:
            return StandalonePipeline.from_checkpoint(path, cfg, input_scale=self.p("input_scale"))
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            raise StartupError(f"standalone: {exc}") from None

    # -- parameters at run time ---------------------------------------------------------
    def _on_set_parameters(self, params) -> SetParametersResult:
        for prm in params:
            spec = BY_NAME.get(prm.name)
            reason = _invalid(spec, prm.value) if spec else None
            if reason:
                return SetParametersResult(successful=False, reason=f"{prm.name}: {reason}")
        values = {spec.name: self.p(spec.name) for spec in PARAMS}
        values.update({prm.name: prm.value for prm in params if prm.name in BY_NAME})
        try:
            tracker_config = self._tracker_config(values) if values["tracking.enable"] else None
            if tracker_config is not None and self.tracker is not None:
                from cluenet_ros.tracking import OneEuroFilter

                OneEuroFilter(values["tracking.smoothing_min_cutoff"], values["tracking.smoothing_beta"])
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=f"tracking: {exc}")
        if self.pipeline is None:  # a managed node before configure: the values are used then
            return SetParametersResult(successful=True)
        try:
            for prm in params:
                if prm.name in ("score_threshold", "tracking.low_threshold", "tracking.enable"):
                    self.pipeline.set_thresholds(score=self._pipeline_score(values))
                elif prm.name == "nms_iou":
                    self.pipeline.set_thresholds(nms_iou=prm.value)
                elif prm.name == "max_detections":
                    self.pipeline.set_thresholds(max_detections=prm.value)
                elif prm.name == "input_scale":
                    self.pipeline.set_input_scale(prm.value)
                elif prm.name == "flip_test":
                    self.pipeline.set_flip_test(prm.value)
                elif prm.name in ("detection_extra_scale", "detection_extra_scale_min_height"):
                    self.pipeline.set_detection_extra_scale(values["detection_extra_scale"],
                                                            values["detection_extra_scale_min_height"])
                elif prm.name in ("detection_flip_test", "detection_flip_merge"):
                    self.pipeline.set_detection_flip_test(values["detection_flip_test"],
                                                          values["detection_flip_merge"])
                elif prm.name == "mask_threshold":
                    self.pipeline.set_mask_threshold(prm.value)
                elif prm.name.startswith("perspective."):
                    self.pipeline.set_perspective(values["perspective.enable"], values["perspective.anchor_score"],
                                                  values["perspective.tolerance"], values["perspective.sigma"])
        except ValueError as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        if any(prm.name.startswith("tracking.") or prm.name == "score_threshold" for prm in params):
            self._apply_tracking(values, tracker_config)
        return SetParametersResult(successful=True)

    def _apply_tracking(self, values: dict, config) -> None:
        """Tracking settings at run time: thresholds and smoothing apply to the running
        tracker (tracks, ids and filter states kept); switching tracking off forgets
        the tracks, so switching it on again starts from id 1."""
        from cluenet_ros.tracking import PedestrianTracker

        if config is None:
            self.tracker = None
            return
        if self.tracker is None:
            self.tracker = PedestrianTracker(config)
        self.tracker.tracker.config = config
        self.tracker.smooth_keypoints = values["tracking.smooth_keypoints"]
        self.tracker.set_smoothing(values["tracking.smoothing_min_cutoff"], values["tracking.smoothing_beta"])

    # -- frames -------------------------------------------------------------------------
    def _offer(self, msg, kind: str) -> None:
        """Park the frame, replacing the one waiting, unless the waiting one is newer and
        came on the other image topic: the executor serves the raw and compressed
        subscriptions in no particular order, so a frame queued on one can be taken
        after a later frame on the other (with image_transport publishing both, every
        frame comes twice). Within one topic the newest arrival always wins, so a bag
        that loops back to its first stamp is followed.

        A frame whose stamp was among the last ones offered on the other topic is the
        same frame published twice (image_transport's raw and compressed of one image):
        it is counted as dropped and as a duplicate, and never processed a second time.
        Unstamped frames (stamp 0) cannot be matched and are not treated this way."""
        stamp = _stamp_ns(msg)
        other = "compressed" if kind == "raw" else "raw"
        with self._cv:
            self.stats["received"] += 1
            if stamp and stamp in self._recent_stamps[other]:
                self.stats["dropped"] += 1
                self.stats["duplicates"] += 1
                return
            self._recent_stamps[kind].append(stamp)
            if self._mailbox is not None:
                self.stats["dropped"] += 1
                waiting, waiting_kind = self._mailbox
                if waiting_kind != kind and stamp < _stamp_ns(waiting):
                    return
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
                if self._mailbox is None:  # stopping: a frame already received is still finished
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
        header = msg.header
        stamp = header.stamp.sec + header.stamp.nanosec * 1e-9
        tracker = self.tracker
        if tracker is not None:
            # the tracker chooses between the stages: stage 2 only for what it reports
            chosen = {}

            def keep(boxes, scores):
                rows, chosen["ids"] = tracker.select(boxes, scores)
                return rows

            result = self.pipeline(image, bgr=bgr, keep=keep)
            dt = stamp - self._prev_stamp if self._prev_stamp is not None else 0.0
            result = tracker.tracked(result, chosen["ids"], dt=dt if dt > 0 else 0.1)
        else:
            result = self.pipeline(image, bgr=bgr)
        self._prev_stamp = stamp
        # raw: the messages serialised straight from the result's arrays (cdr), the
        # same bytes rclpy would send for the message objects built by `messages`
        raw = self.p("raw_publishing")
        if self.p("publish.detections") and _wanted(self.pub_detections):
            self.pub_detections.publish(cdr.detections(result, header) if raw
                                        else messages.detections(result, header))
        if self.p("publish.pedestrians") and _wanted(self.pub_pedestrians):
            self.pub_pedestrians.publish(cdr.pedestrians(result, header) if raw
                                         else messages.pedestrians(result, header))
        if self.p("publish.mask") and _wanted(self.pub_mask):
            self.pub_mask.publish(cdr.mono8_image(result.mask, header) if raw
                                  else mono8_message(result.mask, header, Image))
        if self.p("publish.skeletons") and _wanted(self.pub_skeletons):
            scale = self.p("marker_scale")
            self.pub_skeletons.publish(cdr.skeleton_markers(result, header, scale=scale) if raw
                                       else messages.skeleton_markers(result, header, scale=scale))
        if self.p("publish.debug_image") and _wanted(self.pub_debug):
            rgb = image[..., ::-1] if bgr else image
            overlay = draw_overlay(np.ascontiguousarray(rgb), result)
            self.pub_debug.publish(cdr.rgb8_image(overlay, header) if raw else rgb8_message(overlay, header, Image))
            with self._cv:
                self.stats["debug_images"] += 1
        if self.p("ground.enable") and (_wanted(self.pub_ground) or _wanted(self.pub_ground_markers)):
            self._publish_ground(result, header)
        # the node's clock: system time, or /clock under use_sim_time, like the stamps
        now = self.get_clock().now().nanoseconds * 1e-9
        with self._cv:
            self.stats["processed"] += 1
        self._latencies.append(now - stamp)
        self.get_logger().debug(f"{kind} frame {image.shape[1]}x{image.shape[0]}: {len(result.boxes)} pedestrian(s), "
                                f"{1000 * (now - stamp):.0f} ms after its stamp")
        self._done_times.append(time.monotonic())

    # -- ground positions ---------------------------------------------------------------
    def _on_camera_info(self, msg) -> None:
        with self._cv:
            self._camera_infos.append(msg)
            self._cv.notify_all()

    def _camera_info_for(self, header, wait_s: float = 0.2):
        """The camera_info whose stamp is within ground.sync_tolerance of the frame's;
        waits briefly for one that has not arrived yet."""
        t = header.stamp.sec + header.stamp.nanosec * 1e-9
        tol = self.p("ground.sync_tolerance")

        def find():
            best = None
            for info in self._camera_infos:
                d = abs(info.header.stamp.sec + info.header.stamp.nanosec * 1e-9 - t)
                if d <= tol + 1e-9 and (best is None or d < best[0]):
                    best = (d, info)
            return best[1] if best else None

        deadline = time.monotonic() + wait_s
        with self._cv:
            info = find()
            while info is None and not self._stop and time.monotonic() < deadline:
                self._cv.wait(timeout=max(deadline - time.monotonic(), 0.0))
                info = find()
        return info

    def _publish_ground(self, result, header) -> None:
        info = self._camera_info_for(header)
        if info is None:
            with self._cv:
                self.stats["ground_without_camera_info"] += 1
            self.get_logger().warning(
                f"no camera_info on {self.resolve_topic_name('camera_info')} with the stamp of the frame "
                f"({header.stamp.sec}.{header.stamp.nanosec:09d}, tolerance {self.p('ground.sync_tolerance')} s): "
                "no ground positions for it", throttle_duration_sec=THROTTLE_S)
            return
        pitch = self.p("ground.camera_pitch")
        try:
            distortion = info.d if info.distortion_model in ("plumb_bob", "rational_polynomial") else ()
            camera = GroundCamera.from_matrix(info.k, self.p("ground.camera_height"), pitch, distortion)
        except ValueError as exc:
            self.get_logger().warning(f"camera_info unusable for ground positions: {exc}",
                                      throttle_duration_sec=THROTTLE_S)
            with self._cv:
                self.stats["ground_without_camera_info"] += 1
            return
        height = self.p("ground.person_height")
        positions = ground_positions(camera, result.boxes, height)
        det3d = messages.ground_detections(result, header, positions, height, up_quaternion(pitch))
        if _wanted(self.pub_ground):
            self.pub_ground.publish(det3d)
        if _wanted(self.pub_ground_markers):
            self.pub_ground_markers.publish(messages.ground_markers(det3d, result))
        with self._cv:
            self.stats["ground_frames"] += 1

    # -- diagnostics --------------------------------------------------------------------
    def _publish_diagnostics(self) -> None:
        lat = sorted(self._latencies)
        done = list(self._done_times)
        rate = (len(done) - 1) / (done[-1] - done[0]) if len(done) > 1 and done[-1] > done[0] else 0.0
        with self._cv:
            stats = dict(self.stats)
        previous, self._last_reported = self._last_reported, stats
        skipped = (stats["bad"] - previous["bad"]) + (stats["failed"] - previous["failed"])
        device = str(self.pipeline.device) if self.pipeline is not None else ""
        status = DiagnosticStatus(name=f"{self.get_name()}: pedestrian perception", hardware_id=device)
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
            "frames_duplicate": stats["duplicates"],
            "frames_bad": stats["bad"],
            "frames_too_large": stats["too_large"],
            "frames_failed": stats["failed"],
            "frames_lost_in_transport": self._lost,
            "debug_images_published": stats["debug_images"],
            "tracks": self.tracker.tracker.num_tracks if self.tracker is not None else 0,
            "ground_frames": stats["ground_frames"],
            "ground_frames_without_camera_info": stats["ground_without_camera_info"],
            "backend": self.pipeline.backend if self.pipeline is not None else "",
            "int8": bool(getattr(self.pipeline, "int8", False)),
            "standalone": bool(self.p("standalone")),
            # the eager pipeline's stage 2 runs on `backend`; the standalone one's may not
            "stage2_backend": getattr(self.pipeline, "stage2_backend", self.pipeline.backend)
            if self.pipeline is not None else "",
        }
        status.values = [KeyValue(key=k, value=(f"{v:.2f}" if isinstance(v, float) else str(v)))
                         for k, v in values.items()]
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.pub_diag.publish(msg)

    def stop_worker(self) -> None:
        """Let the worker finish the frame it is on and the one waiting in its one-slot
        mailbox, if any (however long that takes: a
        thread inside a torch operator cannot be interrupted, and leaving it running
        at interpreter exit aborts the process), then end it."""
        with self._cv:
            self._stop = True
            self._cv.notify()
        if self._worker is not None:
            self._worker.join()
            self._worker = None  # stopped: a second call (destroy_node after main's) neither joins nor waits again
            self._flush_outputs(FLUSH_S)

    def _flush_outputs(self, timeout_s: float) -> None:
        """Wait (at most ``timeout_s`` in all) until the reliable subscribers have
        acknowledged everything published, so that the frame finished while stopping
        reaches them before the publishers go. Readers that never answer (a subscriber
        killed without leaving the graph yet) cost the timeout, not a hang."""
        deadline = time.monotonic() + timeout_s
        late = []
        for pub in self._publishers_made:
            left = deadline - time.monotonic()
            if left <= 0 or not pub.wait_for_all_acked(Duration(seconds=left)):
                late.append(pub.topic_name)
        if late:
            self.get_logger().debug(f"stopping: not acknowledged within {timeout_s} s on {', '.join(late)}")

    def destroy_node(self):
        self.stop_worker()
        return super().destroy_node()


class PedestrianNode(_PedestrianCore, Node):
    """The node that starts working as soon as it exists."""

    def __init__(self, **kwargs):
        Node.__init__(self, "pedestrian_node", **kwargs)
        self._init_state()
        self._declare_parameters()
        self._check_start_parameters()
        self.pipeline = self._load_pipeline()
        self.tracker = self._make_tracker() if self.p("tracking.enable") else None
        self.add_on_set_parameters_callback(self._on_set_parameters)
        self._subscribe()
        self._create_publishers()
        self._start_worker()
        self.get_logger().debug("parameters: " + ", ".join(f"{p.name}={self.p(p.name)!r}" for p in PARAMS))
        self.get_logger().info(self._ready_message())

class ManagedPedestrianNode(_PedestrianCore, LifecycleNode):
    """The same node as a managed (lifecycle) node: ``configure`` loads the weights
    and warms the model up, ``activate`` subscribes (inference runs), ``deactivate``
    unsubscribes (no inference; the model stays loaded), ``cleanup`` frees the
    model. Parameters are declared at construction, so they can be set while the
    node is unconfigured; start-up parameters are checked at configure."""

    def __init__(self, **kwargs):
        LifecycleNode.__init__(self, "pedestrian_node", **kwargs)
        self._init_state()
        self._declare_parameters()
        self.add_on_set_parameters_callback(self._on_set_parameters)

    def on_configure(self, state) -> TransitionCallbackReturn:
        try:
            self._check_start_parameters()
            self.pipeline = self._load_pipeline()
            self.tracker = self._make_tracker() if self.p("tracking.enable") else None
            self._warm_up()
        except StartupError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            self._release_model()
            return TransitionCallbackReturn.FAILURE
        self._create_publishers()
        self._start_worker()
        self.get_logger().info(f"configured: model loaded on {self.pipeline.device}")
        return TransitionCallbackReturn.SUCCESS

    def on_activate(self, state) -> TransitionCallbackReturn:
        self._subscribe()
        self.get_logger().info(self._ready_message())
        return super().on_activate(state)

    def on_deactivate(self, state) -> TransitionCallbackReturn:
        self._unsubscribe()
        if self.tracker is not None:
            self.tracker.reset()
        self._prev_stamp = None
        self.get_logger().info("deactivated: no inference; the model stays loaded")
        return super().on_deactivate(state)

    def on_cleanup(self, state) -> TransitionCallbackReturn:
        self._teardown()
        self.get_logger().info("cleaned up: model freed")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state) -> TransitionCallbackReturn:
        self._unsubscribe()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state) -> TransitionCallbackReturn:
        self._unsubscribe()
        self._teardown()
        return TransitionCallbackReturn.SUCCESS

    def _teardown(self) -> None:
        self.stop_worker()
        self._destroy_publishers()
        self._release_model()


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


def _stamp_ns(msg) -> int:
    return msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec


def _share_file(relative: Path) -> str:
    try:
        from ament_index_python.packages import get_package_share_directory

        return str(Path(get_package_share_directory("cluenet_ros")) / relative)
    except Exception:
        return f"<share/cluenet_ros>/{relative}"


def main(args=None, managed: bool = False) -> int:
    """``managed``: run the lifecycle node (with ``autostart``, it configures and
    activates itself; a failed autostart is a start-up error)."""
    # rclpy's own handlers raise KeyboardInterrupt wherever the main thread is (a
    # second Ctrl-C then lands inside the clean-up); ours only ask to stop.
    stop = threading.Event()

    def request_stop(signum, frame):
        stop.set()

    rclpy.init(args=args if args is not None else sys.argv, signal_handler_options=SignalHandlerOptions.NO)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, request_stop)
    try:
        node = ManagedPedestrianNode() if managed else PedestrianNode()
        if managed and node.p("autostart"):
            if node.trigger_configure() != TransitionCallbackReturn.SUCCESS:
                raise StartupError("autostart: configure failed (see the error above)")
            node.trigger_activate()
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


def entry_point(managed: bool = False) -> None:
    """The executable: ``main()``, then exit without the interpreter's finalisation,
    which unloads torch's libraries for 1-3 s after the node has already shut down
    cleanly (and would keep a stopping node alive past launch's SIGTERM timeout)."""
    import logging
    import os

    code = main(managed=managed)
    # os._exit below runs no finalizer; backends imports torch, which a standalone node never
    # loads (issue 20's memory target), so only a node that compiled a backend has exports to remove
    backends = sys.modules.get("cluenet_ros.inference.backends")
    if backends is not None:
        backends.remove_temporary_exports()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def lifecycle_entry_point() -> None:
    """``pedestrian_lifecycle_node``: the managed node."""
    entry_point(managed=True)


if __name__ == "__main__":
    if "--managed" in sys.argv:  # python -m cluenet_ros.ros.pedestrian_node --managed --ros-args ...
        sys.argv.remove("--managed")
        entry_point(managed=True)
    entry_point()
