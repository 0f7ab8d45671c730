"""Paired image bootstrap of end-to-end keypoint AP: the pooled figure is pycocotools'
own, a draw counts a repeated image twice, and the paired interval points the right way."""
from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.pose import keypoint_ap, occluded_keypoint_ap
from cluenet_ros.evaluation.pose_uncertainty import (keypoint_rows, paired_keypoint_ap_difference,
                                                     pooled_keypoint_ap)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import paired_keypoint_ap  # noqa: E402


def _scenes(n_images=30, seed=0):
    """1-3 people per image, a few keypoints of each hidden (positions known); one image
    without anyone, one with a person whose keypoints are all unlabelled."""
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(1, n_images + 1):
        images.append({"id": i, "width": 640, "height": 400})
        people = 0 if i == 3 else int(rng.integers(1, 4))
        for k in range(people):
            x0, y0 = 180.0 * k + rng.uniform(0, 40), rng.uniform(10, 150)
            w, h = float(rng.uniform(30, 80)), float(rng.uniform(80, 220))
            pts = np.c_[x0 + rng.uniform(0, w, 13), y0 + rng.uniform(0, h, 13)]
            hidden = rng.random(13) < 0.3
            if i == 5 and k == 0:
                hidden[:] = True
            v = np.where(hidden, 0.0, 2.0)
            labelled = np.c_[pts, v]
            labelled[hidden, :2] = 0
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": 1, "bbox": [x0, y0, w, h],
                         "area": w * h, "iscrowd": 0, "keypoints": labelled.ravel().tolist(),
                         "num_keypoints": int((~hidden).sum()),
                         "keypoints_full": np.c_[pts, np.where(hidden, 1, 2)].ravel().tolist()})
    return {"images": images, "annotations": anns, "categories": [kp.coco_category()]}


def _pipeline(gt, noise, found=0.85, false_per_image=1.5, seed=1):
    """Finds each person with probability ``found`` (keypoints off by ``noise`` px) and
    adds false skeletons, scored so that the ranking mixes them."""
    rng = np.random.default_rng(seed)
    out = []
    for a in gt["annotations"]:
        if rng.random() < found:
            k = np.asarray(a["keypoints_full"], float).reshape(13, 3).copy()
            k[:, :2] += rng.normal(0, noise, (13, 2))
            k[:, 2] = 1
            out.append({"image_id": a["image_id"], "keypoints": k.ravel().tolist(),
                        "score": float(rng.uniform(0.3, 1.0))})
    for img in gt["images"]:
        for _ in range(int(rng.poisson(false_per_image))):
            k = np.c_[rng.uniform(0, 640, 13), rng.uniform(0, 400, 13), np.ones(13)]
            out.append({"image_id": img["id"], "keypoints": k.ravel().tolist(),
                        "score": float(rng.uniform(0.0, 0.8))})
    return out


@pytest.mark.parametrize("occluded", [False, True])
def test_pooled_ap_over_all_images_is_pycocotools(occluded):
    gt = _scenes()
    res = _pipeline(gt, noise=4.0)
    rows, thresholds = keypoint_rows(gt, res, occluded=occluded)
    assert sorted(rows) == [img["id"] for img in gt["images"]]
    reference = (occluded_keypoint_ap if occluded else keypoint_ap)(gt, res)["AP"]
    assert 0.05 < reference < 0.95  # a case where ranking, misses and false skeletons all matter
    assert pooled_keypoint_ap(list(rows.values()), thresholds) == pytest.approx(reference, abs=1e-12)


def test_a_repeated_image_counts_twice_as_in_a_larger_set():
    gt = _scenes(n_images=12, seed=3)
    res = _pipeline(gt, noise=3.0, seed=4)
    rows, thresholds = keypoint_rows(gt, res)
    draw = [1, 1, 2, 4, 4, 4, 7, 9, 11, 12, 12, 3]
    # the same draw as a ground truth of its own: each copy a new image with its people and skeletons
    big = {"images": [], "annotations": [], "categories": gt["categories"]}
    big_res = []
    for n, image_id in enumerate(draw, start=1):
        big["images"].append({"id": n, "width": 640, "height": 400})
        for a in gt["annotations"]:
            if a["image_id"] == image_id:
                big["annotations"].append(dict(copy.deepcopy(a), id=len(big["annotations"]) + 1, image_id=n))
        big_res += [dict(r, image_id=n) for r in res if r["image_id"] == image_id]
    assert pooled_keypoint_ap([rows[i] for i in draw], thresholds) == pytest.approx(keypoint_ap(big, big_res)["AP"],
                                                                                    abs=1e-12)


