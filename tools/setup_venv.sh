#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv). Idempotent: when the
# requirement files, setup.py and the interface sources are unchanged since the last
# run, nothing is installed or built again.
#
# Without a ROS 2 installation it takes rclpy and the standard messages from the
# ROS 2 Kilted wheels on PyPI. With one sourced (ROS_DISTRO set), the venv sees the
# distribution's packages (--system-site-packages) and no wheel is installed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3.11}
BUILD_DIR=${BUILD_DIR:-build/interfaces}

if [ -n "${ROS_DISTRO:-}" ]; then
  mode="ros-$ROS_DISTRO"
  reqs=(requirements/rosdep-keyed.txt requirements/python.txt)
  venv_flags=(--system-site-packages)
else
  mode="wheels"
  reqs=(requirements/rosdep-keyed.txt requirements/python.txt requirements/ros-wheels.txt)
  venv_flags=()
fi
# the optional CPU inference runtimes (ONNX Runtime, OpenVINO): on unless BACKEND_EXTRAS=0
if [ "${BACKEND_EXTRAS:-1}" != "0" ]; then
  reqs+=(requirements/backends.txt)
fi

stamp="$VENV/.cluenet-requirements.sha256"
digest=$( { echo "$mode"; cat "${reqs[@]}" requirements/nodeps.txt setup.py setup.cfg; } | sha256sum | cut -d' ' -f1)

# An install that runs out of disk half-way leaves a broken venv and pip's bare
# "No space left on device"; say what is needed before starting (torch and
# torchvision alone take about 5.5 GB on x86_64, the whole venv about 7 GB).
MIN_FREE_GB=${SETUP_MIN_FREE_GB:-8}
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  for place in "$(dirname "$VENV")" "${TMPDIR:-/tmp}"; do
    free_kb=$(df -Pk "$place" 2>/dev/null | awk 'NR == 2 {print $4}')
    if [ -n "$free_kb" ] && [ "$free_kb" -lt $((MIN_FREE_GB * 1024 * 1024)) ]; then
      echo "[setup] error: $((free_kb / 1024 / 1024)) GB free on the disk of $place; installing the Python" \
           "requirements needs about $MIN_FREE_GB GB there (the venv is about 7 GB). Free some space," \
           "or set VENV (and TMPDIR) to a disk that has it." >&2
      exit 1
    fi
  done
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV with $PYTHON ($mode)"
  "$PYTHON" -m venv "${venv_flags[@]}" "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip setuptools wheel
fi

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$digest" ]; then
  echo "[setup] installing Python requirements ($mode)"
  req_args=()
  for r in "${reqs[@]}"; do req_args+=(-r "$r"); done
  "$VENV/bin/python" -m pip install --quiet "${req_args[@]}" 2> >(grep -v "is ignored: it is neither" >&2)
  "$VENV/bin/python" -m pip install --quiet --no-deps -r requirements/nodeps.txt 2> >(grep -v "is ignored: it is neither" >&2)
  "$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e .
  echo "$digest" > "$stamp"
else
  echo "[setup] Python requirements up to date"
fi

# Like colcon --symlink-install: share/cluenet_ros holds real folders with one
# link per installed file (the files setup.py's data_files installs), pointing at
# the working tree, so edits to those files take effect at once; re-run `make
# setup` after adding a file. No folder may be a link: `ros2 launch <package>
# <file>` finds launch files with os.walk, which does not enter linked folders.
share="$VENV/share/cluenet_ros"
mkdir -p "$share" "$VENV/share/ament_index/resource_index/packages"
for item in launch config models; do
  if [ -L "$share/$item" ]; then rm "$share/$item"; fi  # a folder link from an older set-up
  mkdir -p "$share/$item"
  find "$share/$item" -maxdepth 1 -type l -delete  # links to files since removed
done
shopt -s nullglob
for f in launch/*.launch.py config/*.yaml config/*.rviz config/*.xml models/*.pt; do
  ln -sfn "$PWD/$f" "$share/$f"
done
shopt -u nullglob
ln -sfn "$PWD/package.xml" "$share/package.xml"
touch "$VENV/share/ament_index/resource_index/packages/cluenet_ros"
# executables where launch_ros and `ros2 run` look for them (lib/<package>/)
mkdir -p "$VENV/lib/cluenet_ros"
# every console script of setup.py (pedestrian_lifecycle_node too: launch's lifecycle:=true)
for exe in $(sed -n 's/^ *"\([a-z_]*\) = cluenet_ros[.:a-z_]*",$/\1/p' setup.py); do
  ln -sfn "../../bin/$exe" "$VENV/lib/cluenet_ros/$exe"
done

# vision_msgs only where no installation provides it; cluenet_msgs always (ours).
"$VENV/bin/python" tools/build_interfaces.py --prefix "$VENV" --build-dir "$BUILD_DIR" \
  --skip-if-importable interfaces/vision_msgs
"$VENV/bin/python" tools/build_interfaces.py --prefix "$VENV" --build-dir "$BUILD_DIR" \
  interfaces/cluenet_msgs

# The real-image check set (`cluenet eval real`): images rebuilt from Debian's
# opencv-doc (apt-get download, a few seconds; nothing when present), labels in the
# package. Set-up goes on without it where apt-get cannot reach Debian; REAL_IMAGES=0 skips.
if [ "${REAL_IMAGES:-1}" != "0" ]; then
  "$VENV/bin/cluenet" --log-level WARNING data real-images \
    || echo "[setup] warning: the real-image check set could not be built (cluenet data real-images)" >&2
fi

"$VENV/bin/python" -c "import rclpy, vision_msgs.msg, cluenet_msgs.msg, torch, torchvision, cluenet_ros" \
  && echo "[setup] ready: $VENV"
