"""Evaluation metrics against cases computed by hand."""
from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.detection import evaluate_detections, load_detections, load_ground_truth
from cluenet_ros.evaluation.errors import EvaluationInputError
from cluenet_ros.evaluation.pose import keypoint_ap, keypoints_inside_masks, occluded_keypoint_ap
from cluenet_ros.evaluation.segmentation import MaskIoU, iou_from_folders
from cluenet_ros.occlusion import covered_fraction, random_patches


def gt_file(people, images=(1, 2)):
    anns = []
    for i, (img, box, vis, ignore) in enumerate(people):
        anns.append({"id": i + 1, "image_id": img, "category_id": 1, "bbox": box, "height": box[3],
                     "vis_ratio": vis, "ignore": ignore})
    return {"images": [{"id": i, "file_name": f"{i}.png", "width": 640, "height": 480} for i in images],
            "annotations": anns}


def dets(rows):
    return [{"image_id": i, "category_id": 1, "bbox": b, "score": s} for i, b, s in rows]


HAND_GT = gt_file([
    (1, [0, 0, 40, 100], 1.0, 0),      # A reasonable
    (1, [100, 0, 40, 100], 0.4, 0),    # B heavy
    (1, [200, 0, 100, 100], 1.0, 1),   # ignore region
    (2, [0, 0, 30, 80], 0.9, 0),       # C reasonable
    (2, [300, 0, 40, 120], 0.8, 0),    # D reasonable, never detected
    (2, [400, 0, 40, 100], 0.3, 0),    # E heavy, never detected
])
HAND_DT = dets([
    (1, [0, 0, 40, 100], 0.9),         # d1 -> A
    (1, [210, 10, 40, 80], 0.8),       # d2 inside the ignore region: neither TP nor FP
    (1, [300, 300, 40, 100], 0.7),     # d3 false positive
    (2, [0, 0, 30, 80], 0.6),          # d4 -> C
    (2, [500, 0, 40, 100], 0.5),       # d5 false positive
    (1, [100, 0, 40, 100], 0.4),       # d6 -> B
    (1, [0, 0, 10, 30], 0.95),         # d7 30 px tall: below 50/1.25, counted only in All
])


def mr(points):
    """exp(mean(log(miss))) over the nine FPPI points, written out by hand."""
    with np.errstate(divide="ignore"):
        return math.exp(sum(math.log(p) if p > 0 else -math.inf for p in points) / 9)


def test_hand_computed_case():
    gt = load_ground_truth(HAND_GT)
    res = evaluate_detections(gt, load_detections(HAND_DT, gt))
    # Reasonable: positives A, C, D; d1 TP (fppi 0), d3 FP (.5), d4 TP (.5), d5 FP (1.0).
    # FPPI points 0.01 .. 0.316 (seven) see only d1: miss 2/3; 0.562 and 1.0 see d4: 1/3.
    assert res["reasonable"] == pytest.approx(mr([2 / 3] * 7 + [1 / 3] * 2))
    assert res["reasonable"] == pytest.approx(0.57149, abs=1e-5)
    # Heavy: positives B, E; d1 and d4 hit ignored (too visible) people; d3 FP (.5),
    # d5 FP (1.0), d6 TP (1.0): miss 1 everywhere but at FPPI 1 where it is 1/2.
    assert res["heavy"] == pytest.approx(mr([1.0] * 8 + [0.5]))
    # R+HO: positives A..E; d1 TP, d3 FP, d4 TP, d5 FP, d6 TP.
    assert res["reasonable_heavy"] == pytest.approx(mr([0.8] * 7 + [0.6, 0.4]))
    # All: d7 is kept and is the highest-scoring false positive.
    assert res["all"] == pytest.approx(mr([1.0] * 7 + [0.8, 0.6]))


def test_perfect_and_missing_detections():
    gt = load_ground_truth(HAND_GT)
    perfect = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.9}
               for a in HAND_GT["annotations"] if not a["ignore"]]
    res = evaluate_detections(gt, load_detections(perfect, gt))
    assert all(v == 0.0 for v in res.values())
    res = evaluate_detections(gt, load_detections([], gt))
    assert all(v == 1.0 for v in res.values())


