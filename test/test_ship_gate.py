"""tools/ship_gate.py: a candidate is vetoed exactly when it misses a real-check target
that the shipped demo meets, or (since session 43) when its real AP is lower than the
shipped demo's by a paired interval clear of zero; on reports the test writes by hand
and on the committed reports of session 42's decision."""
from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import REPO


def _tool():
    spec = importlib.util.spec_from_file_location("ship_gate", REPO / "tools" / "ship_gate.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _real(recall, ap, hog_ap=0.79):
    return {"detectors": {"cluenet": {"recall": recall, "ap": ap, "fp_per_image": 3.0},
                          "hog": {"recall": 0.81, "ap": hog_ap, "fp_per_image": 1.6}}}


def _run(tmp_path, candidate, shipped, capsys, extra=("--no-ap-loss-veto",)):
    c, s, out = tmp_path / "c.json", tmp_path / "s.json", tmp_path / "verdict.json"
    c.write_text(json.dumps(candidate))
    s.write_text(json.dumps(shipped))
    rc = _tool().main([str(c), "--shipped", str(s), "--json", str(out), *extra])
    return rc, capsys.readouterr(), (json.loads(out.read_text()) if out.exists() else None)


def test_session25_case_is_vetoed_on_recall(tmp_path, capsys):
    # session 25's hn25 against the shipped demo: AP misses HOG's for both, recall only for the candidate
    rc, out, verdict = _run(tmp_path, _real(0.400, 0.413), _real(0.707, 0.507), capsys)
    assert rc == 1
    assert verdict["vetoes"] == ["recall_at_0.5"] and not verdict["may_ship"]
    assert "VETO: recall_at_0.5" in out.out
    assert "not required (shipped misses it)" in out.out  # the AP target binds neither


def test_candidate_keeping_the_met_targets_may_ship(tmp_path, capsys):
    rc, out, verdict = _run(tmp_path, _real(0.52, 0.30), _real(0.707, 0.507), capsys)
    assert rc == 0 and verdict["may_ship"] and verdict["vetoes"] == []
    assert out.out.rstrip().endswith("may ship")


def test_once_the_shipped_demo_beats_hog_a_candidate_must_too(tmp_path, capsys):
    rc, _, verdict = _run(tmp_path, _real(0.9, 0.78), _real(0.8, 0.80), capsys)
    assert rc == 1 and verdict["vetoes"] == ["ap_vs_hog"]
    # the bar is each report's own HOG, measured in the same run
    rc, _, verdict = _run(tmp_path, _real(0.9, 0.78, hog_ap=0.77), _real(0.8, 0.80), capsys)
    assert rc == 0 and verdict["candidate"]["ap_vs_hog"]["met"]


@pytest.mark.parametrize("recall", [0.5, 0.4999])
def test_recall_bar_is_inclusive(tmp_path, capsys, recall):
    rc, _, _ = _run(tmp_path, _real(recall, 0.3), _real(0.7, 0.5), capsys)
    assert rc == (0 if recall >= 0.5 else 1)


def test_report_without_hog_is_refused_with_a_clear_message(tmp_path, capsys):
    no_hog = {"detectors": {"cluenet": {"recall": 0.7, "ap": 0.5}}}
    rc, out, verdict = _run(tmp_path, no_hog, _real(0.7, 0.5), capsys)
    assert rc == 2 and verdict is None
    assert "no 'hog' detector" in out.err and "--no-hog" in out.err


def test_unreadable_report_is_refused(tmp_path, capsys):
    (tmp_path / "s.json").write_text(json.dumps(_real(0.7, 0.5)))
    rc = _tool().main([str(tmp_path / "missing.json"), "--shipped", str(tmp_path / "s.json")])
    assert rc == 2 and "ship_gate:" in capsys.readouterr().err


def _with_rows(report, ranks):
    """``report`` with per-image rows: on each of ``len(ranks)`` images two people and
    four detections, the people's hits at the given 0-based places in score order."""
    rows = []
    for i, places in enumerate(ranks):
        hit = [1 if k in places else 0 for k in range(4)]
        rows.append({"file": f"im{i}.png", "people": 2, "hits_at_threshold": sum(hit), "fps_at_threshold": 4 - sum(hit),
                     "scores": [0.9, 0.8, 0.7, 0.6], "hit": hit})
    return {"detectors": {**report["detectors"], "cluenet": {**report["detectors"]["cluenet"], "per_image": rows}}}


def test_ap_loss_clear_of_image_noise_is_vetoed_even_when_both_miss_hog(tmp_path, capsys):
    shipped = _with_rows(_real(0.92, 0.764), [(0, 1)] * 10)           # people ranked first on every image
    candidate = _with_rows(_real(0.89, 0.724), [(2, 3)] * 10)         # ranked last on every image
    rc, out, verdict = _run(tmp_path, candidate, shipped, capsys, extra=())
    assert rc == 1 and verdict["vetoes"] == ["ap_loss_vs_shipped"]
    loss = verdict["ap_loss_vs_shipped"]
    assert loss["veto"] and loss["interval"][1] < 0 and loss["difference"] < 0
    assert "AP, candidate minus shipped" in out.out and "VETO: ap_loss_vs_shipped" in out.out
    # the gate of sessions 26-42 lets the same candidate through
    rc, _, verdict = _run(tmp_path, candidate, shipped, capsys)
    assert rc == 0 and "ap_loss_vs_shipped" not in verdict


def test_ap_difference_within_image_noise_is_not_a_veto(tmp_path, capsys):
    shipped = _with_rows(_real(0.92, 0.764), [(0, 1)] * 10)
    candidate = _with_rows(_real(0.92, 0.70), [(0, 1)] * 8 + [(2, 3)] * 2)   # worse on 2 of 10 images only
    rc, _, verdict = _run(tmp_path, candidate, shipped, capsys, extra=())
    loss = verdict["ap_loss_vs_shipped"]
    assert loss["difference"] < 0 and loss["interval"][1] >= 0
    assert rc == 0 and verdict["may_ship"]


def test_ap_loss_veto_without_per_image_rows_is_refused(tmp_path, capsys):
    rc, out, verdict = _run(tmp_path, _real(0.9, 0.7), _real(0.9, 0.7), capsys, extra=())
    assert rc == 2 and verdict is None
    assert "per-image rows" in out.err and "--no-ap-loss-veto" in out.err


def test_session42_ship_is_vetoed_by_the_amended_gate(tmp_path, capsys):
    """Session 43's decision, from the committed reports: soup_af against soup_s."""
    real = REPO / "docs" / "accuracy" / "real_world"
    cand, ship = real / "s42/soups/soup_af/real_soup_af.json", real / "s39/soups/soup_s/real_soup_s.json"
    rc = _tool().main([str(cand), "--shipped", str(ship), "--json", str(tmp_path / "v.json")])
    verdict = json.loads((tmp_path / "v.json").read_text())
    assert rc == 1 and verdict["vetoes"] == ["ap_loss_vs_shipped"]
    loss = verdict["ap_loss_vs_shipped"]
    assert round(100 * loss["difference"], 1) == -4.0 and loss["interval"][1] < 0
    # the old gate kept it (session 42's ship_gate_soup_af.json)
    assert _tool().main([str(cand), "--shipped", str(ship), "--no-ap-loss-veto"]) == 0


def test_reports_measured_with_other_settings_are_refused_unless_that_is_the_question(tmp_path, capsys):
    def noted(report, note):
        report["detectors"]["cluenet"]["note"] = note
        return report
    base = "cluenet_demo.pt, backend torch, input scale 1, detection flip test (nms)"
    cand = noted(_real(0.93, 0.761), base + ", extra scale 1.25")
    ship = noted(_real(0.92, 0.764), base)
    rc, out, verdict = _run(tmp_path, cand, ship, capsys)
    assert rc == 2 and verdict is None
    assert "different pipeline settings" in out.err and "--settings-differ" in out.err
    rc, _, verdict = _run(tmp_path, cand, ship, capsys, extra=("--no-ap-loss-veto", "--settings-differ"))
    assert rc == 0 and verdict["may_ship"]
    # other weights under the same settings compare as before
    other = noted(_real(0.90, 0.75), "soup_x.pt, backend torch, input scale 1, detection flip test (nms)")
    assert _run(tmp_path, other, ship, capsys)[0] == 0


def test_the_verdict_says_which_sources_a_difference_rests_on(tmp_path, capsys):
    """Session 44's perspective read (committed reports): 12 of the check's 14 images are
    frames of vtest.avi, and the whole AP gain is there: without them it reads +0.0."""
    s44 = REPO / "docs" / "accuracy" / "real_world" / "s44"
    rc = _tool().main([str(s44 / "real_default_perspective.json"), "--shipped", str(s44 / "real_soup_s_x05h200.json"),
                       "--settings-differ", "--json", str(tmp_path / "v.json")])
    verdict = json.loads((tmp_path / "v.json").read_text())
    assert rc == 0
    spread = verdict["by_source"]
    assert spread["sources"] == {"vtest.avi": 12, "basketball1.png": 1, "messi5.jpg": 1}
    assert abs(spread["without"]["vtest.avi"]["ap"]) < 5e-4
    assert spread["without"]["messi5.jpg"]["ap"] > 0.01
    assert "3 sources (vtest.avi: 12 images, basketball1.png: 1 image" in capsys.readouterr().out


def test_leave_one_source_out_removes_exactly_that_source():
    from cluenet_ros.evaluation.real_uncertainty import leave_one_source_out

    def row(f, hit):
        return {"file": f, "people": 1, "hits_at_threshold": hit[0], "fps_at_threshold": 1 - hit[0],
                "scores": [0.9, 0.5], "hit": hit}
    a = [row("v1", [1, 0]), row("v2", [1, 0]), row("p", [1, 0])]
    b = [row("v1", [0, 1]), row("v2", [0, 1]), row("p", [1, 0])]      # b is worse on the video only
    out = leave_one_source_out(a, b, {"v1": "video", "v2": "video", "p": "photo"})
    assert out["sources"] == {"video": 2, "photo": 1}
    assert out["without"]["video"]["ap"] == 0.0 and out["without"]["video"]["recall"] == 0.0
    assert out["without"]["photo"]["ap"] < 0 and out["without"]["photo"]["recall"] == -1.0
    with pytest.raises(ValueError, match="no source"):
        leave_one_source_out(a, b, {"v1": "video"})
    with pytest.raises(ValueError, match="different images"):
        leave_one_source_out(a, b[:2], {})
    # one source only: nothing to leave out
    assert leave_one_source_out(a[:2], b[:2], {"v1": "video", "v2": "video"})["without"] == {}
