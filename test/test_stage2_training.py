"""Stage-2 training pieces (issue 17): the adversarial step of eq. 3 (one encoder
pass, one optimizer state per parameter), identical preparation of both domains,
Mask-and-Predict patches and curriculum, per-sample loading, validation at several
hidden shares."""
from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import ndimage
from torch import nn
from torch.func import functional_call
from torchvision.ops import roi_align

from cluenet_ros.cli import main as cluenet
from cluenet_ros.inference.geometry import crop_boxes
from cluenet_ros.models.heatmaps import gaussian_targets
from cluenet_ros.models.stage2 import ClueNetStage2, domain_classifier_loss, pose_loss
from cluenet_training import engine
from cluenet_training.config import (AugmentConfig, DataSpec, DomainAdaptationConfig, MaskAndPredictConfig,
                                     OptimConfig, RunConfig, Stage1TrainConfig, Stage2TrainConfig,
                                     Stage2ValidationConfig)
from cluenet_training.datasets import CocoPersons
from cluenet_training.schedules import adversarial_weight
from cluenet_training.stage2 import (Stage2Samples, hide_fraction, make_optimizers, sample_loader,
                                     selection_score, train_step, validate)
from cluenet_training.transforms import person_crop
from conftest import tiny_stage2_config


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("s2")
    assert cluenet(["synth", "--out", str(root), "--images", "6", "--seed", "5", "--size", "256x128",
                    "--split", "s", "--people", "2-3"]) == 0
    return root / "s"


@pytest.fixture(scope="module")
def people(split):
    data = CocoPersons(split / "coco_keypoints.json", split)
    return [data[i] for i in range(len(data))]


def config(**kw) -> Stage2TrainConfig:
    base = dict(model=tiny_stage2_config(), source=DataSpec(format="split", root="unused"),
                target=DataSpec(format="split", root="unused"),
                run=RunConfig(iterations=100, batch_size=4, seed=3, workers=0))
    base.update(kw)
    return Stage2TrainConfig(**base)