def test_malformed_inputs_name_the_file(tmp_path):
    bad = tmp_path / "gt.json"
    bad.write_text("{not json")
    with pytest.raises(EvaluationInputError, match="gt.json: not valid JSON"):
        load_ground_truth(bad)
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": [{"image_id": 1, "bbox": [0, 0, 1]}]}))
    with pytest.raises(EvaluationInputError, match=r"gt.json: annotations\[0\].bbox must be 4 numbers"):
        load_ground_truth(bad)
    bad.write_text(json.dumps({"images": [{"id": 1}], "annotations": [{"image_id": 1, "bbox": [0, 0, 1, 2]}]}))
    with pytest.raises(EvaluationInputError, match="neither 'vis_ratio' nor 'vis_bbox'"):
        load_ground_truth(bad)
    gt = load_ground_truth(HAND_GT)
    dt = tmp_path / "dt.json"
    dt.write_text(json.dumps(dets([(7, [0, 0, 1, 1], 0.5)])))
    with pytest.raises(EvaluationInputError, match="dt.json: .* image_id 7, which the ground truth does not have"):
        load_detections(dt, gt)
    with pytest.raises(EvaluationInputError, match="missing.json: cannot read"):
        load_ground_truth(tmp_path / "missing.json")


def test_mask_iou_exact_on_tiny_masks(tmp_path):
    acc = MaskIoU()
    acc.add(np.array([[1, 1], [0, 0]]), np.array([[1, 0], [1, 0]]))   # I 1, U 3
    acc.add(np.array([[1, 1, 1]]), np.array([[1, 1, 1]]))             # I 3, U 3
    assert (acc.intersection, acc.union) == (4, 6) and acc.iou == pytest.approx(4 / 6)
    import cv2
    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    cv2.imwrite(str(tmp_path / "gt" / "a.png"), np.array([[1, 1, 255], [0, 0, 0]], np.uint8))
    cv2.imwrite(str(tmp_path / "pred" / "a.png"), np.array([[255, 0, 255], [255, 0, 0]], np.uint8))
    res = iou_from_folders(tmp_path / "pred", tmp_path / "gt")  # 255 in gt = ignored pixel
    assert (res.intersection, res.union) == (1, 3)
    (tmp_path / "gt" / "b.png").write_bytes((tmp_path / "gt" / "a.png").read_bytes())
    with pytest.raises(EvaluationInputError, match="b.png: missing prediction"):
        iou_from_folders(tmp_path / "pred", tmp_path / "gt")


def pose_gt(n=6, seed=0):
    rng = np.random.default_rng(seed)
    images, anns = [], []
    for i in range(n):
        images.append({"id": i, "width": 400, "height": 400})
        x0, y0 = rng.uniform(20, 200, 2)
        w, h = 60.0, 150.0
        pts = np.c_[x0 + rng.uniform(0, w, 13), y0 + rng.uniform(0, h, 13)]
        v = np.full(13, 2.0)
        v[:3] = 0                                  # unlabelled
        full = np.c_[pts, np.where(v > 0, 2, 1)]   # the unlabelled are hidden, positions known
        k = np.c_[pts, v]
        k[v == 0, :2] = 0
        anns.append({"id": i + 1, "image_id": i, "category_id": 1, "bbox": [x0, y0, w, h], "area": w * h,
                     "iscrowd": 0, "keypoints": k.ravel().tolist(), "num_keypoints": int((v > 0).sum()),
                     "keypoints_full": full.ravel().tolist()})
    return {"images": images, "annotations": anns, "categories": [kp.coco_category()]}


def results_from(gt, noise, seed=1, field="keypoints_full"):
    rng = np.random.default_rng(seed)
    out = []
    for a in gt["annotations"]:
        k = np.asarray(a[field], dtype=float).reshape(13, 3).copy()
        k[:, :2] += rng.normal(0, noise, (13, 2))
        k[:, 2] = 1
        out.append({"image_id": a["image_id"], "category_id": 1, "keypoints": k.ravel().tolist(), "score": 0.9})
    return out


