"""tools/weight_soup.py: the soup's weights are the mean of its ingredients', it loads
as a stage 1, and checkpoints of another architecture are refused."""
from __future__ import annotations

import importlib.util

import torch

from conftest import REPO, tiny_stage1_config


def _tool():
    spec = importlib.util.spec_from_file_location("weight_soup", REPO / "tools" / "weight_soup.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _save(path, seed, **overrides):
    from cluenet_ros.models.checkpoint import save_checkpoint
    from cluenet_ros.models.stage1 import ClueNetStage1

    torch.manual_seed(seed)
    model = ClueNetStage1(tiny_stage1_config(**overrides))
    with torch.no_grad():
        for buf in model.buffers():
            if buf.is_floating_point():
                buf.uniform_(0.5, 1.5)  # running statistics differ between ingredients too
    save_checkpoint(path, {"stage1": model})
    return model.state_dict()


def test_soup_is_the_mean_and_loads_as_a_stage1(tmp_path, capsys):
    from cluenet_ros.models.checkpoint import load_models

    a = _save(tmp_path / "a.pt", 1)
    b = _save(tmp_path / "b.pt", 2)
    c = _save(tmp_path / "c.pt", 3)
    out = tmp_path / "soup.pt"
    assert _tool().main([str(out), str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), str(tmp_path / "c.pt")]) == 0
    soup = load_models(out, ("stage1",))["stage1"].state_dict()
    checked = 0
    for k, v in soup.items():
        if v.is_floating_point():
            assert torch.allclose(v, (a[k] + b[k] + c[k]) / 3, atol=1e-6), k
            checked += 1
        else:
            assert torch.equal(v, a[k]), k
    assert checked > 50
    key = next(k for k, v in soup.items() if k.endswith("weight") and v.is_floating_point())
    assert not torch.allclose(soup[key], a[key])  # it is not just the first ingredient
    payload = torch.load(out, weights_only=True)
    assert payload["provenance"]["soup"]["ingredients"] == [str(tmp_path / n) for n in ("a.pt", "b.pt", "c.pt")]
    assert [o["file"] for o in payload["provenance"]["soup"]["origins"]] == payload["provenance"]["soup"]["ingredients"]


def test_provenance_keeps_each_ingredients_training(tmp_path):
    _save(tmp_path / "a.pt", 1)
    b = torch.load(_save_path(tmp_path / "b.pt", 2), weights_only=True)
    b["train_config"] = {"run": {"seed": 7, "iterations": 40}}
    b["training"] = {"iteration": 40}
    torch.save(b, tmp_path / "b.pt")
    payload = _tool().soup([tmp_path / "a.pt", tmp_path / "b.pt"])
    first, second = payload["provenance"]["soup"]["origins"]
    assert "train_config" not in first
    assert second["train_config"]["run"]["seed"] == 7 and second["iteration"] == 40


def _save_path(path, seed):
    _save(path, seed)
    return path


def test_other_architecture_and_self_overwrite_are_refused(tmp_path, capsys):
    _save(tmp_path / "a.pt", 1)
    _save(tmp_path / "wide.pt", 2, seg_width=16)
    tool = _tool()
    assert tool.main([str(tmp_path / "s.pt"), str(tmp_path / "a.pt"), str(tmp_path / "wide.pt")]) == 2
    assert "does not match" in capsys.readouterr().err and not (tmp_path / "s.pt").exists()
    assert tool.main([str(tmp_path / "a.pt"), str(tmp_path / "a.pt"), str(tmp_path / "a.pt")]) == 2
    assert "overwrite" in capsys.readouterr().err
    assert tool.main([str(tmp_path / "s.pt"), str(tmp_path / "a.pt")]) == 2
    assert "at least two" in capsys.readouterr().err


def test_start_is_recorded_not_averaged_and_must_be_every_init(tmp_path, capsys):
    from cluenet_ros.models.checkpoint import load_models

    start = tmp_path / "start.pt"
    _save(start, 0)
    s = torch.load(start, weights_only=True)
    s["provenance"] = {"stage1": {"history": "the start's own chain"}, "note": "how the start was made"}
    torch.save(s, start)
    states = []
    for name, seed in (("a.pt", 1), ("b.pt", 2)):
        states.append(_save(tmp_path / name, seed))
        ck = torch.load(tmp_path / name, weights_only=True)
        ck["train_config"] = {"run": {"seed": seed, "init": str(start)}}
        torch.save(ck, tmp_path / name)
    tool = _tool()
    out = tmp_path / "soup.pt"
    assert tool.main([str(out), str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--start", str(start)]) == 0
    soup = load_models(out, ("stage1",))["stage1"].state_dict()
    key = next(k for k, v in soup.items() if k.endswith("weight") and v.is_floating_point())
    assert torch.allclose(soup[key], (states[0][key] + states[1][key]) / 2, atol=1e-6)  # the start is not in it
    record = torch.load(out, weights_only=True)["provenance"]["soup"]
    assert record["start"]["file"] == str(start) and record["start"]["note"] == "how the start was made"
    assert record["start"]["provenance"] == {"history": "the start's own chain"} and len(record["origins"]) == 2
    other = tmp_path / "other.pt"
    _save(other, 9)
    assert tool.main([str(tmp_path / "s2.pt"), str(tmp_path / "a.pt"), str(tmp_path / "b.pt"), "--start", str(other)]) == 2
    assert "not from the start" in capsys.readouterr().err and not (tmp_path / "s2.pt").exists()
