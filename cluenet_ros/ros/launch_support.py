"""What launch/pedestrian.launch.py decides, kept free of launch imports so that it
is tested without launch installed (the launch file only wires it up)."""
from __future__ import annotations

import os
from pathlib import Path

FASTDDS_RMWS = ("rmw_fastrtps_cpp", "rmw_fastrtps_dynamic_cpp")
TRUE = ("true", "1", "yes", "on")
FALSE = ("false", "0", "no", "off")


class LaunchArgumentError(RuntimeError):
    """launch reports it as one line: 'Caught exception in launch (see debug for traceback): ...'."""


def node_logger(namespace: str, name: str = "pedestrian_node") -> str:
    """The name of a node's logger: its namespace and name joined with dots."""
    return ".".join([part for part in namespace.split("/") if part] + [name])


def log_level_arguments(namespace: str, level: str, name: str = "pedestrian_node") -> list[str]:
    """``--ros-args`` setting the level of the node's own logger only; a bare
    ``--log-level debug`` would also turn on rcl's and the middleware's debug output."""
    return ["--ros-args", "--log-level", f"{node_logger(namespace, name)}:={level}"]


def fastdds_env(share: str | Path, choice: str, environ=None) -> dict:
    """Environment for the node: FASTDDS_DEFAULT_PROFILES_FILE (Fast DDS only).
    ``choice``: '' = the caller's variable if set, else config/fastdds_shm.xml of
    the package; 'none' = the middleware's default; anything else a file."""
    environ = os.environ if environ is None else environ
    if environ.get("RMW_IMPLEMENTATION", FASTDDS_RMWS[0]) not in FASTDDS_RMWS or choice == "none":
        return {}
    path = choice or environ.get("FASTDDS_DEFAULT_PROFILES_FILE") or str(Path(share) / "config" / "fastdds_shm.xml")
    if not os.path.isfile(path):
        raise LaunchArgumentError(f"fastdds_profile: {path} is not a file")
    return {"FASTDDS_DEFAULT_PROFILES_FILE": str(path)}


def require_rviz(wanted: str) -> bool:
    """Whether to start RViz; raises at once (before anything starts) when it is
    wanted and not installed, instead of leaving the node running alone."""
    if wanted.strip().lower() not in TRUE:
        return False
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        get_package_prefix("rviz2")
    except (PackageNotFoundError, OSError):
        raise LaunchArgumentError("use_rviz:=true but the rviz2 package is not installed (install "
                                  "ros-$ROS_DISTRO-rviz2, or launch with use_rviz:=false)") from None
    return True


def boolean_overrides(**values: str) -> dict:
    """Parameter overrides from boolean launch arguments: empty keeps the parameter
    file's value; anything but true/false stops the launch with one line."""
    out = {}
    for name, value in values.items():
        text = value.strip().lower()
        if not text:
            continue
        if text not in TRUE + FALSE:
            raise LaunchArgumentError(f"{name}:={value} is not a boolean (true or false; empty: the parameter file's)")
        out[name] = text in TRUE
    return out


def node_executable(lifecycle: str, autostart: str) -> tuple[str, dict]:
    """The node's executable and parameter overrides: the managed node (with its
    ``autostart`` parameter) for lifecycle:=true, else the plain node."""
    for name, value in (("lifecycle", lifecycle), ("autostart", autostart)):
        if value.strip().lower() not in TRUE + FALSE:
            raise LaunchArgumentError(f"{name}:={value} is not a boolean (true or false)")
    if lifecycle.strip().lower() in TRUE:
        return "pedestrian_lifecycle_node", {"autostart": autostart.strip().lower() in TRUE}
    return "pedestrian_node", {}
