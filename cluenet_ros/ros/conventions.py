"""What the node's output messages share, whichever way they are built (as rclpy
message objects in ``messages``, or serialised straight from the arrays in
``cdr``): one definition here keeps the two paths from drifting apart. No ROS
imports, so the encoder stays usable without rclpy."""
from __future__ import annotations

from cluenet_ros import keypoints as kp

CLASS_ID = "pedestrian"
# RGBA in [0, 1] of the skeleton markers: joints seen, joints estimated under
# occlusion, and the bones of untracked pedestrians
VISIBLE_RGBA = (0.1, 0.9, 0.2, 1.0)
OCCLUDED_RGBA = (1.0, 0.35, 0.0, 1.0)
BONE_RGBA = (0.2, 0.6, 1.0, 1.0)
# LINE_LIST vertex order of one skeleton: a0 b0 a1 b1 ... (joint indices)
BONE_ENDS = tuple(j for edge in kp.SKELETON for j in edge)


def lifetime(seconds: float) -> tuple[int, int]:
    """builtin_interfaces/Duration (sec, nanosec) of a marker lifetime in seconds."""
    return int(seconds), int((seconds % 1) * 1e9)
