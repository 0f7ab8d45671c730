"""Synthetic tracking sequences and the MOTA/IDF1 study (no ROS, no model)."""
from __future__ import annotations

import numpy as np
import pytest

from cluenet_ros.synth.sequence import make_sequence, noisy_detections


def test_sequences_have_crossings_and_occlusions_with_true_ids():
    seq = make_sequence(3, frames=100)
    assert make_sequence(3, frames=100).walkers == seq.walkers  # a function of the seed
    assert [o.kind for o in seq.obstacles] and all(-o.z >= 5.0 for o in seq.obstacles)
    hidden = set()
    for k in range(100):
        for p in seq.truth(k):
            assert p.id in {w.id for w in seq.walkers}
            if p.in_image > 0.99 and p.visibility < 0.5:
                hidden.add(p.id)
    assert len(hidden) >= 2  # people really pass behind one another or an obstacle


def test_noisy_detector_misses_occluded_people_more_and_scores_them_lower():
    from cluenet_ros.tracking import iou_matrix

    seq = make_sequence(0, frames=150)
    rng = np.random.default_rng(0)
    found = {"visible": [], "hidden": []}
    for k in range(150):
        truth = seq.truth(k)
        boxes, scores = noisy_detections(truth, rng, seq.camera)
        assert boxes.shape == (len(scores), 4) and ((scores > 0) & (scores < 1)).all()
        iou = iou_matrix([p.box for p in truth], boxes)
        for i, p in enumerate(truth):
            group = "visible" if p.visibility > 0.9 else "hidden" if 0.1 < p.visibility < 0.5 else None
            if group:
                j = int(np.argmax(iou[i])) if iou.shape[1] else -1
                found[group].append(scores[j] if j >= 0 and iou[i, j] > 0.5 else 0.0)
    vis, hid = np.array(found["visible"]), np.array(found["hidden"])
    assert len(vis) > 100 and len(hid) > 20
    assert (vis > 0).mean() > 0.9 > (hid > 0).mean()            # occluded people are missed more often
    assert np.median(vis[vis > 0]) > np.median(hid[hid > 0]) + 0.1  # and score lower when found


def test_truth_noise_study_reaches_the_target_on_a_short_run():
    pytest.importorskip("motmetrics")
    from cluenet_ros.evaluation.tracking_study import truth_noise
    from cluenet_ros.tracking import TrackerConfig

    out = truth_noise([0, 1], frames=80)
    assert out["num_objects"] > 300 and 0.75 <= out["idf1"] <= 1.0 and out["mota"] > 0.6
    # a tracker that forgets at once does much worse on the same detections
    forgetful = truth_noise([0, 1], frames=80, tracker=TrackerConfig(track_buffer=0, low_threshold=0.5))
    assert forgetful["num_switches"] > out["num_switches"]


def test_render_frame_places_people_where_the_sequence_says():
    pytest.importorskip("pybullet")
    from cluenet_ros.synth.render import SceneRenderer

    seq = make_sequence(5, frames=20, people=2, size=(256, 128), obstacles=False, depth_range=(6.0, 9.0))
    r = SceneRenderer(256, 128, max_people=2)
    try:
        k = next(k for k in range(20) if all(p.in_image > 0.99 for p in seq.truth(k)) and len(seq.truth(k)) == 2)
        scene = r.render_frame(**seq.render_arguments(k))
    finally:
        r.close()
    truth = {p.id: p for p in seq.truth(k)}
    assert len(scene.people) == 2
    for i, person in enumerate(scene.people):
        want = truth[i + 1].box
        x1, y1, x2, y2 = person.full_box
        h = want[3] - want[1]
        assert abs(y2 - want[3]) < 0.1 * h                       # feet on the ground where projected
        assert abs((x1 + x2) / 2 - (want[0] + want[2]) / 2) < 0.3 * h
        assert 0.75 * h < y2 - y1 < 1.15 * h                     # about the sequence's person height
        assert person.position == pytest.approx(seq.walkers[i].at(k / seq.fps), abs=1e-6)


def test_the_sweep_reads_the_node_threshold_too():
    """The model study tracks at the node's score_threshold (0.96 since session 45) and
    sweeps the usual grid beside it; a detection scored between 0.9 and 0.96 is a track
    only below that threshold."""
    from cluenet_ros.evaluation.tracking_study import score_detections, sweep
    from cluenet_ros.tracking import TrackerConfig

    truth = [{"id": 1, "box": [10, 10, 40, 100], "visibility": 1.0}]
    rec = {"frames": [{"boxes": [[10, 10, 40, 100]], "scores": [0.93], "truth": truth} for _ in range(5)]}
    cfg = TrackerConfig(high_threshold=0.96, new_track_threshold=0.96)
    out = sweep(rec, cfg)
    assert list(out["by_high_threshold"]) == ["0.5", "0.6", "0.7", "0.8", "0.9", "0.96"]
    assert out["by_high_threshold"]["0.9"]["num_misses"] < 5
    assert out["by_high_threshold"]["0.96"]["num_misses"] == 5     # never confirmed, never a track
    assert score_detections(rec, cfg)["high_threshold"] == 0.96
