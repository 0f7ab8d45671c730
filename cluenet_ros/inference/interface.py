"""What every pipeline takes and gives, importable without torch.

The eager pipeline (:mod:`.pipeline`) and the torch-free one (:mod:`.standalone`)
share these types, and the ROS layer, the tracker and the message builders use
only these, so a node running the standalone pipeline never imports torch (whose
import alone is most of the 600 MB memory budget of issue 20).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.config import spec
from cluenet_ros.inference.detection_flip import MERGES

BACKENDS = ("auto", "torch", "onnxruntime", "openvino")

DEVICES = ("auto", "cuda", "cpu")
PRECISIONS = ("fp32", "fp16", "bf16")


@dataclass(frozen=True)
class PipelineConfig:
    device: str = spec("auto", choices=DEVICES)
    precision: str = spec("fp16", choices=PRECISIONS,
                          help="autocast precision on CUDA; the CPU always runs fp32")
    score_threshold: float = spec(0.96, min=0.0, max=1.0,
                                  help="least score published; 0.96 since session 45: the highest synthetic F1 "
                                       "(plateval900) at which both real sets keep recall >= 50% and the demo "
                                       "model's acceptance test passes (docs/accuracy/real_world/s45/PLAN.md, part B)")
    nms_iou: float = spec(0.5, min=0.0, max=1.0)
    max_detections: int = spec(100, min=1, max=1000)
    mask_threshold: float = spec(0.5, min=0.0, max=1.0)
    crop_padding: float = spec(1.1, min=1.0, max=2.0,
                               help="crop = full-body box grown to the crop aspect, times this")
    occlusion_tolerance: float = spec(0.03, min=0.0, max=0.5,
                                      help="a keypoint within this fraction of the crop height of "
                                           "the predicted mask counts as visible")
    roi_sampling_ratio: int = spec(2, min=0, help="roi_align samples per output pixel and axis")
    channels_last: bool = spec(True, help="channels-last memory format on CUDA")
    backend: str = spec("torch", choices=BACKENDS,
                        help="runtime of the dense networks: eager torch, onnxruntime or openvino (CPU; "
                             "exported once into a cache keyed by the weights' hash), or auto (the fastest "
                             "installed)")
    flip_test: bool = spec(False, help="stage 2 also sees each crop mirrored and averages the two heatmaps "
                                       "(mirrored back, left and right swapped): steadier keypoints for twice "
                                       "the stage-2 time (docs/accuracy/README.md has its measured effect)")
    detection_flip_test: bool = spec(True, help="stage 1 also sees the frame mirrored and the two views' detections "
                                                 "are merged (detection_flip_merge) and their masks averaged: twice "
                                                 "the stage-1 time (docs/accuracy/README.md has its measured effect)")
    detection_flip_merge: str = spec("nms", choices=MERGES,
                                     help="how the flip test merges the views: nms (union, then NMS at nms_iou) or "
                                          "fusion (weighted box fusion: boxes one view alone finds keep half their "
                                          "score; fewer false positives at the threshold, less recall)")
    detection_extra_scale: float = spec(0.5, min=0.0, max=4.0,
                                        help="0: off. Else stage 1 also runs at this multiple of the input scale "
                                             "(and on its mirror image, with the flip test), and those views' boxes "
                                             "at least detection_extra_scale_min_height tall join the merge. The "
                                             "default half scale finds people too large for the main view (session "
                                             "44's rule: synthetic MR^-2 of large people -14.7 points, of the "
                                             "plateval sets +0.05; real AP +1.0) for 1.5 times the end-to-end time; "
                                             "1.25 was measured in session 43 (docs/accuracy/README.md, "
                                             "twenty-eighth and twenty-ninth rounds). The standalone pipeline runs "
                                             "it from a stage-1 graph exported at that scale at start-up (off and "
                                             "back on at run time; another scale needs a restart)")
    detection_extra_scale_min_height: float = spec(200.0, min=0.0, max=4096.0,
                                                   help="0: keep every box of the extra-scale views. Else only "
                                                        "their boxes at least this tall (pixels at the main view's "
                                                        "scale) join the merge: a smaller extra scale then adds "
                                                        "the large people the main view misses without its false "
                                                        "boxes among the small ones")
    detection_extra_weights: str = spec("", help="empty: the extra-scale views run the main weights. Else a stage-1 "
                                                 "(or pipeline) checkpoint that runs them instead, at "
                                                 "detection_extra_scale with its min height: a second model for the "
                                                 "people the main one misses (session 48's read paired the demo with "
                                                 "a large-people model; docs/accuracy/README.md, thirty-third round). "
                                                 "Loaded by from_checkpoint; not a node parameter")
    perspective_rescore: bool = spec(False, help="lower the score of boxes whose height no standing person could have "
                                                 "at their foot row, from a height line fitted to the frame's confident "
                                                 "boxes (cluenet_ros/inference/perspective.py). Off by default: for the "
                                                 "demo weights synthetic MR^-2 -0.4 [-1.8, +0.5], real AP +2.3 "
                                                 "(docs/accuracy/README.md, twenty-ninth round)")
    perspective_anchor_score: float = spec(0.97, min=0.0, max=1.0,
                                           help="boxes scored at least this fit the height line")
    perspective_tolerance: float = spec(0.35, min=0.0, max=3.0,
                                        help="|ln(height / line height)| allowed before the score falls")
    perspective_sigma: float = spec(0.1, min=0.001, max=3.0, help="how fast the score falls beyond the tolerance")
    int8: bool = spec(False, help="int8 (QDQ, statically quantised, calibrated on synthetic images) dense "
                                  "networks on backend onnxruntime or openvino; quantised once per weights and "
                                  "cached. Off by default: see docs/bench/int8.md for its accuracy cost")


def perspective_settings(cfg: PipelineConfig):
    """The rescoring settings of a pipeline config, or None where it is off."""
    from cluenet_ros.inference.perspective import PerspectiveSettings

    if not cfg.perspective_rescore:
        return None
    return PerspectiveSettings(cfg.perspective_anchor_score, cfg.perspective_tolerance, cfg.perspective_sigma)


@dataclass
class Pedestrian:
    id: str
    box: np.ndarray            # (4,) x1, y1, x2, y2 full body
    score: float
    visible_box: np.ndarray    # (4,)
    visibility: float
    keypoints: np.ndarray      # (13, 3) x, y, confidence
    occluded: np.ndarray       # (13,) bool


@dataclass
class FrameResult:
    """Everything found in one frame, as arrays (row i is pedestrian i, by score)."""

    boxes: np.ndarray          # (N, 4) float32 full-body xyxy, pixels
    scores: np.ndarray         # (N,)
    visible_boxes: np.ndarray  # (N, 4) box of the predicted mask inside the full box
    visibility: np.ndarray     # (N,) visible box area / full box area
    keypoints: np.ndarray      # (N, 13, 3) x, y, confidence
    occluded: np.ndarray       # (N, 13) bool: outside the predicted visible mask
    mask: np.ndarray           # (H, W) uint8, 255 = pedestrian
    keypoint_names: tuple[str, ...] = field(default=kp.NAMES)
    track_ids: np.ndarray | None = None  # (N,) int: persistent ids from a tracker, or None

    def __len__(self) -> int:
        return len(self.scores)

    @property
    def ids(self) -> list[str]:
        """Per-frame ids: the track ids where a tracker set them, else the rank by
        score; the same in every output of a frame."""
        if self.track_ids is not None:
            return [str(int(t)) for t in self.track_ids]
        return [str(i) for i in range(len(self))]

    def select(self, rows, track_ids=None) -> "FrameResult":
        """The pedestrians in ``rows`` (in that order), the same mask; optionally with track ids."""
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        return FrameResult(boxes=self.boxes[rows], scores=self.scores[rows], visible_boxes=self.visible_boxes[rows],
                           visibility=self.visibility[rows], keypoints=self.keypoints[rows],
                           occluded=self.occluded[rows], mask=self.mask, keypoint_names=self.keypoint_names,
                           track_ids=None if track_ids is None else np.asarray(track_ids, dtype=np.int64))

    def __iter__(self) -> Iterator[Pedestrian]:
        for i, pid in enumerate(self.ids):
            yield Pedestrian(pid, self.boxes[i], float(self.scores[i]), self.visible_boxes[i],
                             float(self.visibility[i]), self.keypoints[i], self.occluded[i])


def check_image(image: np.ndarray, index: int = 0) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        desc = (f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray)
                else type(image).__name__)
        raise ValueError(f"image {index}: expected an H x W x 3 uint8 RGB array, got {desc}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise ValueError(f"image {index}: too small ({image.shape[1]}x{image.shape[0]})")


def kept_rows(keep, boxes: np.ndarray, scores: np.ndarray, index: int = 0) -> np.ndarray:
    """The rows of one frame's stage-1 detections that go on to stage 2, as ``keep``
    (a pipeline's optional per-frame callback) names them.

    A tracker decides from boxes and scores alone which detections it reports; asking
    it between the stages spares stage 2 every detection it would drop, which with the
    tracker's low second-stage threshold is most of them (docs/accuracy, "Twenty-fourth
    round"). Rows must be distinct and in range; they are returned in the order given."""
    rows = np.asarray(keep(boxes, scores))
    if rows.dtype == bool or (rows.size and not np.issubdtype(rows.dtype, np.integer)):
        raise ValueError(f"frame {index}: keep must return row indices (integers), got {rows.dtype} values")
    rows = rows.astype(np.int64).reshape(-1)
    n = len(boxes)
    if rows.size and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"frame {index}: keep returned row {int(rows.min() if rows.min() < 0 else rows.max())} "
                         f"of {n} detection(s)")
    if len(np.unique(rows)) != len(rows):
        raise ValueError(f"frame {index}: keep returned a row more than once")
    return rows


def apply_keep(result: FrameResult, keep, index: int = 0) -> FrameResult:
    """What ``keep`` does, applied to a result computed in full: for stand-ins of a
    pipeline that return one fixed result (the node benchmarks), so that they answer
    the node's ``keep`` as a pipeline would."""
    if keep is None:
        return result
    return result.select(kept_rows(keep, result.boxes, result.scores, index))