# --------------------------------------------------------------------------- item 1
def test_adversarial_step_one_encoder_pass_and_one_optimizer_state():
    """One step on fixed data against a hand-computed expectation: the encoder's
    BatchNorm sees source and target once (one running-statistics update), C steps
    on detached features, then <E, D> step on the pose loss plus L_advE scored by the
    updated C; SGD momentum buffers are the first step's (grad + weight decay x p),
    held once per parameter."""
    lr, lr_c, wd, w = 0.05, 0.02, 0.01, 0.5
    # balance "paper": eq. 4 sums what pose_loss averages, so L_advE is scaled by 1/(K x H x W);
    # the configured weight is chosen so that the adversarial term weighs w in the step
    cells = 13 * tiny_stage2_config().heatmap_size[0] * tiny_stage2_config().heatmap_size[1]
    cfg = config(optim=OptimConfig(lr=lr, momentum=0.9, weight_decay=wd, grad_clip=0.0),
                 domain_adaptation=DomainAdaptationConfig(weight=w * cells, classifier_lr=lr_c))
    torch.manual_seed(0)
    model = ClueNetStage2(cfg.model).train()
    ref = copy.deepcopy(model)
    g = torch.Generator().manual_seed(1)
    batch = {"source": torch.rand(4, 3, 64, 64, generator=g), "target": torch.rand(4, 3, 64, 64, generator=g),
             "keypoints": torch.cat([torch.rand(4, 13, 2, generator=g) * 60 + 2, torch.full((4, 13, 1), 2.0)], -1)}
    opt_model, opt_cls = make_optimizers(model, cfg)
    owners = [id(p) for opt in (opt_model, opt_cls) for grp in opt.param_groups for p in grp["params"]]
    assert len(owners) == len(set(owners)) == len(list(model.parameters()))  # each parameter: one optimizer
    values = train_step(model, (model.encoder, model.decoder, model.domain_classifier), opt_model, opt_cls,
                        batch, cfg, torch.device("cpu"))

    # BatchNorm: one update per iteration, from source and target together
    bns = [m for m in model.encoder.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(int(m.num_batches_tracked) == 1 for m in bns)
    x = ref.normalize(torch.cat([batch["source"], batch["target"]]))
    with torch.no_grad():
        stem = ref.encoder.stem[0](x)
    mean, var = stem.mean(dim=(0, 2, 3)), stem.var(dim=(0, 2, 3), unbiased=True)
    bn = model.encoder.stem[1]
    torch.testing.assert_close(bn.running_mean, 0.1 * mean, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * var, rtol=1e-4, atol=1e-6)

    # hand-computed step on the copy
    feats = ref.encoder(x)
    c_params = dict(ref.domain_classifier.named_parameters())
    logits = ref.domain_classifier(feats.detach())
    loss_c = domain_classifier_loss(logits[:4], logits[4:])
    grads_c = torch.autograd.grad(loss_c, list(c_params.values()))
    c_new = {}
    for (name, p), grad in zip(c_params.items(), grads_c):
        buf = grad + wd * p.detach()
        c_new[name] = p.detach() - lr_c * buf
        q = dict(model.domain_classifier.named_parameters())[name]
        torch.testing.assert_close(opt_cls.state[q]["momentum_buffer"], buf, rtol=1e-4, atol=1e-7)
        torch.testing.assert_close(q.detach(), c_new[name], rtol=1e-4, atol=1e-7)
    heat, weight = gaussian_targets(batch["keypoints"], cfg.model.heatmap_size, cfg.model.heatmap_stride,
                                    cfg.model.heatmap_sigma)
    loss_pose = pose_loss(ref.decoder(feats[:4]), heat, weight)
    logit_t = functional_call(ref.domain_classifier, c_new, (feats[4:],))
    loss_e = F.binary_cross_entropy_with_logits(logit_t, torch.ones_like(logit_t))
    assert values["loss_pose"].item() == pytest.approx(loss_pose.item(), rel=1e-5)
    assert values["loss_domain_c"].item() == pytest.approx(loss_c.item(), rel=1e-5)
    assert values["loss_domain_e"].item() == pytest.approx(loss_e.item(), rel=1e-5)
    ed_ref = list(ref.encoder.parameters()) + list(ref.decoder.parameters())
    ed = list(model.encoder.parameters()) + list(model.decoder.parameters())
    assert heat[0].numel() == cells
    grads = torch.autograd.grad(loss_pose + w * loss_e, ed_ref)
    for p_ref, q, grad in zip(ed_ref, ed, grads):
        buf = grad + wd * p_ref.detach()
        torch.testing.assert_close(opt_model.state[q]["momentum_buffer"], buf, rtol=1e-3, atol=1e-6)
        torch.testing.assert_close(q.detach(), p_ref.detach() - lr * buf, rtol=1e-4, atol=1e-6)


def test_adversarial_weight_ramp_follows_dann():
    """The ramp starts at 0, reaches weight x (2/(1+e^-10)-1) at ramp_iterations and
    stays there; 0 keeps the weight constant."""
    assert adversarial_weight(0, 0.5, 0) == adversarial_weight(10_000, 0.5, 0) == 0.5
    assert adversarial_weight(0, 0.5, 1000) == 0.0
    assert adversarial_weight(500, 0.5, 1000) == pytest.approx(0.5 * (2 / (1 + np.exp(-5)) - 1))
    top = 0.5 * (2 / (1 + np.exp(-10)) - 1)
    assert adversarial_weight(1000, 0.5, 1000) == pytest.approx(top)
    assert adversarial_weight(5000, 0.5, 1000) == pytest.approx(top)
    ramp = [adversarial_weight(i, 0.5, 1000) for i in range(0, 1001, 50)]
    assert all(b > a for a, b in zip(ramp, ramp[1:]))


def test_adversarial_step_uses_the_ramped_weight():
    """At iteration 0 of a ramp the encoder and decoder take the pose gradient alone
    (the adversarial term weighs 0), while the classifier still learns; at the end of
    the ramp the step equals a constant-weight step with the ramped value."""
    def step(da, iteration):
        cfg = config(optim=OptimConfig(lr=0.05, momentum=0.0, weight_decay=0.0, grad_clip=0.0),
                     domain_adaptation=da)
        torch.manual_seed(0)
        model = ClueNetStage2(cfg.model).train()
        g = torch.Generator().manual_seed(1)
        batch = {"source": torch.rand(4, 3, 64, 64, generator=g), "target": torch.rand(4, 3, 64, 64, generator=g),
                 "keypoints": torch.cat([torch.rand(4, 13, 2, generator=g) * 60 + 2, torch.full((4, 13, 1), 2.0)],
                                        -1)}
        opt_model, opt_cls = make_optimizers(model, cfg)
        values = train_step(model, (model.encoder, model.decoder, model.domain_classifier), opt_model, opt_cls,
                            batch, cfg, torch.device("cpu"), iteration=iteration)
        return model, values

    no_adv, _ = step(DomainAdaptationConfig(weight=0.0, classifier_lr=0.02), 0)
    ramp0, v0 = step(DomainAdaptationConfig(weight=5.0, classifier_lr=0.02, ramp_iterations=100), 0)
    full, _ = step(DomainAdaptationConfig(weight=5.0, classifier_lr=0.02), 0)
    assert float(v0["adversarial_weight"]) == 0.0
    for a, b in zip(no_adv.encoder.parameters(), ramp0.encoder.parameters()):
        torch.testing.assert_close(a, b)
    assert any(not torch.allclose(a, b) for a, b in zip(no_adv.encoder.parameters(), full.encoder.parameters()))
    end, v1 = step(DomainAdaptationConfig(weight=5.0, classifier_lr=0.02, ramp_iterations=100), 100)
    same, _ = step(DomainAdaptationConfig(weight=adversarial_weight(100, 5.0, 100), classifier_lr=0.02), 0)
    assert float(v1["adversarial_weight"]) == pytest.approx(adversarial_weight(100, 5.0, 100))
    for a, b in zip(end.encoder.parameters(), same.encoder.parameters()):
        torch.testing.assert_close(a, b)
    # balance "paper" is balance "mean" with the weight divided by keypoints x heatmap pixels
    cells = 13 * tiny_stage2_config().heatmap_size[0] * tiny_stage2_config().heatmap_size[1]
    mean, _ = step(DomainAdaptationConfig(weight=5.0 / cells, classifier_lr=0.02, balance="mean"), 0)
    for a, b in zip(full.encoder.parameters(), mean.encoder.parameters()):
        torch.testing.assert_close(a, b)
    louder, _ = step(DomainAdaptationConfig(weight=5.0, classifier_lr=0.02, balance="mean"), 0)
    assert any(not torch.allclose(a, b) for a, b in zip(full.encoder.parameters(), louder.encoder.parameters()))


# --------------------------------------------------------------------------- item 2
def _features(crops: torch.Tensor) -> np.ndarray:
    """Simple statistics a classifier could tell domains by: black share, brightness,
    contrast, colour."""
    black = (crops.amax(dim=1) == 0).float().mean(dim=(1, 2))
    return torch.stack([black, crops.mean(dim=(1, 2, 3)), crops.std(dim=(1, 2, 3)),
                        *crops.mean(dim=(2, 3)).T], dim=1).numpy()


def _held_out_accuracy(a: np.ndarray, b: np.ndarray) -> float:
    """Logistic regression trained on the first half of each domain, scored on the rest."""
    x = torch.tensor(np.concatenate([a, b]), dtype=torch.float64)
    y = torch.cat([torch.ones(len(a)), torch.zeros(len(b))]).double()
    train = torch.cat([torch.arange(len(a) // 2), len(a) + torch.arange(len(b) // 2)])
    test = torch.tensor(sorted(set(range(len(x))) - set(train.tolist())))
    mu, sd = x[train].mean(0), x[train].std(0).clamp_min(1e-9)
    x = (x - mu) / sd
    wb = torch.zeros(x.shape[1] + 1, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([wb], max_iter=200)

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(x[train] @ wb[:-1] + wb[-1], y[train])
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        pred = (x[test] @ wb[:-1] + wb[-1]) > 0
    return float((pred == (y[test] > 0.5)).double().mean())


def test_identically_prepared_domains_leave_a_domain_classifier_at_chance(people):
    """The same people fed as "source" and "target": the crops the trainer makes of
    them are indistinguishable (accuracy 0.5 +- 0.05). The same classifier does find
    the cue the trainer used to create (black patches on the source only)."""
    cfg = config(mask_and_predict=MaskAndPredictConfig(max_fraction=0.7, curriculum_iterations=1),
                 run=RunConfig(iterations=1000, batch_size=1, seed=7, workers=0))
    samples = Stage2Samples(people, people, cfg, world=1, start=500, stop=1000)
    drawn = [samples[k] for k in range(500)]
    source = torch.stack([s["source"] for s in drawn])
    target = torch.stack([s["target"] for s in drawn])
    acc = _held_out_accuracy(_features(source), _features(target))
    assert abs(acc - 0.5) <= 0.05, acc
    rng = np.random.default_rng(0)
    unmasked = torch.stack([person_crop(people[int(rng.integers(len(people)))], (64, 64), cfg.crop_padding, rng,
                                        cfg.augment.scale, cfg.augment.hflip)[0] for _ in range(500)])
    assert _held_out_accuracy(_features(source), _features(unmasked)) > 0.8


# --------------------------------------------------------------------------- items 7 and 10
def test_curriculum_follows_the_paper_by_default_and_keeps_uniform_as_an_option():
    rng = np.random.default_rng(0)
    assert MaskAndPredictConfig().schedule == "linear"
    assert hide_fraction("linear", 0.7, rng) == 0.7 and hide_fraction("linear", 0.0, rng) == 0.0
    drawn = np.array([hide_fraction("uniform", 0.7, rng) for _ in range(4000)])
    assert drawn.max() <= 0.7 and drawn.mean() == pytest.approx(0.35, abs=0.02)
    repo = Path(__file__).resolve().parents[1] / "training" / "configs"
    from cluenet_training.config import load_stage2
    assert load_stage2(repo / "stage2_paper.yaml").mask_and_predict.schedule == "linear"


@pytest.mark.parametrize("fraction", [0.3, 0.6])
def test_mask_and_predict_patches_are_black_on_the_person_at_the_share(people, fraction):
    for i, rec in enumerate(people[:4]):
        seed = [i, int(100 * fraction)]
        crop0, _, person, none = person_crop(rec, (64, 64), 1.1, np.random.default_rng(seed))
        crop, _, visible, patches = person_crop(rec, (64, 64), 1.1, np.random.default_rng(seed),
                                                hide_fraction=fraction)
        assert not none.any() and person.any()
        covered = (patches & person).sum() / person.sum()
        assert covered == pytest.approx(fraction, abs=0.05)
        assert float(crop[:, patches].abs().max()) == 0.0             # black
        torch.testing.assert_close(crop[:, ~patches], crop0[:, ~patches])  # nothing else changes
        assert torch.equal(visible, person & ~patches)
        labels, n = ndimage.label(patches.numpy())
        for k in range(1, n + 1):                                     # every patch lies on the person
            assert (person.numpy() & (labels == k)).any()


def test_crop_is_the_segmented_image_and_equals_the_whole_image_roi_align(people):
    """crop x mask: the crop is the resampled image x mask (as in the pipeline), zero
    wherever the resampled mask is zero; cropping the window first samples exactly
    what roi_align samples on the whole image."""
    for rec in people[:3]:
        crop, _, person, _ = person_crop(rec, (64, 48), 1.1, None)
        img = torch.from_numpy(rec.image).permute(2, 0, 1).float() / 255
        m = torch.from_numpy(rec.mask.astype(np.float32))[None]
        region = crop_boxes(torch.from_numpy(rec.box)[None].float(), (64, 48), 1.1)
        soft = roi_align(m[None], [region], (64, 48), sampling_ratio=2, aligned=True)[0, 0]
        outside = soft == 0
        assert outside.any() and person.any()
        assert float(crop[:, outside].abs().max()) == 0.0
        assert float(crop[:, person].amax(dim=0).mean()) > 0.05
        whole = roi_align((img * m)[None], [region], (64, 48), sampling_ratio=2, aligned=True)[0]
        torch.testing.assert_close(crop, whole, atol=1e-5, rtol=1e-5)
        assert torch.equal(person, soft > 0.5)


def test_box_shift_moves_the_crop_not_the_person(people):
    """augment.box_shift: the crop's box sits off the person by up to that share of its
    size, and the keypoint targets still mark the person's joints (a bright dot drawn at
    one joint lands where the shifted crop's target says). Off: no draw, crops as before."""
    rec = next(r for r in people if (r.keypoints[:, 2] > 0).all())
    centre = (rec.box[:2] + rec.box[2:]) / 2
    j = int(np.argmin(np.linalg.norm(rec.keypoints[:, :2] - centre, axis=1)))  # stays in every shifted crop
    x, y = rec.keypoints[j, :2]
    image = rec.image.copy()
    image[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = 255
    mask = rec.mask.copy()
    mask[int(y) - 1:int(y) + 2, int(x) - 1:int(x) + 2] = True
    dotted = dataclasses.replace(rec, image=image, mask=mask)
    hw = (96, 72)
    before, off = np.random.default_rng(0), np.random.default_rng(0)
    centred, kps0, _, _ = person_crop(dotted, hw, 1.1, before)
    same, kps_same, _, _ = person_crop(dotted, hw, 1.1, off, box_shift=0.0)
    assert torch.equal(same, centred) and torch.equal(kps_same, kps0)
    assert off.random() == before.random()  # nothing more drawn when off
    moved = []
    for seed in range(6):
        crop, kps, _, _ = person_crop(dotted, hw, 1.1, np.random.default_rng(seed), box_shift=0.2)
        cx, cy = (int(round(float(v) - 0.5)) for v in kps[j, :2])
        window = crop[:, max(cy - 1, 0):cy + 2, max(cx - 1, 0):cx + 2]
        assert float(window.amin(dim=0).max()) > 0.9, seed      # the target sits on the dot
        moved.append(float((kps[:, :2] - kps0[:, :2]).abs().max()))
        # the shift is at most 0.2 of the box, in crop pixels at most 0.2 / 1.1 of the crop
        assert moved[-1] <= 0.2 / 1.1 * max(hw) + 1e-3
    assert max(moved) > 2.0  # and it does move
    with pytest.raises(ValueError, match="box_shift"):
        Stage1TrainConfig(augment=AugmentConfig(box_shift=0.1)).validate()


# --------------------------------------------------------------------------- item 8
def test_per_sample_loading_splits_a_joined_batch_over_processes(people):
    """With a DistributedSampler, process r of 2 gets the samples g = r mod 2 of each
    iteration: the two processes' batches together are the one-process batch of twice
    the size. Workers do not change a batch."""
    cfg = config(run=RunConfig(iterations=3, batch_size=4, seed=2, workers=0))
    joined = list(sample_loader(Stage2Samples(people, people, cfg, 1, 0, 3), 4, engine.Process(0, 1, "cpu"), 0))
    half = config(run=RunConfig(iterations=3, batch_size=2, seed=2, workers=0))
    ranks = [list(sample_loader(Stage2Samples(people, people, half, 2, 1, 3), 2, engine.Process(r, 2, "cpu"), 0))
             for r in (0, 1)]
    assert [it for it, _ in joined] == [0, 1, 2] and [it for it, _ in ranks[0]] == [1, 2]
    for (it0, b0), (it1, b1), (it, b) in zip(ranks[0], ranks[1], joined[1:]):
        assert it0 == it1 == it
        for key in ("source", "target", "keypoints"):
            assert torch.equal(b[key][0::2], b0[key]) and torch.equal(b[key][1::2], b1[key])
    workers = list(sample_loader(Stage2Samples(people, people, cfg, 1, 0, 3), 4, engine.Process(0, 1, "cpu"), 2))
    assert all(torch.equal(a["source"], b["source"]) for (_, a), (_, b) in zip(joined, workers))


# --------------------------------------------------------------------------- item 6
def test_validation_reports_ap_per_hidden_share_and_selects_on_their_mean(split):
    val = CocoPersons(split / "coco_keypoints.json", split)
    torch.manual_seed(0)
    model = ClueNetStage2(tiny_stage2_config())
    shares = Stage2ValidationConfig()
    assert shares.hidden_fractions == (0.0, 0.3, 0.5, 0.7)
    metrics = validate(model, val, 6, 1.1, torch.device("cpu"), shares)
    assert set(metrics) == {"ap_0", "ap_30", "ap_50", "ap_70", "ap_mean"}
    assert metrics["ap_mean"] == pytest.approx(np.mean([metrics[k] for k in ("ap_0", "ap_30", "ap_50", "ap_70")]))
    assert model.training
    assert selection_score(metrics, shares) == metrics["ap_mean"]
    assert selection_score(metrics, Stage2ValidationConfig(select="ap_50")) == metrics["ap_50"]
    with pytest.raises(ValueError, match="validation.select"):
        Stage2ValidationConfig(select="ap_40").validate()
    # with the flip test, every crop is scored together with its mirror image
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(args[0].clone()))
    flipped = validate(model, val, 6, 1.1, torch.device("cpu"),
                       Stage2ValidationConfig(hidden_fractions=(0.3,), flip_test=True))
    assert len(seen) == 2 * min(6, len(val.anns)) >= 2
    assert all(torch.equal(b, a.flip(-1)) for a, b in zip(seen[0::2], seen[1::2]))
    assert 0.0 <= flipped["ap_30"] <= 1.0
