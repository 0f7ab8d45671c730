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


# -- the batched tracker against the per-track one it replaced (issue #20) -----------------

class _RefTrack:
    """One track with its own BoxKalman: the tracker as it was before its tracks
    were stacked into arrays, kept here as the reference."""

    def __init__(self, track_id, box, score, confirmed):
        self.id, self.kf, self.score = track_id, BoxKalman(box), float(score)
        self.hits, self.lost_for = 1, 0
        self.state = "tracked" if confirmed else "tentative"

    def update(self, box, score, confirm_hits):
        self.kf.update(box)
        self.score, self.lost_for = float(score), 0
        self.hits += 1
        if self.state == "lost" or self.hits >= confirm_hits:
            self.state = "tracked"


class _RefByteTracker:
    def __init__(self, cfg):
        self.cfg, self.tracks, self.next_id = cfg, [], 1

    def update(self, boxes, scores):
        from scipy.optimize import linear_sum_assignment

        cfg = self.cfg
        boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        scores = np.asarray(scores, np.float64).reshape(-1)
        ids = np.full(len(boxes), -1, dtype=np.int64)
        for t in self.tracks:
            t.kf.predict()
        high = np.flatnonzero(scores >= cfg.high_threshold)
        low = np.flatnonzero((scores >= cfg.low_threshold) & (scores < cfg.high_threshold))
        matched = set()

        def take(pool, dets, min_iou):
            used = set()
            if len(pool) and len(dets):
                iou = iou_matrix(np.array([t.kf.box for t in pool]), boxes[dets])
                for r, c in zip(*linear_sum_assignment(1.0 - iou)):
                    if iou[r, c] >= min_iou and iou[r, c] > 0:
                        t, d = pool[r], int(dets[c])
                        t.update(boxes[d], scores[d], cfg.confirm_hits)
                        matched.add(id(t))
                        used.add(c)
                        if t.state == "tracked":
                            ids[d] = t.id
            return ([t for t in pool if id(t) not in matched],
                    np.array([d for i, d in enumerate(dets) if i not in used], dtype=np.int64))

        confirmed = [t for t in self.tracks if t.state != "tentative"]
        tentative = [t for t in self.tracks if t.state == "tentative"]
        rest, rest_high = take(confirmed, high, cfg.match_iou)
        take([t for t in rest if t.state == "tracked"], low, cfg.low_match_iou)
        _, rest_high = take(tentative, rest_high, cfg.match_iou)
        kept = []
        for t in self.tracks:
            if id(t) in matched:
                kept.append(t)
            elif t.state != "tentative":
                if t.state != "lost":
                    t.kf.x[6:8] = 0.0
                t.state, t.lost_for = "lost", t.lost_for + 1
                if t.lost_for <= cfg.track_buffer:
                    kept.append(t)
        for d in rest_high:
            if scores[d] >= cfg.new_track_threshold:
                t = _RefTrack(self.next_id, boxes[d], scores[d], cfg.confirm_hits <= 1)
                self.next_id += 1
                kept.append(t)
                if t.state == "tracked":
                    ids[d] = t.id
        self.tracks = kept
        return ids


def _crowd_frames(seed, frames=400, people=40, size=(2048, 1024)):
    """Pedestrians crossing the view both ways at a few heights (so that many pass
    each other), entering and leaving; each frame some are missed, some scored low
    (occluded), some boxes jitter, and false positives appear."""
    rng = np.random.default_rng(seed)
    w, _ = size
    start = rng.integers(-100, frames, people)
    speed = rng.uniform(2, 12, people) * rng.choice([-1, 1], people)
    x0 = np.where(speed > 0, -50.0, w + 50.0)
    y = rng.choice([300.0, 330.0, 600.0, 640.0], people) + rng.normal(0, 5, people)
    h = rng.uniform(60, 260, people)
    for k in range(frames):
        cx = x0 + speed * (k - start)
        on = (k >= start) & (cx > -40) & (cx < w + 40)
        on &= rng.random(people) > 0.08                      # missed
        n = int(on.sum())
        hh = h[on] * (1 + rng.normal(0, 0.04, n))
        c = np.stack([cx[on], y[on]], 1) + rng.normal(0, 0.03, (n, 1)) * h[on, None]
        boxes = np.concatenate([c - np.stack([0.2 * hh, hh / 2], 1), c + np.stack([0.2 * hh, hh / 2], 1)], 1)
        scores = np.where(rng.random(n) < 0.15, rng.uniform(0.1, 0.5, n), rng.uniform(0.5, 0.99, n))
        fp = rng.poisson(1.0)
        fc = rng.uniform([0, 100], [w, 900], (fp, 2))
        boxes = np.concatenate([boxes, np.concatenate([fc - [20, 50], fc + [20, 50]], 1)])
        scores = np.concatenate([scores, rng.uniform(0.05, 0.7, fp)])
        order = rng.permutation(len(scores))
        yield boxes[order], scores[order]


