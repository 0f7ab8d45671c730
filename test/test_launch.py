"""The launch file declares the documented arguments and points at files that exist."""
from __future__ import annotations

import ast
import importlib.util

import pytest
import yaml

from conftest import REPO

LAUNCH = REPO / "launch" / "pedestrian.launch.py"
DOCUMENTED = ["image_topic", "params_file", "weights", "device", "namespace", "log_level", "use_rviz"]


def declared_in_source():
    tree = ast.parse(LAUNCH.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ARGUMENTS" for t in node.targets):
            return [row[0] for row in ast.literal_eval(node.value)]
    raise AssertionError("ARGUMENTS table not found")


def test_documented_arguments_are_declared():
    assert declared_in_source() == DOCUMENTED
    text = LAUNCH.read_text()
    for api in ("launch_ros.actions import Node", "DeclareLaunchArgument", "IfCondition"):
        assert api in text


def test_installed_files_exist_and_parse():
    params = yaml.safe_load((REPO / "config" / "pedestrian.yaml").read_text())
    assert "ros__parameters" in params["/**"]
    rviz = yaml.safe_load((REPO / "config" / "cluenet.rviz").read_text())
    topics = {d["Topic"]["Value"] for d in rviz["Visualization Manager"]["Displays"]}
    assert {"image", "mask", "skeletons", "debug_image"} <= topics
    from cluenet_ros.ros.parameters import BY_NAME

    flat = {}

    def walk(d, prefix=""):
        for k, v in d.items():
            if isinstance(v, dict):
                walk(v, f"{prefix}{k}.")
            else:
                flat[prefix + k] = v
    walk(params["/**"]["ros__parameters"])
    assert set(flat) == set(BY_NAME)  # the file sets every declared parameter, nothing else
    for name, value in flat.items():
        assert type(value) is type(BY_NAME[name].default), name


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="launch_ros is not installed")
def test_real_launch_description():
    from launch import LaunchContext
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    ld = PythonLaunchDescriptionSource(str(LAUNCH)).get_launch_description(LaunchContext())
    assert [a.name for a in ld.get_launch_arguments()] == DOCUMENTED
