"""Metrics pinned at their thresholds: cases just either side of each cut-off.

The hand cases in test_evaluation.py use IoUs of 0 or 1, which any threshold
between them passes. These sit at 0.49 / 0.51 (and the like), so a changed
threshold, constant or sigma changes a result here.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.detection import evaluate_detections, load_detections, load_ground_truth
from cluenet_ros.evaluation.pose import keypoint_ap, occluded_keypoint_ap


def mr_of(people, detections, images=(1,)):
    anns = [{"id": i + 1, "image_id": img, "bbox": box, "height": box[3], "vis_ratio": vis, "ignore": ign}
            for i, (img, box, vis, ign) in enumerate(people)]
    gt = load_ground_truth({"images": [{"id": i} for i in images], "annotations": anns})
    dts = [{"image_id": i, "category_id": 1, "bbox": b, "score": s} for i, b, s in detections]
    return evaluate_detections(gt, load_detections(dts, gt))


@pytest.mark.parametrize("height,matched", [(51, True), (49, False)])
def test_detection_match_needs_iou_of_one_half(height, matched):
    # IoU of [0, 0, 40, h] with [0, 0, 40, 100] is h / 100
    res = mr_of([(1, [0, 0, 40, 100], 1.0, 0)], [(1, [0, 0, 40, height], 0.9)])
    assert res["reasonable"] == (0.0 if matched else 1.0)


@pytest.mark.parametrize("width,ignored", [(20, True), (22, False)])
def test_detection_on_an_ignore_region_is_judged_by_its_own_area(width, ignored):
    # ignore region [0, 0, 100, 100]; a detection [90, 0, w, 100] overlaps 10 px of
    # its width: intersection over the detection's area is 10 / w (0.5 or 0.45)
    people = [(1, [0, 0, 100, 100], 1.0, 1), (1, [300, 0, 40, 100], 1.0, 0), (1, [400, 0, 40, 100], 1.0, 0)]
    images = tuple(range(1, 11))
    res = mr_of(people, [(1, [90, 0, width, 100], 0.9), (1, [300, 0, 40, 100], 0.5)], images)
    # one of two found; a false positive (FPPI 0.1) ahead of it makes the first
    # four FPPI points (0.01 .. 0.056) read a miss rate of 1
    expected = 0.5 if ignored else math.exp(5 * math.log(0.5) / 9)
    assert res["reasonable"] == pytest.approx(expected)


@pytest.mark.parametrize("fp_height,kept", [(40.5, True), (39.5, False)])
def test_detections_shorter_than_the_height_range_over_1_25_are_dropped(fp_height, kept):
    # Reasonable: people >= 50 px; detections >= 50 / 1.25 = 40 px take part
    people = [(1, [0, 0, 40, 100], 1.0, 0), (1, [100, 0, 40, 100], 1.0, 0)]
    res = mr_of(people, [(1, [500, 0, 20, fp_height], 0.9), (1, [0, 0, 40, 100], 0.5)], tuple(range(1, 11)))
    expected = math.exp(5 * math.log(0.5) / 9) if kept else 0.5
    assert res["reasonable"] == pytest.approx(expected)


@pytest.mark.parametrize("height,vis,setups", [
    (60, 0.65, {"reasonable", "heavy", "reasonable_heavy", "all"}),   # both ends inclusive
    (60, 0.64, {"heavy", "reasonable_heavy", "all"}),
    (60, 0.66, {"reasonable", "reasonable_heavy", "all"}),
    (60, 0.20, {"heavy", "reasonable_heavy", "all"}),
    (60, 0.19, set()),
    (50, 1.0, {"reasonable", "reasonable_heavy", "all"}),
    (49, 1.0, {"all"}),
    (20, 1.0, {"all"}),
    (19, 1.0, set()),
])
def test_setup_ranges_of_height_and_visibility(height, vis, setups):
    # a missed person counts (MR 1) in the setups whose ranges hold it; elsewhere
    # there is nobody to find (NaN)
    res = mr_of([(1, [0, 0, 20, height], vis, 0)], [])
    counted = {name for name, v in res.items() if not math.isnan(v)}
    assert counted == setups
    assert all(res[name] == 1.0 for name in setups)


def test_miss_rate_is_read_at_nine_points_from_0_01_to_1_fppi():
    # 100 images, 4 people; detections in score order:
    # TP, 2 FP, TP, 13 FP, TP, 50 FP (the fourth person is never found)
    people = [(1, [x, 0, 40, 100], 1.0, 0) for x in (0, 100, 200, 300)]
    dets, score = [(1, [0, 0, 40, 100], 1.0)], 0.99
    for group, person in ((2, 100), (13, 200), (50, None)):
        for i in range(group):
            dets.append((2 + i, [600, 0, 40, 100], score))
            score -= 1e-4
        if person is not None:
            dets.append((1, [person, 0, 40, 100], score))
            score -= 1e-4
    res = mr_of(people, dets, tuple(range(1, 101)))
    # operating points (FPPI, miss): (0, .75) (.02, .5) (.15, .25) (.65, .25); read at
    # .01 .0178 | .0316 .0562 .1 | .178 .316 .562 1
    points = [0.75] * 2 + [0.5] * 3 + [0.25] * 4
    assert res["reasonable"] == pytest.approx(math.exp(sum(map(math.log, points)) / 9))


# -- keypoints: OKS at its thresholds --------------------------------------------------

SIGMAS_BY_NAME = {
    "head": 0.035,
    "left_shoulder": 0.079, "right_shoulder": 0.079,
    "left_elbow": 0.072, "right_elbow": 0.072,
    "left_wrist": 0.062, "right_wrist": 0.062,
    "left_hip": 0.107, "right_hip": 0.107,
    "left_knee": 0.087, "right_knee": 0.087,
    "left_ankle": 0.089, "right_ankle": 0.089,
}


@pytest.mark.parametrize("name", kp.NAMES)
def test_every_oks_sigma_by_name(name):
    assert kp.OKS_SIGMAS[kp.INDEX[name]] == SIGMAS_BY_NAME[name]


AREA = 60.0 * 150.0


def one_person(rng):
    pts = np.c_[rng.uniform(100, 160, 13), rng.uniform(100, 250, 13)]
    k = np.c_[pts, np.full(13, 2.0)]
    full = k.copy()
    full[:4, 2] = 1  # the first four hidden: their true position is known
    ann = {"id": 1, "image_id": 0, "category_id": 1, "bbox": [100, 100, 60, 150], "area": AREA,
           "iscrowd": 0, "keypoints": k.ravel().tolist(), "num_keypoints": 13,
           "keypoints_full": full.ravel().tolist()}
    return {"images": [{"id": 0, "width": 400, "height": 400}], "annotations": [ann],
            "categories": [kp.coco_category()]}, pts


def shifted(pts, oks_per_keypoint, sigmas=SIGMAS_BY_NAME):
    """Keypoints moved so that each keypoint's OKS term is exactly the given value:
    exp(-d^2 / (2 * area * (2 sigma)^2)) = oks  <=>  d = 2 sigma sqrt(-2 area ln oks)."""
    s = np.array([sigmas[n] for n in kp.NAMES])
    d = 2 * s * np.sqrt(-2 * AREA * np.log(oks_per_keypoint))
    out = pts.copy()
    out[:, 0] += d
    return [{"image_id": 0, "category_id": 1, "score": 0.9,
             "keypoints": np.c_[out, np.ones(13)].ravel().tolist()}]


@pytest.mark.parametrize("oks,ap50,ap75", [(0.52, 1.0, 0.0), (0.48, 0.0, 0.0), (0.77, 1.0, 1.0),
                                           (0.73, 1.0, 0.0)])
def test_keypoint_ap_at_the_oks_thresholds(oks, ap50, ap75):
    gt, pts = one_person(np.random.default_rng(0))
    res = keypoint_ap(gt, shifted(pts, np.full(13, oks)))
    assert res["AP50"] == pytest.approx(ap50) and res["AP75"] == pytest.approx(ap75)
    # AP averages over the ten thresholds 0.50, 0.55, ..., 0.95
    assert res["AP"] == pytest.approx(sum(t <= oks + 1e-9 for t in np.linspace(0.5, 0.95, 10)) / 10)


@pytest.mark.parametrize("name", kp.NAMES)
def test_each_sigma_reaches_cocoeval(name):
    # keypoint `name` is moved so that its own OKS term is 0.3 under its true sigma,
    # the others so that the mean lands 0.002 above (then below) the 0.5 threshold.
    # A sigma that is 4% off for this keypoint moves its term by more than 0.026,
    # the mean by more than 0.002, and AP50 flips in one of the two cases.
    gt, pts = one_person(np.random.default_rng(1))
    i = kp.INDEX[name]
    for total, ap50 in ((0.502, 1.0), (0.498, 0.0)):
        oks = np.full(13, (13 * total - 0.3) / 12)
        oks[i] = 0.3
        assert keypoint_ap(gt, shifted(pts, oks))["AP50"] == pytest.approx(ap50), total


def test_occluded_keypoint_ap_uses_the_hidden_keypoints_own_sigmas():
    gt, pts = one_person(np.random.default_rng(2))
    oks = np.full(13, 0.2)
    oks[:4] = 0.6  # the four hidden keypoints: OKS 0.6 among themselves
    res = occluded_keypoint_ap(gt, shifted(pts, oks))
    assert res["AP50"] == pytest.approx(1.0) and res["AP"] == pytest.approx(0.3)
