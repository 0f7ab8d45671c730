"""cluenet_ros: ClueNet pedestrian detection, segmentation and occlusion-aware pose.

Layout: ``models`` and ``inference`` are plain PyTorch and know nothing of ROS;
``ros`` is the thin node layer on top of ``inference``.
"""
from cluenet_ros._environment import ensure_ament_prefix

__version__ = "0.1.0"

ensure_ament_prefix()
