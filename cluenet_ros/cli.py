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
    "cluenet_ros.evaluation.cli",
    "cluenet_ros.ros.demo",
    "cluenet_ros.bag.cli",
    "cluenet_ros.benchmark.cli",
    "cluenet_ros.export",
    "cluenet_training.cli",
)


from cluenet_ros.errors import InputError


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(prog="cluenet", description="ClueNet pedestrian detection, "
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
    except (InputError, ValueError, FileNotFoundError) as exc:
        print(f"cluenet {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
