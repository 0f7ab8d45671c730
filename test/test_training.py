"""The training pipeline on tiny generated data: checkpoints the pipeline loads,
falling losses, exact resume after a kill, schedules, and 2-process DDP (gloo)."""
from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from cluenet_ros.cli import main as cluenet
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_training.config import load_stage1, load_stage2
from cluenet_training.schedules import frozen_stages, learning_rate, occlusion_fraction

TINY_STAGE1 = {"trunk": "resnet18", "trunk_norm": "batch", "output_stride": 32, "inception_channels": 40, "seg_width": 32,
               "anchor_sizes": [32, 64],
               "rpn": {"batch_size_per_image": 64, "pre_nms_top_n_test": 100, "post_nms_top_n_test": 50},
               "roi": {"batch_size_per_image": 64, "representation_size": 128}}
TINY_STAGE2 = {"encoder": "resnet18", "input_size": [64, 64], "deconv_channels": 32, "domain_channels": 16}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("train")
    assert cluenet(["synth", "--out", str(root / "synth"), "--images", "10", "--seed", "3", "--size", "256x128",
                    "--people", "2-4"]) == 0
    return root


def stage1_config(data: Path, out: str, iterations: int, **run) -> Path:
    cfg = {"model": TINY_STAGE1, "train": {"format": "split", "root": str(data / "synth" / "train")},
           "val": {"format": "split", "root": str(data / "synth" / "val")},
           "optim": {"lr": 0.01, "lr_step": 25, "warmup_iterations": 4},
           "unfreeze": {"frozen_iterations": 6, "interval": 4},
           "run": {"out_dir": str(data / out), "iterations": iterations, "batch_size": 2, "workers": 0,
                   "checkpoint_every": 5, "val_every": 100, "log_every": 5, **run}}
    path = data / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def stage2_config(data: Path, out: str, iterations: int, stage1: str = "", **run) -> Path:
    split = str(data / "synth" / "train")
    # the paper's output-layer start: its pose loss begins far above the plateau, so a
    # few iterations show the trainer learning (the near-zero default starts close to
    # it, docs/init/README.md)
    cfg = {"model": dict(TINY_STAGE2, output_init_std=0.1), "source": {"format": "split", "root": split},
           "target": {"format": "split", "root": split}, "val": {"format": "split", "root": split},
           "stage1_checkpoint": stage1,
           "mask_and_predict": {"max_fraction": 0.7, "curriculum_iterations": 20},
           # L_advE at full weight against the per-pixel pose loss: the adversarial path
           # must move the weights enough for the DDP check below to see it
           "domain_adaptation": {"weight": 1.0, "balance": "mean"},
           "optim": {"lr": 0.01, "warmup_iterations": 4},
           "run": {"out_dir": str(data / out), "iterations": iterations, "batch_size": 4, "workers": 0,
                   "checkpoint_every": 5, "val_every": 20, "log_every": 5, **run}}
    path = data / f"{out}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def losses(run_dir: Path) -> dict[int, dict]:
    """Per iteration, the last record written (a resumed run rewrites some)."""
    out = {}
    for line in (run_dir / "losses.jsonl").read_text().splitlines():
        rec = json.loads(line)
        out[rec["iteration"]] = rec
    return out


def train_cmd(stage: str, config: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "cluenet_training.cli", stage, "--config", str(config), *extra]


def test_schedules_follow_the_paper():
    assert [frozen_stages(i, 10000, 2000) for i in (0, 9999, 10000, 11999, 12000, 18000, 30000)] == [5, 5, 4, 4, 3, 0, 0]
    assert frozen_stages(50000, 10, 5, keep_frozen=2) == 2
    assert occlusion_fraction(0, 100, 0.7) == 0 and occlusion_fraction(50, 100, 0.7) == pytest.approx(0.35)
    assert occlusion_fraction(500, 100, 0.7) == pytest.approx(0.7)
    assert learning_rate(14999, 0.01, 15000, 0.1, 0) == pytest.approx(0.01)
    assert learning_rate(15000, 0.01, 15000, 0.1, 0) == pytest.approx(0.001)
    assert learning_rate(30000, 0.01, 15000, 0.1, 0) == pytest.approx(0.0001)


def test_cosine_schedule_falls_from_lr_to_its_final_share():
    cos = [learning_rate(i, 0.01, 1, 0.1, 0, "cosine", 100, 0.1) for i in range(0, 101)]
    assert cos[0] == pytest.approx(0.01) and cos[100] == pytest.approx(0.001)
    assert cos[50] == pytest.approx(0.001 + 0.009 * 0.5)  # halfway: half-way between the two
    assert cos[25] == pytest.approx(0.001 + 0.009 * (1 + np.cos(np.pi / 4)) / 2)
    assert all(a > b for a, b in zip(cos, cos[1:])), "a cosine schedule never rises"
    # lr_step / lr_gamma play no part; past the end it stays at the final rate
    assert learning_rate(40, 0.01, 7, 0.5, 0, "cosine", 100) == learning_rate(40, 0.01, 15000, 0.1, 0, "cosine", 100)
    assert learning_rate(150, 0.01, 1, 0.1, 0, "cosine", 100) == 0.0
    # the warm-up multiplies it as it does the step schedule
    assert learning_rate(2, 0.01, 1, 0.1, 4, "cosine", 100) == pytest.approx(
        (0.1 + 0.9 * 2 / 4) * learning_rate(2, 0.01, 1, 0.1, 0, "cosine", 100))
    with pytest.raises(ValueError, match="total iterations"):
        learning_rate(1, 0.01, 1, 0.1, 0, "cosine", 0)
    with pytest.raises(ValueError, match="schedule 'linear'"):
        learning_rate(1, 0.01, 1, 0.1, 0, "linear", 100)


