"""Stage 2: heatmap coding, losses of eqs. 3 and 4, and the network."""
import math

import pytest
import torch

from cluenet_ros.models.heatmaps import decode_heatmaps, gaussian_targets
from cluenet_ros.models.stage2 import (ClueNetStage2, domain_classifier_loss, encoder_adversarial_loss,
                                       pose_loss)
from conftest import tiny_stage2_config


def test_targets_then_decoding_recover_keypoints_subpixel():
    g = torch.Generator().manual_seed(0)
    n, k = 6, 13
    xy = torch.rand(n, k, 2, generator=g) * torch.tensor([180.0, 240.0]) + torch.tensor([6.0, 8.0])
    kps = torch.cat([xy, torch.ones(n, k, 1)], dim=-1)
    heat, weight = gaussian_targets(kps, (64, 48), stride=4, sigma=2.0)
    assert heat.shape == (n, k, 64, 48) and bool((weight == 1).all())
    decoded = decode_heatmaps(heat, stride=4)
    err = (decoded[..., :2] - xy).abs()
    assert float(err.max()) < 0.5
    assert float(err.mean()) < 0.05
    assert torch.allclose(decoded[..., 2], torch.ones(n, k), atol=0.1)


def test_targets_ignore_unlabelled_and_outside_keypoints():
    kps = torch.tensor([[[20.0, 20.0, 2], [20.0, 20.0, 0], [500.0, 20.0, 2]]])
    heat, weight = gaussian_targets(kps, (16, 16), stride=4, sigma=1.0)
    assert weight.tolist() == [[1.0, 0.0, 0.0]]
    assert float(heat[0, 1].abs().sum()) == 0 and float(heat[0, 2].abs().sum()) == 0


def test_pose_loss_ignores_unlabelled_keypoints():
    pred = torch.zeros(1, 3, 4, 4)
    target = torch.zeros(1, 3, 4, 4)
    target[0, 0, 1, 1] = 1.0       # labelled: error 1 on one of 16 pixels
    target[0, 1] = 5.0             # unlabelled: any error must not count
    weight = torch.tensor([[1.0, 0.0, 1.0]])
    loss = pose_loss(pred, target, weight)
    assert loss.item() == pytest.approx((1 / 16 + 0) / 2)
    pred2 = pred.clone()
    pred2[0, 1] = -100.0           # changing an unlabelled channel changes nothing
    assert pose_loss(pred2, target, weight).item() == pytest.approx(loss.item())


def test_domain_losses_equal_equation_3():
    ls = torch.tensor([0.0, 2.0, -1.0])   # C logits on source features
    lt = torch.tensor([1.0, -3.0])        # C logits on target features
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    exp_c = (-sum(math.log(sig(v)) for v in ls) / 3) + (-sum(math.log(1 - sig(v)) for v in lt) / 2)
    exp_e = -sum(math.log(sig(v)) for v in lt) / 2
    assert domain_classifier_loss(ls, lt).item() == pytest.approx(exp_c, rel=1e-6)
    assert encoder_adversarial_loss(lt).item() == pytest.approx(exp_e, rel=1e-6)


def test_network_shapes_and_domain_classifier():
    torch.manual_seed(0)
    net = ClueNetStage2(tiny_stage2_config()).eval()
    crops = torch.rand(3, 3, 64, 64)
    with torch.no_grad():
        heat = net(crops)
        feats = net.encode(crops)
        logits = net.domain_classifier(feats)
        kps = net.predict(crops)
    assert heat.shape == (3, 13, 16, 16)
    assert logits.shape == (3,)
    assert kps.shape == (3, 13, 3)
    assert float(kps[..., :2].min()) >= 0 and float(kps[..., :2].max()) <= 64


def test_batched_equals_one_by_one():
    torch.manual_seed(0)
    net = ClueNetStage2(tiny_stage2_config()).eval()
    crops = torch.rand(20, 3, 64, 64)
    with torch.no_grad():
        batched = net(crops)
        single = torch.cat([net(c[None]) for c in crops])
    assert torch.allclose(batched, single, atol=1e-5)
