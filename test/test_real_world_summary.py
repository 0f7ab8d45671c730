"""tools/real_world_summary.py: the table of docs/accuracy/real_world reads both the
study script's variant folders and the sessions' candidate files, on folders the test
writes by hand."""
from __future__ import annotations

import importlib.util
import json

from conftest import REPO


def _tool():
    spec = importlib.util.spec_from_file_location("real_world_summary", REPO / "tools" / "real_world_summary.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _real(recall, ap, fp, max_recall):
    return {"detectors": {"cluenet": {"recall": recall, "ap": ap, "fp_per_image": fp, "max_recall": max_recall},
                          "hog": {"recall": 0.8, "ap": 0.7, "fp_per_image": 1.5}}}


def _report(mr, iou, images):
    return {"detection_mr": {"reasonable": mr}, "mask_iou": iou, "images": images}


def _write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def test_variants_and_session_candidates(tmp_path):
    _write(tmp_path / "demo" / "real.json", _real(0.1, 0.05, 2.0, 0.2))
    _write(tmp_path / "demo" / "full_capsules" / "report.json", _report(0.6, 0.3, 200))
    _write(tmp_path / "s9" / "real_last.json", _real(0.5, 0.4, 3.0, 0.6))
    _write(tmp_path / "s9" / "sel_last" / "report.json", _report(0.35, 0.5, 300))
    _write(tmp_path / "s10" / "real_best.json", _real(0.7, 0.45, 9.0, 0.8))  # no clutter report
    _write(tmp_path / "s10" / "threshold_best.json", {"rows": []})  # not a real check: no row
    _write(tmp_path / "s10" / "abl_base_600" / "real.json", _real(0.2, 0.1, 4.0, 0.3))  # an ablation arm
    (tmp_path / "s10" / "sel_best").mkdir()  # a folder without real.json: no row
    (tmp_path / "notes").mkdir()  # neither a variant nor a session
    tool = _tool()
    rows = tool.summarise(tmp_path)
    assert list(rows) == ["demo", "s9_last", "s10_best", "s10_abl_base_600"]  # sessions in numeric order
    assert rows["demo"]["synthetic_capsules"] == {"mr_reasonable": 0.6, "mask_iou": 0.3, "images": 200}
    assert rows["s9_last"]["real"]["ap"] == 0.4
    assert rows["s9_last"]["synthetic_clutter_val300"]["mr_reasonable"] == 0.35
    assert "synthetic_clutter_val300" not in rows["s10_best"]
    assert rows["s10_abl_base_600"]["real"]["fp_per_image"] == 4.0 and rows["s10_abl_base_600"]["hog_real"]["ap"] == 0.7
    lines = tool.table(rows).splitlines()
    assert lines[3] == "| s9_last | 50.0% | 40.0% | 3.00 | 60.0% | n/a | n/a | n/a | n/a | 35.0% |"
    assert lines[4].endswith("| n/a |") and lines[5].startswith("| s10_abl_base_600 | 20.0% | 10.0% | 4.00 |")
    assert lines[-1].startswith("OpenCV HOG") and "AP 70.0%" in lines[-1]