def _street_frames(seed, frames=300):
    from cluenet_ros.synth.sequence import DetectorNoise, make_sequence, noisy_detections

    seq = make_sequence(seed, frames=frames, people=9)
    rng = np.random.default_rng(seed)
    noise = DetectorNoise(miss_visible=0.15, false_positives=1.0)
    for k in range(frames):
        yield noisy_detections(seq.truth(k), rng, seq.camera, noise)


def _assert_same_as_reference(frames, cfg):
    new, ref = ByteTracker(cfg), _RefByteTracker(cfg)
    seen_ids, reported, rescued, lost = set(), 0, 0, 0
    for k, (boxes, scores) in enumerate(frames):
        got, want = new.update(boxes, scores), ref.update(boxes, scores)
        assert got.tolist() == want.tolist(), f"frame {k}"
        table = new.table
        assert table.ids.tolist() == [t.id for t in ref.tracks], f"frame {k}"
        assert [t.state for t in new.tracks] == [t.state for t in ref.tracks], f"frame {k}"
        assert table.hits.tolist() == [t.hits for t in ref.tracks], f"frame {k}"
        assert table.lost_for.tolist() == [t.lost_for for t in ref.tracks], f"frame {k}"
        if ref.tracks:
            np.testing.assert_allclose(table.boxes(), [t.kf.box for t in ref.tracks], rtol=1e-9, atol=1e-9,
                                       err_msg=f"frame {k}")
            np.testing.assert_allclose(table.means, [t.kf.x for t in ref.tracks], rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(table.covs, [t.kf.P for t in ref.tracks], rtol=1e-9, atol=1e-9)
        seen_ids.update(got[got >= 0].tolist())
        reported += int((got >= 0).sum())
        rescued += int(((got >= 0) & (np.asarray(scores) < cfg.high_threshold)).sum())
        lost += sum(t.state == "lost" for t in ref.tracks)
    return dict(ids=len(seen_ids), reported=reported, rescued=rescued, lost=lost)


@pytest.mark.parametrize("cfg", [TrackerConfig(), TrackerConfig(confirm_hits=3, track_buffer=5),
                                 TrackerConfig(track_buffer=0, low_match_iou=0.3)])
def test_batched_tracker_matches_the_per_track_reference_in_a_crowd(cfg):
    seen = _assert_same_as_reference(_crowd_frames(seed=7), cfg)
    # the sequence exercises what it is meant to: many tracks, low-score rescues, lost tracks
    assert seen["ids"] > 30 and seen["reported"] > 5000 and seen["rescued"] > 100, seen
    assert seen["lost"] > 100 or cfg.track_buffer == 0, seen


def test_batched_tracker_matches_the_per_track_reference_on_a_street():
    seen = _assert_same_as_reference(_street_frames(seed=3), TrackerConfig(confirm_hits=2))
    assert seen["ids"] >= 5 and seen["reported"] > 1000 and seen["lost"] > 100, seen


def test_batched_kalman_equals_box_kalman():
    from cluenet_ros.tracking.kalman import full_covariance, initiate_many, predict_many, update_many

    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 900, (7, 2))
    boxes = np.concatenate([xy, xy + rng.uniform(5, 200, (7, 2))], 1)
    ref = [BoxKalman(b) for b in boxes]
    means, covs = initiate_many(boxes)
    for step in range(30):
        dt = 0.5 if step % 3 == 2 else 1.0   # the filter's step need not be one frame
        for kf in ref:
            kf.predict(dt)
        means, covs = predict_many(means, covs, dt)
        rows = np.flatnonzero(rng.random(7) < 0.7)  # some filters see nothing this step
        z = boxes[rows] + 3 * step + rng.normal(0, 4, (len(rows), 4))
        for r, zz in zip(rows, z):
            ref[r].update(zz)
        means[rows], covs[rows] = update_many(means[rows], covs[rows], z)
        np.testing.assert_allclose(means, [kf.x for kf in ref], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(full_covariance(covs), [kf.P for kf in ref], rtol=1e-12, atol=1e-12)


def test_iou_matrix_equals_the_pairwise_definition():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 100, (30, 2))
    a = np.concatenate([xy, xy + rng.uniform(-5, 40, (30, 2))], 1)  # some with negative sides
    a[:3, 2:] = a[:3, :2]                                           # and some empty
    b = a[rng.permutation(30)] + rng.normal(0, 5, (30, 4))

    def pair(p, q):
        iw = max(min(p[2], q[2]) - max(p[0], q[0]), 0.0)
        ih = max(min(p[3], q[3]) - max(p[1], q[1]), 0.0)
        area = lambda r: max(r[2] - r[0], 0.0) * max(r[3] - r[1], 0.0)  # noqa: E731
        union = area(p) + area(q) - iw * ih
        return iw * ih / union if union > 0 else 0.0

    want = [[pair(p, q) for q in b] for p in a]
    got = iou_matrix(a, b)
    assert got.tolist() == want
    assert (got > 0).sum() > 20 and (got == 0).sum() > 20