def test_a_cosine_run_logs_the_cosine_rates_and_config_refuses_unknown_schedules(data, tmp_path):
    path = stage1_config(data, "s1_cosine", 12, log_every=1)
    cfg = yaml.safe_load(path.read_text())
    cfg["optim"].update(lr_schedule="cosine", lr_final=0.1)
    path.write_text(yaml.safe_dump(cfg))
    assert cluenet(["train", "stage1", "--config", str(path)]) == 0
    log = losses(data / "s1_cosine")
    # the rate logged at i is the one iteration i + 1 uses: warm-up x cosine over 12 iterations
    expected = {i: 0.01 * min(1.0, 0.1 + 0.9 * i / 4) * (0.1 + 0.9 * (1 + np.cos(np.pi * i / 12)) / 2)
                for i in (1, 3, 4, 6, 11)}
    expected[12] = 0.001
    assert {i: log[i]["lr"] for i in expected} == pytest.approx(expected, rel=1e-6)
    cfg["optim"]["lr_schedule"] = "exponential"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="lr_schedule"):
        load_stage1(bad)


def test_batch_source_draws_each_mix_folder_for_its_share_and_nothing_without_one():
    from cluenet_training.datasets import batch_source

    train, a, b = object(), object(), object()
    rng = np.random.default_rng(0)
    picks = [batch_source(rng, train, [a, b], np.cumsum([0.25, 0.1])) for _ in range(8000)]
    shares = [sum(p is x for p in picks) / len(picks) for x in (a, b, train)]
    assert shares == pytest.approx([0.25, 0.1, 0.65], abs=0.015)
    # without a mix no number is drawn: the batches of runs made before mixes reproduce
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    assert batch_source(r1, train, [], np.zeros(0)) is train
    assert r1.random() == r2.random()


def test_a_mixed_run_trains_on_both_folders_and_config_refuses_bad_shares(data, tmp_path, monkeypatch):
    import cluenet_training.stage1 as s1

    assert cluenet(["synth", "--out", str(data / "synth_big"), "--images", "4", "--seed", "4", "--size", "320x160",
                    "--people", "1-2"]) == 0
    path = stage1_config(data, "s1_mix", 10, log_every=1)
    cfg = yaml.safe_load(path.read_text())
    # the mix folder at half size: its 320x160 scenes train as 160x80 ones, the others keep theirs
    cfg["train_mix"] = [{"data": {"format": "split", "root": str(data / "synth_big" / "train")}, "share": 0.5,
                         "scale": 0.5}]
    cfg["augment"] = {"scale": [1.0, 1.0], "hflip": 0.5}
    path.write_text(yaml.safe_dump(cfg))
    widths, out_widths = [], []
    real_sample = s1.stage1_sample

    def spy(record, *args, **kwargs):
        widths.append(record.image.shape[1])
        img, target = real_sample(record, *args, **kwargs)
        out_widths.append(img.shape[2])
        if record.image.shape[1] == 320 and len(record.boxes):    # boxes follow the image
            assert target["boxes"][:, 2].max() <= 160.5
        return img, target

    monkeypatch.setattr(s1, "stage1_sample", spy)
    assert cluenet(["train", "stage1", "--config", str(path)]) == 0
    assert len(widths) == 20 and set(widths) == {256, 320}      # 10 batches of 2, both folders drawn
    assert all(widths[i] == widths[i + 1] for i in range(0, 20, 2)), "a batch comes from one folder"
    assert [o for w, o in zip(widths, out_widths) if w == 320] == [160] * widths.count(320)
    assert [o for w, o in zip(widths, out_widths) if w == 256] == [256] * widths.count(256)
    assert (data / "s1_mix" / "last.pt").exists() and max(losses(data / "s1_mix")) == 10
    for mix, match in (([{"data": cfg["train_mix"][0]["data"], "share": 0.6}] * 2, "together below 1"),
                       ([{"data": cfg["train_mix"][0]["data"], "share": 0.0}], "above 0"),
                       ([{"data": {"format": "coco", "root": "x", "annotations": "y.json"}}], "train_mix\\[0\\]"),
                       ([{"share": 0.2}], "data: required"),
                       ([dict(cfg["train_mix"][0], scale=0.0)], "scale")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump(dict(cfg, train_mix=mix)))
        with pytest.raises(ValueError, match=match):
            load_stage1(bad)


def test_kept_norm_statistics_stay_those_of_the_initial_weights_while_the_weights_learn(data):
    """unfreeze.norm_statistics: frozen keeps every trunk batch norm's running statistics
    (here the random init's 0 and 1) through training; with 'train' they move."""
    import torch

    def trunk_after(name, norm):
        path = stage1_config(data, name, 4)
        cfg = yaml.safe_load(path.read_text())
        cfg["unfreeze"] = {"frozen_iterations": 0, "interval": 1, "norm_statistics": norm}
        path.write_text(yaml.safe_dump(cfg))
        assert cluenet(["train", "stage1", "--config", str(path)]) == 0
        state = torch.load(data / name / "last.pt", map_location="cpu", weights_only=False)["models"]["stage1"]
        return {k: v for k, v in state["state_dict"].items() if k.startswith("trunk.")}

    kept, trained = trunk_after("s1_keptnorm", "frozen"), trunk_after("s1_trainnorm", "train")
    means = [k for k in kept if k.endswith("running_mean")]
    assert len(means) > 10
    assert all(torch.equal(kept[k], torch.zeros_like(kept[k])) for k in means)
    assert all(torch.equal(kept[k.replace("mean", "var")], torch.ones_like(kept[k])) for k in means)
    assert sum(not torch.equal(trained[k], torch.zeros_like(trained[k])) for k in means) > 10
    weights = [k for k in kept if k.endswith(".weight") and "bn" in k]
    assert weights and any(not torch.equal(kept[k], torch.ones_like(kept[k])) for k in weights), "scale still learns"
    bad = data / "s1_badnorm.yaml"
    cfg = yaml.safe_load(stage1_config(data, "s1_badnorm", 1).read_text())
    cfg["unfreeze"] = {"norm_statistics": "fixed"}
    bad.write_text(yaml.safe_dump(cfg))
    with pytest.raises(ValueError, match="norm_statistics"):
        load_stage1(bad)


