"""``cluenet demo``: the node on a short synthetic camera stream, over DDS.

Renders a short sequence with the synthetic generator, starts pedestrian_node as
its own process, plays the frames to it as sensor_msgs/Image at a fixed rate,
records everything that comes back, and writes a summary, an image grid and a
video of the node's debug overlay.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy itself is imported where it is needed
    import numpy as np

# numpy, OpenCV and the node helpers are imported where they are used, so that
# `cluenet --help` stays fast (the CLI imports this module to register `demo`).


def stream_dir(out: Path, world: str) -> Path:
    """Each world has a folder of its own, so a capsule stream is never replayed as a
    realistic one."""
    return out / ("stream" if world == "capsules" else f"stream_{world}")


def render_stream(out: Path, frames: int, seed: int, size: tuple[int, int], world: str = "capsules",
                  world_options=None) -> list:
    """The demo's camera frames (RGB arrays), rendered once into ``stream_dir(out,
    world)`` and reused. ``world_options`` (a realistic.world.WorldOptions) is for tests."""
    from cluenet_ros.data.split import SplitFolder
    from cluenet_ros.synth.dataset import SynthOptions, generate

    folder = stream_dir(out, world)
    if not (folder / "camera" / "citypersons.json").is_file():
        print(f"[demo] rendering {frames} {world} frames of {size[0]}x{size[1]}")
        generate(folder, frames, seed, SynthOptions(width=size[0], height=size[1], people=(2, 6),
                                                        splits=(("camera", 1.0),), world=world,
                                                        world_options=world_options), progress=False)
    data = SplitFolder.open(folder / "camera")
    return [data.read_rgb(img) for img in data.images[:frames]]


def run_demo(out: Path, frames: int, rate: float, weights: str | None, size: tuple[int, int], seed: int,
             world: str = "realistic", node_params: tuple[str, ...] = ()) -> Path:
    """``node_params``: NAME:=VALUE settings of the node, after the demo's own (so they
    win), e.g. ``detection_flip_test:=false`` to see the stream as sessions before 31."""
    from cluenet_ros.ros.node_process import NodeProcess, default_weights_or_random

    out.mkdir(parents=True, exist_ok=True)
    images = render_stream(out, frames, seed, size, world)

    weights = weights or default_weights_or_random()
    ns = "/cluenet_demo"
    params = ("publish.debug_image:=true", "qos.reliability:=reliable")
    if weights == "random":
        print("[demo] no trained weights installed: running a randomly initialised small model "
              "(the plumbing is real, the detections are not)")
        params += ("score_threshold:=0.3", "max_detections:=10")
    params += tuple(node_params)
    with NodeProcess(ns, weights, out / "node.log", params) as node_proc:
        got, sent, arrival = _play(ns, images, rate, node_proc)

    latencies = sorted(1000 * (arrival[k] - k / 1e9) for k in got["pedestrians"] if k in arrival)
    found = stream_recall(stream_dir(out, world), sent, got["pedestrians"], size[1])
    return _report(out, weights, rate, size, got, sent, latencies, world, found, list(node_params))


def stream_recall(folder: Path, sent: list[int], answers: dict, frame_height: int) -> dict:
    """How many of the stream's people the node found, from the stream's own truth: full
    boxes at IoU 0.5, people of CityPersons' Reasonable set (visible >= 65%, at least 50
    px tall at 1024 rows, scaled to the frame) counted, over the frames answered."""
    import numpy as np

    from cluenet_ros.data.split import SplitFolder
    from cluenet_ros.evaluation.detection import match_image

    data = SplitFolder.open(folder / "camera")
    min_h = 50.0 * frame_height / 1024
    people = found = false = frames = 0
    for image, stamp in zip(data.images, sent):
        msg = answers.get(stamp)
        if msg is None:
            continue
        anns = data.annotations(image["id"])
        gt = np.array([a["bbox"] for a in anns], float).reshape(-1, 4)
        # the benchmark's rule: people outside the set are ignore regions (a detection
        # on one is neither a find nor a false detection)
        ignore = np.array([bool(a.get("ignore")) or a.get("vis_ratio", 1.0) < 0.65 or a["bbox"][3] < min_h
                           for a in anns], bool)
        dt = np.array([(p.full_box.center.position.x - p.full_box.size_x / 2,
                        p.full_box.center.position.y - p.full_box.size_y / 2,
                        p.full_box.size_x, p.full_box.size_y, p.score) for p in msg.pedestrians], float).reshape(-1, 5)
        _, matched, ignored, regular = match_image(dt, gt, ignore)
        people += regular
        found += int((matched & ~ignored).sum())
        false += int((~matched).sum())
        frames += 1
    return {"people_reasonable": people, "found_reasonable": found,
            "recall_reasonable": found / people if people else None,
            "false_detections_per_frame": false / frames if frames else None}


def _play(ns, images, rate, node_proc):
    import rclpy
    from cluenet_msgs.msg import PedestrianArray
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from cluenet_ros.ros.image_codec import rgb8_message

    rclpy.init()
    node = rclpy.create_node("cluenet_demo_player")
    qos = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
    got: dict[str, dict] = {"pedestrians": {}, "debug_image": {}}
    arrival: dict[int, float] = {}

    def keep(topic):
        def cb(msg):
            key = msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec
            got[topic][key] = msg
            arrival.setdefault(key, time.time())
        return cb

    node.create_subscription(PedestrianArray, f"{ns}/pedestrians", keep("pedestrians"), qos)
    node.create_subscription(Image, f"{ns}/debug_image", keep("debug_image"), qos)
    pub = node.create_publisher(Image, f"{ns}/image", qos)
    sent = []
    try:
        node_proc.wait_for_subscriber(pub, lambda s: rclpy.spin_once(node, timeout_sec=s))
        print(f"[demo] playing {len(images)} frames at {rate} Hz to {ns}/image")
        period = 1.0 / rate
        for i, rgb in enumerate(images):
            t_next = time.time() + period
            msg = rgb8_message(rgb, None, Image)
            now = node.get_clock().now()
            msg.header.stamp = now.to_msg()
            msg.header.frame_id = "camera_optical_frame"
            pub.publish(msg)
            sent.append(now.nanoseconds)
            while time.time() < t_next:
                rclpy.spin_once(node, timeout_sec=max(0.0, t_next - time.time()))
        tail = time.time() + 30
        while time.time() < tail and sent[-1] not in got["pedestrians"]:
            rclpy.spin_once(node, timeout_sec=0.1)
        time.sleep(0.2)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return got, sent, arrival


def _report(out, weights, rate, size, got, sent, latencies, world="capsules", found=None,
            node_params=()) -> Path:
    import numpy as np

    counts = [len(got["pedestrians"][k].pedestrians) for k in sent if k in got["pedestrians"]]
    occluded = [sum(kp.occluded for p in got["pedestrians"][k].pedestrians for kp in p.keypoints)
                for k in sent if k in got["pedestrians"]]
    summary = {
        "weights": weights,
        "frames_sent": len(sent),
        "frames_answered": len(counts),
        "frames_dropped_by_node": len(sent) - len(counts),
        "pedestrians_per_frame_mean": float(np.mean(counts)) if counts else 0.0,
        "occluded_keypoints_per_frame_mean": float(np.mean(occluded)) if occluded else 0.0,
        "latency_ms_median": float(np.median(latencies)) if latencies else None,
        "latency_ms_p95": float(np.percentile(latencies, 95)) if latencies else None,
        "rate_hz": rate,
        "frame_size": list(size),
        "world": world,
        "node_parameters": list(node_params),
        **(found or {}),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    overlays = [got["debug_image"][k] for k in sent if k in got["debug_image"]]
    if overlays:
        _write_media(overlays, out)
    return out


def _to_bgr(msg) -> np.ndarray:
    import numpy as np

    rgb = np.frombuffer(msg.data, np.uint8).reshape(msg.height, msg.width, 3)
    return np.ascontiguousarray(rgb[..., ::-1])


def _write_media(overlays, out: Path) -> None:
    import cv2
    import numpy as np

    frames = [_to_bgr(m) for m in overlays]
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(out / "demo.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 5.0, (w, h))
    for f in frames:
        writer.write(f)
    writer.release()
    picks = frames[:: max(1, len(frames) // 6)][:6]
    while len(picks) < 6:
        picks.append(np.zeros_like(frames[0]))
    grid = np.vstack([np.hstack(picks[r * 3:(r + 1) * 3]) for r in range(2)])
    cv2.imwrite(str(out / "grid.png"), grid)


def register(sub) -> None:
    p = sub.add_parser("demo", help="run pedestrian_node on a short synthetic camera stream")
    p.add_argument("--out", default="out/demo", help="output folder (default out/demo)")
    p.add_argument("--frames", type=int, default=24)
    p.add_argument("--rate", type=float, default=4.0, help="frames per second played to the node")
    p.add_argument("--weights", default=None, help="checkpoint; default: the demo weights if installed, "
                                                   "else a random small model")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--world", default="realistic", choices=("capsules", "realistic"),
                   help="realistic (default: anny bodies, textured streets, `cluenet synth --world realistic`; "
                        "the demo weights' stage 1 was fine-tuned on it; the first run builds anny's cache, "
                        "minutes) or capsules (pybullet's figures, which the demo model first learnt on)")
    p.add_argument("--param", action="append", default=[], type=_node_param, metavar="NAME:=VALUE",
                   help="a node parameter (repeatable), e.g. --param detection_flip_test:=false")
    p.set_defaults(func=_run)


def _node_param(text: str) -> str:
    name, sep, value = text.partition(":=")
    if not sep or not name.strip() or not value.strip() or " " in name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME:=VALUE (e.g. detection_flip_test:=false)")
    try:
        from cluenet_ros.ros.parameters import BY_NAME
    except ImportError:  # no ROS here: the demo says so when it starts the node
        BY_NAME = None
    if BY_NAME is not None and name.strip() not in BY_NAME:
        raise argparse.ArgumentTypeError(f"{name.strip()!r} is not a pedestrian_node parameter "
                                         "(config/pedestrian.yaml lists them)")
    return f"{name.strip()}:={value.strip()}"


def _run(args) -> int:
    out = run_demo(Path(args.out), args.frames, args.rate, args.weights, (640, 320), args.seed, args.world,
                   tuple(args.param))
    summary = json.loads((out / "summary.json").read_text())
    print(json.dumps(summary, indent=2))
    if summary.get("people_reasonable"):
        print(f"[demo] the node found {summary['found_reasonable']} of the stream's {summary['people_reasonable']} "
              f"people (CityPersons' Reasonable set, full boxes at IoU 0.5: recall "
              f"{100 * summary['recall_reasonable']:.0f}%), with {summary['false_detections_per_frame']:.1f} "
              "false detections per frame")
    print(f"[demo] results in {out.resolve()}: summary.json, grid.png, demo.mp4, node.log")
    return 0
