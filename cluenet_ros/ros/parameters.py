"""The node's parameters: names, defaults, descriptions and ranges in one table.

Ranges are declared through rclpy's descriptors, so rclpy itself rejects an
out-of-range ``ros2 param set``; choices and cross-checks are validated in the
node's set-parameters callback. Read-only parameters are fixed at start-up.
"""
from __future__ import annotations

from dataclasses import dataclass

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from cluenet_ros.inference.detection_flip import MERGES


@dataclass(frozen=True)
class Param:
    name: str
    default: object
    description: str
    range: tuple | None = None
    choices: tuple | None = None
    read_only: bool = False

    def descriptor(self) -> ParameterDescriptor:
        desc = self.description + (f" One of: {', '.join(self.choices)}." if self.choices else "")
        d = ParameterDescriptor(description=desc, read_only=self.read_only)
        if self.range and isinstance(self.default, float):
            d.floating_point_range = [FloatingPointRange(from_value=float(self.range[0]),
                                                         to_value=float(self.range[1]), step=0.0)]
        elif self.range and isinstance(self.default, int) and not isinstance(self.default, bool):
            d.integer_range = [IntegerRange(from_value=int(self.range[0]), to_value=int(self.range[1]), step=1)]
        return d


PARAMS: tuple[Param, ...] = (
    Param("weights", "", "ClueNet checkpoint. Empty: the packaged demo weights. 'random': a randomly "
          "initialised model (seeded: the same in every run), for testing the plumbing only.", read_only=True),
    Param("model_config", "", "YAML with stage1/stage2 sections for weights:=random; empty: the "
          "full-size paper configuration.", read_only=True),
    Param("device", "auto", "Inference device.", choices=("auto", "cuda", "cpu"), read_only=True),
    Param("precision", "fp16", "Autocast precision on CUDA (the CPU runs fp32).",
          choices=("fp32", "fp16", "bf16"), read_only=True),
    Param("backend", "auto", "Runtime of the dense networks on the CPU: torch (eager), onnxruntime or "
          "openvino (exported once into a cache keyed by the weights' hash), or auto: the fastest installed "
          "(eager torch on CUDA).", choices=("auto", "torch", "onnxruntime", "openvino"), read_only=True),
    Param("int8", False, "int8 dense networks (statically quantised QDQ graphs, calibrated once on synthetic "
          "images and cached beside the export) on backend onnxruntime or openvino; with backend torch (or "
          "auto resolving to torch) the node does not start. Off by default: docs/bench/int8.md has its "
          "accuracy cost and speed.", read_only=True),
    Param("standalone", False, "Run the whole pipeline as compiled graphs without importing torch: far less "
          "memory (docs/bench/README.md). The dense stage-1 graph runs on backend openvino or onnxruntime (auto: "
          "openvino where installed), stage 2 on onnxruntime (openvino with backend openvino), the rest on "
          "onnxruntime. The graphs are exported "
          "once per checkpoint, in a child process, into the backend cache. CPU only; not with weights:=random or "
          "int8.", read_only=True),
    Param("score_threshold", 0.96, "Minimum detection score published. 0.96 (session 45): about 3 false boxes per "
          "real image instead of 57 at 0.5, for 75% recall instead of 93% on the real check; lower it to find more "
          "people at the cost of more false boxes.", range=(0.0, 1.0)),
    Param("nms_iou", 0.5, "IoU above which non-maximum suppression drops the weaker box.", range=(0.0, 1.0)),
    Param("max_detections", 100, "Most pedestrians reported per frame.", range=(1, 1000)),
    Param("mask_threshold", 0.5, "Probability above which a pixel is pedestrian. Can change at run time.",
          range=(0.0, 1.0)),
    Param("flip_test", False, "Stage 2 also sees each crop mirrored and averages the two heatmaps: steadier "
          "keypoints for twice the stage-2 time (docs/accuracy/README.md, flip test). Can change at run time."),
    Param("detection_flip_test", True, "Stage 1 also sees each frame mirrored; the two views' detections are "
          "merged (detection_flip_merge) and their masks averaged: higher real-image AP for twice the stage-1 "
          "time and more false positives at score_threshold; slightly more heavily occluded people missed on "
          "synthetic images (docs/accuracy/README.md, sixteenth and seventeenth rounds). Can change at run time."),
    Param("detection_flip_merge", "nms", "How the stage-1 flip test merges its views: nms (union, then NMS at "
          "nms_iou) or fusion (weighted box fusion: a box only one view finds keeps half its score; fewer false "
          "positives at score_threshold, less recall). Can change at run time.", choices=MERGES),
    Param("detection_extra_scale", 0.5, "0: off. Else stage 1 also sees the frame at this multiple of "
          "input_scale (and its mirror image, with detection_flip_test), and those views' boxes at least "
          "detection_extra_scale_min_height tall join the merge. The default half scale finds people too large for "
          "the main view (the demo model's are at most about 220 px): synthetic MR^-2 of large people 14.7 points "
          "lower, of the other synthetic sets unchanged, real AP +1.0, for 1.5 times the end-to-end time "
          "(docs/accuracy/README.md, twenty-ninth round; 1.25 in the twenty-eighth). Can change at run time.",
          range=(0.0, 4.0)),
    Param("detection_extra_scale_min_height", 200.0, "0: every box of the detection_extra_scale views joins the "
          "merge. Else only those at least this tall (pixels at input_scale): a smaller extra scale (e.g. 0.5) then "
          "adds the large people the main view misses without adding false boxes among the small ones "
          "(docs/accuracy/README.md, twenty-ninth round). Can change at run time.", range=(0.0, 4096.0)),
    Param("perspective.enable", False, "Lower the score of boxes whose height no standing person could have at "
          "their foot row, from a height line fitted to the frame's confident boxes (for a camera above flat "
          "ground; frames with fewer than 3 confident people are left as they are). Off by default: for the demo "
          "weights real AP +2.3 points and 23 fewer false positives per image at 0.5, synthetic MR^-2 unchanged "
          "within noise (docs/accuracy/README.md, twenty-ninth round). Can change at run time."),
    Param("perspective.anchor_score", 0.97, "Boxes scored at least this fit the height line. Can change at run "
          "time.", range=(0.0, 1.0)),
    Param("perspective.tolerance", 0.35, "|ln(box height / line height)| allowed before the score falls. Can "
          "change at run time.", range=(0.0, 3.0)),
    Param("perspective.sigma", 0.1, "How fast the score falls beyond the tolerance (a Gaussian in the log "
          "ratio). Can change at run time.", range=(0.001, 3.0)),
    Param("input_scale", 1.0, "Frames are resized by this factor before the network; outputs stay "
          "in input pixels.", range=(0.05, 4.0)),
    Param("publish.detections", True, "Publish vision_msgs/Detection2DArray on 'detections'."),
    Param("publish.pedestrians", True, "Publish cluenet_msgs/PedestrianArray on 'pedestrians'."),
    Param("publish.mask", True, "Publish the mono8 pedestrian mask on 'mask'."),
    Param("publish.skeletons", True, "Publish skeleton markers on 'skeletons'."),
    Param("publish.debug_image", True, "Annotated input on 'debug_image': true = built and published only "
          "while the topic has a subscriber (never otherwise); false = never."),
    Param("raw_publishing", True, "Publish detections, pedestrians, mask, skeletons and the debug image as bytes serialised "
          "straight from the result's arrays (cluenet_ros.ros.cdr) instead of building rclpy message objects: "
          "the same messages on the wire, at a fraction of the node's per-frame cost (docs/bench/README.md). "
          "False: the message-object path."),
    Param("subscribe_compressed", False, "Also subscribe to 'image/compressed' (JPEG, PNG).", read_only=True),
    Param("qos.reliability", "best_effort", "Reliability of the image subscriptions (REP-2003 "
          "recommends best effort for sensor data; frames of 640x480 and larger then need the shipped Fast "
          "DDS profile, config/fastdds_shm.xml, on both ends: see README).", choices=("best_effort", "reliable"),
          read_only=True),
    Param("qos.depth", 1, "History depth of the image subscriptions.", range=(1, 100), read_only=True),
    Param("marker_scale", 0.001, "Metres per pixel for the skeleton markers drawn in the image plane.",
          range=(1e-6, 1.0)),
    Param("max_image_pixels", 4096 * 4096, "Largest frame accepted, in pixels (width x height); larger "
          "frames, and compressed frames whose header claims more, are dropped before decoding and "
          "counted as bad.", range=(4, 1 << 31)),
    Param("max_image_side", 8192, "Longest side accepted, in pixels; guards against narrow frames "
          "(e.g. a corrupt JPEG header claiming 65328x64) that pass max_image_pixels.", range=(2, 65535)),
    Param("tracking.enable", True, "Give each pedestrian a persistent track id (ByteTrack-style: "
          "detections >= score_threshold, then those >= tracking.low_threshold for tracks seen in the "
          "previous frame). Detection2D.id, Pedestrian.id/track_id and the marker ids become track ids; "
          "only tracked pedestrians are published."),
    Param("tracking.low_threshold", 0.1, "Least score of the second association stage (detections between "
          "this and score_threshold only continue existing tracks).", range=(0.0, 1.0)),
    Param("tracking.match_iou", 0.2, "Least IoU between a track's predicted box and a high-score detection "
          "to match them.", range=(0.0, 1.0)),
    Param("tracking.low_match_iou", 0.5, "Least IoU for a second-stage (low-score) match.", range=(0.0, 1.0)),
    Param("tracking.track_buffer", 30, "Frames a track is kept unseen (e.g. behind an obstacle) before its id "
          "is dropped.", range=(0, 100000)),
    Param("tracking.confirm_hits", 1, "Frames a new track must be matched in before it is published "
          "(1: at once).", range=(1, 100)),
    Param("tracking.smooth_keypoints", False, "Smooth each track's keypoints over time with a One Euro filter."),
    Param("tracking.smoothing_min_cutoff", 1.0, "One Euro filter: cut-off frequency at rest, Hz (lower: "
          "smoother, more lag).", range=(0.01, 100.0)),
    Param("tracking.smoothing_beta", 0.05, "One Euro filter: how fast the cut-off rises with keypoint speed "
          "(higher: less lag when moving).", range=(0.0, 100.0)),
    Param("ground.enable", False, "Estimate where each pedestrian stands (ground point under the bottom "
          "centre of its full-body box) from 'camera_info' with the same stamp and the camera's height and "
          "pitch; publishes 'ground_detections' and 'ground_markers'.", read_only=True),
    Param("ground.camera_height", 1.5, "Height of the camera's optical centre above the flat ground, m.",
          range=(0.05, 100.0)),
    Param("ground.camera_pitch", 0.0, "Angle of the optical axis below the horizon, radians (positive: "
          "looking down); roll is taken as zero.", range=(-1.5, 1.5)),
    Param("ground.person_height", 1.7, "Height of a pedestrian's 3D box, m.", range=(0.1, 3.0)),
    Param("ground.sync_tolerance", 0.001, "Largest stamp difference, s, between a frame and the camera_info "
          "used for it.", range=(0.0, 1.0)),
    Param("autostart", True, "Managed (lifecycle) node only: configure and activate itself at start. "
          "False: wait in 'unconfigured' for lifecycle transitions.", read_only=True),
    Param("diagnostics_period", 1.0, "Seconds between /diagnostics messages.", range=(0.1, 60.0),
          read_only=True),
)
BY_NAME = {p.name: p for p in PARAMS}
