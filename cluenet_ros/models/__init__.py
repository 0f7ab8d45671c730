"""ClueNet networks (plain PyTorch, no ROS)."""
from cluenet_ros.models.stage1 import ClueNetStage1, Stage1Config
from cluenet_ros.models.stage2 import ClueNetStage2, Stage2Config

__all__ = ["ClueNetStage1", "Stage1Config", "ClueNetStage2", "Stage2Config"]
