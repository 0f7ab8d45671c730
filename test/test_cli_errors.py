"""Every ``cluenet`` command answers bad input with one line on stderr and exit
status 2, never a traceback."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch
import yaml

from cluenet_ros.cli import main as cluenet
from cluenet_ros.models.checkpoint import FORMAT, VERSION, save_checkpoint
from conftest import HELPERS, tiny_stage1_config

sys.path.insert(0, str(HELPERS))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def one_line_error(capsys, argv: list[str], expected: str) -> str:
    try:
        code = cluenet(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]  # (tqdm bars aside)
    assert code == 2, err
    assert len(lines) == 1 and "error:" in lines[0] and expected in lines[0], err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("config", [5, ["a", "list"], {5: 1}, {"trunk": 5}, {"anchor_sizes": "big"}])
def test_checkpoint_with_bad_config_types(tmp_path, capsys, config):
    bad = tmp_path / "bad.pt"
    torch.save({"format": FORMAT, "version": VERSION,
                "models": {"stage1": {"config": config, "state_dict": {}}}}, bad)
    one_line_error(capsys, ["train", "combine", "--stage1", str(bad), "--stage2", str(bad), "--out",
                            str(tmp_path / "c.pt")], "bad.pt: stage1: bad stored config")


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("cli_data")
    assert cluenet(["synth", "--out", str(root), "--images", "2", "--seed", "1", "--size", "128x64",
                    "--split", "train"]) == 0
    return root / "train"


def stage1_run(tmp_path, split, out_dir) -> Path:
    cfg = {"model": {"trunk": "resnet18", "output_stride": 32}, "train": {"format": "split", "root": str(split)},
           "run": {"out_dir": str(out_dir), "iterations": 2, "workers": 0, "batch_size": 1}}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def test_out_dir_that_cannot_be_created(tmp_path, capsys, split):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    capsys.readouterr()
    line = one_line_error(capsys, ["train", "stage1", "--config", str(stage1_run(tmp_path, split, blocker / "run"))],
                          "a_file")
    assert "Not a directory" in line or "exists" in line


def test_resume_of_a_non_training_checkpoint(tmp_path, capsys, split):
    from cluenet_ros.models.stage1 import ClueNetStage1

    out = tmp_path / "run"
    out.mkdir()
    save_checkpoint(out / "last.pt", {"stage1": ClueNetStage1(tiny_stage1_config())})  # a pipeline checkpoint
    capsys.readouterr()
    one_line_error(capsys, ["train", "stage1", "--config", str(stage1_run(tmp_path, split, out)), "--resume"],
                   "last.pt: not a training checkpoint")


def test_bag_eval_with_corrupt_weights_and_bad_rate(tmp_path, capsys):
    from test_bag import TOPIC, write_custom_bag

    bag = tmp_path / "bag"
    write_custom_bag(bag, "mcap", [1, 2])
    weights = tmp_path / "weights.pt"
    weights.write_bytes(b"\x00" * 100)
    one_line_error(capsys, ["bag", "eval", str(bag), "--image-topic", TOPIC, "--out", str(tmp_path / "ev"),
                            "--weights", str(weights)], "weights.pt: not a readable checkpoint")
    assert not (tmp_path / "ev" / "node.log").exists()  # found before any node was started
    for rate in ("abc", "nan", "-1"):
        one_line_error(capsys, ["bag", "eval", str(bag), "--image-topic", TOPIC, "--out", str(tmp_path / "ev2"),
                                "--rate", rate], "argument --rate")
    one_line_error(capsys, ["bag", "make", "--source", str(tmp_path), "--out", str(tmp_path / "b2"), "--rate", "abc"],
                   "argument --rate")
