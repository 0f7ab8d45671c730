"""Stage 1: blocks behave as specified, the network learns, freezing and checkpoints."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from torchvision.ops import box_iou

from cluenet_ros.config import ConfigError, from_dict
from cluenet_ros.models.blocks import ChannelAttention, VerticalInception
from cluenet_ros.models.checkpoint import CheckpointError, load_models, save_checkpoint
from cluenet_ros.models.stage1 import ClueNetStage1, Stage1Config
from cluenet_ros.models.trunk import STAGES
from conftest import tiny_stage1_config, toy_scene


def test_attention_equals_equation_1():
    att = ChannelAttention(2)
    with torch.no_grad():
        att.conv.weight.copy_(torch.tensor([[1.0, 0.0], [0.5, -1.0]]).view(2, 2, 1, 1))
        att.conv.bias.copy_(torch.tensor([0.0, 0.25]))
    f = torch.tensor([[1.0, -2.0], [0.5, 3.0]]).view(1, 2, 1, 2)  # channels x width
    # hand computation: gate_c = sigmoid(sum_k W[c,k] f_k + b_c)
    g0 = torch.sigmoid(torch.tensor([1.0, -2.0]))
    g1 = torch.sigmoid(0.5 * torch.tensor([1.0, -2.0]) - torch.tensor([0.5, 3.0]) + 0.25)
    expected = torch.stack([f[0, 0, 0] * g0, f[0, 1, 0] * g1]).view(1, 2, 1, 2)
    out = att(f)
    assert out.shape == f.shape
    assert torch.allclose(out, expected, atol=1e-6)


def test_inception_branches_are_vertical():
    torch.manual_seed(0)
    block = VerticalInception(8, 20).eval()
    spatial = [m for m in block.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    assert sorted({m.kernel_size for m in spatial}) == [(3, 1), (5, 1), (7, 1)]
    assert all(m.kernel_size[1] == 1 and m.kernel_size[0] > 1 for m in spatial)
    # Behaviour: a single impulse spreads along its column only.
    x = torch.zeros(1, 8, 31, 31)
    out0 = block(x)
    x[0, :, 15, 15] = 5.0
    changed = (block(x) - out0).abs().sum(dim=1)[0] > 1e-6
    rows, cols = torch.nonzero(changed, as_tuple=True)
    assert set(cols.tolist()) == {15}
    # the deepest branch (7x1 then 7x1) reaches 6 rows up and down, no further
    assert rows.min() >= 9 and rows.max() <= 21 and rows.max() - rows.min() >= 6
    assert out0.shape == (1, 20, 31, 31)


def test_train_and_eval_outputs():
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config())
    img, tgt = toy_scene(0, [[20, 10, 44, 70]], size=(90, 117))  # not a multiple of 32
    model.train()
    losses = model([img], [tgt])
    assert {"loss_seg", "loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg",
            "loss_det", "loss_total"} <= set(losses)
    det = sum(losses[k] for k in ("loss_objectness", "loss_rpn_box_reg", "loss_classifier", "loss_box_reg"))
    assert torch.isclose(losses["loss_det"], det)
    assert torch.isclose(losses["loss_total"], losses["loss_seg"] + losses["loss_det"])
    model.eval()
    with torch.no_grad():
        out = model([img, img[:, :50, :60]])
    assert out[0]["mask"].shape == (90, 117) and out[1]["mask"].shape == (50, 60)
    assert float(out[0]["mask"].min()) >= 0 and float(out[0]["mask"].max()) <= 1
    assert out[0]["boxes"].shape[1] == 4 and out[0]["scores"].shape == out[0]["boxes"].shape[:1]


def test_lambda_weights_detection_loss():
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config(loss_lambda=0.25)).train()
    img, tgt = toy_scene(0, [[20, 10, 44, 70]])
    losses = model([img], [tgt])
    assert torch.isclose(losses["loss_total"], losses["loss_seg"] + 0.25 * losses["loss_det"])


def _overfit_scores(model, imgs, tgts):
    """(worst box IoU of a true box with a confident detection, worst mask IoU)."""
    model.eval()
    with torch.no_grad():
        outs = model(imgs)
    model.train()
    box, mask = [], []
    for out, tgt in zip(outs, tgts):
        top = out["boxes"][out["scores"] > 0.5]
        box.append(float(box_iou(tgt["boxes"], top).max(dim=1).values.min()) if len(top) else 0.0)
        pred, gt = out["mask"] > 0.5, tgt["mask"].bool()
        mask.append(float((pred & gt).sum() / (pred | gt).sum()))
    return min(box), min(mask)


def test_overfits_a_tiny_batch():
    """Both heads memorise two toy images.

    Trained until the criteria hold (checked every 25 steps, capped at 400), with
    Adam, which overfits this batch in about 75-100 steps whatever SIMD kernels
    PyTorch dispatches to: a fixed SGD step count passed on one CPU and failed on
    another. A head that cannot learn (a disconnected loss) never gets there.
    """
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config())
    scenes = [toy_scene(1, [[20, 10, 44, 70], [80, 30, 100, 80]]), toy_scene(2, [[50, 20, 75, 85]])]
    imgs, tgts = [s[0] for s in scenes], [s[1] for s in scenes]
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    first = None
    box = mask = 0.0
    for step in range(1, 401):
        losses = model(imgs, tgts)
        opt.zero_grad()
        losses["loss_total"].backward()
        opt.step()
        last = {k: float(v.detach()) for k, v in losses.items()}
        first = first or last
        if step % 25 == 0:
            box, mask = _overfit_scores(model, imgs, tgts)
            if box > 0.7 and mask > 0.6 and last["loss_total"] < first["loss_total"] / 2 \
                    and last["loss_seg"] < first["loss_seg"] / 2:
                break
    print(f"overfit after {step} steps: box IoU {box:.3f} (> 0.7), mask IoU {mask:.3f} (> 0.6), "
          f"loss {first['loss_total']:.3f} -> {last['loss_total']:.3f}, seg {first['loss_seg']:.3f} -> "
          f"{last['loss_seg']:.3f}")
    assert box > 0.7, f"a true box has no confident detection with IoU > 0.7 after {step} steps ({box:.3f})"
    assert mask > 0.6, f"mask IoU {mask:.3f} after {step} steps"
    assert last["loss_total"] < first["loss_total"] / 2
    assert last["loss_seg"] < first["loss_seg"] / 2


def trunk_grads(model):
    return {name: [p.requires_grad for p in model.trunk.stage(name).parameters()] for name in STAGES}


def test_freezing_and_gradual_unfreezing_touch_exactly_the_intended_stages():
    model = ClueNetStage1(tiny_stage1_config(frozen_stages=5))
    assert not any(any(v) for v in trunk_grads(model).values())
    head_params = [p for n, p in model.named_parameters() if not n.startswith("trunk.")]
    assert all(p.requires_grad for p in head_params)
    for count in (4, 3, 2, 1, 0):  # unfreeze from the last stage
        model.freeze_trunk_stages(count)
        grads = trunk_grads(model)
        for i, name in enumerate(STAGES):
            assert all(g == (i >= count) for g in grads[name]), (count, name)
    # frozen stages keep batch-norm statistics fixed during training
    model.freeze_trunk_stages(2)
    model.train()
    bn_stem = model.trunk.stem[1]
    bn_l4 = model.trunk.layer4[0].bn1
    assert not bn_stem.training and bn_l4.training
    before = bn_stem.running_mean.clone()
    img, tgt = toy_scene(0, [[20, 10, 44, 70]])
    loss = model([img], [tgt])["loss_total"]
    loss.backward()
    assert torch.equal(before, bn_stem.running_mean)
    assert model.trunk.stem[0].weight.grad is None and model.trunk.layer4[0].conv1.weight.grad is not None
    # a stage that thaws in the middle of training (no train() call in between)
    # collects batch statistics again
    model.freeze_trunk_stages(0)
    assert bn_stem.training
    before = bn_stem.running_mean.clone()
    model([img], [tgt])
    assert not torch.equal(before, bn_stem.running_mean)
    model.eval()
    model.freeze_trunk_stages(0)  # and in eval mode nothing switches back to training
    assert not any(m.training for m in model.trunk.modules())


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config(loss_lambda=0.5)).eval()
    path = tmp_path / "stage1.pt"
    save_checkpoint(path, {"stage1": model}, note="test")
    loaded = load_models(path, ("stage1",))["stage1"].eval()
    assert loaded.config == model.config
    img, _ = toy_scene(3, [[20, 10, 44, 70]])
    with torch.no_grad():
        a, b = model([img])[0], loaded([img])[0]
    assert torch.equal(a["mask"], b["mask"]) and torch.equal(a["boxes"], b["boxes"])
    assert not list(tmp_path.glob(".*.tmp"))


def test_checkpoint_errors_name_the_file(tmp_path):
    with pytest.raises(CheckpointError, match="missing.pt: checkpoint file not found"):
        load_models(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(b"\x80\x02not a checkpoint")
    with pytest.raises(CheckpointError, match="corrupt.pt: not a readable checkpoint"):
        load_models(corrupt)
    good = tmp_path / "good.pt"
    save_checkpoint(good, {"stage1": ClueNetStage1(tiny_stage1_config())})
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:5000])
    with pytest.raises(CheckpointError, match="truncated.pt: not a readable checkpoint"):
        load_models(truncated)
    data = torch.load(good, weights_only=True)
    data["models"]["stage1"]["config"]["inception_channels"] = 60
    mismatched = tmp_path / "mismatched.pt"
    torch.save(data, mismatched)
    with pytest.raises(CheckpointError, match=r"mismatched.pt: stage1: weights do not fit the model: shape mismatch"):
        load_models(mismatched)
    with pytest.raises(CheckpointError, match="has no stage2"):
        load_models(good, ("stage2",))


def test_config_validation_names_the_key():
    with pytest.raises(ConfigError, match=r"trunk: 'resnet99' is not one of"):
        from_dict(Stage1Config, {"trunk": "resnet99"})
    with pytest.raises(ConfigError, match=r"roi.nms_thresh: 1.5 is above the maximum 1.0"):
        from_dict(Stage1Config, {"roi": {"nms_thresh": 1.5}})
    with pytest.raises(ConfigError, match=r"unknown key\(s\) lamda"):
        from_dict(Stage1Config, {"lamda": 1})
    with pytest.raises(ConfigError, match="output_stride 16"):
        from_dict(Stage1Config, {"trunk": "resnet18", "output_stride": 16})
    cfg = from_dict(Stage1Config, {"anchor_sizes": [16, 32], "frozen_stages": 5})
    assert cfg.anchor_sizes == (16, 32) and cfg.frozen_stages == 5
    assert dataclasses.asdict(cfg)["roi"]["nms_thresh"] == 0.5


def test_mobilenet_trunk_stages_and_outputs():
    from cluenet_ros.models.factory import load_model_configs
    from conftest import REPO

    s1, _ = load_model_configs(REPO / "config" / "model_mobile.yaml")
    model = ClueNetStage1(s1)
    assert model.trunk.out_channels == 960 and model.trunk.stride == 16
    x = torch.rand(1, 3, 64, 96)
    strides = []
    for name in STAGES:
        x = model.trunk.stage(name)(x)
        strides.append(64 // x.shape[-2])
    assert strides == [2, 4, 8, 16, 16]  # dilated last stage keeps stride 16
    model.freeze_trunk_stages(3)
    grads = trunk_grads(model)
    assert [all(not g for g in grads[n]) for n in STAGES] == [True, True, True, False, False]
    model.eval()
    with torch.no_grad():
        out = model([torch.rand(3, 90, 130)])[0]
    assert out["mask"].shape == (90, 130)


def test_half_precision_checkpoint(tmp_path):
    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config()).eval()
    full, half = tmp_path / "full.pt", tmp_path / "half.pt"
    save_checkpoint(full, {"stage1": model})
    save_checkpoint(half, {"stage1": model}, half=True)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    loaded = load_models(half, ("stage1",))["stage1"].eval()
    assert next(loaded.parameters()).dtype == torch.float32
    img, _ = toy_scene(3, [[20, 10, 44, 70]])
    with torch.no_grad():
        a, b = model([img])[0]["mask"], loaded([img])[0]["mask"]
    assert (a - b).abs().max() < 0.02
