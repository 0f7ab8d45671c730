"""Run pedestrian_node as a separate process (demo, bag replay): the same
executable users run, talking over real DDS."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from cluenet_ros.errors import InputError

SMALL_MODEL = Path(__file__).resolve().parents[2] / "config" / "model_small.yaml"


def default_weights_or_random() -> str:
    """The packaged demo weights when installed, else 'random'."""
    from cluenet_ros.ros.pedestrian_node import default_weights

    try:
        path = default_weights()
    except Exception:
        return "random"
    return str(path) if path.is_file() else "random"


class NodeStartError(InputError):
    """pedestrian_node exited during start-up (its FATAL line says why)."""


class NodeProcess:
    """``with NodeProcess(ns, weights, log, params) as node:`` starts the node and
    stops it with SIGINT (the way ``ros2 launch`` does) on exit."""

    def __init__(self, namespace: str, weights: str, log_path: Path, params: tuple[str, ...] = (),
                 model_config: str | None = None):
        self.cmd = [sys.executable, "-m", "cluenet_ros.ros.pedestrian_node", "--ros-args", "-r", f"__ns:={namespace}",
                    "-p", f"weights:={weights}"]
        if weights == "random":
            self.cmd += ["-p", f"model_config:={model_config or SMALL_MODEL}"]
        for p in params:
            self.cmd += ["-p", p]
        self.log_path = Path(log_path)
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "NodeProcess":
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.cmd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, PYTHONUNBUFFERED="1"))
        return self

    def wait_for_subscriber(self, publisher, spin, timeout: float = 120.0) -> None:
        """Spin until the node subscribes to ``publisher``'s topic; fail if it dies."""
        deadline = time.time() + timeout
        while publisher.get_subscription_count() == 0:
            if self.proc.poll() is not None or time.time() > deadline:
                self._log.flush()
                fatal = [line for line in self.log_path.read_text(errors="replace").splitlines() if "FATAL" in line]
                why = fatal[-1].split("]: ", 1)[-1] if fatal else "no reason given"
                raise NodeStartError(f"pedestrian_node did not start ({why}); see {self.log_path}")
            spin(0.1)

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()
