"""Issue 17 items 3, 4 and 9: ignore boxes in the detector's sampling, frozen trunk
BatchNorm, torchvision's detection transform / box ops instead of copies, and the
layering of the data package."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torchvision.models.detection.transform import GeneralizedRCNNTransform
from torchvision.ops import FrozenBatchNorm2d, box_iou

from cluenet_ros.models.stage1 import ClueNetStage1
from conftest import tiny_stage1_config

PACKAGE = Path(__file__).resolve().parents[1] / "cluenet_ros"


def test_data_layer_imports_nothing_from_evaluation():
    """split.py reads user JSON through cluenet_ros.errors, below data and evaluation."""
    for path in (PACKAGE / "data").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any(n.startswith("cluenet_ros.evaluation") for n in names), (path, names)


def test_iou_matrix_is_box_iou_and_ioa_for_ignored():
    from cluenet_ros.evaluation.detection import iou_matrix

    dt = np.array([[0, 0, 10, 20], [5, 5, 10, 10], [100, 100, 4, 4]], float)  # xywh
    gt = np.array([[0, 0, 10, 10], [2, 2, 20, 20]], float)
    ious = iou_matrix(dt, gt, np.array([False, True]))
    xyxy = lambda b: torch.tensor(np.c_[b[:, :2], b[:, :2] + b[:, 2:]])  # noqa: E731
    np.testing.assert_allclose(ious[:, 0], box_iou(xyxy(dt), xyxy(gt))[:, 0].numpy(), rtol=1e-9)
    # against the ignored box: intersection over the detection's area, by hand
    np.testing.assert_allclose(ious[:, 1], [(10 - 2) * (20 - 2) / 200, 1.0, 0.0], rtol=1e-9)


def test_stage1_prepares_images_with_torchvisions_detection_transform():
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config(input_scale=0.5)).eval()
    assert isinstance(model.transform, GeneralizedRCNNTransform)
    images = [torch.rand(3, 50, 70), torch.rand(3, 64, 40)]
    batch, _ = model._prepare(images, None)
    assert batch.image_sizes == [(25, 35), (32, 20)]
    assert batch.tensors.shape == (2, 3, 32, 64)   # padded to multiples of size_divisible (32)
    mean = torch.tensor(model.config.pixel_mean).view(3, 1, 1)
    std = torch.tensor(model.config.pixel_std).view(3, 1, 1)
    small = nn.functional.interpolate(images[0][None], size=(25, 35), mode="bilinear", align_corners=False)[0]
    torch.testing.assert_close(batch.tensors[0, :, :25, :35], (small - mean) / std, atol=1e-5, rtol=1e-5)
    assert float(batch.tensors[0, :, 25:].abs().max()) == 0 and float(batch.tensors[0, :, :, 35:].abs().max()) == 0
    # training targets are scaled with the image (boxes, ignore boxes, mask)
    target = {"boxes": torch.tensor([[10.0, 10.0, 30.0, 50.0]]), "ignore_boxes": torch.tensor([[0.0, 0.0, 20.0, 20.0]]),
              "mask": torch.zeros(50, 70, dtype=torch.uint8)}
    target["mask"][:, 60:] = 255
    _, (t,) = model._prepare(images[:1], [target])
    torch.testing.assert_close(t["boxes"], torch.tensor([[5.0, 5.0, 15.0, 25.0]]))
    torch.testing.assert_close(t["ignore_boxes"], torch.tensor([[0.0, 0.0, 10.0, 10.0]]))
    assert t["mask"].shape == (25, 35) and set(t["mask"].unique().tolist()) == {0, 255}
    # outputs come back at the input size
    with torch.no_grad():
        out = model(images)
    assert out[0]["mask"].shape == (50, 70)


def test_ignore_regions_are_neither_positives_nor_negatives():
    """Anchors and proposals on an ignore box (rider, group, ignore region) get
    label -1, which torchvision's samplers never draw; elsewhere nothing changes."""
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config())
    person = torch.tensor([[10.0, 10.0, 40.0, 80.0]])
    ignore = torch.tensor([[60.0, 10.0, 90.0, 80.0]])
    anchors = [torch.tensor([[10.0, 10.0, 40.0, 80.0],     # the pedestrian: positive
                             [60.0, 12.0, 88.0, 78.0],     # inside the ignore box: was background
                             [55.0, 10.0, 80.0, 80.0],     # 80% on it: ignored too
                             [100.0, 90.0, 120.0, 120.0]])]  # background
    with_ignore = [{"boxes": person, "labels": torch.ones(1, dtype=torch.int64), "ignore_boxes": ignore}]
    without = [{"boxes": person, "labels": torch.ones(1, dtype=torch.int64)}]
    labels, _ = model.rpn.assign_targets_to_anchors(anchors, with_ignore)
    assert labels[0].tolist() == [1.0, -1.0, -1.0, 0.0]
    assert model.rpn.assign_targets_to_anchors(anchors, without)[0][0].tolist() == [1.0, 0.0, 0.0, 0.0]
    # the RoI heads sample proposals by the same rule
    proposals = [anchors[0]]
    _, _, roi_labels, _ = model.roi_heads.select_training_samples(proposals, with_ignore)
    assert roi_labels[0].numel() > 0
    one = [torch.ones(1, dtype=torch.int64)]
    _, labels = model.roi_heads.assign_targets_to_proposals(proposals, [person], one)
    assert labels[0].tolist() == [1, 0, 0, 0]  # outside select_training_samples: no ignore boxes known
    model.roi_heads._ignore = [ignore]
    try:
        _, labels = model.roi_heads.assign_targets_to_proposals(proposals, [person], one)
        assert labels[0].tolist() == [1, -1, -1, 0]
    finally:
        model.roi_heads._ignore = None
    # and a training step with ignore boxes runs end to end
    model.train()
    img = torch.rand(3, 96, 128)
    mask = torch.zeros(96, 128, dtype=torch.uint8)
    losses = model([img], [{"boxes": person, "ignore_boxes": ignore, "mask": mask}])
    assert torch.isfinite(losses["loss_total"])


