"""`cluenet eval full` end to end on a tiny generated dataset and checkpoint."""
from __future__ import annotations

import json

import pytest
import torch

from cluenet_ros.cli import main as cluenet
from cluenet_ros.models import ClueNetStage1, ClueNetStage2
from cluenet_ros.models.checkpoint import save_checkpoint
from conftest import tiny_stage1_config, tiny_stage2_config


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("evalfull")
    assert cluenet(["synth", "--out", str(root / "data"), "--images", "5", "--seed", "11",
                    "--size", "256x128", "--split", "val", "--people", "2-4"]) == 0
    torch.manual_seed(0)
    weights = root / "tiny.pt"
    save_checkpoint(weights, {"stage1": ClueNetStage1(tiny_stage1_config()),
                              "stage2": ClueNetStage2(tiny_stage2_config())})
    out = root / "report"
    assert cluenet(["eval", "full", "--weights", str(weights), "--data", str(root / "data" / "val"),
                    "--out", str(out), "--device", "cpu"]) == 0
    return root, out


def test_report_files_and_fields(setup):
    _, out = setup
    report = json.loads((out / "report.json").read_text())
    assert report["images"] == 5
    assert set(report["detection_mr"]) == {"reasonable", "heavy", "reasonable_heavy", "all"}
    assert list(report["ap_against_occlusion"]) == ["20%", "30%", "40%", "50%", "60%", "70%"]
    assert 0.0 <= report["mask_iou"] <= 1.0
    for key in ("keypoint_ap", "occluded_keypoint_ap"):
        assert set(report[key]) == {"AP", "AP50", "AP75", "APM", "APL"}
    md = (out / "report.md").read_text()
    assert "MR^-2" in md and "AP against occlusion" in md
    assert (out / "ap_vs_occlusion.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_agrees_with_the_file_based_commands(setup, tmp_path):
    root, out = setup
    report = json.loads((out / "report.json").read_text())
    gt = root / "data" / "val"
    assert cluenet(["eval", "detection", "--gt", str(gt / "citypersons.json"), "--dt",
                    str(out / "detections.json"), "--json", str(tmp_path / "mr.json")]) == 0
    assert json.loads((tmp_path / "mr.json").read_text()) == report["detection_mr"]
    assert cluenet(["eval", "pose", "--gt", str(gt / "coco_keypoints.json"), "--dt",
                    str(out / "keypoints.json"), "--json", str(tmp_path / "ap.json")]) == 0
    pose = json.loads((tmp_path / "ap.json").read_text())
    assert pose["all_keypoints"] == report["keypoint_ap"]
    assert pose["occluded_keypoints"] == report["occluded_keypoint_ap"]


def test_errors_name_the_input(setup, tmp_path, capsys):
    root, _ = setup
    assert cluenet(["eval", "full", "--weights", str(root / "tiny.pt"), "--data", str(tmp_path),
                    "--out", str(tmp_path / "r"), "--device", "cpu"]) == 2
    assert "no citypersons.json" in capsys.readouterr().err
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    assert cluenet(["eval", "full", "--weights", str(bad), "--data", str(root / "data" / "val"),
                    "--out", str(tmp_path / "r")]) == 2
    assert "bad.pt: not a readable checkpoint" in capsys.readouterr().err


def test_compare_puts_reports_side_by_side(setup, tmp_path, capsys):
    _, out = setup
    report = json.loads((out / "report.json").read_text())
    assert cluenet(["eval", "compare", "--run", f"first={out}", "--run", f"second={out}",
                    "--out", str(tmp_path / "cmp")]) == 0
    md = (tmp_path / "cmp" / "tables.md").read_text()
    rows = [line for line in md.splitlines() if line.startswith("| first |")]
    assert len(rows) == 3 and sum(line.startswith("| second |") for line in md.splitlines()) == 3
    def pct(v):
        return "n/a" if v is None else f"{100 * v:.2f}"
    assert f"| {pct(report['detection_mr']['reasonable'])} |" in rows[0]
    assert rows[1].startswith(f"| first | {pct(report['keypoint_ap']['AP'])} |")
    assert (tmp_path / "cmp" / "ap_vs_occlusion.png").read_bytes()[:4] == b"\x89PNG"
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert list(summary) == ["first", "second"] and summary["first"]["images"] == report["images"]
    assert cluenet(["eval", "compare", "--run", "nameonly", "--out", str(tmp_path / "x")]) == 2
    assert cluenet(["eval", "compare", "--run", f"a={tmp_path / 'missing'}", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "NAME=REPORT_FOLDER" in err and "missing/report.json: no report" in err