def test_pose_ap_perfect_then_falls_with_noise():
    gt = pose_gt(20)
    aps = [keypoint_ap(gt, results_from(gt, s))["AP"] for s in (0.0, 5.0, 10.0, 20.0)]
    assert aps[0] == pytest.approx(1.0)
    assert aps[0] > aps[1] > aps[2] > aps[3]
    assert aps[3] < 0.2


def test_occluded_ap_scores_only_hidden_keypoints():
    gt = pose_gt()
    res = results_from(gt, 0.0)
    assert occluded_keypoint_ap(gt, res)["AP"] == pytest.approx(1.0)
    # ruin only the visible keypoints: overall AP drops, occluded-only AP does not
    for r in res:
        k = np.asarray(r["keypoints"]).reshape(13, 3)
        k[3:, :2] += 40
        r["keypoints"] = k.ravel().tolist()
    assert keypoint_ap(gt, res)["AP"] < 0.2
    assert occluded_keypoint_ap(gt, res)["AP"] == pytest.approx(1.0)
    gt_no_full = pose_gt()
    for a in gt_no_full["annotations"]:
        del a["keypoints_full"]
    assert occluded_keypoint_ap(gt_no_full, res) is None


def test_pose_input_errors(tmp_path):
    gt = pose_gt()
    with pytest.raises(EvaluationInputError, match=r"\[0\].keypoints must hold 39 numbers \(or 51"):
        keypoint_ap(gt, [{"image_id": 0, "keypoints": [0] * 45, "score": 1.0}])
    bad = pose_gt()
    bad["annotations"][0]["keypoints"] = [0] * 45
    with pytest.raises(EvaluationInputError, match=r"annotations\[0\].keypoints must hold 39 .* or 51"):
        keypoint_ap(bad, [])


def _to_coco17(flat13) -> list:
    k13 = np.asarray(flat13, float).reshape(13, 3)
    out = np.zeros((17, 3))
    for i, j in kp.COCO_INDEX_OF.items():
        out[j] = k13[i]
    out[0] = k13[0]  # the head as the nose: the mean of the labelled face points
    return out.ravel().tolist()


def test_pose_ap_reads_cocos_17_keypoints():
    """A real person_keypoints file (17 keypoints, its own category) and a COCO-17
    detector's results score exactly as their 13-keypoint mappings."""
    gt = pose_gt(12)
    res = results_from(gt, 6.0)
    gt17 = copy.deepcopy(gt)
    for a in gt17["annotations"]:
        a["keypoints"] = _to_coco17(a["keypoints"])
        a["num_keypoints"] = 17  # as COCO counts them: must be recounted on the 13
    gt17["categories"] = [{"id": 1, "name": "person", "keypoints": list(kp.COCO_NAMES), "skeleton": []}]
    res17 = [dict(r, keypoints=_to_coco17(r["keypoints"])) for r in res]
    plain = keypoint_ap(gt, res)
    assert 0.1 < plain["AP"] < 0.95
    assert keypoint_ap(gt17, res17) == pytest.approx(plain, nan_ok=True)
    assert keypoint_ap(gt17, res) == pytest.approx(plain, nan_ok=True)


def test_keypoints_inside_masks():
    mask = np.zeros((10, 10), np.uint8)
    mask[2:8, 3:6] = 1
    pts = np.array([[3.0, 2.0], [5.9, 7.9], [6.0, 5.0], [-1.0, 4.0]])  # in, in, out, outside image
    assert keypoints_inside_masks([pts], [mask]) == pytest.approx(0.5)


@pytest.mark.parametrize("fraction", [0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
def test_occlusion_patches_cover_the_requested_share(fraction):
    rng = np.random.default_rng(int(fraction * 10))
    mask = np.zeros((128, 96), bool)
    mask[10:120, 30:65] = True
    mask[30:60, 10:90] = True
    covered = [covered_fraction(random_patches(mask, fraction, rng), mask) for _ in range(10)]
    assert all(abs(c - fraction) <= 0.03 for c in covered)
