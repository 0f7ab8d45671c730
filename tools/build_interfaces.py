#!/usr/bin/env python3
"""Generate and install ROS 2 interface packages into a virtual environment.

Why this exists: the ROS 2 Kilted wheels on PyPI give a working rclpy and the
standard message packages, but no registry ships ``vision_msgs`` and our own
``cluenet_msgs`` has to be generated somewhere. The wheels do ship the rosidl
generators, so the same CMake build that colcon would run on a ROS system can run
here, installing into the venv prefix where the wheels' bootstrapper already puts
the library path.

The script is idempotent: a package whose sources hash to the value recorded at
its last install, and whose Python module imports, is skipped.
"""
from __future__ import annotations

import argparse
import glob
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

STAMP_NAME = ".cluenet_sources_sha256"


def log(msg: str) -> None:
    print(f"[build_interfaces] {msg}", flush=True)


def source_hash(pkg_dir: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(pkg_dir.rglob("*")):
        if path.is_file() and path.name != "COLCON_IGNORE":
            digest.update(str(path.relative_to(pkg_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def fix_wheel_cmake_paths(prefix: Path, python: str) -> int:
    """Point the wheels' exported CMake files at this interpreter's headers.

    The wheels were built under /opt/python/cp311-cp311 and their exported targets
    keep that interpreter's include directories, which do not exist here.
    """
    out = subprocess.run(
        [python, "-c",
         "import sysconfig, numpy; print(sysconfig.get_paths()['include']); print(numpy.get_include())"],
        check=True, capture_output=True, text=True,
    ).stdout.split("\n")
    py_include, np_include = out[0].strip(), out[1].strip()
    pattern_np = re.compile(r"/opt/python/cp3\d+-cp3\d+/lib/python3\.\d+/site-packages/numpy/_core/include")
    pattern_py = re.compile(r"/opt/python/cp3\d+-cp3\d+/include/python3\.\d+")
    changed = 0
    for name in glob.glob(str(prefix / "share" / "**" / "*.cmake"), recursive=True):
        path = Path(name)
        text = path.read_text()
        if "/opt/python/" not in text:
            continue
        new = pattern_py.sub(py_include, pattern_np.sub(np_include, text))
        if new != text:
            path.write_text(new)
            changed += 1
    return changed


def importable(python: str, module: str, env: dict) -> bool:
    return subprocess.run([python, "-c", f"import {module}"], env=env,
                          capture_output=True).returncode == 0


def build_package(pkg_dir: Path, prefix: Path, build_root: Path, python: str, env: dict) -> None:
    name = pkg_dir.name
    build_dir = build_root / name
    build_dir.mkdir(parents=True, exist_ok=True)
    generator = ["-G", "Ninja"] if subprocess.run(["which", "ninja"], capture_output=True).returncode == 0 else []
    cmake_prefix = [str(prefix)]
    if env.get("CMAKE_PREFIX_PATH"):
        cmake_prefix.append(env["CMAKE_PREFIX_PATH"])
    configure = [
        "cmake", "-S", str(pkg_dir), "-B", str(build_dir), *generator,
        f"-DCMAKE_INSTALL_PREFIX={prefix}",
        f"-DCMAKE_PREFIX_PATH={';'.join(cmake_prefix)}",
        f"-DPython3_EXECUTABLE={python}",
        "-DPython3_FIND_STRATEGY=LOCATION",
        "-DBUILD_TESTING=OFF",
        "-DCMAKE_BUILD_TYPE=Release",
    ]
    log(f"configuring {name}")
    subprocess.run(configure, check=True, env=env, stdout=subprocess.DEVNULL)
    log(f"building {name}")
    subprocess.run(["cmake", "--build", str(build_dir), "--parallel", str(os.cpu_count() or 2)],
                   check=True, env=env)
    subprocess.run(["cmake", "--install", str(build_dir)], check=True, env=env, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", required=True, type=Path, help="venv (install prefix)")
    parser.add_argument("--build-dir", required=True, type=Path)
    parser.add_argument("--skip-if-importable", action="store_true",
                        help="leave a package alone when another installation already provides it "
                             "(a sourced ROS 2 distribution)")
    parser.add_argument("packages", nargs="+", type=Path, help="interface package folders")
    args = parser.parse_args(argv)

    prefix = args.prefix.resolve()
    python = str(prefix / "bin" / "python")
    env = dict(os.environ)
    if not env.get("ROS_DISTRO"):
        changed = fix_wheel_cmake_paths(prefix, python)
        if changed:
            log(f"rewrote interpreter paths in {changed} exported CMake files")
    env.setdefault("AMENT_PREFIX_PATH", str(prefix))

    for pkg in args.packages:
        pkg = pkg.resolve()
        name = pkg.name
        module = f"{name}.msg"
        stamp = prefix / "share" / name / STAMP_NAME
        digest = source_hash(pkg)
        if stamp.exists() and stamp.read_text().strip() == digest and importable(python, module, env):
            log(f"{name}: up to date")
            continue
        if args.skip_if_importable and not stamp.exists() and importable(python, module, env):
            log(f"{name}: provided by the system installation, not building")
            continue
        build_package(pkg, prefix, args.build_dir.resolve(), python, env)
        if not importable(python, module, env):
            log(f"{name}: built but `import {module}` fails with {python}")
            return 1
        stamp.write_text(digest + "\n")
        log(f"{name}: installed into {prefix}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
