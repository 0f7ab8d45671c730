"""tools/ship_gate.py: a candidate is vetoed exactly when it misses a real-check target
that the shipped demo meets, on reports the test writes by hand."""
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


def _run(tmp_path, candidate, shipped, capsys):
    c, s, out = tmp_path / "c.json", tmp_path / "s.json", tmp_path / "verdict.json"
    c.write_text(json.dumps(candidate))
    s.write_text(json.dumps(shipped))
    rc = _tool().main([str(c), "--shipped", str(s), "--json", str(out)])
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
