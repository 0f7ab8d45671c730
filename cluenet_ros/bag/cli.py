"""``cluenet bag make`` and ``cluenet bag eval``."""
from __future__ import annotations

import argparse
import json
import math


def positive_rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive finite number")
    return value


def replay_rate(text: str) -> str:
    """A positive speed factor or 'max' (kept as text: the report shows it as given)."""
    if text != "max":
        positive_rate(text)
    return text


def register(sub) -> None:
    p = sub.add_parser("bag", help="make camera bags; replay them through the node and evaluate")
    bag = p.add_subparsers(dest="bag_command", metavar="WHAT", required=True)
    m = bag.add_parser("make", help="write a camera bag from images, a video or a synthetic split")
    m.add_argument("--source", required=True, help="folder of images, video file, or dataset split folder")
    m.add_argument("--out", required=True, help="bag to create (a folder)")
    m.add_argument("--storage", choices=("mcap", "sqlite3"), default="mcap")
    m.add_argument("--topic", default="/camera/image_raw")
    m.add_argument("--rate", type=positive_rate, default=10.0, help="frames per second (stamps and log times)")
    m.add_argument("--compressed", action="store_true", help="JPEG sensor_msgs/CompressedImage on TOPIC/compressed")
    m.set_defaults(func=run_make)
    e = bag.add_parser("eval", help="replay a bag through pedestrian_node and report")
    e.add_argument("bag")
    e.add_argument("--image-topic", required=True)
    e.add_argument("--gt", help="ground-truth folder (default: BAG/ground_truth when present)")
    e.add_argument("--out", required=True)
    e.add_argument("--rate", type=replay_rate, default="1.0", help="replay speed factor, or 'max' (as fast as the node keeps up)")
    e.add_argument("--weights", help="checkpoint (default: the demo weights, else a random small model)")
    e.add_argument("--model-config", help="model YAML for --weights random")
    e.add_argument("--param", action="append", default=[], help="extra node parameter NAME:=VALUE")
    e.set_defaults(func=run_eval)


def run_make(args) -> int:
    from cluenet_ros.bag.make import make_bag

    info = make_bag(args.source, args.out, args.storage, args.topic, args.rate, args.compressed)
    print(json.dumps(info, indent=2))
    return 0


def run_eval(args) -> int:
    from cluenet_ros.bag.evaluate import evaluate_bag

    evaluate_bag(args.bag, args.image_topic, args.out, args.gt, args.rate, args.weights, args.model_config,
                 tuple(args.param))
    from pathlib import Path

    print((Path(args.out) / "report.md").read_text())
    return 0
