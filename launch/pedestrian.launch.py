"""Start pedestrian_node (and optionally RViz).

    ros2 launch cluenet_ros pedestrian.launch.py image_topic:=/camera/image_raw \
        weights:=/path/to/cluenet.pt device:=cuda use_rviz:=true

Arguments left empty keep the value from the parameter file.
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

ARGUMENTS = (
    ("image_topic", "image", "Camera image topic (sensor_msgs/Image; image_topic/compressed when enabled)."),
    ("params_file", "", "Parameter file; empty: config/pedestrian.yaml of this package."),
    ("weights", "", "Checkpoint overriding the parameter file ('random' for a plumbing test)."),
    ("device", "", "auto, cuda or cpu, overriding the parameter file."),
    ("namespace", "", "Namespace of the node and its topics."),
    ("log_level", "info", "Logging level of the node."),
    ("use_rviz", "false", "Also start RViz with config/cluenet.rviz."),
)


def _nodes(context):
    share = get_package_share_directory("cluenet_ros")
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    params = [value("params_file") or os.path.join(share, "config", "pedestrian.yaml")]
    overrides = {k: value(k) for k in ("weights", "device") if value(k)}
    if overrides:
        params.append(overrides)
    image = value("image_topic")
    return [
        Node(package="cluenet_ros", executable="pedestrian_node", name="pedestrian_node",
             namespace=value("namespace"), parameters=params, output="screen",
             remappings=[("image", image), ("image/compressed", image + "/compressed")],
             arguments=["--ros-args", "--log-level", value("log_level")]),
        Node(package="rviz2", executable="rviz2", name="rviz2", namespace=value("namespace"),
             arguments=["-d", os.path.join(share, "config", "cluenet.rviz")],
             condition=IfCondition(LaunchConfiguration("use_rviz"))),
    ]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in ARGUMENTS]
        + [OpaqueFunction(function=_nodes)]
    )
