"""Tracking of the pipeline's pedestrians across frames (no ROS)."""
from cluenet_ros.tracking.byte_tracker import ByteTracker, TrackerConfig, iou_matrix  # noqa: F401
from cluenet_ros.tracking.one_euro import OneEuroFilter  # noqa: F401
from cluenet_ros.tracking.pedestrians import PedestrianTracker  # noqa: F401
