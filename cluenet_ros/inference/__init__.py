"""Two-stage ClueNet inference as a plain Python API (numpy in, numpy out, no ROS).

The names are resolved on first use, so that ``cluenet_ros.inference.interface``
and the torch-free ``standalone`` pipeline can be imported without torch.
"""
from __future__ import annotations

import importlib

_WHERE = {"ClueNetPipeline": "pipeline", "FrameResult": "interface", "PipelineConfig": "interface"}

__all__ = list(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
