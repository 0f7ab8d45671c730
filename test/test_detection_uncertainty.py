"""Paired scene bootstrap of MR^-2 differences (choosing sets of several renderings)."""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

from cluenet_ros.evaluation.detection import SETUPS, evaluate_detections, load_detections, load_ground_truth
from cluenet_ros.evaluation.detection_uncertainty import (image_rows, paired_mr_difference, pooled_mr,
                                                          setup_named)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import paired_mr  # noqa: E402

R = setup_named("reasonable")


def _scenes(n_images=40, seed=0):
    """Ground truth: 1-3 upright people per image, some of them occluded or small."""
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(1, n_images + 1):
        images.append({"id": i, "file_name": f"{i}.png", "width": 640, "height": 320})
        for k in range(int(rng.integers(1, 4))):
            h = float(rng.uniform(40, 200))
            anns.append({"id": len(anns) + 1, "image_id": i, "bbox": [150.0 * k + 10, 20.0, h * 0.41, h],
                         "height": h, "vis_ratio": float(rng.choice([1.0, 0.9, 0.5])), "ignore": 0})
    return {"images": images, "annotations": anns}


def _detector(gt_json, found: float, false_per_image: float, seed: int):
    """A detector that finds each person with probability ``found`` (scored high) and
    adds false boxes (scored lower), as COCO results."""
    rng = np.random.default_rng(seed)
    out = []
    for a in gt_json["annotations"]:
        if rng.random() < found:
            x, y, w, h = a["bbox"]
            out.append({"image_id": a["image_id"], "category_id": 1, "bbox": [x + 1, y + 1, w, h],
                        "score": float(rng.uniform(0.5, 1.0))})
    for img in gt_json["images"]:
        for _ in range(int(rng.poisson(false_per_image))):
            out.append({"image_id": img["id"], "category_id": 1, "bbox": [500.0, 200.0, 30.0, 80.0],
                        "score": float(rng.uniform(0.0, 0.9))})
    return out


def _rows(gt_json, dets):
    gt = load_ground_truth(gt_json)
    return image_rows(gt, load_detections(dets, gt), R)


def test_pooled_figure_is_the_protocols():
    gt_json = _scenes()
    gt = load_ground_truth(gt_json)
    for found, fp, seed in ((0.9, 0.5, 1), (0.5, 2.0, 2), (0.0, 1.0, 3)):
        dets = load_detections(_detector(gt_json, found, fp, seed), gt)
        want = evaluate_detections(gt, dets)["reasonable"]
        assert pooled_mr(list(image_rows(gt, dets, R).values())) == pytest.approx(want)
    # every setup's ranges are applied as the protocol applies them
    dets = load_detections(_detector(gt_json, 0.7, 1.0, 4), gt)
    full = evaluate_detections(gt, dets)
    for s in SETUPS:
        assert pooled_mr(list(image_rows(gt, dets, s).values())) == pytest.approx(full[s.name], nan_ok=True)


def test_two_renderings_pool_into_one_set():
    """Pooling renderings equals evaluating one set that holds all their images."""
    a, b = _scenes(seed=0), _scenes(seed=0)
    da, db = _detector(a, 0.8, 1.0, 5), _detector(b, 0.6, 1.5, 6)
    joined = {"images": a["images"] + [dict(im, id=im["id"] + 1000) for im in b["images"]],
              "annotations": a["annotations"] + [dict(x, id=x["id"] + 1000, image_id=x["image_id"] + 1000)
                                                 for x in b["annotations"]]}
    dj = da + [dict(d, image_id=d["image_id"] + 1000) for d in db]
    gt = load_ground_truth(joined)
    want = evaluate_detections(gt, load_detections(dj, gt))["reasonable"]
    rows = list(_rows(a, da).values()) + list(_rows(b, db).values())
    assert pooled_mr(rows) == pytest.approx(want)


def test_same_detector_differs_by_nothing():
    gt_json = _scenes()
    rows = _rows(gt_json, _detector(gt_json, 0.8, 1.0, 7))
    d = paired_mr_difference([rows], [rows], samples=200)
    assert d["difference"] == 0 and d["interval"] == [0.0, 0.0] and d["p_b_lower"] == 0.5
    assert d["scenes"] == 40 and d["images"] == 40


