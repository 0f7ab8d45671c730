"""`cluenet eval full` end to end on a tiny generated dataset and checkpoint."""
from __future__ import annotations

import json

import numpy as np
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


def test_flip_test_is_recorded_and_changes_only_the_keypoints(setup, tmp_path):
    root, out = setup
    plain = json.loads((out / "report.json").read_text())
    assert plain["flip_test"] is False
    assert cluenet(["eval", "full", "--weights", str(root / "tiny.pt"), "--data", str(root / "data" / "val"),
                    "--out", str(tmp_path / "flip"), "--device", "cpu", "--flip-test"]) == 0
    flipped = json.loads((tmp_path / "flip" / "report.json").read_text())
    assert flipped["flip_test"] is True and "flip test" in (tmp_path / "flip" / "report.md").read_text()
    assert flipped["detection_mr"] == plain["detection_mr"] and flipped["mask_iou"] == plain["mask_iou"]
    detections = json.loads((out / "keypoints.json").read_text())
    mirrored = json.loads((tmp_path / "flip" / "keypoints.json").read_text())
    assert len(detections) == len(mirrored) > 0
    assert any(a["keypoints"] != b["keypoints"] for a, b in zip(detections, mirrored))


def test_input_scale_is_recorded_and_keeps_results_in_frame_pixels(setup, tmp_path):
    """--input-scale resizes frames before stage 1 as the node's parameter does: the
    model sees other pixels (other detections), which stay in the frame's coordinates."""
    root, out = setup
    plain = json.loads((out / "report.json").read_text())
    assert plain["input_scale"] == 1.0
    assert cluenet(["eval", "full", "--weights", str(root / "tiny.pt"), "--data", str(root / "data" / "val"),
                    "--out", str(tmp_path / "half"), "--device", "cpu", "--input-scale", "0.5"]) == 0
    half = json.loads((tmp_path / "half" / "report.json").read_text())
    assert half["input_scale"] == 0.5 and "input scale 0.5" in (tmp_path / "half" / "report.md").read_text()
    boxes = [d["bbox"] for d in json.loads((tmp_path / "half" / "detections.json").read_text())]
    assert boxes and boxes != [d["bbox"] for d in json.loads((out / "detections.json").read_text())]
    right = max(b[0] + b[2] for b in boxes)
    assert 0.6 * 256 < right <= 256 + 1e-3  # boxes reach across the 256-pixel frame, not half of it


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


class _Result:
    def __init__(self, boxes, keypoints, mask):
        self.boxes, self.keypoints, self.mask = boxes, keypoints, mask
        self.scores = np.ones(len(boxes))

    def __len__(self) -> int:
        return len(self.boxes)


class _Oracle:
    """A "pipeline" that answers with the ground truth, shifted by ``shift`` (share of
    the box height) for the keypoints: the report's numbers are then known."""

    def __init__(self, data, shift: float = 0.0):
        self.data, self.shift = data, shift
        coco = {a["id"]: a for a in data.coco["annotations"]}
        self.by_pixels = {}
        for img in data.images:
            anns = [a for a in data.annotations(img["id"]) if not a.get("ignore") and a["id"] in coco]
            boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a["bbox"] for a in anns)]).reshape(-1, 4)
            kps = np.array([self._keypoints(coco[a["id"]]) for a in anns]).reshape(-1, 13, 3)
            sem = data.read_mask(img, "semantic_mask")
            mask = ((sem > 0) & (sem != 255)).astype(np.uint8) * 255
            self.by_pixels[data.read_rgb(img).tobytes()] = _Result(boxes, kps, mask)

    def _keypoints(self, ann):
        k = np.asarray(ann["keypoints_full"], float).reshape(13, 3).copy()
        k[:, 1] += self.shift * ann.get("full_bbox", ann["bbox"])[3]
        k[:, 2] = 1.0
        return k

    def __call__(self, rgb):
        return self.by_pixels[rgb.tobytes()]

    def occlusion_probe(self, samples):
        kps = np.stack([self._keypoints(ann) for _, _, ann in samples])
        return lambda level, rng: kps


def test_report_values_for_known_predictions(setup):
    """Ground truth as predictions: no miss, mask IoU 1, keypoint AP 1 at every hidden
    share; keypoints moved by half a person's height: AP collapses."""
    from cluenet_ros.data.split import SplitFolder
    from cluenet_ros.evaluation.full import evaluate_split

    root, _ = setup
    data = SplitFolder.open(root / "data" / "val")
    perfect = evaluate_split(_Oracle(data), data, progress=False)
    assert perfect["images"] == 5
    assert perfect["detection_mr"]["all"] == pytest.approx(0.0, abs=1e-9)
    assert perfect["mask_iou"] == pytest.approx(1.0)
    assert perfect["keypoint_ap"]["AP"] == pytest.approx(1.0)
    assert perfect["occlusion_study_people"] > 0
    assert all(v == pytest.approx(1.0) for v in perfect["ap_against_occlusion"].values())
    assert perfect["keypoints_inside_mask"] > 0.6  # joint centres of thin limbs can fall just off the silhouette
    off = evaluate_split(_Oracle(data, shift=0.5), data, progress=False)
    assert off["detection_mr"]["all"] == pytest.approx(0.0, abs=1e-9)
    assert off["keypoint_ap"]["AP"] < 0.2
    assert all(v < 0.2 for v in off["ap_against_occlusion"].values())
    assert off["keypoints_inside_mask"] < perfect["keypoints_inside_mask"]


