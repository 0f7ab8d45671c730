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


def packaged_file(relative: Path) -> Path:
    """A file installed under share/cluenet_ros (config/, models/): the ament index's
    copy where the package is installed, else the source tree's."""
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory("cluenet_ros")) / relative
    except Exception:  # not installed (a plain source checkout): the source tree's copy
        return Path(__file__).resolve().parents[1] / relative
