"""Synthetic datasets: deterministic, consistent with their own renders, loadable."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from pycocotools.coco import COCO

from cluenet_ros.cli import main as cluenet
from cluenet_ros.synth.dataset import parse_splits
from cluenet_ros.synth.render import KEYPOINT_TOLERANCE_PX


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth")
    assert cluenet(["synth", "--out", str(out), "--images", "12", "--seed", "7", "--size", "320x160",
                    "--people", "2-5"]) == 0
    return out


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output(dataset, tmp_path):
    again = tmp_path / "again"
    assert cluenet(["synth", "--out", str(again), "--images", "12", "--seed", "7", "--size", "320x160",
                    "--people", "2-5", "--workers", "2"]) == 0
    a, b = files(dataset), files(again)
    assert a.keys() == b.keys() and len(a) == 1 + 2 * 2 + 12 * 3  # synth.json, 2 splits x 2 JSON, 12 x 3 images
    assert all(a[k] == b[k] for k in a)
    other = tmp_path / "other"
    cluenet(["synth", "--out", str(other), "--images", "2", "--seed", "8", "--size", "320x160",
             "--split", "train"])
    assert files(other)["train/images/000000.png"] != a["train/images/000000.png"]


def test_layout_and_pycocotools_loads(dataset):
    for split, n in (("train", 10), ("val", 2)):
        coco = COCO(str(dataset / split / "coco_keypoints.json"))
        assert len(coco.getImgIds()) == n
        cp = json.loads((dataset / split / "citypersons.json").read_text())
        assert [a["id"] for a in cp["annotations"]] == coco.getAnnIds()
        for img in cp["images"]:
            for key in ("file_name", "semantic_mask", "instance_mask"):
                assert (dataset / split / img[key]).is_file()
        ann = coco.loadAnns(coco.getAnnIds())[0]
        assert len(ann["keypoints"]) == 39 and len(ann["keypoints_full"]) == 39
        m = coco.annToMask(ann)
        assert m.sum() == ann["area"]


def instance_masks(root: Path, split: str):
    cp = json.loads((root / split / "citypersons.json").read_text())
    coco = json.loads((root / split / "coco_keypoints.json").read_text())
    images = {i["id"]: i for i in cp["images"]}
    for a, c in zip(cp["annotations"], coco["annotations"]):
        inst = cv2.imread(str(root / split / images[a["image_id"]]["instance_mask"]), cv2.IMREAD_UNCHANGED)
        yield a, c, inst == a["instance_id"]


def test_keypoint_flags_agree_with_the_visible_mask(dataset):
    r = KEYPOINT_TOLERANCE_PX
    checked = {1: 0, 2: 0}
    for _, c, mask in instance_masks(dataset, "train"):
        h, w = mask.shape
        for x, y, v in np.asarray(c["keypoints_full"]).reshape(13, 3):
            inside = 0 <= x < w and 0 <= y < h
            near = inside and mask[max(int(y) - r, 0):int(y) + r + 1, max(int(x) - r, 0):int(x) + r + 1].any()
            assert bool(near) == (v == 2), (x, y, v)
            if inside and v == 1:
                assert not mask[int(y), int(x)]  # an occluded keypoint is not on the visible mask
            checked[int(v)] += 1
    assert checked[1] > 0 and checked[2] > 0


def test_boxes_contain_joints_and_visible_parts(dataset):
    for a, c, mask in instance_masks(dataset, "train"):
        x, y, w, h = a["bbox"]
        pts = np.asarray(c["keypoints_full"]).reshape(13, 3)[:, :2]
        on_screen = pts[:, 0] >= 0
        assert (pts[on_screen, 0] >= x - 1).all() and (pts[on_screen, 0] <= x + w + 1).all()
        assert (pts[on_screen, 1] >= y - 1).all() and (pts[on_screen, 1] <= y + h + 1).all()
        rows, cols = np.nonzero(mask)
        vx, vy, vw, vh = a["vis_bbox"]
        assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (vx, vy, vx + vw, vy + vh)
        assert vx >= x - 1 and vy >= y - 1 and vx + vw <= x + w + 1 and vy + vh <= y + h + 1
        assert a["vis_ratio"] == pytest.approx(vw * vh / (w * h), abs=1e-3)


def test_semantic_mask_is_the_union_of_instances(dataset):
    cp = json.loads((dataset / "val" / "citypersons.json").read_text())
    for img in cp["images"]:
        sem = cv2.imread(str(dataset / "val" / img["semantic_mask"]), cv2.IMREAD_UNCHANGED)
        inst = cv2.imread(str(dataset / "val" / img["instance_mask"]), cv2.IMREAD_UNCHANGED)
        assert inst.dtype == np.uint16
        np.testing.assert_array_equal(sem == 1, inst > 0)


def test_a_few_hundred_images_span_reasonable_and_heavy(tmp_path):
    out = tmp_path / "many"
    assert cluenet(["synth", "--out", str(out), "--images", "200", "--seed", "1", "--size", "256x128",
                    "--split", "all", "--workers", "2"]) == 0
    anns = json.loads((out / "all" / "citypersons.json").read_text())["annotations"]
    vis = np.array([a["vis_ratio"] for a in anns])
    heights = np.array([a["height"] for a in anns])
    assert (vis >= 0.65).sum() >= 50
    assert ((vis >= 0.2) & (vis < 0.65)).sum() >= 30
    assert heights.min() < 40 and heights.max() > 100  # small and large people


def test_bad_options_give_clear_errors(tmp_path, capsys):
    assert cluenet(["synth", "--out", str(tmp_path), "--images", "1", "--occlusion", "tree=0.5"]) == 2
    assert "occluder 'tree'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="NAME=FRACTION"):
        parse_splits("train=abc,val=0.2")