def test_detection_flip_test_is_recorded_and_changes_the_detections(setup, tmp_path):
    root, out = setup
    assert json.loads((out / "report.json").read_text())["detection_flip_test"] == "nms"  # the default
    assert "detection flip test (nms)" in (out / "report.md").read_text()
    assert cluenet(["eval", "full", "--weights", str(root / "tiny.pt"), "--data", str(root / "data" / "val"),
                    "--out", str(tmp_path / "dflip"), "--device", "cpu", "--no-detection-flip-test"]) == 0
    report = json.loads((tmp_path / "dflip" / "report.json").read_text())
    assert report["detection_flip_test"] is False and report["detection_extra_scale"] == 0.0
    assert "no detection flip test" in (tmp_path / "dflip" / "report.md").read_text()
    plain = json.loads((out / "detections.json").read_text())
    both = json.loads((tmp_path / "dflip" / "detections.json").read_text())
    assert len(both) > 0 and (len(both) != len(plain) or any(a["bbox"] != b["bbox"] for a, b in zip(plain, both)))


def test_perspective_rescoring_is_recorded_and_is_the_offline_rescoring(setup, tmp_path):
    """The pipeline's rescoring and tools/perspective_study.py's offline one are the same
    function: the report's detections are the plain ones rescored, those above the floor."""
    import importlib.util
    from pathlib import Path

    from cluenet_ros.inference import PipelineConfig

    root, out = setup
    assert json.loads((out / "report.json").read_text())["perspective_rescore"] is False
    assert cluenet(["eval", "full", "--weights", str(root / "tiny.pt"), "--data", str(root / "data" / "val"),
                    "--out", str(tmp_path / "persp"), "--device", "cpu", "--perspective-rescore"]) == 0
    assert json.loads((tmp_path / "persp" / "report.json").read_text())["perspective_rescore"] is True
    assert "perspective rescoring" in (tmp_path / "persp" / "report.md").read_text()
    spec = importlib.util.spec_from_file_location(
        "perspective_study", Path(__file__).resolve().parents[1] / "tools" / "perspective_study.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cfg = PipelineConfig()
    settings = tool.PerspectiveSettings(cfg.perspective_anchor_score, cfg.perspective_tolerance, cfg.perspective_sigma)
    gt = json.loads((root / "data" / "val" / "citypersons.json").read_text())
    expected = tool.rescore_coco(json.loads((out / "detections.json").read_text()),
                                 {img["id"]: img["height"] for img in gt["images"]}, settings)
    expected = sorted((d["image_id"], round(d["score"], 5)) for d in expected if d["score"] > 0.05)
    got = sorted((d["image_id"], round(d["score"], 5))
                 for d in json.loads((tmp_path / "persp" / "detections.json").read_text()))
    assert len(got) > 0 and got == expected


def test_extra_weights_on_the_command_line_run_the_extra_views_and_are_recorded(setup, tmp_path):
    """``--detection-extra-weights`` (with an extra scale): the report records the file, and the same
    weights as --weights give the same detections as the plain extra scale."""
    root, _ = setup
    common = ["eval", "full", "--weights", str(root / "tiny.pt"), "--data", str(root / "data" / "val"),
              "--device", "cpu", "--max-images", "2", "--detection-extra-scale", "1.5"]
    assert cluenet([*common, "--out", str(tmp_path / "one")]) == 0
    assert cluenet([*common, "--out", str(tmp_path / "two"), "--detection-extra-weights", str(root / "tiny.pt")]) == 0
    report = json.loads((tmp_path / "two" / "report.json").read_text())
    assert report["detection_extra_weights"] == str(root / "tiny.pt") and report["detection_extra_scale"] == 1.5
    assert "extra views by tiny.pt" in (tmp_path / "two" / "report.md").read_text()
    one = json.loads((tmp_path / "one" / "detections.json").read_text())
    two = json.loads((tmp_path / "two" / "detections.json").read_text())
    assert len(one) > 0 and [d["bbox"] for d in one] == [d["bbox"] for d in two]
    assert json.loads((tmp_path / "one" / "report.json").read_text())["detection_extra_weights"] == ""
