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