def test_paired_difference_points_the_right_way():
    gt = _scenes(n_images=40, seed=5)
    coarse, fine = _pipeline(gt, noise=12.0, seed=6), _pipeline(gt, noise=2.0, seed=6)
    rows_c, thresholds = keypoint_rows(gt, coarse)
    rows_f, _ = keypoint_rows(gt, fine)
    better = paired_keypoint_ap_difference(rows_c, rows_f, thresholds, samples=300, seed=0)
    assert better.difference == pytest.approx(better.b - better.a)
    assert better.b == pytest.approx(keypoint_ap(gt, fine)["AP"], abs=1e-12)
    assert better.interval[0] > 0 and better.b_ahead > 0.95 and better.samples == 300
    worse = paired_keypoint_ap_difference(rows_f, rows_c, thresholds, samples=300, seed=0)
    assert worse.interval[1] < 0 and worse.difference == pytest.approx(-better.difference)
    same = paired_keypoint_ap_difference(rows_c, rows_c, thresholds, samples=50)
    assert same.difference == 0 and same.interval == (0.0, 0.0)


def test_no_results_and_mismatched_images():
    gt = _scenes(n_images=6, seed=7)
    rows, thresholds = keypoint_rows(gt, [])
    assert pooled_keypoint_ap(list(rows.values()), thresholds) == 0.0
    assert sum(r.positives for r in rows.values()) == sum(1 for a in gt["annotations"] if a["num_keypoints"])
    other = dict(gt, images=gt["images"][:-1],
                 annotations=[a for a in gt["annotations"] if a["image_id"] != gt["images"][-1]["id"]])
    rows_other, _ = keypoint_rows(other, [])
    with pytest.raises(ValueError, match="different images"):
        paired_keypoint_ap_difference(rows, rows_other, thresholds, samples=10)
    no_full = copy.deepcopy(gt)
    for a in no_full["annotations"]:
        del a["keypoints_full"]
    with pytest.raises(ValueError, match="keypoints_full"):
        keypoint_rows(no_full, [], occluded=True)


def test_tool_reads_eval_folders_and_writes_figures(tmp_path, capsys):
    gt = _scenes(n_images=20, seed=8)
    data = tmp_path / "val"
    data.mkdir()
    (data / "coco_keypoints.json").write_text(json.dumps(gt))
    for name, noise in (("old", 10.0), ("new", 2.0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "keypoints.json").write_text(json.dumps(_pipeline(gt, noise=noise, seed=9)))
    out = tmp_path / "paired.json"
    rc = paired_keypoint_ap.main(["--data", str(data), "--model", f"old={tmp_path / 'old'}",
                                  "--model", f"new={tmp_path / 'new'}", "--samples", "200", "--json", str(out)])
    assert rc == 0
    figures = json.loads(out.read_text())
    for kind in ("annotated", "occluded"):
        new = figures["kinds"][kind]["new"]
        assert new["difference"] > 0 and new["interval"][0] <= new["difference"] <= new["interval"][1]
    assert figures["kinds"]["annotated"]["new"]["AP"] == pytest.approx(
        keypoint_ap(gt, json.loads((tmp_path / "new" / "keypoints.json").read_text()))["AP"], abs=1e-12)
    assert "annotated keypoints, 20 images: old AP" in capsys.readouterr().out
    assert paired_keypoint_ap.main(["--data", str(data), "--model", f"old={tmp_path / 'old'}"]) == 2
    assert paired_keypoint_ap.main(["--data", str(data), "--model", "old", "--model", "x=y"]) == 2
    assert paired_keypoint_ap.main(["--data", str(data), "--model", f"old={tmp_path / 'old'}",
                                    "--model", f"gone={tmp_path / 'gone'}"]) == 2
    assert "keypoints.json" in capsys.readouterr().err
