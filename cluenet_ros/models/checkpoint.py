"""Checkpoint files holding one or more ClueNet networks with their configs.

A checkpoint is a ``torch.save`` dict::

    {"format": "cluenet-checkpoint", "version": 1,
     "models": {"stage1": {"config": {...}, "state_dict": {...}},
                "stage2": {...}},
     ...extra entries (training state, provenance)}

It is written atomically (temporary file in the same folder, fsync, rename) so a
crash never leaves a half-written file where a good one was. Loading reports the
file and the problem: missing, unreadable, not a ClueNet checkpoint, or weights
that do not fit the architecture its config describes.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import nn

from cluenet_ros.config import ConfigError, from_dict, to_dict
from cluenet_ros.errors import InputError

FORMAT = "cluenet-checkpoint"
VERSION = 1


class CheckpointError(InputError, RuntimeError):
    def __init__(self, path: str | Path, problem: str):
        super().__init__(f"{path}: {problem}")
        self.path = str(path)
        self.problem = problem


def _registry() -> dict[str, tuple[type, type, str]]:
    from cluenet_ros.models.baseline import KeypointRCNNBaseline, KeypointRCNNConfig
    from cluenet_ros.models.stage1 import ClueNetStage1, Stage1Config
    from cluenet_ros.models.stage2 import ClueNetStage2, Stage2Config

    return {"stage1": (ClueNetStage1, Stage1Config, "trunk_weights"),
            "stage2": (ClueNetStage2, Stage2Config, "encoder_weights"),
            "keypointrcnn": (KeypointRCNNBaseline, KeypointRCNNConfig, "trunk_weights")}


def atomic_save(obj: Any, path: str | Path) -> None:
    """torch.save through a temporary file and a rename in the same folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_checkpoint(path: str | Path, models: Mapping[str, nn.Module], half: bool = False, **extra: Any) -> None:
    """``half`` stores floating-point weights as fp16 (half the file; loading
    converts back to the model's dtype), for checkpoints that must stay small."""
    def state(m: nn.Module) -> dict:
        sd = m.state_dict()
        return {k: (v.half() if half and v.is_floating_point() else v) for k, v in sd.items()}

    payload = {"format": FORMAT, "version": VERSION,
               "models": {name: {"config": to_dict(m.config), "state_dict": state(m)} for name, m in models.items()}}
    payload.update(extra)
    atomic_save(payload, path)


def read_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict:
    """The raw checkpoint dict, after checking that it is one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint file not found")
    try:
        # Our checkpoints hold only tensors and plain data, so the safe loader suffices.
        data = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(path, f"not a readable checkpoint (corrupt or truncated?): {first_line}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CheckpointError(path, f"not a ClueNet checkpoint (no '{FORMAT}' format tag)")
    if data.get("version") != VERSION:
        raise CheckpointError(path, f"checkpoint version {data.get('version')} is not supported "
                                    f"(this code reads version {VERSION})")
    if not isinstance(data.get("models"), dict) or not data["models"]:
        raise CheckpointError(path, "checkpoint holds no models")
    return data


def build_model(path: str | Path, name: str, entry: Mapping[str, Any]) -> nn.Module:
    """Instantiate network ``name`` from its checkpoint entry and load its weights."""
    registry = _registry()
    if name not in registry:
        raise CheckpointError(path, f"unknown model {name!r} in checkpoint")
    cls, cfg_cls, weights_field = registry[name]
    try:
        stored = entry["config"]
        if name == "stage1" and isinstance(stored, Mapping) and "trunk_norm" not in stored:
            # written before trunk_norm existed: those trunks were trained with BatchNorm2d
            stored = {**stored, "trunk_norm": "batch"}
        cfg = from_dict(cfg_cls, stored, f"{path} [{name} config]")
    except (ConfigError, KeyError) as exc:
        raise CheckpointError(path, f"{name}: bad stored config ({exc})") from None
    model = cls(dataclasses.replace(cfg, **{weights_field: "from_checkpoint"}))
    load_state(path, model, entry.get("state_dict"), name)
    model.config = cfg
    return model


def load_state(path: str | Path, model: nn.Module, state: Any, name: str) -> None:
    if not isinstance(state, Mapping):
        raise CheckpointError(path, f"{name}: no state_dict")
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        if shapes:
            parts.append(f"shape mismatch {len(shapes)} (e.g. {'; '.join(shapes[:3])})")
        raise CheckpointError(path, f"{name}: weights do not fit the model: " + ", ".join(parts))
    model.load_state_dict(state)


def load_models(path: str | Path, names: tuple[str, ...] | None = None,
                map_location: str | torch.device = "cpu") -> dict[str, nn.Module]:
    data = read_checkpoint(path, map_location)
    wanted = names or tuple(data["models"])
    absent = [n for n in wanted if n not in data["models"]]
    if absent:
        raise CheckpointError(path, f"checkpoint has no {', '.join(absent)} "
                                    f"(it holds {', '.join(data['models'])})")
    return {n: build_model(path, n, data["models"][n]) for n in wanted}
