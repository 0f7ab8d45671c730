"""The tracker on the pipeline's own result type: a FrameResult in, the tracked
pedestrians of that frame out (with ``track_ids``), optionally with their keypoints
smoothed over time by a One Euro filter per track."""
from __future__ import annotations

import numpy as np

from cluenet_ros.inference.interface import FrameResult
from cluenet_ros.tracking.byte_tracker import ByteTracker, TrackerConfig
from cluenet_ros.tracking.one_euro import OneEuroFilter


class PedestrianTracker:
    def __init__(self, config: TrackerConfig | None = None, smooth_keypoints: bool = False,
                 min_cutoff: float = 1.0, beta: float = 0.05):
        self.tracker = ByteTracker(config)
        self.smooth_keypoints = smooth_keypoints
        self.min_cutoff, self.beta = min_cutoff, beta
        OneEuroFilter(min_cutoff, beta)  # validates the settings now, not at the first frame
        self._filters: dict[int, OneEuroFilter] = {}

    @property
    def config(self) -> TrackerConfig:
        return self.tracker.config

    def set_smoothing(self, min_cutoff: float, beta: float) -> None:
        """New One Euro settings for every track, the running ones included: their
        filters keep their state (no jump in the keypoints), only the cut-offs change."""
        OneEuroFilter(min_cutoff, beta)  # validates
        self.min_cutoff, self.beta = min_cutoff, beta
        for f in self._filters.values():
            f.min_cutoff, f.beta = min_cutoff, beta

    def reset(self) -> None:
        self.tracker.reset()
        self._filters.clear()

    def __call__(self, result: FrameResult, dt: float = 0.1) -> FrameResult:
        """``dt``: seconds since the previous frame (for the keypoint filter)."""
        rows, ids = self.select(result.boxes, result.scores)
        return self._finish(result.select(rows, ids), dt)

    def select(self, boxes, scores) -> tuple[np.ndarray, np.ndarray]:
        """Association alone, from one frame's boxes and scores: the rows this frame
        reports and their track ids. It advances the tracker by that frame, so each
        ``select`` must be followed by ``tracked`` on the poses of exactly those rows.

        Split from ``__call__`` so that a pipeline runs stage 2 only on the rows
        reported (its ``keep``): with ``low_threshold`` under the score threshold,
        stage 1 passes every low-score detection for the second matching stage, and
        most of them are dropped here."""
        ids = self.tracker.update(boxes, scores)
        rows = np.flatnonzero(ids >= 0)
        return rows, ids[rows]

    def tracked(self, result: FrameResult, track_ids, dt: float = 0.1) -> FrameResult:
        """The rows that ``select`` returned, now with poses (``result``, in that
        order), with their track ids and, if enabled, smoothed keypoints."""
        track_ids = np.asarray(track_ids, dtype=np.int64).reshape(-1)
        if len(track_ids) != len(result.boxes):
            raise ValueError(f"{len(track_ids)} track ids for {len(result.boxes)} pedestrians: pass the result "
                             "of exactly the rows select() returned")
        return self._finish(result.select(np.arange(len(track_ids)), track_ids), dt)

    def _finish(self, out: FrameResult, dt: float) -> FrameResult:
        if self.smooth_keypoints and len(out):
            kps = out.keypoints.copy()
            for i, tid in enumerate(out.track_ids.tolist()):
                f = self._filters.get(tid)
                if f is None:
                    f = self._filters[tid] = OneEuroFilter(self.min_cutoff, self.beta)
                kps[i, :, :2] = f(kps[i, :, :2], dt)
            out.keypoints = kps.astype(out.keypoints.dtype)
        if self._filters:  # forget the filters of dropped tracks
            alive = set(self.tracker.track_ids.tolist())
            for tid in [t for t in self._filters if t not in alive]:
                del self._filters[tid]
        return out
