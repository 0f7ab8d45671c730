#!/usr/bin/env python3
"""A "soup" of stage-1 checkpoints: the element-wise mean of the weights of models
fine-tuned from one start (issue 18, session 26).

Averaging fine-tunes of a shared start lands in a flatter region than any one of them
and is known to carry better to data none of them was trained on (Wortsman et al.
2022, "model soups"; Cha et al. 2021, SWAD), which is the synthetic-to-real gap here.
It costs no training: the project already holds several fine-tunes of the shipped
stage 1 (sessions 23-25). Every floating-point tensor is averaged, BatchNorm running
statistics included (the models share a start, so their statistics are close);
integer counters are taken from the first checkpoint, as is the stored configuration
(the first should be the start: later ones may differ in training-only options such
as ``roi.hard_negative_fraction``, which a soup does not have).

    tools/weight_soup.py OUT.pt A.pt B.pt [C.pt ...] [--start START.pt]

``--start`` names the shared start when it is not itself an ingredient (a soup of fine-tunes
alone, session 37): its provenance and note are kept under ``soup.start``, so the chain back
to the first training survives, and every ingredient trained from an ``init`` must have been
trained from that very file. Its weights are not averaged in.

Reads training checkpoints and pipeline files alike (their ``stage1`` entry) and
writes a stage-1 checkpoint that ``cluenet train calibrate-mask`` and ``combine`` read.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from cluenet_ros.models.checkpoint import (FORMAT, VERSION, CheckpointError, atomic_save,  # noqa: E402
                                           build_model, read_checkpoint)


def _origin(path: Path, data: dict) -> dict:
    """What each ingredient was, so that the soup's provenance keeps the whole chain:
    a training checkpoint's configuration and iteration, or a file's own provenance."""
    origin: dict = {"file": str(path)}
    if "train_config" in data:
        origin["train_config"] = data["train_config"]
        origin["iteration"] = data.get("training", {}).get("iteration")
    prov = data.get("provenance")
    if isinstance(prov, dict):
        origin["provenance"] = prov.get("stage1", prov)
        if "note" in prov:
            origin["note"] = prov["note"]
    return origin


def _start(start: Path, paths: list[Path], origins: list[dict]) -> dict:
    """The shared start's own origin, after checking that each fine-tune began from it."""
    data = read_checkpoint(start)
    for p, o in zip(paths, origins):
        init = o.get("train_config", {}).get("run", {}).get("init")
        if init is not None and Path(init).resolve() != start.resolve():
            raise CheckpointError(p, f"was trained from {init}, not from the start {start}")
    return _origin(start, data)


def soup(paths: list[Path], start: Path | None = None) -> dict:
    """The averaged stage-1 checkpoint payload."""
    if len(paths) < 2:
        raise ValueError("a soup needs at least two checkpoints")
    entries, origins = [], []
    for p in paths:
        data = read_checkpoint(p)
        if "stage1" not in data["models"]:
            raise CheckpointError(p, f"no stage1 model (it holds {', '.join(data['models'])})")
        entries.append(data["models"]["stage1"])
        origins.append(_origin(p, data))
    models = [build_model(p, "stage1", e) for p, e in zip(paths, entries)]  # checks each fits its config
    states = [m.state_dict() for m in models]
    first = states[0]
    for p, s in zip(paths[1:], states[1:]):
        bad = sorted(k for k in first if k not in s or s[k].shape != first[k].shape) + sorted(set(s) - set(first))
        if bad:
            raise CheckpointError(p, f"stage1 does not match {paths[0]}'s architecture (e.g. {', '.join(bad[:3])})")
    averaged = {}
    for k, v in first.items():
        if v.is_floating_point():
            averaged[k] = torch.stack([s[k].float() for s in states]).mean(0).to(v.dtype)
        else:
            averaged[k] = v.clone()
    record = {"ingredients": [str(p) for p in paths], "weights": "uniform", "origins": origins}
    if start is not None:
        record["start"] = _start(start, paths, origins)
    return {"format": FORMAT, "version": VERSION,
            "models": {"stage1": {"config": entries[0]["config"], "state_dict": averaged}},
            "provenance": {"soup": record}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("ingredients", type=Path, nargs="+")
    ap.add_argument("--start", type=Path, help="the fine-tunes' shared start, recorded (not averaged in)")
    a = ap.parse_args(argv)
    if a.out.resolve() in {p.resolve() for p in a.ingredients}:
        print("weight_soup: the output would overwrite an ingredient", file=sys.stderr)
        return 2
    try:
        payload = soup(a.ingredients, a.start)
    except (CheckpointError, ValueError) as e:
        print(f"weight_soup: {e}", file=sys.stderr)
        return 2
    atomic_save(payload, a.out)
    print(f"{a.out}: mean of {len(a.ingredients)} stage-1 checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
