"""Start pedestrian_node (and optionally RViz).

    ros2 launch cluenet_ros pedestrian.launch.py image_topic:=/camera/image_raw \
        weights:=/path/to/cluenet.pt device:=cuda use_rviz:=true
    ros2 launch cluenet_ros pedestrian.launch.py standalone:=true   # no torch in the node (CPU)
    ros2 launch cluenet_ros pedestrian.launch.py lifecycle:=true autostart:=false   # managed node

Arguments left empty keep the value from the parameter file.

With Fast DDS (the default middleware) the node is started with
FASTDDS_DEFAULT_PROFILES_FILE set to config/fastdds_shm.xml, a shared-memory
transport large enough for camera frames; start image publishers with the same
variable (README, "Large images over DDS").
"""
import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from cluenet_ros.ros.launch_support import (boolean_overrides, fastdds_env, log_level_arguments, node_executable,
                                            require_rviz)

ARGUMENTS = (
    ("image_topic", "image", "Camera image topic (sensor_msgs/Image; image_topic/compressed when enabled)."),
    ("params_file", "", "Parameter file; empty: config/pedestrian.yaml of this package."),
    ("weights", "", "Checkpoint overriding the parameter file ('random' for a plumbing test)."),
    ("device", "", "auto, cuda or cpu, overriding the parameter file."),
    ("standalone", "", "true: the whole pipeline as compiled graphs without torch (CPU; about 500 MB instead of "
     "1.3 GB at 1024x512, as fast); false: the eager pipeline; empty: the parameter file's."),
    ("namespace", "", "Namespace of the node and its topics."),
    ("log_level", "info", "Logging level of the node's logger (debug, info, warn, error, fatal)."),
    ("use_rviz", "false", "Also start RViz with config/cluenet.rviz."),
    ("fastdds_profile", "", "Fast DDS XML profile for the node; empty: $FASTDDS_DEFAULT_PROFILES_FILE if set, "
     "else config/fastdds_shm.xml; 'none': the middleware's default."),
    ("camera_info_topic", "camera_info", "sensor_msgs/CameraInfo topic for ground positions (ground.enable)."),
    ("lifecycle", "false", "Run the managed (lifecycle) node, pedestrian_lifecycle_node."),
    ("autostart", "true", "With lifecycle:=true, configure and activate at start; false: wait in 'unconfigured' "
     "for transitions (ros2 lifecycle set <node> configure)."),
)


def _nodes(context):
    share = get_package_share_directory("cluenet_ros")
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    params = [value("params_file") or os.path.join(share, "config", "pedestrian.yaml")]
    overrides = {k: value(k) for k in ("weights", "device") if value(k)}
    overrides.update(boolean_overrides(standalone=value("standalone")))
    executable, managed_overrides = node_executable(value("lifecycle"), value("autostart"))
    overrides.update(managed_overrides)
    if overrides:
        params.append(overrides)
    image = value("image_topic")
    rviz = require_rviz(value("use_rviz"))  # raises before anything starts when rviz2 is missing
    nodes = [
        Node(package="cluenet_ros", executable=executable, name="pedestrian_node",
             namespace=value("namespace"), parameters=params, output="screen",
             remappings=[("image", image), ("image/compressed", image + "/compressed"),
                         ("camera_info", value("camera_info_topic"))],
             arguments=log_level_arguments(value("namespace"), value("log_level")),
             additional_env=fastdds_env(share, value("fastdds_profile"))),
    ]
    if rviz:
        nodes.append(Node(package="rviz2", executable="rviz2", name="rviz2", namespace=value("namespace"),
                          arguments=["-d", os.path.join(share, "config", "cluenet.rviz")]))
    return nodes


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=desc) for name, default, desc in ARGUMENTS]
        + [OpaqueFunction(function=_nodes)]
    )
