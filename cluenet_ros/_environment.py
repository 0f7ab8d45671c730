"""Make ament_index work in the self-contained venv with nothing sourced.

On a ROS 2 system ``setup.bash`` exports AMENT_PREFIX_PATH. In the venv made by
``make setup`` the package index lives under ``sys.prefix/share/ament_index`` (the
wheels and our generated message packages install there) and nobody exports it,
so the package adds that prefix itself, after whatever the user already set.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def ensure_ament_prefix() -> None:
    prefix = Path(sys.prefix)
    if not (prefix / "share" / "ament_index").is_dir():
        return
    current = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if str(prefix) not in current:
        current.append(str(prefix))
        os.environ["AMENT_PREFIX_PATH"] = os.pathsep.join(current)