def test_new_smoothing_settings_reach_the_running_tracks():
    """tracking.smoothing_* at run time: a track's filter keeps its state and takes
    the new cut-offs (before, only tracks started afterwards did)."""
    t = PedestrianTracker(smooth_keypoints=True, min_cutoff=0.01, beta=0.0)
    r0 = _result([box(100)], [0.9])
    t(r0)
    t.set_smoothing(1000.0, 0.0)  # a cut-off so high the filter passes the signal through
    r1 = _result([box(102)], [0.9], seed=1)
    out = t(r1, dt=0.1)
    assert out.ids == ["1"]
    # alpha = 1 / (1 + 1 / (2 pi 1000 x 0.1)) = 0.9984: within 0.2% of each step of up to 100 px
    np.testing.assert_allclose(out.keypoints[0, :, :2], r1.keypoints[0, :, :2], atol=0.2)
    # with the old cut-off (alpha = 0.006) the keypoints would have stayed near the first frame's
    assert np.abs(r1.keypoints[0, :, :2] - r0.keypoints[0, :, :2]).max() > 10
    with pytest.raises(ValueError, match="min_cutoff"):
        t.set_smoothing(0.0, 0.0)
    assert (t.min_cutoff, t.beta) == (1000.0, 0.0)


def test_select_then_tracked_equals_the_one_call():
    """The node asks the tracker between the stages (select, then tracked on the kept
    rows' poses); frame by frame that must give what one call on the full result gives."""
    rng = np.random.default_rng(3)
    one, split = (PedestrianTracker(TrackerConfig(low_threshold=0.1, high_threshold=0.5), smooth_keypoints=True)
                  for _ in range(2))
    starts = rng.uniform(0, 600, 6)
    for f in range(12):
        xs = starts + 8 * f + rng.normal(0, 2, 6)
        keep_people = rng.random(6) > 0.2  # people missed now and then
        clutter = rng.uniform(0, 700, 4)   # low-score boxes that match nobody
        boxes = [box(x) for x in xs[keep_people]] + [box(x) for x in clutter]
        scores = list(rng.uniform(0.3, 0.95, keep_people.sum())) + list(rng.uniform(0.1, 0.4, 4))
        r = _result(boxes, scores, seed=f)
        expected = one(r, dt=0.1)
        rows, ids = split.select(r.boxes, r.scores)
        got = split.tracked(r.select(rows), ids, dt=0.1)
        assert got.track_ids.tolist() == expected.track_ids.tolist()
        np.testing.assert_array_equal(got.boxes, expected.boxes)
        np.testing.assert_array_equal(got.keypoints, expected.keypoints)
    assert len(expected) >= 3
    with pytest.raises(ValueError, match="track ids for"):
        split.tracked(r, ids[:0])