def test_citypersons_non_pedestrians_become_ignore_boxes(tmp_path):
    import cv2
    from scipy.io import savemat

    from cluenet_training.datasets import IGNORE, CityPersonsStage1
    from cluenet_training.transforms import stage1_sample

    name = "c_000000_000019_leftImg8bit.png"
    for sub in ("leftImg8bit", "gtFine"):
        (tmp_path / sub / "train" / "c").mkdir(parents=True)
    cv2.imwrite(str(tmp_path / "leftImg8bit" / "train" / "c" / name), np.zeros((64, 128, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "gtFine" / "train" / "c" / name.replace("leftImg8bit", "gtFine_labelIds")),
                np.full((64, 128), 7, np.uint8))
    rows = [[1, 4, 4, 10, 30, 1, 0, 0, 0, 0],      # pedestrian
            [0, 20, 4, 10, 20, 0, 0, 0, 0, 0],     # ignore region
            [2, 40, 4, 10, 30, 2, 0, 0, 0, 0],     # rider
            [3, 60, 4, 10, 30, 3, 0, 0, 0, 0],     # sitting
            [5, 80, 4, 30, 30, 4, 0, 0, 0, 0]]     # group
    cells = np.empty((1, 1), dtype=object)
    cells[0, 0] = {"cityname": "c", "im_name": name, "bbs": np.array(rows, np.float64)}
    savemat(str(tmp_path / "anno.mat"), {"anno_train_aligned": cells})
    rec = CityPersonsStage1(tmp_path, tmp_path / "anno.mat")[0]
    np.testing.assert_allclose(rec.boxes, [[4, 4, 14, 34]])
    np.testing.assert_allclose(rec.ignore_boxes, [[20, 4, 30, 24], [40, 4, 50, 34], [60, 4, 70, 34], [80, 4, 110, 34]])
    assert (rec.mask[4:24, 20:30] == IGNORE).all()
    # augmentation moves the ignore boxes with the image (flip)
    _, target = stage1_sample(rec, np.random.default_rng(0), (1.0, 1.0), 1.0)
    torch.testing.assert_close(target["ignore_boxes"][0], torch.tensor([98.0, 4.0, 108.0, 24.0]))


def test_trunk_batchnorm_is_frozen_by_default_and_trainable_on_request():
    from cluenet_ros.models.stage1 import Stage1Config
    from cluenet_ros.models.trunk import Trunk

    assert Stage1Config().trunk_norm == "frozen"
    frozen = Trunk("resnet18", "from_checkpoint", norm="frozen")
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in frozen.modules())
    assert sum(isinstance(m, FrozenBatchNorm2d) for m in frozen.modules()) == 20
    # nothing of it moves in training mode: no BN parameters, statistics fixed
    before = {k: v.clone() for k, v in frozen.state_dict().items()}
    frozen.train()(torch.rand(2, 3, 64, 64))
    assert all(torch.equal(v, before[k]) for k, v in frozen.state_dict().items())
    assert not any("bn" in n for n, _ in frozen.named_parameters())
    trainable = Trunk("resnet18", "from_checkpoint", norm="batch")
    assert sum(isinstance(m, nn.BatchNorm2d) for m in trainable.modules()) == 20
    # the two share state_dict keys (a BatchNorm checkpoint loads into the frozen trunk)
    frozen.load_state_dict(trainable.state_dict())
    # SyncBatchNorm under DDP: the same modules converted, same parameters
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(trainable)
    assert sum(isinstance(m, nn.SyncBatchNorm) for m in synced.modules()) == 20


def test_mask_extents_equal_torchvisions_masks_to_boxes_on_non_empty_masks():
    """The pipeline's visible boxes use box_ops.mask_extents (masks_to_boxes in a form
    that exports to ONNX); on the masks it is given (never empty) the two agree."""
    from torchvision.ops import masks_to_boxes

    from cluenet_ros.box_ops import mask_extents

    g = torch.Generator().manual_seed(0)
    masks = torch.rand(40, 23, 17, generator=g) > 0.97
    masks[:, 5, 7] = True  # none empty
    masks[0] = False
    masks[0, 0, 0] = True  # a single pixel in a corner
    masks[1] = True        # all of it
    assert torch.equal(mask_extents(masks), masks_to_boxes(masks))
