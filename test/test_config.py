"""YAML configuration files: ``base:`` inheritance and its errors."""
from __future__ import annotations

import pytest

from cluenet_ros.config import ConfigError, load_yaml
from cluenet_training.config import Stage2TrainConfig, load_stage2


def test_base_merges_nested_keys_and_variant_wins(tmp_path):
    (tmp_path / "run.yaml").write_text(
        "source: {format: split, root: a}\ntarget: {format: split, root: b}\n"
        "mask_and_predict: {enabled: true, max_fraction: 0.6}\n"
        "run: {iterations: 50, batch_size: 8, out_dir: runs/full}\n")
    sub = tmp_path / "ablations"
    sub.mkdir()
    (sub / "no_map.yaml").write_text("base: ../run.yaml\nmask_and_predict: {enabled: false}\n"
                                     "run: {out_dir: runs/no_map}\n")
    cfg = load_stage2(sub / "no_map.yaml")
    assert cfg.mask_and_predict.enabled is False
    assert cfg.mask_and_predict.max_fraction == 0.6      # kept from the base
    assert cfg.run.out_dir == "runs/no_map" and cfg.run.iterations == 50 and cfg.run.batch_size == 8
    assert cfg.target.root == "b"


def test_base_chain_errors_name_the_file(tmp_path):
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match="loops back"):
        load_yaml(Stage2TrainConfig, tmp_path / "a.yaml")
    (tmp_path / "c.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(ConfigError, match="missing.yaml: cannot read"):
        load_yaml(Stage2TrainConfig, tmp_path / "c.yaml")
    (tmp_path / "d.yaml").write_text("base: [1, 2]\n")
    with pytest.raises(ConfigError, match="'base' must be"):
        load_yaml(Stage2TrainConfig, tmp_path / "d.yaml")
    (tmp_path / "e.yaml").write_text("base: f.yaml\n")
    (tmp_path / "f.yaml").write_text("run: {iterationz: 3}\n")
    with pytest.raises(ConfigError, match="iterationz"):
        load_yaml(Stage2TrainConfig, tmp_path / "e.yaml")


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf"])
def test_non_finite_numbers_are_rejected(tmp_path, value):
    (tmp_path / "run.yaml").write_text("source: {format: split, root: a}\ntarget: {format: split, root: b}\n"
                                       f"optim: {{lr: {value}}}\n")
    with pytest.raises(ConfigError, match="optim.lr: .*(NaN|not a finite number)"):
        load_stage2(tmp_path / "run.yaml")


def test_differences_name_every_changed_leaf():
    from cluenet_ros.config import differences

    a = {"model": {"encoder": "resnet18", "sizes": [64, 64]}, "optim": {"lr": 0.01}, "extra": {}}
    b = {"model": {"encoder": "resnet50", "sizes": [64, 64]}, "optim": {"lr": 0.01, "momentum": 0.9}, "extra": {}}
    assert differences(a, b) == {"model.encoder": ("resnet18", "resnet50"), "optim.momentum": (None, 0.9)}
    assert differences(a, a) == {} and differences(None, {"x": 1}) == {"x": (None, 1)}
