"""Model architecture configurations from YAML: one file with ``stage1:`` and
``stage2:`` sections, shared by training configs, random-weight runs and tests."""
from __future__ import annotations

from pathlib import Path

from cluenet_ros.config import load_yaml
from cluenet_ros.models.stage1 import Stage1Config
from cluenet_ros.models.stage2 import Stage2Config


def load_model_configs(path: str | Path | None) -> tuple[Stage1Config, Stage2Config]:
    """Both stage configs from ``path``; the paper's full-size defaults without one."""
    if not path:
        return Stage1Config(), Stage2Config()
    return load_yaml(Stage1Config, path, "stage1"), load_yaml(Stage2Config, path, "stage2")
