"""The Keypoint R-CNN baseline of the accuracy study: augmentation that moves
keypoints with the image, training through the shared engine, its checkpoint in
`cluenet eval full`, and the keypoint branch on given boxes."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from cluenet_ros import keypoints as kp
from cluenet_ros.cli import main as cluenet
from cluenet_ros.models.baseline import KeypointRCNNBaseline, KeypointRCNNConfig
from cluenet_ros.models.checkpoint import load_models
from cluenet_training.datasets import KeypointImageRecord, SplitKeypointImages
from cluenet_training.transforms import keypoint_image_sample

TINY = {"min_size": 128, "max_size": 256, "anchor_sizes": [32, 64], "rpn_batch_size_per_image": 32,
        "box_batch_size_per_image": 16, "keypoint_head_layers": 1, "keypoint_head_channels": 16}


def test_flip_and_scale_move_keypoints_with_the_image():
    img = np.zeros((40, 80, 3), np.uint8)
    k = np.zeros((1, 13, 3), np.float32)
    k[0, :, 0], k[0, :, 1], k[0, :, 2] = np.arange(13) + 10, 20, 2
    k[0, kp.INDEX["left_wrist"], 2] = 0          # an unlabelled point stays unlabelled
    rec = KeypointImageRecord(img, np.array([[8, 5, 30, 35]], np.float32), k, np.zeros((40, 80), np.uint8))

    class Flip:  # scale 2.0, then a flip
        def uniform(self, a, b):
            return 2.0

        def random(self):
            return 0.0

    out, t = keypoint_image_sample(rec, Flip(), (0.5, 2.0), 1.0)
    assert out.shape == (3, 80, 160)
    assert torch.allclose(t["boxes"], torch.tensor([[160 - 60, 10, 160 - 16, 70]], dtype=torch.float32))
    perm = kp.flip_permutation()
    for i in range(13):  # point i of the flipped person is the mirrored point perm[i]
        assert t["keypoints"][0, i, 0].item() == pytest.approx(160 - 2 * (perm[i] + 10))
        assert t["keypoints"][0, i, 1].item() == pytest.approx(40)
    assert t["keypoints"][0, perm[kp.INDEX["left_wrist"]], 2] == 0
    assert t["keypoints"][0, :, 2].sum() == 12 and t["labels"].tolist() == [1]


def test_keypoints_in_given_boxes_lie_inside_them():
    torch.manual_seed(0)
    model = KeypointRCNNBaseline(KeypointRCNNConfig(**{**TINY, "anchor_sizes": (32, 64)})).eval()
    boxes = torch.tensor([[10.0, 20.0, 50.0, 110.0], [100.0, 5.0, 140.0, 100.0]])
    out = model.keypoints_in_boxes([torch.rand(3, 128, 256)], [boxes])
    assert out.shape == (2, 13, 3)
    for b, k in zip(boxes, out):
        assert (k[:, 0] >= b[0] - 1).all() and (k[:, 0] <= b[2] + 1).all()
        assert (k[:, 1] >= b[1] - 1).all() and (k[:, 1] <= b[3] + 1).all()


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("baseline")
    assert cluenet(["synth", "--out", str(root / "synth"), "--images", "6", "--seed", "5", "--size", "256x128",
                    "--people", "2-3"]) == 0
    cfg = {"model": TINY, "train": {"format": "split", "root": str(root / "synth" / "train")},
           "val": {"format": "split", "root": str(root / "synth" / "val")},
           "optim": {"lr": 0.01, "warmup_iterations": 2},
           "run": {"out_dir": str(root / "run"), "iterations": 6, "batch_size": 2, "workers": 0,
                   "checkpoint_every": 3, "val_every": 6, "val_images": 2, "log_every": 2}}
    (root / "cfg.yaml").write_text(yaml.safe_dump(cfg))
    assert cluenet(["train", "baseline", "--config", str(root / "cfg.yaml")]) == 0
    return root


def test_dataset_gives_every_person_box_and_keypoints(trained):
    data = SplitKeypointImages(trained / "synth" / "train")
    rec = data[0]
    coco = json.loads((trained / "synth" / "train" / "coco_keypoints.json").read_text())
    anns = [a for a in coco["annotations"] if a["image_id"] == data.split.images[0]["id"]]
    assert rec.boxes.shape == (len(anns), 4) and rec.keypoints.shape == (len(anns), 13, 3)
    np.testing.assert_allclose(rec.keypoints[0].ravel(), anns[0]["keypoints"], atol=1e-3)


def test_training_writes_checkpoints_losses_and_resumes(trained):
    run = trained / "run"
    lines = [json.loads(x) for x in (run / "losses.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in lines] == list(range(1, 7))
    assert {"loss_keypoint", "loss_classifier", "loss_objectness", "loss_total"} <= set(lines[0])
    model = load_models(run / "last.pt", ("keypointrcnn",))["keypointrcnn"]
    assert model.config.keypoint_head_channels == 16
    # a resumed run that is already complete trains nothing more and keeps the file
    before = (run / "last.pt").stat().st_mtime_ns
    assert cluenet(["train", "baseline", "--config", str(trained / "cfg.yaml"), "--resume"]) == 0
    assert (run / "last.pt").stat().st_mtime_ns == before


def test_eval_full_scores_the_baseline_without_a_mask(trained):
    out = trained / "report"
    assert cluenet(["eval", "full", "--weights", str(trained / "run" / "last.pt"), "--data",
                    str(trained / "synth" / "train"), "--out", str(out), "--device", "cpu"]) == 0
    report = json.loads((out / "report.json").read_text())
    assert report["mask_iou"] is None            # no segmentation: n/a, not 0
    assert list(report["ap_against_occlusion"]) == ["20%", "30%", "40%", "50%", "60%", "70%"]
    assert report["occlusion_study_people"] >= 1
    md = (out / "report.md").read_text()
    assert md.startswith("# Keypoint R-CNN evaluation") and "Pedestrian mask IoU: n/a (the model has no mask)" in md


def test_demo_and_ablation_configs_agree_with_the_shipped_model_config():
    """The demo's training configs restate config/model_mobile.yaml: they must not drift."""
    from cluenet_ros.config import to_dict
    from cluenet_ros.models.factory import load_model_configs
    from cluenet_training.config import load_baseline, load_stage1, load_stage2

    repo = Path(__file__).resolve().parents[1]
    configs = repo / "training" / "configs"
    s1_cfg, s2_cfg = load_model_configs(repo / "config" / "model_mobile.yaml")
    demo1, demo2 = load_stage1(configs / "demo_stage1.yaml"), load_stage2(configs / "demo_stage2.yaml")
    assert to_dict(demo1.model) == to_dict(s1_cfg) and to_dict(demo2.model) == to_dict(s2_cfg)
    no_att = load_stage1(configs / "ablations" / "stage1_no_attention.yaml")
    assert to_dict(no_att.model) == dict(to_dict(s1_cfg), attention=False)
    assert (no_att.run.iterations, no_att.run.batch_size) == (demo1.run.iterations, demo1.run.batch_size)
    for name, key in (("stage2_no_mask_and_predict", "mask_and_predict"),
                      ("stage2_no_domain_adaptation", "domain_adaptation")):
        ab = load_stage2(configs / "ablations" / f"{name}.yaml")
        assert getattr(ab, key).enabled is False and ab.model == demo2.model
        assert (ab.run.iterations, ab.run.batch_size, ab.optim) == (demo2.run.iterations, demo2.run.batch_size,
                                                                   demo2.optim)
    shipped1 = load_stage1(configs / "demo_model_stage1.yaml")  # the demo weights' longer stage 1
    assert (shipped1.model, shipped1.optim, shipped1.train) == (demo1.model, demo1.optim, demo1.train)
    assert shipped1.run.iterations == 2 * demo1.run.iterations and shipped1.run.out_dir != demo1.run.out_dir
    shipped = load_stage2(configs / "demo_model_stage2.yaml")  # the demo weights' longer stage 2
    assert shipped.model == demo2.model and not shipped.domain_adaptation.enabled
    assert shipped.mask_and_predict == demo2.mask_and_predict and shipped.run.iterations == 4 * demo2.run.iterations
    base = load_baseline(configs / "baseline_keypointrcnn.yaml")
    assert base.model.trunk == s1_cfg.trunk and base.train == demo1.train
    assert (base.run.iterations, base.run.batch_size, base.optim) == (demo1.run.iterations, demo1.run.batch_size,
                                                                     demo1.optim)
    longer = load_baseline(configs / "ablations" / "baseline_keypointrcnn_equal_time.yaml")
    assert (longer.model, longer.optim, longer.train) == (base.model, base.optim, base.train)
    assert longer.run.iterations > base.run.iterations and longer.run.out_dir != base.run.out_dir


def test_predictor_frame_without_detections_has_empty_shapes(trained):
    from cluenet_ros.inference.baseline import KeypointRCNNPredictor

    pred = KeypointRCNNPredictor.from_checkpoint(trained / "run" / "last.pt", "cpu", score_threshold=1.0)
    res = pred(np.zeros((128, 256, 3), np.uint8))
    assert len(res) == 0 and res.keypoints.shape == (0, 13, 3) and res.occluded.shape == (0, 13)
    assert res.mask is None


def test_best_checkpoint_prefers_keypoint_ap_then_the_better_detector():
    from cluenet_training.baseline import _as_score, selection_score

    at_300 = selection_score({"ap": 0.0, "mr_reasonable": 0.976})
    at_600 = selection_score({"ap": 0.0, "mr_reasonable": 0.865})
    assert at_600 > at_300  # equal AP: lower miss rate wins
    assert selection_score({"ap": 0.01, "mr_reasonable": 0.99}) > at_600  # AP comes first
    # a checkpoint from before the tie-break stored the AP alone; any tie beats it
    assert at_300 > _as_score(0.0) and _as_score(0.0) > _as_score(-1.0)
    assert _as_score([0.0, -0.9]) == (0.0, -0.9)
