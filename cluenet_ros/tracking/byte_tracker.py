"""ByteTrack-style multi-object tracking of boxes (Zhang et al., ECCV 2022).

Per frame: every track's constant-velocity Kalman filter predicts its box; the
high-score detections are assigned to the confirmed tracks (tracked or recently
lost) by IoU with the Hungarian algorithm (scipy's ``linear_sum_assignment``);
then the low-score detections, which a plain tracker would throw away, are
assigned to the tracks still unmatched that were seen in the previous frame (a
pedestrian half hidden behind a car scores low but is still the same person);
then tentative tracks take what is left of the high-score detections. A track
unmatched for more than ``track_buffer`` frames is dropped; high-score
detections nobody took start new tracks.

No ROS and no torch here: boxes and scores in, one track id per detection out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from cluenet_ros.tracking.kalman import BoxKalman

TENTATIVE, TRACKED, LOST = "tentative", "tracked", "lost"


@dataclass(frozen=True)
class TrackerConfig:
    high_threshold: float = 0.5      # first-stage detections; also the least score that starts a track
    low_threshold: float = 0.1       # second-stage detections: low_threshold <= score < high_threshold
    new_track_threshold: float = 0.5
    match_iou: float = 0.2           # least IoU of a first-stage (and tentative) match
    low_match_iou: float = 0.5       # least IoU of a second-stage match
    track_buffer: int = 30           # frames a lost track is kept for re-identification
    confirm_hits: int = 1            # matches before a new track is reported (1: at once)

    def __post_init__(self):
        problems = []
        for name in ("high_threshold", "low_threshold", "new_track_threshold", "match_iou", "low_match_iou"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                problems.append(f"{name} must be in [0, 1], got {v}")
        if self.low_threshold > self.high_threshold:
            problems.append(f"low_threshold ({self.low_threshold}) must not exceed high_threshold "
                            f"({self.high_threshold})")
        if self.track_buffer < 0:
            problems.append(f"track_buffer must be >= 0, got {self.track_buffer}")
        if self.confirm_hits < 1:
            problems.append(f"confirm_hits must be >= 1, got {self.confirm_hits}")
        if problems:
            raise ValueError("; ".join(problems))


class Track:
    def __init__(self, track_id: int, box, score: float, confirmed: bool):
        self.id = track_id
        self.kf = BoxKalman(box)
        self.score = float(score)
        self.hits = 1
        self.lost_for = 0
        self.state = TRACKED if confirmed else TENTATIVE

    def predict(self) -> np.ndarray:
        return self.kf.predict()

    def update(self, box, score: float, confirm_hits: int) -> None:
        self.kf.update(box)
        self.score = float(score)
        self.hits += 1
        self.lost_for = 0
        if self.state == LOST or self.hits >= confirm_hits:
            self.state = TRACKED

    def mark_lost(self) -> None:
        if self.state != LOST:
            self.kf.x[6:8] = 0.0  # keep its size while unseen; position keeps moving
        self.state = LOST
        self.lost_for += 1

    @property
    def box(self) -> np.ndarray:
        return self.kf.box


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]).clip(0) * (a[:, 3] - a[:, 1]).clip(0)
    area_b = (b[:, 2] - b[:, 0]).clip(0) * (b[:, 3] - b[:, 1]).clip(0)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def assign(track_boxes, det_boxes, min_iou: float) -> list[tuple[int, int]]:
    """Hungarian assignment on 1 - IoU; pairs under ``min_iou`` are not matches."""
    iou = iou_matrix(track_boxes, det_boxes)
    if iou.size == 0:
        return []
    rows, cols = linear_sum_assignment(1.0 - iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols) if iou[r, c] >= min_iou and iou[r, c] > 0]


class ByteTracker:
    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.tracks: list[Track] = []
        self._next_id = 1
        self.frame = 0

    def reset(self) -> None:
        self.tracks, self._next_id, self.frame = [], 1, 0

    def update(self, boxes, scores) -> np.ndarray:
        """Track ids for one frame's detections: ``ids[i]`` is detection i's track id,
        or -1 where the detection is not reported (a low-score detection no track
        took, or a track not yet confirmed)."""
        cfg = self.config
        self.frame += 1
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        scores = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(boxes) != len(scores):
            raise ValueError(f"{len(boxes)} boxes but {len(scores)} scores")
        ids = np.full(len(boxes), -1, dtype=np.int64)
        for t in self.tracks:
            t.predict()

        high = np.flatnonzero(scores >= cfg.high_threshold)
        low = np.flatnonzero((scores >= cfg.low_threshold) & (scores < cfg.high_threshold))
        confirmed = [t for t in self.tracks if t.state in (TRACKED, LOST)]
        tentative = [t for t in self.tracks if t.state == TENTATIVE]
        matched_tracks: set[int] = set()

        def take(pool, dets, min_iou):
            pairs = assign(np.array([t.box for t in pool]), boxes[dets], min_iou)
            used = set()
            for r, c in pairs:
                t, d = pool[r], int(dets[c])
                t.update(boxes[d], scores[d], cfg.confirm_hits)
                matched_tracks.add(id(t))
                used.add(c)
                if t.state == TRACKED:
                    ids[d] = t.id
            return [p for i, p in enumerate(pool) if id(p) not in matched_tracks], \
                np.array([d for i, d in enumerate(dets) if i not in used], dtype=np.int64)

        # 1: high-score detections to confirmed tracks
        rest_tracks, rest_high = take(confirmed, high, cfg.match_iou)
        # 2: low-score detections to the tracks seen in the previous frame
        seen_last = [t for t in rest_tracks if t.state == TRACKED]
        take(seen_last, low, cfg.low_match_iou)
        # 3: tentative tracks take what is left of the high-score detections
        _, rest_high = take(tentative, rest_high, cfg.match_iou)

        kept = []
        for t in self.tracks:
            if id(t) in matched_tracks:
                kept.append(t)
            elif t.state == TENTATIVE:
                continue  # a new track that is not seen again is dropped
            else:
                t.mark_lost()
                if t.lost_for <= cfg.track_buffer:
                    kept.append(t)
        for d in rest_high:
            if scores[d] < cfg.new_track_threshold:
                continue
            t = Track(self._next_id, boxes[d], scores[d], confirmed=cfg.confirm_hits <= 1)
            self._next_id += 1
            kept.append(t)
            if t.state == TRACKED:
                ids[d] = t.id
        self.tracks = kept
        return ids