def test_a_clearly_better_detector_is_shown_and_a_coin_flip_is_not():
    gt_json = _scenes(n_images=80)
    weak = [_rows(gt_json, _detector(gt_json, 0.4, 2.0, 8))]
    strong = [_rows(gt_json, _detector(gt_json, 0.95, 0.3, 9))]
    d = paired_mr_difference(weak, strong, samples=300)
    assert d["b"] < d["a"] and d["interval"][1] < 0 and d["p_b_lower"] > 0.99
    assert d["interval"][0] <= d["difference"] <= d["interval"][1]
    # two draws of one recipe: the interval straddles zero
    twin_a = [_rows(gt_json, _detector(gt_json, 0.7, 1.0, 10))]
    twin_b = [_rows(gt_json, _detector(gt_json, 0.7, 1.0, 11))]
    t = paired_mr_difference(twin_a, twin_b, samples=300)
    assert t["interval"][0] < 0 < t["interval"][1]
    # the draws are seeded: the same call gives the same interval
    assert paired_mr_difference(twin_a, twin_b, samples=300) == t


def test_scenes_are_drawn_together_across_renderings():
    """Three identical renderings carry no more evidence than one: the interval of the
    pooled difference is that of a single rendering (scene draws, not image draws)."""
    gt_json = _scenes(n_images=60)
    a = _rows(gt_json, _detector(gt_json, 0.6, 1.0, 12))
    b = _rows(gt_json, _detector(gt_json, 0.8, 1.0, 13))
    one = paired_mr_difference([a], [b], samples=300)
    three = paired_mr_difference([a, a, a], [b, b, b], samples=300)
    assert three["images"] == 180 and three["scenes"] == 60
    assert three["difference"] == pytest.approx(one["difference"], abs=0.02)
    width = lambda d: d["interval"][1] - d["interval"][0]  # noqa: E731
    assert width(three) == pytest.approx(width(one), rel=0.35)


def test_mismatched_sets_are_refused():
    gt_json = _scenes(n_images=10)
    rows = _rows(gt_json, _detector(gt_json, 0.8, 1.0, 14))
    fewer = dict(list(rows.items())[:9])
    with pytest.raises(ValueError, match="other images"):
        paired_mr_difference([rows], [fewer])
    with pytest.raises(ValueError, match="image sets"):
        paired_mr_difference([rows, rows], [rows])
    with pytest.raises(ValueError, match="unknown setup"):
        setup_named("nearby")


def _run_folder(path: Path, dets) -> Path:
    path.mkdir(parents=True)
    (path / "detections.json").write_text(json.dumps(dets))
    return path


def test_tool_writes_pooled_figures_and_differences(tmp_path, capsys):
    splits, ref, cand = [], [], []
    for k in range(2):
        gt_json = _scenes(n_images=30, seed=0)
        split = tmp_path / f"render{k}" / "val"
        split.mkdir(parents=True)
        (split / "citypersons.json").write_text(json.dumps(gt_json))
        splits.append(str(split))
        ref.append(str(_run_folder(tmp_path / f"ref{k}", _detector(gt_json, 0.5, 2.0, 20 + k))))
        cand.append(str(_run_folder(tmp_path / f"cand{k}", _detector(gt_json, 0.95, 0.2, 30 + k))))
    out = tmp_path / "paired.json"
    rc = paired_mr.main(["--data", *splits, "--model", "ref=" + ",".join(ref), "--model", "cand=" + ",".join(cand),
                         "--samples", "200", "--json", str(out)])
    assert rc == 0
    report = json.loads(out.read_text())
    assert set(report["pooled"]) == {"ref", "cand"} and len(report["per_split"]["cand"]) == 2
    d = report["versus_ref"]["cand"]
    assert d["images"] == 60 and d["scenes"] == 30 and d["interval"][1] < 0
    assert math.isclose(d["b"], report["pooled"]["cand"]) and "| cand |" in capsys.readouterr().out
    # a model given fewer run folders than splits is refused with a clear message
    assert paired_mr.main(["--data", *splits, "--model", "ref=" + ref[0]]) == 2
    assert "1 run folders for 2 --data splits" in capsys.readouterr().err
