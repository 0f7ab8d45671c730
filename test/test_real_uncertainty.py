"""Bootstrap intervals of the real-image check (per-image rows, paired differences),
on rows the tests write by hand and on the hand-checked example of test_real_check."""
from __future__ import annotations

import numpy as np
import pytest

from cluenet_ros.data.real_images import load_labels
from cluenet_ros.evaluation.real_check import figures, per_image, score
from cluenet_ros.evaluation.real_uncertainty import bootstrap, paired_difference
from test_real_check import _set


def _row(file, people, scores, hit, threshold=0.5):
    """A per-image row as cluenet eval real writes it (no ignored detections here)."""
    s, h = np.asarray(scores, float), np.asarray(hit, bool)
    op = s >= threshold
    return {"file": file, "people": people, "hits_at_threshold": int((h & op).sum()),
            "fps_at_threshold": int((~h & op).sum()), "scores": list(s), "hit": [int(x) for x in h]}


def test_rows_reproduce_the_pooled_figures(tmp_path):
    _, images = load_labels(_set(tmp_path))
    dets = [(np.array([[11, 10, 31, 70], [0, 80, 20, 99], [80, 0, 100, 30], [10, 12, 30, 72], [50, 11, 70, 70]]),
             np.array([0.9, 0.8, 0.7, 0.4, 0.3])),
            (np.zeros((0, 4)), np.zeros(0))]
    fig = score(images, dets, threshold=0.5, keep_images=True)
    rows = fig["per_image"]
    assert [r["file"] for r in rows] == [im.file for im in images]
    # the ignore-region detection (0.7) is left out of the rows, as out of AP
    assert rows[0]["scores"] == [0.9, 0.8, 0.4, 0.3] and rows[0]["hit"] == [1, 0, 0, 1]
    assert rows[0]["hits_at_threshold"] == 1 and rows[0]["fps_at_threshold"] == 1
    assert rows[1] == {"file": images[1].file, "people": 1, "hits_at_threshold": 0, "fps_at_threshold": 0,
                       "scores": [], "hit": []}
    again = figures(rows)
    for k in ("recall", "fp_per_image", "ap", "max_recall"):
        assert again[k] == pytest.approx(fig[k])
    assert "per_image" not in score(images, dets, threshold=0.5)
    assert per_image(images, dets, 0.5) == rows


def test_bootstrap_interval_holds_the_value_and_narrows_with_agreeing_images():
    mixed = [_row(f"{i}.png", 2, [0.9, 0.6], [1, i % 2]) for i in range(12)]
    same = [_row(f"{i}.png", 2, [0.9, 0.6], [1, 1]) for i in range(12)]
    b = bootstrap(mixed, samples=500)
    for m in ("recall", "ap", "fp_per_image", "max_recall"):
        lo, hi = b[m]["interval"]
        assert lo <= b[m]["value"] <= hi
    assert b["recall"]["value"] == pytest.approx(0.75)
    assert b["recall"]["interval"][1] - b["recall"]["interval"][0] > 0.1
    s = bootstrap(same, samples=500)
    assert s["recall"]["interval"] == [1.0, 1.0] and s["fp_per_image"]["interval"] == [0.0, 0.0]
    assert bootstrap(mixed, samples=500, seed=3) == bootstrap(mixed, samples=500, seed=3)


def test_paired_difference_of_a_model_that_hits_more():
    a = [_row(f"{i}.png", 3, [0.9, 0.8, 0.7], [1, 0, 0]) for i in range(10)]
    b = [_row(f"{i}.png", 3, [0.9, 0.8, 0.7], [1, 1, i < 5]) for i in range(10)]
    d = paired_difference(a, b, samples=500)
    assert d["recall"]["a"] == pytest.approx(1 / 3) and d["recall"]["b"] == pytest.approx(2.5 / 3)
    assert d["recall"]["difference"] == pytest.approx(0.5)
    lo, hi = d["recall"]["interval"]
    assert 0 < lo <= 0.5 <= hi
    assert d["recall"]["p_b_higher"] == 1.0 and d["ap"]["p_b_higher"] == 1.0
    assert d["fp_per_image"]["difference"] == pytest.approx(-1.5) and d["fp_per_image"]["p_b_higher"] == 0.0
    # the same model against itself: no difference in any draw
    z = paired_difference(a, a, samples=200)
    assert all(z[m]["interval"] == [0.0, 0.0] and z[m]["p_b_higher"] == 0.5 for m in z)


