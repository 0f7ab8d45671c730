"""Perspective rescoring: the frame's people fix a height line, boxes far off it lose score."""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from cluenet_ros.config import ConfigError
from cluenet_ros.inference.perspective import PerspectiveSettings, fit_height_line, rescore

REPO = Path(__file__).resolve().parents[1]
H = 576


def person(x, bottom, a=0.25, c=14.0):
    h = a * bottom + c
    return [x, bottom - h, x + 0.41 * h, bottom]


def frame():
    people = [person(100, 256), person(300, 332), person(500, 394), person(650, 300)]
    others = [[421, 336, 446, 395],      # half a person's height at its row
              [319, 447, 357, 534],      # 0.6 of it
              [300, 20, 330, 100]]       # twice a person's height at its row
    boxes = np.array(people + others, dtype=np.float64)
    scores = np.array([0.99, 0.98, 0.99, 0.97, 0.99, 0.976, 0.95])
    return boxes, scores


def test_the_line_is_the_peoples_and_off_line_boxes_fall():
    boxes, scores = frame()
    a, c = fit_height_line(boxes, scores, 0.9, H)
    assert a == pytest.approx(0.25, abs=1e-6) and c == pytest.approx(14.0, abs=1e-4)
    out = rescore(boxes, scores, H, PerspectiveSettings(anchor_score=0.9, tolerance=0.2, sigma=0.1))
    np.testing.assert_allclose(out[:4], scores[:4])
    assert np.all(out[4:] < 0.01)
    # a wider tolerance keeps the 0.6-height box partly: |ln 0.6| = 0.51
    wide = rescore(boxes, scores, H, PerspectiveSettings(anchor_score=0.9, tolerance=0.35, sigma=0.25))
    assert 0.5 < wide[5] / scores[5] < 1.0 and wide[6] < 0.5 * scores[6]


def test_feet_at_or_above_the_horizon_are_no_person():
    # a camera whose horizon is row 200: people at rows 300-500
    people = [person(x, b, a=0.5, c=-100.0) for x, b in ((50, 300), (200, 380), (400, 450), (600, 500))]
    boxes = np.array(people + [[700, 100, 720, 150]], dtype=np.float64)
    scores = np.array([0.99, 0.99, 0.98, 0.97, 0.99])
    out = rescore(boxes, scores, H)
    np.testing.assert_allclose(out[:4], scores[:4])
    assert out[4] == 0.0


def test_too_few_confident_people_or_a_cut_box_change_nothing():
    boxes, scores = frame()
    low = scores.copy()
    low[1:4] = 0.8                        # two anchors left: no line
    np.testing.assert_array_equal(rescore(boxes, low, H), low)
    cut = boxes.copy()
    cut[4, 3] = H                         # the post base now reaches the bottom edge: its height is cut
    out = rescore(cut, scores, H)
    assert out[4] == scores[4] and out[5] < 0.01


def test_a_few_confident_non_people_do_not_bend_the_line():
    boxes, scores = frame()
    more = np.concatenate([boxes, [[600, 450, 620, 500], [700, 460, 720, 505]]])
    s = np.concatenate([scores, [0.999, 0.999]])
    a, c = fit_height_line(more, s, 0.9, H)
    assert a == pytest.approx(0.25, abs=1e-6)


def test_settings_are_checked():
    with pytest.raises(ConfigError, match="sigma"):
        PerspectiveSettings(sigma=0.0)
    with pytest.raises(ConfigError, match="anchor_score"):
        PerspectiveSettings(anchor_score=1.5)


def test_the_study_rescores_coco_detections_per_image(tmp_path):
    spec = importlib.util.spec_from_file_location("perspective_study", REPO / "tools" / "perspective_study.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    boxes, scores = frame()
    dets = [{"image_id": i, "category_id": 1, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]], "score": float(s)}
            for i in (1, 2) for b, s in zip(boxes if i == 1 else boxes[4:], scores if i == 1 else scores[4:])]
    st = tool.parse_setting("a0.9_t0.2_s0.1")
    out = tool.rescore_coco(dets, {1: H, 2: H}, st)
    one = [d["score"] for d in out if d["image_id"] == 1]
    two = [d["score"] for d in out if d["image_id"] == 2]
    assert max(one[4:]) < 0.01 and two == [d["score"] for d in dets if d["image_id"] == 2]  # image 2: no people
    assert tool.setting_name(st) == "a0.9_t0.2_s0.1" and len(tool.grid()) == 9