def test_update_norms_re_estimates_the_trained_batch_norms_on_the_runs_own_batches(data, capsys):
    """``cluenet train update-norms``: each batch norm that a run of the config trains gets the plain
    average of its batch statistics over the run's first batches (checked against the input of the
    trunk's first batch norm, captured on the same batches); every other tensor stays bit for bit,
    and norms the run keeps frozen are not touched."""
    from torch import nn

    from cluenet_ros.models.checkpoint import read_checkpoint, save_checkpoint
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_training.stage1 import batch_maker

    path = stage1_config(data, "s1_norms", 10)
    cfg = yaml.safe_load(path.read_text())
    cfg["unfreeze"] = {"frozen_iterations": 0, "interval": 1, "keep_frozen": 0}
    path.write_text(yaml.safe_dump(cfg))
    tc = load_stage1(path)
    torch.manual_seed(5)
    model = ClueNetStage1(tc.model).eval()
    for m in model.modules():  # statistics far from any image's, so that the update must move them
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.fill_(3.0)
            m.running_var.fill_(7.0)
    source = data / "norms_source.pt"
    save_checkpoint(source, {"stage1": model}, provenance={"note": "random"})

    out = data / "norms_out.pt"
    assert cluenet(["train", "update-norms", "--weights", str(source), "--config", str(path), "--out", str(out),
                    "--batches", "3"]) == 0
    assert "over 6 images (3 batches)" in capsys.readouterr().out
    after = read_checkpoint(out)
    assert after["provenance"]["note"] == "random" and after["provenance"]["norm_update"]["batches"] == 3
    new, old = after["models"]["stage1"]["state_dict"], model.state_dict()
    stats = [k for k in old if k.endswith(("running_mean", "running_var", "num_batches_tracked"))]
    assert len(stats) > 30
    assert all(torch.equal(new[k], old[k]) for k in old if k not in stats), "only statistics change"
    assert all(int(new[k]) == 3 for k in stats if k.endswith("num_batches_tracked"))

    first = next(n for n, m in model.trunk.named_modules() if isinstance(m, nn.BatchNorm2d))
    seen = []
    hook = dict(model.trunk.named_modules())[first].register_forward_pre_hook(lambda _, x: seen.append(x[0]))
    make_batch = batch_maker(tc)
    with torch.no_grad():
        for it in range(3):
            model([b[0] for b in make_batch(it)])
    hook.remove()
    mean = torch.stack([x.mean(dim=(0, 2, 3)) for x in seen]).mean(0)
    var = torch.stack([x.transpose(0, 1).flatten(1).var(dim=1, unbiased=True) for x in seen]).mean(0)
    key = f"trunk.{first}"
    assert torch.allclose(new[f"{key}.running_mean"], mean, atol=1e-4)
    assert torch.allclose(new[f"{key}.running_var"], var, rtol=1e-3)

    # the same run with its trunk frozen to the end: the trunk's norms keep their statistics
    cfg["unfreeze"] = {"frozen_iterations": 20, "interval": 4}
    path.write_text(yaml.safe_dump(cfg))
    assert cluenet(["train", "update-norms", "--weights", str(source), "--config", str(path), "--out", str(out),
                    "--batches", "1"]) == 0
    new = read_checkpoint(out)["models"]["stage1"]["state_dict"]
    trunk = [k for k in stats if k.startswith("trunk.") and not k.endswith("num_batches_tracked")]
    rest = [k for k in stats if not k.startswith("trunk.") and not k.endswith("num_batches_tracked")]
    assert trunk and rest
    assert all(torch.equal(new[k], old[k]) for k in trunk)
    assert all(not torch.equal(new[k], old[k]) for k in rest)
    capsys.readouterr()
    assert cluenet(["train", "update-norms", "--weights", str(source), "--config", str(path), "--out", str(out),
                    "--batches", "0"]) != 0
    assert "batches must be at least 1" in capsys.readouterr().err


def test_paper_configs_load():
    repo = Path(__file__).resolve().parents[1] / "training" / "configs"
    s1 = load_stage1(repo / "stage1_paper.yaml")
    assert (s1.model.trunk, s1.optim.lr, s1.optim.momentum, s1.optim.lr_step, s1.model.loss_lambda) == \
        ("resnet50", 0.01, 0.9, 15000, 1.0)
    assert s1.unfreeze.frozen_iterations == 10000 and s1.augment.scale == (0.8, 1.2) and s1.augment.hflip == 0.3
    s2 = load_stage2(repo / "stage2_paper.yaml")
    assert s2.mask_and_predict.max_fraction == 0.7 and s2.domain_adaptation.enabled
    assert s2.augment.hflip == 0.3 and s2.optim.lr == 0.01
    for name in ("stage1_small_cpu.yaml", "stage2_small_cpu.yaml"):
        (load_stage1 if "stage1" in name else load_stage2)(repo / name)


