"""Two-stage ClueNet inference as a plain Python API (numpy in, numpy out, no ROS)."""
from cluenet_ros.inference.pipeline import ClueNetPipeline, FrameResult, PipelineConfig

__all__ = ["ClueNetPipeline", "FrameResult", "PipelineConfig"]
