"""Online hard-negative mining in the RoI heads: the negatives it adds are the
background proposals the head scores highest, the quotas are torchvision's, ignored
proposals stay out, and nothing changes when it is off or at inference."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from cluenet_ros.config import ConfigError, from_dict
from cluenet_ros.models.stage1 import ClueNetStage1, RoIConfig, Stage1Config
from conftest import tiny_stage1_config, toy_scene


def _model(fraction: float) -> ClueNetStage1:
    torch.manual_seed(0)
    cfg = tiny_stage1_config()
    # a quota of 6 negatives: fewer than the background proposals, so choosing matters
    cfg = dataclasses.replace(cfg, roi=dataclasses.replace(cfg.roi, hard_negative_fraction=fraction,
                                                           batch_size_per_image=8))
    return ClueNetStage1(cfg).train()


def _record(model: ClueNetStage1) -> list:
    """Wraps the mining step so a test sees what it was given and what it chose,
    and scores every candidate itself (the same head, at the same weights)."""
    heads, seen = model.roi_heads, []
    mine = heads._mine_negatives

    def spy(labels, random_neg):
        chosen = mine(labels, random_neg)
        features, shapes = heads._mining
        with torch.no_grad():  # every proposal of every image, positives and ignored ones included
            pooled = heads.box_roi_pool(features, heads._proposals, shapes)
            logits, _ = heads.box_predictor(heads.box_head(pooled))
            scores = torch.softmax(logits, -1)[:, 1].split([len(p) for p in heads._proposals])
        seen.append(([x.clone() for x in labels], [x.clone() for x in random_neg], chosen, scores))
        return chosen

    heads._mine_negatives = spy
    return seen


def _scene():
    img, tgt = toy_scene(3, [[20, 10, 44, 70], [70, 20, 90, 80]])
    tgt["ignore_boxes"] = torch.tensor([[95.0, 0.0, 128.0, 96.0]])
    return img, tgt


@pytest.mark.parametrize("fraction", [1.0, 0.5])
def test_mined_negatives_are_the_highest_scoring_background(fraction):
    model = _model(fraction)
    seen = _record(model)
    img, tgt = _scene()
    losses = model([img, img.flip(-1)], [tgt, {**tgt, "boxes": tgt["boxes"][:1]}])
    assert torch.isfinite(losses["loss_total"])
    losses["loss_total"].backward()
    assert len(seen) == 1
    labels, random_neg, chosen, scores = seen[0]
    for lab, rand, neg, s in zip(labels, random_neg, chosen, scores):
        neg = neg.bool()
        background = lab == 0
        assert int(neg.sum()) == int(rand.sum()) > 0          # torchvision's quota, unchanged
        assert int(background.sum()) > int(rand.sum())
        assert not (neg & ~background).any()                   # never a positive or an ignored proposal
        assert (lab == -1).any()                               # the ignore region did cover some
        hard = int(round(fraction * int(rand.sum())))
        top = torch.argsort(torch.where(background, s, torch.full_like(s, -1.0)), descending=True)[:hard]
        assert neg[top].all()
        if fraction == 1.0:
            assert s[neg].min() >= s[background & ~neg].max()


def test_off_and_at_inference_the_head_samples_as_torchvision_does():
    model = _model(0.0)
    called = []
    model.roi_heads._mine_negatives = lambda *a: called.append(a)
    img, tgt = _scene()
    model([img], [tgt])
    assert not called

    model = _model(1.0)
    model.roi_heads._mine_negatives = lambda *a: called.append(a)
    model.eval()
    with torch.no_grad():
        out = model([img])
    assert not called and out[0]["boxes"].shape[1] == 4
    assert model.roi_heads._mining is None and model.roi_heads._proposals is None


def test_mining_changes_what_the_classifier_learns_from():
    """With the same seed, the mined classifier loss is higher at the first step:
    the hardest background proposals cost more than random ones."""
    img, tgt = _scene()
    plain = _model(0.0)([img], [tgt])["loss_classifier"]
    mined = _model(1.0)([img], [tgt])["loss_classifier"]
    assert float(mined.detach()) > float(plain.detach()) + 1e-4


def test_fraction_is_validated_in_the_yaml_config():
    cfg = from_dict(Stage1Config, {"roi": {"hard_negative_fraction": 0.5}})
    assert cfg.roi.hard_negative_fraction == 0.5 and RoIConfig().hard_negative_fraction == 0.0
    with pytest.raises(ConfigError, match="hard_negative_fraction"):
        from_dict(Stage1Config, {"roi": {"hard_negative_fraction": 1.5}})