def test_stage1_then_stage2_give_a_pipeline_checkpoint_and_losses_fall(data):
    assert cluenet(["train", "stage1", "--config", str(stage1_config(data, "s1", 30))]) == 0
    log = losses(data / "s1")
    assert sorted(log) == list(range(1, 31))
    first = np.mean([log[i]["loss_total"] for i in range(1, 6)])
    last = np.mean([log[i]["loss_total"] for i in range(26, 31)])
    assert last < 0.7 * first
    # gradual unfreezing followed the config: 5 frozen for 6 iterations, then one stage per 4
    assert [int(log[i]["frozen_stages"]) for i in (1, 6, 7, 10, 11, 30)] == [5, 5, 4, 4, 3, 0]
    # the logged learning rate (the one the next iteration uses) follows the config:
    # lr 0.01, warm-up from lr/10 over 4 iterations, divided by 10 at iteration 25
    expected = {1: 0.01 * (0.1 + 0.9 / 4), 2: 0.01 * (0.1 + 0.9 / 2), 3: 0.01 * (0.1 + 0.9 * 3 / 4), 4: 0.01,
                24: 0.01, 25: 0.001, 30: 0.001}
    assert {i: log[i]["lr"] for i in expected} == pytest.approx(expected, rel=1e-6)
    assert (data / "s1" / "last.pt").is_file() and (data / "s1" / "tensorboard").is_dir()

    cfg2 = stage2_config(data, "s2", 20, stage1=str(data / "s1" / "last.pt"))
    assert cluenet(["train", "stage2", "--config", str(cfg2)]) == 0
    log2 = losses(data / "s2")
    assert np.mean([log2[i]["loss_pose"] for i in range(16, 21)]) < 0.7 * np.mean([log2[i]["loss_pose"] for i in range(1, 6)])
    assert {i: log2[i]["lr"] for i in (1, 2, 4, 20)} == pytest.approx(
        {1: 0.01 * (0.1 + 0.9 / 4), 2: 0.01 * (0.1 + 0.9 / 2), 4: 0.01, 20: 0.01}, rel=1e-6)
    for i in (1, 10, 20):  # the Mask-and-Predict curriculum followed the config
        assert log2[i]["occlusion_max"] == pytest.approx(occlusion_fraction(i - 1, 20, 0.7))
    assert {"loss_domain_c", "loss_domain_e"} <= set(log2[20])
    # validation at several hidden shares, each logged to TensorBoard; best.pt on their mean
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(data / "s2" / "tensorboard")).Reload()
    val = {tag: events.Scalars(tag)[-1].value for tag in events.Tags()["scalars"] if tag.startswith("val/")}
    assert set(val) == {"val/ap_0", "val/ap_30", "val/ap_50", "val/ap_70", "val/ap_mean"}
    assert val["val/ap_mean"] == pytest.approx(np.mean([val[f"val/ap_{p}"] for p in (0, 30, 50, 70)]), abs=1e-6)
    best = torch.load(data / "s2" / "best.pt", weights_only=True)["training"]
    assert best["iteration"] == 20 and best["best"] == pytest.approx(val["val/ap_mean"], abs=1e-6)
    pipe = ClueNetPipeline.from_checkpoint(data / "s2" / "cluenet.pt",
                                           PipelineConfig(device="cpu", score_threshold=0.0, max_detections=3))
    res = pipe(np.zeros((128, 256, 3), np.uint8))
    assert res.keypoints.shape[1:] == (13, 3)

    # combine: an fp16 pipeline checkpoint that records where both stages came from
    half = data / "combined_half.pt"
    assert cluenet(["train", "combine", "--stage1", str(data / "s1" / "last.pt"), "--stage2",
                    str(data / "s2" / "last.pt"), "--half", "--out", str(half)]) == 0
    prov = torch.load(half, weights_only=True)["provenance"]
    assert prov["half"] is True and prov["stage1"]["iteration"] == 30 and prov["stage2"]["iteration"] == 20
    assert prov["stage1"]["train_config"]["run"]["out_dir"] == str(data / "s1")
    assert prov["stage2"]["train_config"]["mask_and_predict"]["max_fraction"] == 0.7
    assert half.stat().st_size < 0.6 * (data / "s2" / "cluenet.pt").stat().st_size
    ClueNetPipeline.from_checkpoint(half, PipelineConfig(device="cpu"))
    # a stage taken from a combined file keeps the provenance recorded there; --note is kept
    again = data / "recombined.pt"
    assert cluenet(["train", "combine", "--stage1", str(data / "s1" / "last.pt"), "--stage2", str(half),
                    "--half", "--note", "stage 1 re-trained", "--out", str(again)]) == 0
    prov2 = torch.load(again, weights_only=True)["provenance"]
    assert prov2["note"] == "stage 1 re-trained" and prov2["stage2"]["via"] == str(half)
    assert prov2["stage2"]["iteration"] == 20 and prov2["stage2"]["train_config"] == prov["stage2"]["train_config"]


