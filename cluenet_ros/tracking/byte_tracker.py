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

The live tracks are kept as arrays (``TrackTable``: filter states stacked, ids,
hits, ages and states side by side), so that a frame costs the same handful of
numpy calls whether it has 2 tracks or 50; the per-track filter ``BoxKalman``
computes the same numbers one track at a time.

No ROS and no torch here: boxes and scores in, one track id per detection out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from cluenet_ros.tracking.track_table import LOST, TENTATIVE, TRACKED, State, Track, TrackTable

__all__ = ["ByteTracker", "TrackerConfig", "Track", "iou_matrix", "assign", "TENTATIVE", "TRACKED", "LOST"]


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


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 4)
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)))
    # corners and sides two coordinates at a time: few numpy calls (the tracker calls this every frame)
    wh = np.minimum(a[:, None, 2:], b[None, :, 2:]) - np.maximum(a[:, None, :2], b[None, :, :2])
    np.maximum(wh, 0.0, out=wh)
    inter = wh[:, :, 0] * wh[:, :, 1]
    side_a = np.maximum(a[:, 2:] - a[:, :2], 0.0)
    side_b = np.maximum(b[:, 2:] - b[:, :2], 0.0)
    union = (side_a[:, 0] * side_a[:, 1])[:, None] + side_b[:, 0] * side_b[:, 1] - inter
    out = np.zeros_like(union)
    return np.divide(inter, union, out=out, where=union > 0)


def assign(track_boxes, det_boxes, min_iou: float) -> list[tuple[int, int]]:
    """Hungarian assignment on 1 - IoU; pairs under ``min_iou`` are not matches."""
    rows, cols = _assign(np.asarray(track_boxes, dtype=np.float64).reshape(-1, 4),
                         np.asarray(det_boxes, dtype=np.float64).reshape(-1, 4), min_iou)
    return [(int(r), int(c)) for r, c in zip(rows, cols)]


_NONE = np.zeros(0, dtype=np.int64)


def _assign(track_boxes: np.ndarray, det_boxes: np.ndarray, min_iou: float) -> tuple[np.ndarray, np.ndarray]:
    """``assign`` as two index arrays (rows ascending); no IoU matrix and no
    Hungarian call when either side is empty (a frame without people, a stage
    without candidates: the common case of the second and third stages)."""
    if len(track_boxes) == 0 or len(det_boxes) == 0:
        return _NONE, _NONE
    iou = iou_matrix(track_boxes, det_boxes)
    rows, cols = linear_sum_assignment(1.0 - iou)
    v = iou[rows, cols]
    ok = (v >= min_iou) & (v > 0)
    return rows[ok], cols[ok]


class ByteTracker:
    def __init__(self, config: TrackerConfig | None = None):
        self.config = config or TrackerConfig()
        self.table = TrackTable()
        self._next_id = 1
        self.frame = 0

    def reset(self) -> None:
        self.table, self._next_id, self.frame = TrackTable(), 1, 0

    @property
    def tracks(self) -> list[Track]:
        """Snapshots of the live tracks, oldest first (for inspection: the tracker
        works on ``table``)."""
        return self.table.snapshots()

    @property
    def track_ids(self) -> np.ndarray:
        """The live tracks' ids, oldest first."""
        return self.table.ids.copy()

    @property
    def num_tracks(self) -> int:
        """Live tracks (tentative, tracked and lost), without building snapshots."""
        return len(self.table)

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
        table = self.table
        table.predict()
        predicted = table.boxes()
        state = table.state  # before this frame's matches: the stages pick their pools from it

        high = (scores >= cfg.high_threshold).nonzero()[0]
        low = ((scores >= cfg.low_threshold) & (scores < cfg.high_threshold)).nonzero()[0]
        confirmed = (state != State.TENTATIVE).nonzero()[0]
        tentative = (state == State.TENTATIVE).nonzero()[0]

        def take(pool, dets, min_iou):
            """Matches of the tracks ``pool`` to the detections ``dets`` (indices into
            the table and the frame), and what is left of both, in their order."""
            if len(pool) == 0 or len(dets) == 0:
                return _NONE, _NONE, pool, dets
            r, c = _assign(predicted[pool], boxes[dets], min_iou)
            if len(r) == 0:
                return _NONE, _NONE, pool, dets
            pool_left = np.ones(len(pool), dtype=bool)
            pool_left[r] = False
            dets_left = np.ones(len(dets), dtype=bool)
            dets_left[c] = False
            return pool[r], dets[c], pool[pool_left], dets[dets_left]

        # 1: high-score detections to confirmed tracks
        rows1, dets1, rest_tracks, rest_high = take(confirmed, high, cfg.match_iou)
        # 2: low-score detections to the tracks seen in the previous frame
        rows2, dets2, _, _ = take(rest_tracks[state[rest_tracks] == State.TRACKED], low, cfg.low_match_iou)
        # 3: tentative tracks take what is left of the high-score detections
        rows3, dets3, _, rest_high = take(tentative, rest_high, cfg.match_iou)

        # The stages' pools are disjoint and a stage reads only unmatched tracks'
        # boxes, so all matched filters can be corrected together, after the stages.
        rows = np.concatenate([rows1, rows2, rows3])
        dets = np.concatenate([dets1, dets2, dets3])
        matched = np.zeros(len(table), dtype=bool)
        matched[rows] = True
        if len(rows):
            table.update(rows, boxes[dets], scores[dets], cfg.confirm_hits)
            ids[dets] = np.where(table.state[rows] == State.TRACKED, table.ids[rows], -1)
        # unmatched: a new track not seen again is dropped; the others are lost
        table.age_unmatched(~matched, cfg.track_buffer)

        new = rest_high[scores[rest_high] >= cfg.new_track_threshold]
        if len(new):
            new_ids = np.arange(self._next_id, self._next_id + len(new), dtype=np.int64)
            self._next_id += len(new)
            confirmed_now = cfg.confirm_hits <= 1
            table.add(new_ids, boxes[new], scores[new], confirmed_now)
            if confirmed_now:
                ids[new] = new_ids
        return ids
