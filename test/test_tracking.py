"""The tracker (no ROS): Kalman filter, ByteTrack association, One Euro smoothing,
and the tracker on FrameResults."""
from __future__ import annotations

import numpy as np
import pytest

from cluenet_ros.tracking import ByteTracker, OneEuroFilter, PedestrianTracker, TrackerConfig, iou_matrix
from cluenet_ros.tracking.kalman import BoxKalman


def box(cx, cy=100.0, w=30.0, h=80.0):
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def test_iou_matrix_values():
    iou = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    assert iou[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0])


def test_kalman_learns_constant_velocity_and_predicts_through_a_gap():
    kf = BoxKalman(box(100))
    for k in range(1, 15):
        kf.predict()
        kf.update(box(100 + 4 * k))
    assert kf.velocity[0] == pytest.approx(4.0, abs=0.3)
    for _ in range(5):  # five frames unseen
        kf.predict()
    assert kf.box[0] == pytest.approx(box(100 + 4 * 19)[0], abs=3.0)
    assert kf.box[3] - kf.box[1] == pytest.approx(80.0, abs=1.0)


def test_two_crossing_pedestrians_keep_their_ids():
    """A walks right, B walks left at the same height; they overlap fully mid-way."""
    tr = ByteTracker()
    first = None
    for k in range(40):
        a, b = box(50 + 5 * k), box(245 - 5 * k)
        ids = tr.update([a, b], [0.9, 0.8])
        if first is None:
            first = ids.tolist()
        assert (ids >= 0).all()
        assert ids.tolist() == first, f"frame {k}: {ids.tolist()} != {first}"
    assert sorted(first) == [1, 2] and len(tr.tracks) == 2


def test_a_missed_frame_keeps_the_id_and_a_long_gap_within_the_buffer_too():
    tr = ByteTracker(TrackerConfig(track_buffer=10))
    ids = [tr.update([box(100 + 3 * k)], [0.9])[0] for k in range(5)]
    tr.update(np.zeros((0, 4)), [])  # frame 5: missed
    ids.append(tr.update([box(100 + 3 * 6)], [0.9])[0])
    for k in range(7, 15):           # frames 7-14 missed, then seen again where it walked to
        tr.update(np.zeros((0, 4)), [])
    ids.append(tr.update([box(100 + 3 * 15)], [0.9])[0])
    assert ids == [1] * 7


def test_lost_track_is_dropped_after_the_buffer():
    tr = ByteTracker(TrackerConfig(track_buffer=2))
    tr.update([box(100)], [0.9])
    for _ in range(3):
        tr.update(np.zeros((0, 4)), [])
    assert tr.tracks == []
    assert tr.update([box(100)], [0.9]).tolist() == [2]


def test_low_score_second_stage_rescues_a_track():
    """A pedestrian walking behind a car scores 0.3 for a few frames: ByteTrack keeps
    it (same id, reported); without a second stage (low_threshold = high) it is
    lost and comes back under a new id."""
    scores = [0.9] * 5 + [0.3] * 4 + [0.9] * 3
    cfg = TrackerConfig(track_buffer=0)
    byte = ByteTracker(cfg)
    plain = ByteTracker(TrackerConfig(low_threshold=0.5, track_buffer=0))
    byte_ids, plain_ids = [], []
    for k, s in enumerate(scores):
        byte_ids.append(int(byte.update([box(100 + 6 * k)], [s])[0]))
        plain_ids.append(int(plain.update([box(100 + 6 * k)], [s])[0]))
    assert byte_ids == [1] * 12
    assert plain_ids == [1] * 5 + [-1] * 4 + [2] * 3


def test_low_score_detection_never_starts_a_track_and_unmatched_one_is_not_reported():
    tr = ByteTracker()
    assert tr.update([box(100), box(300)], [0.9, 0.3]).tolist() == [1, -1]
    assert len(tr.tracks) == 1


def test_confirm_hits_holds_back_new_tracks():
    tr = ByteTracker(TrackerConfig(confirm_hits=3))
    out = [tr.update([box(100 + k)], [0.9])[0] for k in range(4)]
    assert out == [-1, -1, 1, 1]
    tr.update([box(400)], [0.9])  # the first track is lost; a new tentative one appears
    assert tr.update(np.zeros((0, 4)), []).tolist() == [] and [t.id for t in tr.tracks] == [1]


@pytest.mark.parametrize("kwargs,msg", [
    (dict(low_threshold=0.7, high_threshold=0.5), "must not exceed"),
    (dict(match_iou=1.5), "match_iou must be in [0, 1]"),
    (dict(track_buffer=-1), "track_buffer must be >= 0"),
])
def test_bad_tracker_config(kwargs, msg):
    with pytest.raises(ValueError, match=msg.replace("[", r"\[").replace("]", r"\]")):
        TrackerConfig(**kwargs)


def test_one_euro_smooths_jitter_and_follows_motion():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=1.0, beta=0.0)
    still = [f(np.array([10.0]) + rng.normal(0, 1.0, 1), dt=0.1)[0] for _ in range(200)]
    assert np.std(still[50:]) < 0.5  # the raw jitter has std 1
    g = OneEuroFilter(min_cutoff=1.0, beta=0.5)
    moving = [g(np.array([3.0 * k]), dt=0.1)[0] for k in range(60)]
    assert moving[-1] == pytest.approx(3.0 * 59, abs=3.0)  # speed raises the cut-off: little lag
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)


def _result(boxes, scores, seed=0):
    from cluenet_ros.inference.pipeline import FrameResult

    n = len(scores)
    rng = np.random.default_rng(seed)
    b = np.asarray(boxes, np.float32).reshape(-1, 4)
    kps = np.concatenate([rng.uniform(0, 100, (n, 13, 2)), np.ones((n, 13, 1))], axis=2).astype(np.float32)
    return FrameResult(boxes=b, scores=np.asarray(scores, np.float32), visible_boxes=b.copy(),
                       visibility=np.ones(n, np.float32), keypoints=kps, occluded=np.zeros((n, 13), bool),
                       mask=np.zeros((50, 60), np.uint8))


def test_pedestrian_tracker_selects_tracked_rows_with_ids_and_smooths_keypoints():
    t = PedestrianTracker(smooth_keypoints=True, min_cutoff=0.5, beta=0.0)
    r0 = _result([box(100), box(300), box(500)], [0.9, 0.2, 0.8])
    out = t(r0)
    assert out.ids == ["1", "2"] and out.boxes.tolist() == r0.boxes[[0, 2]].tolist()
    assert np.array_equal(out.keypoints, r0.keypoints[[0, 2]])  # the first frame passes unchanged
    r1 = _result([box(502), box(102)], [0.85, 0.9], seed=1)
    out1 = t(r1, dt=0.1)
    assert out1.ids == ["2", "1"]
    # smoothed: between the previous and the new keypoints
    prev, new, got = r0.keypoints[2, :, :2], r1.keypoints[0, :, :2], out1.keypoints[0, :, :2]
    assert np.all(np.abs(got - prev) < np.abs(new - prev) + 1e-4) and not np.allclose(got, new)
    assert np.array_equal(out1.keypoints[:, :, 2], r1.keypoints[[0, 1], :, 2])
