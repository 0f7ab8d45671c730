"""Shared test set-up.

ROS traffic stays on loopback (ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST) and each
test session gets its own ROS_DOMAIN_ID, so parallel runs on one machine do not
see each other. Both are set before anything imports rclpy.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import cluenet_ros  # noqa: F401  (sets AMENT_PREFIX_PATH for the venv)

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
os.environ.setdefault("RCUTILS_LOGGING_USE_STDOUT", "1")

REPO = Path(__file__).resolve().parents[1]
HELPERS = Path(__file__).resolve().parent / "helpers"


@pytest.fixture(scope="session")
def ros_context():
    import rclpy

    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.shutdown(context=context)


@pytest.fixture
def python() -> str:
    return sys.executable


def tiny_stage1_config(**overrides):
    """A stage-1 configuration small enough to train for a few hundred steps on a CPU."""
    from cluenet_ros.models.stage1 import RoIConfig, RPNConfig, Stage1Config

    base = dict(trunk="resnet18", trunk_norm="batch", output_stride=32, inception_channels=40, seg_width=32,
                anchor_sizes=(32, 64),
                rpn=RPNConfig(batch_size_per_image=64, pre_nms_top_n_test=100, post_nms_top_n_test=50),
                roi=RoIConfig(batch_size_per_image=64, representation_size=128))
    base.update(overrides)
    return Stage1Config(**base)


def tiny_stage2_config(**overrides):
    from cluenet_ros.models.stage2 import Stage2Config

    base = dict(encoder="resnet18", input_size=(64, 64), deconv_layers=3, deconv_channels=32,
                domain_channels=16)
    base.update(overrides)
    return Stage2Config(**base)


def toy_scene(seed: int, boxes, size=(96, 128)):
    """An image with flat-coloured 'pedestrians' on a noise background, and its targets."""
    import torch

    g = torch.Generator().manual_seed(seed)
    h, w = size
    img = torch.rand(3, h, w, generator=g) * 0.3
    mask = torch.zeros(h, w, dtype=torch.uint8)
    for x1, y1, x2, y2 in boxes:
        img[:, y1:y2, x1:x2] = torch.tensor([0.9, 0.2, 0.1]).view(3, 1, 1)
        mask[y1:y2, x1:x2] = 1
    return img, {"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4), "mask": mask}
