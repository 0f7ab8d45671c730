"""The tracker's live tracks as parallel arrays: one row per track, oldest first.

A frame steps every track's filter and touches every track's bookkeeping; done on
arrays, that is a fixed number of numpy calls per frame instead of a dozen per
track, which is what the node's per-frame budget needs (issue #20). Rows keep the
order in which the tracks were started, because the tracker's stages visit tracks
in that order and the Hungarian algorithm's ties are broken by it.
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np

from cluenet_ros.tracking.kalman import (cxcywh_to_xyxy_many, full_covariance, initiate_many, predict_many,
                                        update_many)

TENTATIVE, TRACKED, LOST = "tentative", "tracked", "lost"


class State:
    """A track's state as stored in ``TrackTable.state`` (plain ints: an IntEnum's
    attribute look-up costs more than the comparisons it is used in)."""
    TENTATIVE = 0   # started, not yet matched ``confirm_hits`` times: not reported
    TRACKED = 1     # matched in the latest frame (or confirmed and not yet missed)
    LOST = 2        # missed for ``lost_for`` frames; kept for re-identification


_NAMES = (TENTATIVE, TRACKED, LOST)


@dataclass(frozen=True)
class Track:
    """A copy of one track's row, for inspection (tests, diagnostics)."""
    id: int
    state: str
    hits: int
    lost_for: int
    score: float
    box: np.ndarray      # xyxy, as predicted / corrected in the latest frame
    mean: np.ndarray     # the filter's state: cx, cy, w, h and their velocities


class TrackTable:
    def __init__(self):
        self.means = np.zeros((0, 8))
        self.cov = np.zeros((0, 3, 4))  # the filters' covariance blocks (kalman.py)
        self.ids = np.zeros(0, dtype=np.int64)
        self.hits = np.zeros(0, dtype=np.int64)
        self.lost_for = np.zeros(0, dtype=np.int64)
        self.state = np.zeros(0, dtype=np.int8)
        self.scores = np.zeros(0)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def covs(self) -> np.ndarray:
        """The filters' full (N, 8, 8) covariances (for inspection)."""
        return full_covariance(self.cov)

    def predict(self) -> None:
        if len(self.ids):
            self.means, self.cov = predict_many(self.means, self.cov)

    def boxes(self) -> np.ndarray:
        return cxcywh_to_xyxy_many(self.means)

    def update(self, rows: np.ndarray, boxes: np.ndarray, scores: np.ndarray, confirm_hits: int) -> None:
        """Rows ``rows`` (distinct) matched to ``boxes`` with ``scores``: filters
        corrected, a hit counted; a lost track, or one with enough hits, is tracked."""
        self.means[rows], self.cov[rows] = update_many(self.means[rows], self.cov[rows], boxes)
        self.scores[rows] = scores
        self.hits[rows] += 1
        self.lost_for[rows] = 0
        promote = (self.state[rows] == State.LOST) | (self.hits[rows] >= confirm_hits)
        self.state[rows[promote]] = State.TRACKED

    def age_unmatched(self, unmatched: np.ndarray, track_buffer: int) -> None:
        """The tracks in the mask ``unmatched`` missed this frame: tentative ones are
        dropped; the others are lost for one more frame (their size frozen when they
        become lost; their position keeps moving) and dropped past ``track_buffer``."""
        if not unmatched.any():
            return
        tentative = unmatched & (self.state == State.TENTATIVE)
        missed = unmatched & ~tentative
        newly_lost = missed & (self.state != State.LOST)
        self.means[newly_lost, 6:8] = 0.0
        self.state[missed] = State.LOST
        self.lost_for[missed] += 1
        drop = tentative | (missed & (self.lost_for > track_buffer))
        if drop.any():
            self._keep(~drop)

    def add(self, ids: np.ndarray, boxes: np.ndarray, scores: np.ndarray, confirmed: bool) -> None:
        """New tracks at rest on ``boxes``, appended in the given order."""
        means, cov = initiate_many(boxes)
        n = len(ids)
        self.means = np.concatenate([self.means, means])
        self.cov = np.concatenate([self.cov, cov])
        self.ids = np.concatenate([self.ids, ids])
        self.hits = np.concatenate([self.hits, np.ones(n, dtype=np.int64)])
        self.lost_for = np.concatenate([self.lost_for, np.zeros(n, dtype=np.int64)])
        self.state = np.concatenate([self.state, np.full(n, State.TRACKED if confirmed else State.TENTATIVE,
                                                         dtype=np.int8)])
        self.scores = np.concatenate([self.scores, np.asarray(scores, dtype=np.float64)])

    def _keep(self, mask: np.ndarray) -> None:
        for name in ("means", "cov", "ids", "hits", "lost_for", "state", "scores"):
            setattr(self, name, getattr(self, name)[mask])

    def snapshots(self) -> list[Track]:
        boxes = self.boxes()
        return [Track(int(self.ids[i]), _NAMES[int(self.state[i])], int(self.hits[i]), int(self.lost_for[i]),
                      float(self.scores[i]), boxes[i].copy(), self.means[i].copy()) for i in range(len(self))]