def test_paired_difference_refuses_other_images():
    a = [_row("x.png", 1, [0.9], [1])]
    with pytest.raises(ValueError, match="different images"):
        paired_difference(a, [_row("y.png", 1, [0.9], [1])])
    with pytest.raises(ValueError, match="no images"):
        bootstrap([])


def test_compare_tool_writes_intervals_and_paired_differences(tmp_path):
    import json
    import subprocess
    import sys
    from pathlib import Path

    a = [_row(f"{i}.png", 2, [0.9, 0.6], [1, 0]) for i in range(8)]
    b = [_row(f"{i}.png", 2, [0.9, 0.6], [1, 1]) for i in range(8)]
    report = tmp_path / "r" / "real.json"
    report.parent.mkdir()
    report.write_text(json.dumps({"detectors": {"cluenet": {"per_image": b}, "hog": {"per_image": a}}}))
    tool = Path(__file__).resolve().parents[1] / "tools" / "real_check_compare.py"
    out = tmp_path / "cmp.json"
    res = subprocess.run([sys.executable, str(tool), f"{report}:hog", str(report), "--samples", "200",
                          "--json", str(out)], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    assert "| r:hog | 50.0%" in res.stdout and "| r | 100.0%" in res.stdout
    got = json.loads(out.read_text())
    assert got["versus_r:hog"]["r"]["recall"]["difference"] == pytest.approx(0.5)
    # --at: both at score 0.8, where only the 0.9 hits count: equal recall, no false positives
    res = subprocess.run([sys.executable, str(tool), f"{report}:hog", str(report), "--samples", "200", "--at", "0.8",
                          "--json", str(out)], capture_output=True, text=True)
    assert res.returncode == 0 and "(score >= 0.8)" in res.stdout, res.stderr
    got = json.loads(out.read_text())
    assert got["threshold"] == 0.8 and got["reports"]["r"]["recall"]["value"] == pytest.approx(0.5)
    assert got["reports"]["r:hog"]["fp_per_image"]["value"] == 0.0
    assert got["versus_r:hog"]["r"]["ap"]["difference"] == pytest.approx(0.5)   # AP does not move
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"detectors": {"cluenet": {"recall": 0.5}}}))
    res = subprocess.run([sys.executable, str(tool), str(old)], capture_output=True, text=True)
    assert res.returncode != 0 and "no per-image rows" in res.stderr


def test_rows_rethresholded_match_rows_written_at_that_threshold(tmp_path):
    """Hits and false positives at another score follow from the kept scores and hit
    flags exactly (greedy matching in score order), the ignored detection included."""
    from cluenet_ros.evaluation.real_check import at_threshold

    _, images = load_labels(_set(tmp_path))
    dets = [(np.array([[11, 10, 31, 70], [0, 80, 20, 99], [80, 0, 100, 30], [10, 12, 30, 72], [50, 11, 70, 70]]),
             np.array([0.9, 0.8, 0.7, 0.4, 0.3])),
            (np.array([[0, 0, 10, 10]]), np.array([0.95]))]
    rows = per_image(images, dets, 0.5)
    for t in (0.0, 0.35, 0.5, 0.85, 0.92, 1.0):
        assert at_threshold(rows, t) == per_image(images, dets, t), t
    high = figures(at_threshold(rows, 0.85))
    assert high["recall"] == pytest.approx(1 / 3) and high["fp_per_image"] == pytest.approx(0.5)
    assert high["ap"] == pytest.approx(figures(rows)["ap"])
