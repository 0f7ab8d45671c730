"""A rosbags typestore that also knows vision_msgs and cluenet_msgs.

rosbags ships the standard ROS 2 messages but not these two packages; their
definitions are read from the installed interface packages (share/<pkg>/msg),
so the bag's schemas are exactly the ones the node publishes with.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore

EXTRA_PACKAGES = ("vision_msgs", "cluenet_msgs")


@lru_cache(maxsize=1)
def typestore():
    from ament_index_python.packages import get_package_share_directory

    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for pkg in EXTRA_PACKAGES:
        for msg in sorted((Path(get_package_share_directory(pkg)) / "msg").glob("*.msg")):
            types.update(get_types_from_msg(msg.read_text(), f"{pkg}/msg/{msg.stem}"))
    store.register(types)
    return store
