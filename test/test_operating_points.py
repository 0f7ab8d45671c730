"""Operating points of the detection metric: what a score threshold keeps, read off
one pass of the matching (tools/operating_threshold.py chooses the node's threshold
on synthetic images with it)."""
from __future__ import annotations

import importlib.util
import json

import numpy as np
import pytest

from cluenet_ros.evaluation.detection import (SETUPS, at_threshold, evaluate_detections, load_detections,
                                              load_ground_truth, operating_points)
from conftest import REPO

REASONABLE = next(s for s in SETUPS if s.name == "reasonable")


def _case():
    """Two images, three people of 100 px; detections: a hit (0.9), a false one (0.8),
    a hit on image 2 (0.6), a duplicate of the first hit (0.4), a hit on an ignore
    region (0.7, neither hit nor false)."""
    anns = [{"id": 1, "image_id": 1, "bbox": [0, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 0},
            {"id": 2, "image_id": 1, "bbox": [200, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 0},
            {"id": 3, "image_id": 2, "bbox": [0, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 0},
            {"id": 4, "image_id": 2, "bbox": [300, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 1}]
    gt = load_ground_truth({"images": [{"id": 1}, {"id": 2}], "annotations": anns})
    dts = [(1, [0, 0, 40, 100], 0.9), (1, [100, 0, 40, 100], 0.8), (2, [300, 0, 40, 100], 0.7),
           (2, [0, 0, 40, 100], 0.6), (1, [0, 2, 40, 98], 0.4)]
    dets = load_detections([{"image_id": i, "category_id": 1, "bbox": b, "score": s} for i, b, s in dts], gt)
    return gt, dets


def test_each_threshold_keeps_what_it_should():
    gt, dets = _case()
    scores, fppi, recall, num_pos = operating_points(gt, dets, REASONABLE)
    assert num_pos == 3
    np.testing.assert_allclose(scores, [0.9, 0.8, 0.6, 0.4])  # the ignored hit is not an operating point
    expected = {0.95: (0, 0), 0.9: (1 / 3, 0), 0.85: (1 / 3, 0), 0.8: (1 / 3, 0.5), 0.7: (1 / 3, 0.5),
                0.6: (2 / 3, 0.5), 0.5: (2 / 3, 0.5), 0.4: (2 / 3, 1.0), 0.0: (2 / 3, 1.0)}
    for t, (r, f) in expected.items():
        assert at_threshold(scores, fppi, recall, t) == pytest.approx((r, f)), t


def test_miss_rate_is_unchanged_by_the_split():
    gt, dets = _case()
    # miss rate 2/3 until the second hit at fppi 0.5, then 1/3: below fppi 0.5 the
    # nine reference points read 2/3, from 0.5 up 1/3 (MR^-2 averages 9 points in log space)
    mr = evaluate_detections(gt, dets)["reasonable"]
    points = np.logspace(-2, 0, 9)
    at = np.where(points < 0.5, 2 / 3, 1 / 3)
    assert mr == pytest.approx(float(np.exp(np.mean(np.log(at)))))


def test_the_tool_chooses_on_synthetic_and_reads_real(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("operating_threshold", REPO / "tools" / "operating_threshold.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    anns = [{"id": 1, "image_id": 1, "bbox": [0, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 0}]
    (tmp_path / "gt.json").write_text(json.dumps({"images": [{"id": 1}], "annotations": anns}))
    # a hit at 0.95 and false detections at 0.5 and 0.92: F1 is highest from 0.93 to 0.95; ties go to the lowest
    (tmp_path / "dt.json").write_text(json.dumps([
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 100], "score": 0.95},
        {"image_id": 1, "category_id": 1, "bbox": [200, 0, 40, 100], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [300, 0, 40, 100], "score": 0.92}]))
    real = {"detectors": {"cluenet": {"per_image": [
        {"file": "a.jpg", "people": 2, "scores": [0.99, 0.6, 0.3], "hit": [1, 0, 1]},
        {"file": "b.jpg", "people": 2, "scores": [0.95], "hit": [0]}]}}}
    (tmp_path / "real.json").write_text(json.dumps(real))
    assert tool.main(["--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json"),
                      "--real", str(tmp_path / "real.json"), "--json", str(tmp_path / "out.json")]) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["chosen"] == 0.93
    by_t = {r["threshold"]: r for r in out["real"]}
    assert by_t[0.3]["recall"] == 0.5 and by_t[0.3]["fp_per_image"] == 1.0
    assert by_t[0.93]["recall"] == 0.25 and by_t[0.93]["fp_per_image"] == 0.5
    assert "0.93 **(chosen)**" in capsys.readouterr().out


def test_the_tool_pools_splits_without_matching_across_them(tmp_path):
    """plateval900 is three 300-image composites whose image ids all start at 1: pooled,
    a detection of one split must never match a person of another."""
    spec = importlib.util.spec_from_file_location("operating_threshold", REPO / "tools" / "operating_threshold.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def split(name, gt_x, det_x, score):
        ann = {"id": 1, "image_id": 1, "bbox": [gt_x, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 0}
        (tmp_path / f"{name}_gt.json").write_text(json.dumps({"images": [{"id": 1}], "annotations": [ann]}))
        (tmp_path / f"{name}_dt.json").write_text(json.dumps(
            [{"image_id": 1, "category_id": 1, "bbox": [det_x, 0, 40, 100], "score": score}]))
        return ["--gt", str(tmp_path / f"{name}_gt.json"), "--dt", str(tmp_path / f"{name}_dt.json")]

    # split a: a hit at 0.95; split b: its person at x=200, a detection at 0.96 where a's person stands
    args = split("a", 0, 0, 0.95) + split("b", 200, 0, 0.96) + ["--json", str(tmp_path / "out.json")]
    assert tool.main(args) == 0
    out = json.loads((tmp_path / "out.json").read_text())
    by_t = {r["threshold"]: r for r in out["synthetic"]}
    assert by_t[0.96]["recall"] == 0.0 and by_t[0.96]["fp_per_image"] == 0.5   # b's box is no hit
    assert by_t[0.95]["recall"] == 0.5 and by_t[0.95]["fp_per_image"] == 0.5   # a's hit, 2 people
    assert len(out["chosen_on"]) == 2
    with pytest.raises(SystemExit):
        tool.main(split("c", 0, 0, 0.9) + ["--gt", str(tmp_path / "a_gt.json")])


def test_the_constrained_choice_skips_thresholds_that_break_a_floor(tmp_path, capsys):
    """Session 45's form of the rule: the highest synthetic F1 among the thresholds at
    which every real set keeps the recall floor and no outside check failed."""
    spec = importlib.util.spec_from_file_location("operating_threshold", REPO / "tools" / "operating_threshold.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    anns = [{"id": 1, "image_id": 1, "bbox": [0, 0, 40, 100], "height": 100, "vis_ratio": 1.0, "ignore": 0}]
    (tmp_path / "gt.json").write_text(json.dumps({"images": [{"id": 1}], "annotations": anns}))
    # unconstrained, F1 is highest from 0.93 to 0.95 (the test above): 0.93 is chosen
    (tmp_path / "dt.json").write_text(json.dumps([
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 40, 100], "score": 0.95},
        {"image_id": 1, "category_id": 1, "bbox": [200, 0, 40, 100], "score": 0.5},
        {"image_id": 1, "category_id": 1, "bbox": [300, 0, 40, 100], "score": 0.92}]))

    def real(name, scores, hits, people):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"detectors": {"cluenet": {"per_image": [
            {"file": "a.jpg", "people": people, "scores": scores, "hit": hits}]}}}))
        return f"{name}={path}"

    check = real("check", [0.99, 0.96], [1, 1], 2)      # recall 1.0 up to 0.96, 0.5 above
    second = real("second", [0.99, 0.91], [1, 1], 2)    # recall 1.0 up to 0.91, 0.5 above
    base = ["--gt", str(tmp_path / "gt.json"), "--dt", str(tmp_path / "dt.json"), "--json", str(tmp_path / "o.json")]
    # the second set keeps a 0.6 recall floor only up to 0.91: 0.92-0.99 are ruled out, and among the
    # rest F1 is highest (2/3: the hit and the false box at 0.92) from 0.55 to 0.91; ties go to the lowest
    assert tool.main(base + ["--real", check, "--real", second, "--min-real-recall", "0.6"]) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["chosen"] == 0.55
    assert "second recall 50.0% < 60%" in out["ruled_out"]["0.93"]
    assert set(out["real_sets"]) == {"check", "second"}
    assert "| 0.55 **(chosen)**" in capsys.readouterr().out
    # an outside check that failed at 0.55, and a minimum threshold
    assert tool.main(base + ["--real", check, "--real", second, "--min-real-recall", "0.6",
                             "--exclude", "0.55", "--min-threshold", "0.5"]) == 0
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["chosen"] == 0.60 and out["ruled_out"]["0.55"] == "excluded" and "0.45" in out["ruled_out"]
    # nothing allowed: exit 1 and no choice
    assert tool.main(base + ["--real", check, "--min-real-recall", "1.01"]) == 1
    assert json.loads((tmp_path / "o.json").read_text())["chosen"] is None
    # several real sets need names
    with pytest.raises(SystemExit):
        tool.main(base + ["--real", str(tmp_path / "check.json"), "--real", str(tmp_path / "second.json")])


def test_pooled_real_reports_count_their_people_and_images_together(tmp_path):
    """A floor over several small sets kept apart: NAME=a.json,b.json is one set."""
    spec = importlib.util.spec_from_file_location("operating_threshold", REPO / "tools" / "operating_threshold.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    def real(name, rows):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps({"detectors": {"cluenet": {"per_image": rows}}}))
        return path

    a = real("a", [{"file": "1.jpg", "people": 2, "scores": [0.99, 0.8], "hit": [1, 0]}])
    b = real("b", [{"file": "2.jpg", "people": 1, "scores": [0.9], "hit": [1]},
                   {"file": "3.jpg", "people": 1, "scores": [], "hit": []}])
    name, paths = tool._real_arg(f"held_apart={a},{b}")
    assert name == "held_apart" and paths == [a, b]
    assert tool._real_arg(str(a)) == ("", [a])
    rows = {r["threshold"]: r for r in tool.real_at(paths)}
    # 4 people in 3 images: two hits up to 0.9, one above; one false box (0.8) up to 0.8
    assert rows[0.8]["recall"] == 0.5 and rows[0.8]["fp_per_image"] == pytest.approx(1 / 3)
    assert rows[0.9]["recall"] == 0.5 and rows[0.9]["fp_per_image"] == 0.0
    assert rows[0.95]["recall"] == 0.25
    assert tool.real_at(a) == tool.real_at([a])


def test_the_floor_holds_only_for_the_named_sets(tmp_path):
    spec = importlib.util.spec_from_file_location("operating_threshold", REPO / "tools" / "operating_threshold.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    syn = [{"threshold": t, "f1": f} for t, f in ((0.5, 0.2), (0.9, 0.6), (0.95, 0.7))]
    rows = lambda recalls: [{"threshold": t, "recall": r} for t, r in zip((0.5, 0.9, 0.95), recalls)]  # noqa: E731
    sets = {"check": rows([0.9, 0.8, 0.7]), "apart": rows([0.6, 0.55, 0.5]), "small": rows([0.6, 0.4, 0.3])}
    best, why = tool.choose(syn, sets, min_real_recall=0.5)
    assert best["threshold"] == 0.5 and "small recall 40.0% < 50%" in why[0.9]
    best, why = tool.choose(syn, sets, min_real_recall=0.5, floor_sets={"check", "apart"})
    assert best["threshold"] == 0.95 and not why
    best, why = tool.choose(syn, sets, min_real_recall=0.55, floor_sets={"check", "apart"})
    assert best["threshold"] == 0.9 and why == {0.95: "apart recall 50.0% < 55%"}
