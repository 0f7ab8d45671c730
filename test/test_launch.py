"""The launch file declares the documented arguments and points at files that exist;
the installed share/ folder is one that `ros2 launch <package> <file>` searches;
what the launch file decides (logger level, Fast DDS profile, RViz) is right."""
from __future__ import annotations

import ast
import importlib.util
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from conftest import REPO

LAUNCH = REPO / "launch" / "pedestrian.launch.py"
DOCUMENTED = ["image_topic", "params_file", "weights", "device", "standalone", "namespace", "log_level", "use_rviz",
              "fastdds_profile", "camera_info_topic", "lifecycle", "autostart"]


def declared_in_source():
    tree = ast.parse(LAUNCH.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ARGUMENTS" for t in node.targets):
            return [row[0] for row in ast.literal_eval(node.value)]
    raise AssertionError("ARGUMENTS table not found")


def test_documented_arguments_are_declared():
    assert declared_in_source() == DOCUMENTED
    text = LAUNCH.read_text()
    for api in ("launch_ros.actions import Node", "DeclareLaunchArgument", "require_rviz(", "log_level_arguments(",
                "additional_env=fastdds_env("):
        assert api in text


def test_installed_files_exist_and_parse():
    params = yaml.safe_load((REPO / "config" / "pedestrian.yaml").read_text())
    assert "ros__parameters" in params["/**"]
    rviz = yaml.safe_load((REPO / "config" / "cluenet.rviz").read_text())
    topics = {d["Topic"]["Value"] for d in rviz["Visualization Manager"]["Displays"]}
    assert {"image", "mask", "skeletons", "debug_image", "ground_markers"} <= topics
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


def test_installed_share_is_found_the_way_ros2launch_searches():
    """ros2launch finds `ros2 launch cluenet_ros pedestrian.launch.py` with os.walk over
    the package's share folder, matching file names; os.walk does not enter linked
    folders, so the installed launch/ and config/ must be real folders."""
    from ament_index_python.packages import get_package_share_directory

    share = get_package_share_directory("cluenet_ros")
    found = {}
    for root, _dirs, files in os.walk(share):
        for name in files:
            found.setdefault(name, []).append(os.path.join(root, name))
    assert found.get("pedestrian.launch.py") == [os.path.join(share, "launch", "pedestrian.launch.py")]
    for name in ("pedestrian.yaml", "cluenet.rviz", "fastdds_shm.xml"):
        assert found.get(name) == [os.path.join(share, "config", name)], name
        assert os.path.isfile(found[name][0])
    assert not any(os.path.islink(os.path.join(share, d)) for d in ("launch", "config", "models"))


def test_package_declares_rviz2():
    deps = [e.text for e in ET.parse(REPO / "package.xml").getroot().iter("exec_depend")]
    assert "rviz2" in deps


def test_log_level_is_the_node_loggers_only():
    from cluenet_ros.ros.launch_support import log_level_arguments, node_logger

    assert node_logger("") == "pedestrian_node"
    assert node_logger("/robot1/front") == "robot1.front.pedestrian_node"
    assert log_level_arguments("/robot1", "debug") == ["--ros-args", "--log-level", "robot1.pedestrian_node:=debug"]


def test_fastdds_profile_choice(tmp_path):
    from cluenet_ros.ros.launch_support import LaunchArgumentError, fastdds_env

    share = tmp_path / "share"
    (share / "config").mkdir(parents=True)
    shipped = share / "config" / "fastdds_shm.xml"
    shipped.write_text("<dds/>")
    mine = tmp_path / "mine.xml"
    mine.write_text("<dds/>")
    assert fastdds_env(share, "", {}) == {"FASTDDS_DEFAULT_PROFILES_FILE": str(shipped)}
    assert fastdds_env(share, "", {"FASTDDS_DEFAULT_PROFILES_FILE": str(mine)}) == \
        {"FASTDDS_DEFAULT_PROFILES_FILE": str(mine)}
    assert fastdds_env(share, str(mine), {}) == {"FASTDDS_DEFAULT_PROFILES_FILE": str(mine)}
    assert fastdds_env(share, "none", {}) == {}
    assert fastdds_env(share, "", {"RMW_IMPLEMENTATION": "rmw_cyclonedds_cpp"}) == {}
    with pytest.raises(LaunchArgumentError, match="nope.xml is not a file"):
        fastdds_env(share, str(tmp_path / "nope.xml"), {})


def test_shipped_fastdds_profile_is_a_large_shared_memory_segment():
    root = ET.parse(REPO / "config" / "fastdds_shm.xml").getroot()
    ns = {"d": "http://www.eprosima.com"}
    segments = [int(e.text) for e in root.iterfind(".//d:transport_descriptor/d:segment_size", ns)]
    assert segments and max(segments) >= 2048 * 1024 * 3 * 4  # four 2048x1024 rgb8 frames
    assert root.find(".//d:participant/d:rtps/d:useBuiltinTransports", ns).text == "false"


def test_shipped_fastdds_profile_heartbeat_fits_the_stopping_node_s_wait():
    """Readers acknowledge (and ask again for lost pieces) when a writer's heartbeat
    comes: the default writer profile's period must be well inside the time a stopping
    node waits for its last frame to be acknowledged."""
    pytest.importorskip("rclpy")
    from cluenet_ros.ros.pedestrian_node import FLUSH_S

    root = ET.parse(REPO / "config" / "fastdds_shm.xml").getroot()
    ns = {"d": "http://www.eprosima.com"}
    writers = [w for w in root.iterfind(".//d:data_writer", ns) if w.get("is_default_profile") == "true"]
    assert len(writers) == 1
    period = writers[0].find("d:times/d:heartbeat_period", ns)
    seconds = int(period.find("d:sec", ns).text) + int(period.find("d:nanosec", ns).text) * 1e-9
    assert 0 < seconds <= FLUSH_S / 4


def test_use_rviz_without_rviz2_fails_at_once_with_one_line():
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    from cluenet_ros.ros.launch_support import LaunchArgumentError, require_rviz

    assert require_rviz("false") is False
    try:
        get_package_prefix("rviz2")
        pytest.skip("rviz2 is installed here")
    except PackageNotFoundError:
        pass
    with pytest.raises(LaunchArgumentError) as err:
        require_rviz("true")
    assert "rviz2 package is not installed" in str(err.value) and "\n" not in str(err.value)


def test_lifecycle_arguments_pick_the_executable():
    from cluenet_ros.ros.launch_support import LaunchArgumentError, node_executable

    assert node_executable("false", "true") == ("pedestrian_node", {})
    assert node_executable("true", "true") == ("pedestrian_lifecycle_node", {"autostart": True})
    assert node_executable("True", "false") == ("pedestrian_lifecycle_node", {"autostart": False})
    with pytest.raises(LaunchArgumentError, match="lifecycle:=maybe is not a boolean"):
        node_executable("maybe", "true")


def test_standalone_argument_overrides_the_parameter_file_as_a_boolean():
    """standalone:=true reaches the node as the bool its parameter is declared with (a
    string would be refused by the node's type check); empty keeps the file's value."""
    from cluenet_ros.ros.launch_support import LaunchArgumentError, boolean_overrides
    from cluenet_ros.ros.parameters import BY_NAME

    assert boolean_overrides(standalone="") == {}
    assert boolean_overrides(standalone="true") == {"standalone": True}
    assert boolean_overrides(standalone=" False ") == {"standalone": False}
    assert type(boolean_overrides(standalone="1")["standalone"]) is type(BY_NAME["standalone"].default)
    with pytest.raises(LaunchArgumentError, match="standalone:=maybe is not a boolean"):
        boolean_overrides(standalone="maybe")
    assert "boolean_overrides(standalone=value(\"standalone\"))" in LAUNCH.read_text()


def test_lifecycle_executable_is_a_console_script():
    text = (REPO / "setup.py").read_text()
    assert "pedestrian_lifecycle_node = cluenet_ros.ros.pedestrian_node:lifecycle_entry_point" in text


def test_every_console_script_is_where_launch_and_ros2_run_look():
    """launch_ros and `ros2 run` look for a package's executables in <prefix>/lib/<package>/;
    make setup links them there in the venv (colcon does so in an install). Checked
    for every console script, so lifecycle:=true finds pedestrian_lifecycle_node."""
    import re
    import sys

    lib = Path(sys.prefix) / "lib" / "cluenet_ros"
    if not lib.is_dir():
        pytest.skip(f"not run from a prefix with lib/cluenet_ros ({sys.prefix})")
    names = re.findall(r'"([a-z_]+) = cluenet_ros[.:a-z_]+"', (REPO / "setup.py").read_text())
    assert {"cluenet", "pedestrian_node", "pedestrian_lifecycle_node"} <= set(names)
    for name in names:
        exe = lib / name
        assert exe.exists() and os.access(exe, os.X_OK), f"{exe} missing: run make setup"
