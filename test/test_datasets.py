"""The training datasets read the real formats: CityPersons' anno_<split>.mat or the
Cityscapes download's gtBboxCityPersons JSON with a Cityscapes tree, and COCO person keypoints with 17 keypoints. The files are built
here from a synthetic split, in those formats."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from cluenet_ros import keypoints as kp
from cluenet_ros.cli import main as cluenet
from cluenet_training.datasets import (CITYSCAPES_PERSON, IGNORE, CityPersonsCrops, CityPersonsStage1,
                                       CocoPersons, DatasetError)


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("formats")
    assert cluenet(["synth", "--out", str(root), "--images", "3", "--seed", "9", "--size", "256x128",
                    "--split", "s", "--people", "2-3"]) == 0
    return root / "s"


def cityscapes_tree(split: Path, root: Path) -> Path:
    """leftImg8bit/ and gtFine/ of a fake city, plus anno_train.mat (CityPersons layout:
    one struct per image with cityname, im_name and bbs rows [class, x, y, w, h,
    instance, x_vis, y_vis, w_vis, h_vis]) with one extra ignore region per image."""
    cp = json.loads((split / "citypersons.json").read_text())
    cells = np.empty((1, len(cp["images"])), dtype=object)
    for i, img in enumerate(cp["images"]):
        name = f"testcity_{i:06d}_000019_leftImg8bit.png"
        (root / "leftImg8bit" / "train" / "testcity").mkdir(parents=True, exist_ok=True)
        (root / "gtFine" / "train" / "testcity").mkdir(parents=True, exist_ok=True)
        (root / "leftImg8bit" / "train" / "testcity" / name).write_bytes((split / img["file_name"]).read_bytes())
        sem = cv2.imread(str(split / img["semantic_mask"]), cv2.IMREAD_UNCHANGED)
        labels = np.where(sem == 1, CITYSCAPES_PERSON, 7).astype(np.uint8)  # 7 = road
        cv2.imwrite(str(root / "gtFine" / "train" / "testcity" / name.replace("leftImg8bit", "gtFine_labelIds")), labels)
        # Cityscapes' instance ids: class x 1000 + index (person: 24)
        rows = [[1, *a["bbox"], 24000 + a["instance_id"], *a["vis_bbox"]] for a in cp["annotations"]
                if a["image_id"] == img["id"]]
        rows.append([0, 200, 10, 20, 30, 0, 0, 0, 0, 0])
        cells[0, i] = {"cityname": "testcity", "im_name": name, "bbs": np.array(rows, dtype=np.float64)}
        # the same rows as the Cityscapes download ships them: one JSON per image
        labels_of = {0: "ignore", 1: "pedestrian"}
        objects = [{"label": labels_of[int(r[0])], "bbox": list(r[1:5]), "instanceId": int(r[5]),
                    "bboxVis": list(r[6:10])} for r in rows]
        folder = root / "gtBboxCityPersons" / "train" / "testcity"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name.replace("_leftImg8bit.png", "_gtBboxCityPersons.json")).write_text(
            json.dumps({"imgHeight": 128, "imgWidth": 256, "objects": objects}))
    (root / "annotations").mkdir()
    savemat(str(root / "annotations" / "anno_train.mat"), {"anno_train_aligned": cells})
    return root


ANNOTATIONS = {"mat": "annotations/anno_train.mat", "json": "gtBboxCityPersons",
               "json_split_folder": "gtBboxCityPersons/train"}


@pytest.mark.parametrize("source", list(ANNOTATIONS))
def test_citypersons_mat_or_json_and_cityscapes(split, tmp_path, source):
    root = cityscapes_tree(split, tmp_path / "cityscapes")
    ds = CityPersonsStage1(root, root / ANNOTATIONS[source], "train")
    cp = json.loads((split / "citypersons.json").read_text())
    assert len(ds) == 3
    i = next(k for k, img in enumerate(cp["images"]) if any(a["image_id"] == img["id"] for a in cp["annotations"]))
    rec = ds[i]
    expected = [[x, y, x + w, y + h] for x, y, w, h in
                (a["bbox"] for a in cp["annotations"] if a["image_id"] == cp["images"][i]["id"])]
    assert len(expected) > 0
    np.testing.assert_allclose(rec.boxes, expected, atol=1e-4)
    assert rec.image.shape == (128, 256, 3) and rec.mask.shape == (128, 256)
    assert (rec.mask[10:40, 200:220] == IGNORE).all()  # the ignore region
    sem = cv2.imread(str(split / cp["images"][i]["semantic_mask"]), cv2.IMREAD_UNCHANGED)
    outside = np.ones_like(sem, bool)
    outside[10:40, 200:220] = False
    np.testing.assert_array_equal(rec.mask[outside] == 1, sem[outside] == 1)
    crops = CityPersonsCrops(root, root / ANNOTATIONS[source], "train", min_height=1)
    assert len(crops) == len(cp["annotations"])
    assert crops[0].keypoints.sum() == 0 and crops[0].mask.any()


def test_citypersons_annotation_errors_name_the_file(split, tmp_path):
    root = cityscapes_tree(split, tmp_path / "cityscapes")
    with pytest.raises(DatasetError, match="nope.mat: CityPersons annotations not found"):
        CityPersonsStage1(root, root / "nope.mat")
    # the .mat of one split read as another: said at once, not at the first missing image
    with pytest.raises(DatasetError, match="holds the 'train' split .* set split: train"):
        CityPersonsStage1(root, root / ANNOTATIONS["mat"], "val")
    with pytest.raises(DatasetError, match="no <city>/\\*_gtBboxCityPersons.json"):
        CityPersonsStage1(root, root / "leftImg8bit", "train")
    bad = next((root / "gtBboxCityPersons" / "train" / "testcity").glob("*.json"))
    d = json.loads(bad.read_text())
    d["objects"][0]["label"] = "cyclist"
    bad.write_text(json.dumps(d))
    with pytest.raises(DatasetError, match="unknown label 'cyclist'"):
        CityPersonsStage1(root, root / "gtBboxCityPersons", "train")
    bad.write_text(json.dumps({"objects": [{"label": "pedestrian", "bbox": [1, 2, 3]}]}))
    with pytest.raises(DatasetError, match="not a gtBboxCityPersons file"):
        CityPersonsStage1(root, root / "gtBboxCityPersons", "train")


def test_citypersons_json_labels_map_to_the_mat_classes(tmp_path):
    from cluenet_training.datasets import read_citypersons

    folder = tmp_path / "gtBboxCityPersons" / "val" / "aachen"
    folder.mkdir(parents=True)
    labels = ["pedestrian", "rider", "sitting person", "person (other)", "person group", "ignore"]
    objects = [{"label": lab, "bbox": [10 * k, 5, 8, 20], "bboxVis": [10 * k, 6, 8, 10], "instanceId": 24000 + k}
               for k, lab in enumerate(labels)]
    (folder / "aachen_000000_000019_gtBboxCityPersons.json").write_text(json.dumps({"objects": objects}))
    [(city, name, rows)] = read_citypersons(tmp_path / "gtBboxCityPersons", "val")
    assert (city, name) == ("aachen", "aachen_000000_000019_leftImg8bit.png")
    assert rows[:, 0].tolist() == [1, 2, 3, 4, 5, 0]
    np.testing.assert_array_equal(rows[1], [2, 10, 5, 8, 20, 24001, 10, 6, 8, 10])


def test_convert_citypersons_to_a_split_folder_that_validation_reads(split, tmp_path):
    from cluenet_ros.data.split import SplitFolder
    from cluenet_ros.evaluation.detection import evaluate_detections, load_detections, load_ground_truth
    from cluenet_training.datasets import SplitStage1

    root = cityscapes_tree(split, tmp_path / "cityscapes")
    out = tmp_path / "converted"
    assert cluenet(["train", "convert-citypersons", "--cityscapes", str(root), "--annotations",
                    str(root / "gtBboxCityPersons"), "--split", "train", "--out", str(out)]) == 0
    conv = SplitFolder.open(out)
    orig = json.loads((split / "citypersons.json").read_text())
    assert len(conv.images) == 3
    regular = [a for a in conv.citypersons["annotations"] if not a["ignore"]]
    assert len(regular) == len(orig["annotations"])
    assert sum(a["ignore"] for a in conv.citypersons["annotations"]) == 3  # one ignore region per image
    for a, o in zip(regular, orig["annotations"]):
        assert a["bbox"] == pytest.approx(o["bbox"]) and a["vis_ratio"] == pytest.approx(o["vis_ratio"], abs=1e-3)
        assert a["instance_id"] == 24000 + o["instance_id"]
    rec = SplitStage1(out)[0]
    assert (rec.mask[10:40, 200:220] == IGNORE).all() and rec.image.shape == (128, 256, 3)
    # the ground truth as detections scores a perfect MR on the converted file
    gt = load_ground_truth(conv.citypersons)
    dets = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 1.0} for a in regular]
    mr = evaluate_detections(gt, load_detections(dets, gt))
    assert mr["reasonable"] == 0.0 and all(v == 0.0 or np.isnan(v) for v in mr.values())
    # an id that is not a Cityscapes person id would select a whole class's pixels: left out
    from cluenet_training.convert import convert_citypersons

    for f in sorted((root / "gtBboxCityPersons" / "train" / "testcity").glob("*.json")):
        d = json.loads(f.read_text())
        if d["objects"][0]["label"] == "pedestrian":
            d["objects"][0]["instanceId"] = 7
            f.write_text(json.dumps(d))
            break
    summary = convert_citypersons(root, root / "gtBboxCityPersons", "train", tmp_path / "converted2")
    assert summary["pedestrians_without_instance_mask"] == 1
    anns = json.loads((tmp_path / "converted2" / "citypersons.json").read_text())["annotations"]
    assert sum("instance_id" not in a for a in anns if not a["ignore"]) == 1


def to_coco17(k13: np.ndarray) -> list[float]:
    """The schema's 13 keypoints back in COCO's 17 (face points all at the head)."""
    out = np.zeros((17, 3))
    for i, j in kp.COCO_INDEX_OF.items():
        out[j] = k13[i]
    for j in kp.COCO_FACE:
        out[j] = k13[0]
    return out.ravel().tolist()


def test_coco_person_keypoints_with_17_keypoints(split, tmp_path):
    coco = json.loads((split / "coco_keypoints.json").read_text())
    for a in coco["annotations"]:
        a["keypoints"] = to_coco17(np.asarray(a["keypoints"]).reshape(13, 3))
        a["num_keypoints"] = int(sum(v > 0 for v in a["keypoints"][2::3]))
        for extra in ("keypoints_full", "full_bbox", "vis_ratio"):
            a.pop(extra)
    coco["categories"] = [{"id": 1, "name": "person", "keypoints": list(kp.COCO_NAMES), "skeleton": []}]
    path = tmp_path / "person_keypoints.json"
    path.write_text(json.dumps(coco))
    ds = CocoPersons(path, split)
    fully_visible = [a for a in coco["annotations"] if sum(v == 2 for v in a["keypoints"][2::3]) == 17]
    assert len(ds) == len(fully_visible) > 0
    rec = ds[0]
    expected = kp.from_coco17(fully_visible[0]["keypoints"])
    np.testing.assert_allclose(rec.keypoints, expected)
    # the mask is the image's person mask (semantic, as in the target domain), not the instance's
    own = ds.coco.annToMask(fully_visible[0]).astype(bool)
    union = np.zeros_like(own)
    for a in coco["annotations"]:
        if a["image_id"] == fully_visible[0]["image_id"]:
            union |= ds.coco.annToMask(a).astype(bool)
    assert own.sum() == fully_visible[0]["area"] and (rec.mask >= own).all()
    np.testing.assert_array_equal(rec.mask, union)
    # COCO keeps its images apart from the JSON: without the image folder, said at load
    with pytest.raises(DatasetError, match="not found; set the data's 'root' .* coco/train2017"):
        CocoPersons(path)


def test_source_and_target_crops_are_segmented_alike(split):
    """Both domains segment a person by the image's person mask (what stage 1
    predicts): for the same person, the source (COCO) and target (pedestrian)
    datasets give the same mask, so the mask type is no domain cue."""
    from cluenet_training.datasets import PedestrianCrops

    source, target = CocoPersons(split / "coco_keypoints.json", split), PedestrianCrops(split, min_height=1)
    compared = 0
    for i, ann in enumerate(source.anns):
        j = next((j for j, (_, a) in enumerate(target.items) if a["id"] == ann["id"]), None)
        if j is None:
            continue
        s, t = source[i], target[j]
        np.testing.assert_array_equal(s.image, t.image)
        agree = (s.mask == t.mask).mean()
        assert agree > 0.999, agree
        compared += 1
    assert compared > 0


def _person(ann_id: int, own: np.ndarray, k13: np.ndarray, vis_ratio: float = 1.0) -> dict:
    from pycocotools import mask as mask_utils

    rle = mask_utils.encode(np.asfortranarray(own.astype(np.uint8)))
    labelled = np.where(k13[:, 2:3] == 2, k13, 0.0)
    return {"id": ann_id, "image_id": 1, "category_id": 1, "iscrowd": 0, "bbox": [10, 5, 20, 50],
            "area": float(own.sum()), "segmentation": {"size": list(own.shape), "counts": rle["counts"].decode()},
            "keypoints": labelled.ravel().tolist(), "num_keypoints": int((labelled[:, 2] > 0).sum()),
            "keypoints_full": k13.ravel().tolist(), "full_bbox": [10, 5, 20, 50], "vis_ratio": vis_ratio}


def test_unoccluded_people_keep_what_their_own_body_hides(tmp_path):
    """visibility 'unoccluded' (the paper's completely visible people on synthetic
    truth): a keypoint hidden behind the person's own body keeps the person, and is a
    target; one hidden by something else, or outside the image, drops the person.
    visibility 'coco' keeps only people with every keypoint labelled visible."""
    h, w = 64, 48
    own = np.zeros((h, w), bool)
    own[5:55, 10:30] = True  # the person's visible pixels
    base = np.c_[np.linspace(12, 28, 13), np.linspace(8, 52, 13), np.full(13, 2.0)]
    behind_self = base.copy()
    behind_self[7, 2] = 1          # a wrist on its own pixels, hidden by the depth test (own torso)
    behind_other = base.copy()
    behind_other[7] = [40, 30, 1]  # a wrist off its own pixels: a pole or a car is in front
    outside = base.copy()
    outside[12] = [20, h + 3, 1]   # an ankle below the image
    anns = [_person(1, own, base), _person(2, own, behind_self), _person(3, own, behind_other),
            _person(4, own, outside), _person(5, own, base, vis_ratio=0.8)]
    coco = {"images": [{"id": 1, "file_name": "images/a.png", "width": w, "height": h}],
            "annotations": anns, "categories": [kp.coco_category()]}
    path = tmp_path / "coco_keypoints.json"
    path.write_text(json.dumps(coco))
    (tmp_path / "images").mkdir()
    cv2.imwrite(str(tmp_path / "images" / "a.png"), np.full((h, w, 3), 90, np.uint8))

    strict = CocoPersons(path, tmp_path)
    assert [a["id"] for a in strict.anns] == [1]
    ds = CocoPersons(path, tmp_path, visibility="unoccluded")
    assert [a["id"] for a in ds.anns] == [1, 2]
    rec = ds[1]
    np.testing.assert_allclose(rec.keypoints[:, :2], behind_self[:, :2])
    assert (rec.keypoints[:, 2] == 2).all()  # the self-occluded wrist is a target too
    # validation scores all 13 true keypoints of the same people
    from cluenet_training.stage2 import validation_ground_truth

    gt = validation_ground_truth(ds, 10)
    assert [a["num_keypoints"] for a in gt["annotations"]] == [13, 13]
    # the COCO reading of the same person leaves the hidden wrist out
    assert CocoPersons._keypoints(anns[1])[7, 2] == 0

    real = dict(coco, annotations=[{k: v for k, v in a.items() if k != "keypoints_full"} for a in anns])
    path.write_text(json.dumps(real))
    with pytest.raises(DatasetError, match="keypoints_full"):
        CocoPersons(path, tmp_path, visibility="unoccluded")
    with pytest.raises(DatasetError, match="visibility"):
        CocoPersons(path, tmp_path, visibility="amodal")
