"""The ``cluenet`` command: one entry point, one sub-command per task.

Sub-commands register themselves through ``register(subparsers)`` in their own
modules; heavy imports (torch, pybullet) happen only when a command runs.
"""
from __future__ import annotations

import argparse
import logging
import sys

COMMAND_MODULES = (
    "cluenet_ros.synth.cli",
    "cluenet_ros.data.cli",
    "cluenet_ros.evaluation.cli",
    "cluenet_ros.ros.demo",
    "cluenet_ros.bag.cli",
    "cluenet_ros.benchmark.cli",
    "cluenet_ros.export",
    "cluenet_ros.inference.cache_cli",
    "cluenet_training.cli",
)


from cluenet_ros.errors import InputError


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (``cluenet bag eval: error: ...``) instead of the
    usage block followed by the error; ``--help`` still shows the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = OneLineParser(prog="cluenet", description="ClueNet pedestrian detection, "
                                     "segmentation and occlusion-aware pose: tools")
    parser.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (InputError, ValueError) as exc:
        print(f"cluenet {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:  # a path that cannot be read, created or written
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"cluenet {args.command}: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 2


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


if __name__ == "__main__":
    sys.exit(main())