def test_killed_run_resumes_with_the_same_losses(data):
    straight = stage1_config(data, "straight", 20)
    assert subprocess.run(train_cmd("stage1", straight), capture_output=True).returncode == 0
    killed = stage1_config(data, "killed", 20, log_every=1)  # every record flushed before the kill
    proc = subprocess.Popen(train_cmd("stage1", killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpt = data / "killed" / "last.pt"
    deadline = time.monotonic() + 120
    while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    time.sleep(0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    stopped_at = torch.load(ckpt, weights_only=True)["training"]["iteration"]
    assert 5 <= stopped_at < 20, "the run was not killed mid-way"
    logged = [json.loads(line)["iteration"] for line in (data / "killed" / "losses.jsonl").read_text().splitlines()]
    stale = data / "killed" / ".last.pt.k1ll3d.tmp"  # what a kill inside atomic_save leaves
    stale.write_bytes(b"partial")
    assert subprocess.run(train_cmd("stage1", killed, "--resume"), capture_output=True).returncode == 0
    assert not list((data / "killed").glob(".*.tmp"))
    iterations = [json.loads(line)["iteration"] for line in (data / "killed" / "losses.jsonl").read_text().splitlines()]
    assert iterations == list(range(1, 21)), f"logged {logged[-3:]} before the kill at checkpoint {stopped_at}"
    a, b = losses(data / "straight"), losses(data / "killed")
    assert sorted(a) == sorted(b) == list(range(1, 21))
    for i in range(1, 21):
        for key in ("loss_total", "loss_seg", "loss_det", "lr", "frozen_stages"):
            assert b[i][key] == pytest.approx(a[i][key], rel=1e-5, abs=1e-7), (i, key)


def test_stage2_resume_continues_identically(data):
    assert cluenet(["train", "stage2", "--config", str(stage2_config(data, "s2a", 10))]) == 0
    part = stage2_config(data, "s2b", 5)
    assert cluenet(["train", "stage2", "--config", str(part)]) == 0
    with open(data / "s2b" / "validation.jsonl", "a") as f:  # validated after last.pt, then killed
        f.write(json.dumps({"iteration": 8, "ap_0": 0.5}) + "\n")
    assert cluenet(["train", "stage2", "--config", str(stage2_config(data, "s2b", 10)), "--resume"]) == 0
    a, b = losses(data / "s2a"), losses(data / "s2b")
    for i in range(1, 11):
        for key in ("loss_pose", "loss_domain_c", "loss_domain_e", "occlusion_max"):
            assert b[i][key] == pytest.approx(a[i][key], rel=1e-5, abs=1e-7), (i, key)
    # the validation curve in validation.jsonl (at the end of each invocation here), cut back
    # to last.pt's iteration on resume like the losses, and the same as an uninterrupted run's
    val_a, val_b = ([json.loads(line) for line in (data / run / "validation.jsonl").read_text().splitlines()]
                    for run in ("s2a", "s2b"))
    assert [r["iteration"] for r in val_a] == [10] and [r["iteration"] for r in val_b] == [5, 10]
    assert {"ap_0", "ap_30", "ap_50", "ap_70"} <= set(val_a[0])
    assert val_b[-1] == pytest.approx(val_a[-1], rel=1e-5, abs=1e-7)


def test_stage2_precise_bn_changes_only_the_statistics_it_validates_with(data):
    """precise_bn: the same run's weights and losses to the bit, and batch-norm statistics
    that are the plain average over the latest iterations' crops (re-computed here from
    those crops), written into the checkpoint that validation chose."""
    import torch
    from cluenet_training.config import load_stage2
    from cluenet_training.datasets import CocoPersons
    from cluenet_training.stage2 import Stage2Samples

    plain = stage2_config(data, "s2_plain", 10, val_every=5)
    precise = data / "s2_precise.yaml"
    cfg = yaml.safe_load(plain.read_text())
    cfg["precise_bn"] = 3
    cfg["run"]["out_dir"] = str(data / "s2_precise")
    precise.write_text(yaml.safe_dump(cfg))
    for path in (plain, precise):
        assert cluenet(["train", "stage2", "--config", str(path)]) == 0
    a, b = losses(data / "s2_plain"), losses(data / "s2_precise")
    assert all(b[i]["loss_pose"] == a[i]["loss_pose"] for i in range(1, 11))
    ca, cb = (torch.load(data / run / "last.pt", weights_only=False)["models"]["stage2"]["state_dict"]
              for run in ("s2_plain", "s2_precise"))
    stats = [k for k in ca if k.endswith(("running_mean", "running_var"))]
    assert stats and all(torch.equal(ca[k], cb[k]) for k in ca if k not in stats and "num_batches" not in k)
    assert any(not torch.allclose(ca[k], cb[k]) for k in stats)
    # the first batch norm's statistics, from the crops of iterations 7-9 (the last validation at 10)
    conf = load_stage2(precise)
    crops = Stage2Samples(CocoPersons(data / "synth" / "train" / "coco_keypoints.json", data / "synth" / "train"),
                          None, conf, 1, 7, 10)
    from cluenet_ros.models.stage2 import ClueNetStage2
    model = ClueNetStage2(conf.model)
    model.load_state_dict(cb)
    first = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    name = next(n for n, m in model.named_modules() if m is first)
    seen = []
    first.register_forward_pre_hook(lambda m, x: seen.append(x[0].mean(dim=(0, 2, 3))))
    model.train()
    with torch.no_grad():
        for k in range(3):
            model(torch.stack([crops[4 * k + i]["source"] for i in range(4)]))
    torch.testing.assert_close(cb[f"{name}.running_mean"], torch.stack(seen).mean(0), rtol=1e-4, atol=1e-6)
    assert int(cb[f"{name}.num_batches_tracked"]) == 3


def test_a_stage2_source_mix_draws_each_folder_for_its_share_of_the_crops_and_config_refuses_bad_mixes(
        data, tmp_path, monkeypatch):
    """source_mix: a training run takes crops from both folders, each crop from one folder
    (told apart by image width), the mix for about its share; bad mixes are refused on load."""
    import cluenet_training.stage2 as s2
    from cluenet_training.config import load_stage2

    assert cluenet(["synth", "--out", str(data / "synth_wide"), "--images", "3", "--seed", "6", "--size", "320x128",
                    "--people", "2-3", "--split", "s"]) == 0
    path = stage2_config(data, "s2_mix", 40)
    cfg = yaml.safe_load(path.read_text())
    cfg.update(val=None, target=None, domain_adaptation={"enabled": False},
               source_mix=[{"data": {"format": "split", "root": str(data / "synth_wide" / "s")}, "share": 0.3}])
    path.write_text(yaml.safe_dump(cfg))
    widths = []
    real_crop = s2.person_crop

    def spy(record, *args, **kwargs):
        widths.append(record.image.shape[1])
        return real_crop(record, *args, **kwargs)

    monkeypatch.setattr(s2, "person_crop", spy)
    assert cluenet(["train", "stage2", "--config", str(path)]) == 0
    assert len(widths) == 160 and set(widths) == {256, 320}                 # 40 iterations x 4 source crops
    assert widths.count(320) / len(widths) == pytest.approx(0.3, abs=0.1)
    assert max(losses(data / "s2_mix")) == 40
    mix = cfg["source_mix"][0]
    for bad_mix, match in (([mix, dict(mix, share=0.8)], "together below 1"),
                           ([dict(mix, share=0.0)], "above 0"),
                           ([dict(mix, data={"format": "citypersons", "root": "x", "annotations": "y.json"})],
                            "source_mix\\[0\\].*'coco' or 'split'"),
                           ([dict(mix, scale=0.5)], "source_mix\\[0\\].*scale")):
        bad = tmp_path / "bad.yaml"
        bad.write_text(yaml.safe_dump(dict(cfg, source_mix=bad_mix)))
        with pytest.raises(ValueError, match=match):
            load_stage2(bad)


def test_resume_refuses_another_model_and_names_other_changes(data):
    """A resumed run continues what it started: another model is refused (naming the
    keys), any other change but the budget is logged key by key."""
    assert cluenet(["train", "stage2", "--config", str(stage2_config(data, "s2c", 5))]) == 0
    last = data / "s2c" / "last.pt"
    stamp = last.stat().st_mtime_ns
    other = stage2_config(data, "s2c", 10)
    cfg = yaml.safe_load(other.read_text())
    cfg["model"]["deconv_channels"] = 2 * cfg["model"]["deconv_channels"]
    other.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(train_cmd("stage2", other, "--resume"), capture_output=True, text=True, timeout=300)
    assert res.returncode == 2, res.stderr[-2000:]
    assert "model differs" in res.stderr and "model.deconv_channels" in res.stderr
    assert last.stat().st_mtime_ns == stamp
    cfg = yaml.safe_load(stage2_config(data, "s2c", 6).read_text())
    cfg["optim"]["lr"] = 0.02
    other.write_text(yaml.safe_dump(cfg))
    res = subprocess.run(train_cmd("stage2", other, "--resume"), capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr[-2000:]
    changed = [line for line in res.stderr.splitlines() if "changed config" in line]
    assert len(changed) == 1 and changed[0].endswith("optim.lr: 0.01 -> 0.02"), res.stderr[-2000:]
    assert torch.load(last, weights_only=True)["training"]["iteration"] == 6


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_ddp(data: Path, stage: str, cfg: Path) -> None:
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(free_port()), "-m", "cluenet_training.cli", stage, "--config", str(cfg)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


def test_two_process_ddp_on_cpu_stage1(data):
    cfg = stage1_config(data, "ddp_stage1", 4)
    run_ddp(data, "stage1", cfg)
    state = torch.load(data / "ddp_stage1" / "last.pt", weights_only=True)
    assert state["training"]["world_size"] == 2 and state["training"]["iteration"] == 4
    assert sorted(losses(data / "ddp_stage1")) == [1, 2, 3, 4]  # rank 0 logs once per iteration


def test_one_ddp_step_on_two_processes_equals_one_process_on_the_joined_batch(data):
    """Stage 2, one iteration on 2 processes x 2 people against one process on the 4
    people together (the per-sample loader gives them exactly those samples), computed
    here by hand: each process's half has its own BatchNorm statistics (no SyncBN on
    CPU), gradients are the mean of the halves', C steps first, then <E, D>."""
    from torch.func import functional_call

    from cluenet_ros.models.heatmaps import gaussian_targets
    from cluenet_ros.models.stage2 import ClueNetStage2, domain_classifier_loss, encoder_adversarial_loss, pose_loss
    from cluenet_training import engine
    from cluenet_training.stage2 import Stage2Samples, make_optimizers, sample_loader, source_dataset, target_dataset

    path = stage2_config(data, "ddp_stage2", 1, batch_size=2, val_every=1000)
    run_ddp(data, "stage2", path)
    state = torch.load(data / "ddp_stage2" / "last.pt", weights_only=True)
    assert state["training"]["world_size"] == 2 and state["training"]["iteration"] == 1

    cfg = load_stage2(path)
    torch.manual_seed(cfg.run.seed)
    model = ClueNetStage2(cfg.model).train()
    opt_model, opt_cls = make_optimizers(model, cfg)
    o = cfg.optim
    for opt in (opt_model, opt_cls):  # the schedule's first factor (warm-up)
        for grp in opt.param_groups:
            grp["lr"] *= learning_rate(0, 1.0, o.lr_step, o.lr_gamma, o.warmup_iterations)
    # one process with the joined batch of 4 = the two processes' samples, interleaved
    joined_cfg = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, batch_size=4))
    samples = Stage2Samples(source_dataset(cfg.source), target_dataset(cfg.target), joined_cfg, 1, 0, 1)
    ((_, joined),) = list(sample_loader(samples, 4, engine.Process(0, 1, torch.device("cpu")), 0))
    halves = [{k: v[r::2] for k, v in joined.items()} for r in (0, 1)]
    feats = []
    for h in halves:
        x = torch.cat([model.normalize(h["source"]), model.normalize(h["target"])])
        feats.append(model.encoder(x))
    logits = [model.domain_classifier(f.detach()) for f in feats]
    loss_c = sum(domain_classifier_loss(lg[:2], lg[2:]) for lg in logits) / 2
    opt_cls.zero_grad()
    loss_c.backward()
    opt_cls.step()
    c_new = {k: v.detach() for k, v in model.domain_classifier.named_parameters()}
    total = 0
    for h, f in zip(halves, feats):
        heat, weight = gaussian_targets(h["keypoints"], cfg.model.heatmap_size, cfg.model.heatmap_stride,
                                        cfg.model.heatmap_sigma)
        adv = encoder_adversarial_loss(functional_call(model.domain_classifier, c_new, (f[2:],)))
        da = cfg.domain_adaptation  # balance "paper": eq. 4 sums over keypoints x heatmap pixels
        w = da.weight / heat[0].numel() if da.balance == "paper" else da.weight
        total = total + (pose_loss(model.decoder(f[:2]), heat, weight) + w * adv) / 2
    opt_model.zero_grad()
    total.backward()
    torch.nn.utils.clip_grad_norm_(opt_model.param_groups[0]["params"], o.grad_clip)
    opt_model.step()
    ddp = state["models"]["stage2"]["state_dict"]
    params = dict(model.named_parameters())
    assert params
    for name, p in params.items():
        torch.testing.assert_close(ddp[name], p.detach(), rtol=1e-4, atol=1e-6, msg=name)
    # and the step really moved every player
    torch.manual_seed(cfg.run.seed)
    init = ClueNetStage2(cfg.model).state_dict()
    for part in ("encoder.", "decoder.", "domain_classifier."):
        assert any(not torch.equal(init[k], ddp[k]) for k in params if k.startswith(part)), part


def test_stage2_without_its_stage1_checkpoint_yet_keeps_training(tmp_path, caplog):
    """Stage 2 may train beside stage 1: a missing stage-1 file skips the combined
    checkpoint with a warning (and the command to combine later) instead of failing."""
    from cluenet_ros.models import ClueNetStage2
    from cluenet_training.config import DomainAdaptationConfig, Stage2TrainConfig
    from cluenet_training.stage2 import COMBINED, write_combined
    from conftest import tiny_stage2_config

    cfg = Stage2TrainConfig(model=tiny_stage2_config(), stage1_checkpoint=str(tmp_path / "stage1" / "best.pt"),
                            domain_adaptation=DomainAdaptationConfig(enabled=False))
    with caplog.at_level("WARNING"):
        write_combined(cfg, ClueNetStage2(cfg.model), tmp_path)
    assert not (tmp_path / COMBINED).exists()
    assert "does not exist (yet)" in caplog.text and "cluenet train combine" in caplog.text


def test_optimizer_choice_and_mobilenet_bn_follow_the_weights():
    from torch import nn

    from cluenet_ros.models.trunk import Trunk
    from cluenet_training.config import OptimConfig
    from cluenet_training.engine import make_optimizer

    p = [nn.Parameter(torch.zeros(3))]
    adam = make_optimizer(p, OptimConfig(optimizer="adam", lr=0.001, weight_decay=0.0))
    sgd = make_optimizer(p, OptimConfig(lr=0.02, momentum=0.8), lr=0.5)
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["lr"] == 0.001
    assert isinstance(sgd, torch.optim.SGD) and sgd.param_groups[0]["lr"] == 0.5
    assert sgd.param_groups[0]["momentum"] == 0.8
    # torchvision's MobileNetV3 BN momentum (0.01) leaves eval-mode statistics far
    # behind the weights in short runs from scratch; the trunk uses PyTorch's 0.1
    bns = [m for m in Trunk("mobilenet_v3_large", "from_checkpoint").modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and all(m.momentum == 0.1 for m in bns)


def test_best_logit_threshold_is_the_iou_optimal_cut():
    from cluenet_training.calibrate import best_logit_threshold

    logits = np.array([-3.0, -2.0, -1.5, -1.0, -0.5, -4.0])
    target = np.array([False, True, True, True, False, False])
    t, iou = best_logit_threshold(logits, target)
    assert t == pytest.approx(-2.5) and iou == pytest.approx(3 / 4)   # the 4 highest predicted: 3 hits
    pred = logits > t
    assert (pred & target).sum() / (pred | target).sum() == pytest.approx(iou)


def test_calibrate_mask_moves_the_cut_to_one_half(data, tmp_path):
    """A stage 1 whose mask never reaches 0.5 gets its bias shifted; the pipeline's
    0.5 cut then gives the IoU-optimal mask, and nothing else of the model changes."""
    from cluenet_ros.models.checkpoint import load_models, save_checkpoint
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_training.datasets import SplitStage1
    from conftest import tiny_stage1_config

    torch.manual_seed(0)
    model = ClueNetStage1(tiny_stage1_config()).eval()
    with torch.no_grad():
        model.seg_decoder.body[-1].bias.fill_(-6.0)  # probabilities far below 0.5 everywhere
    save_checkpoint(tmp_path / "s1.pt", {"stage1": model})
    val = data / "synth" / "train"
    assert cluenet(["train", "calibrate-mask", "--weights", str(tmp_path / "s1.pt"), "--data", str(val),
                    "--out", str(tmp_path / "cal.pt"), "--max-images", "4"]) == 0
    prov = torch.load(tmp_path / "cal.pt", weights_only=True)["provenance"]["mask_calibration"]
    assert prov["val_iou_at_0.5_before"] == 0.0 and prov["val_iou_at_0.5_after"] > 0.0
    cal = load_models(tmp_path / "cal.pt", ("stage1",))["stage1"].eval()
    assert cal.seg_decoder.body[-1].bias.item() == pytest.approx(-6.0 - prov["logit_shift"], abs=1e-5)
    same = {k: v for k, v in cal.state_dict().items() if not k.startswith("seg_decoder.body.")}
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in same.items())
    rec = SplitStage1(val)[0]
    x = torch.from_numpy(rec.image).permute(2, 0, 1).float() / 255
    with torch.no_grad():
        p_old, p_new = model([x])[0]["mask"], cal([x])[0]["mask"]
    logit_old = torch.logit(p_old.double().clamp(1e-7, 1 - 1e-7))
    agree = ((p_new > 0.5) == (logit_old > prov["logit_shift"])).float().mean().item()
    assert agree > 0.999


def test_validation_keeps_the_best_and_checkpoints_on_schedule(tmp_path):
    """The end-of-iteration rule every trainer shares: best.pt only when the score
    improves in the trainer's direction, last.pt every checkpoint_every and at the end."""
    import operator

    from cluenet_training import engine
    from cluenet_training.config import RunConfig

    class Scalars:
        def __init__(self):
            self.logged = []

        def scalars(self, tag, metrics, step):
            self.logged.append((tag, step, metrics["mr"]))

    run = RunConfig(iterations=6, val_every=2, checkpoint_every=3)
    proc = engine.Process(rank=0, world=1, device=torch.device("cpu"))
    miss_rates = iter([0.8, 0.9, 0.5])  # validations at 2, 4, 6: worse at 4
    saved, logger = [], Scalars()
    best, per_iteration = float("inf"), []
    for done in range(1, 7):
        best, written = engine.validate_and_checkpoint(
            done, run, proc, logger, tmp_path, lambda: {"mr": next(miss_rates)}, lambda m: m["mr"],
            operator.lt, best, lambda path, it, b: saved.append((path.name, it, b)))
        per_iteration.append(written)
    assert saved == [("best.pt", 2, 0.8), ("last.pt", 3, 0.8), ("best.pt", 6, 0.5), ("last.pt", 6, 0.5)]
    assert per_iteration == [set(), {"best.pt"}, {"last.pt"}, set(), set(), {"best.pt", "last.pt"}]
    assert [s for _, s, _ in logger.logged] == [2, 4, 6] and best == 0.5
    # without validation data only last.pt is written; another rank writes nothing
    saved.clear()
    for done in range(1, 7):
        engine.validate_and_checkpoint(done, run, proc, logger, tmp_path, None, None, operator.gt, 0.0,
                                       lambda path, it, b: saved.append((path.name, it)))
        engine.validate_and_checkpoint(done, run, engine.Process(rank=1, world=1, device=torch.device("cpu")),
                                       logger, tmp_path, None, None, operator.gt, 0.0,
                                       lambda path, it, b: saved.append(("rank1", it)))
    assert saved == [("last.pt", 3), ("last.pt", 6)]


def test_run_init_starts_from_a_checkpoint_and_refuses_another_architecture(tmp_path):
    """`run.init` (fine-tuning): every tensor of the named model is taken over, in the
    model's own dtype (the demo weights are fp16); another architecture is refused
    with the mismatching keys named, never loaded in part."""
    from cluenet_ros.models.checkpoint import CheckpointError, save_checkpoint
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_training import engine
    from conftest import tiny_stage1_config

    torch.manual_seed(1)
    source = ClueNetStage1(tiny_stage1_config())
    save_checkpoint(tmp_path / "src.pt", {"stage1": source}, half=True)
    torch.manual_seed(2)
    target = ClueNetStage1(tiny_stage1_config())
    engine.init_from(target, tmp_path / "src.pt", "stage1")
    for k, v in target.state_dict().items():
        assert v.dtype == source.state_dict()[k].dtype
        if v.dtype.is_floating_point:
            assert torch.equal(v, source.state_dict()[k].half().to(v.dtype)), k
    other = ClueNetStage1(tiny_stage1_config(inception_channels=48))
    with pytest.raises(CheckpointError, match="does not fit model.*other shape"):
        engine.init_from(other, tmp_path / "src.pt", "stage1")
    with pytest.raises(CheckpointError, match="no stage2 model"):
        engine.init_from(other, tmp_path / "src.pt", "stage2")


def test_a_run_with_background_plates_trains_on_the_pasted_images(data, tmp_path):
    """augment.background_plate reaches the trainer: same seed and scenes, losses that
    differ from the run without plates from the first batch on, and a run that finishes."""
    import cv2

    plates = tmp_path / "plates"
    plates.mkdir()
    g = np.random.default_rng(0)
    for i in range(2):
        assert cv2.imwrite(str(plates / f"p{i}.png"), g.integers(0, 255, (90, 160, 3), dtype=np.uint8))
    runs = {}
    for name, aug in (("s1_noplates", {}), ("s1_plates", {"background_plate": 1.0,
                                                          "background_plate_dirs": [str(plates)]})):
        path = stage1_config(data, name, 4, log_every=1)
        cfg = yaml.safe_load(path.read_text())
        cfg["augment"] = aug
        path.write_text(yaml.safe_dump(cfg))
        assert cluenet(["train", "stage1", "--config", str(path)]) == 0
        runs[name] = [json.loads(line) for line in (data / name / "losses.jsonl").read_text().splitlines()]
        assert (data / name / "last.pt").is_file()
    a, b = (np.array([r["loss_total"] for r in runs[n] if "loss_total" in r]) for n in ("s1_noplates", "s1_plates"))
    assert len(a) == len(b) == 4 and np.isfinite(b).all()
    assert not np.allclose(a[0], b[0])
