"""``cluenet bag eval``: replay a camera bag through a real pedestrian_node process,
record every output into an MCAP bag, and report latency, throughput, dropped
frames and, with ground truth, the accuracy metrics on the replayed frames.

Replay publishes the recorded CDR bytes unchanged (header stamps included). Frames
go out in the bag's log-time order, so out-of-order header stamps are replayed as
recorded; outputs are paired with inputs by header stamp (a stamp that occurs
twice in a bag is replayed but only its first output is scored). Latency is the
time from publishing a frame to receiving its ``pedestrians`` message.
"""
from __future__ import annotations

import json
import math
import struct
import time
from pathlib import Path

import numpy as np

from cluenet_ros.bag.make import GT_DIR, BagError
from cluenet_ros.bag.types import typestore

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")
NS = "/cluenet_bag_eval"
OUTPUTS = {  # topic (relative to the node) -> ROS type
    "detections": "vision_msgs/msg/Detection2DArray",
    "pedestrians": "cluenet_msgs/msg/PedestrianArray",
    "mask": "sensor_msgs/msg/Image",
    "skeletons": "visualization_msgs/msg/MarkerArray",
}


def header_stamp_ns(cdr: bytes) -> int:
    """Header stamp of a serialized message whose first field is std_msgs/Header
    (CDR: 4-byte encapsulation, int32 sec, uint32 nanosec)."""
    little = cdr[1] == 1
    sec, nsec = struct.unpack("<iI" if little else ">iI", cdr[4:12])
    return sec * 10**9 + nsec


def open_bag(bag: Path, topic: str):
    from rosbags.highlevel import AnyReader

    if not bag.exists():
        raise BagError(f"{bag}: no such bag")
    try:
        reader = AnyReader([bag], default_typestore=typestore())
        reader.open()
    except Exception as exc:
        raise BagError(f"{bag}: not a readable rosbag2 bag ({type(exc).__name__}: {exc})") from None
    conns = [c for c in reader.connections if c.topic == topic]
    if not conns:
        topics = sorted({c.topic for c in reader.connections})
        reader.close()
        raise BagError(f"{bag}: no topic '{topic}' (the bag has: {', '.join(topics) or 'no topics'})")
    if conns[0].msgtype not in IMAGE_TYPES:
        reader.close()
        raise BagError(f"{bag}: topic '{topic}' holds {conns[0].msgtype}, not an image type")
    return reader, conns


def read_frames(bag: Path, topic: str):
    reader, conns = open_bag(bag, topic)
    try:
        frames = []
        for conn, logtime, raw in reader.messages(connections=conns):
            frames.append((logtime, bytes(raw)))
    except Exception as exc:
        raise BagError(f"{bag}: corrupt bag, reading stopped ({type(exc).__name__}: {exc})") from None
    finally:
        reader.close()
    if not frames:
        raise BagError(f"{bag}: topic '{topic}' has no messages")
    frames.sort(key=lambda f: f[0])
    return conns[0].msgtype, frames


def skip_corrupt(frames, msgtype: str, store) -> tuple[list, list[dict]]:
    """(frames whose CDR payload decodes as ``msgtype``, the others named by index
    in the topic, log time and error). Replaying an undecodable payload would only
    make the node's middleware drop it, so it is counted and reported instead."""
    good, corrupt = [], []
    for i, (logtime, raw) in enumerate(frames):
        try:
            store.deserialize_cdr(raw, msgtype)
            header_stamp_ns(raw)
        except Exception as exc:  # any decoding failure of a recorded payload
            text = " ".join(str(exc).split())[:200]
            corrupt.append({"index": i, "log_time_ns": int(logtime), "bytes": len(raw),
                            "error": f"{type(exc).__name__}: {text}" if text else type(exc).__name__})
            continue
        good.append((logtime, raw))
    return good, corrupt


def evaluate_bag(bag: str | Path, image_topic: str, out: str | Path, gt: str | Path | None = None,
                 rate: str = "1.0", weights: str | None = None, model_config: str | None = None,
                 node_params: tuple[str, ...] = ()) -> dict:
    from rosbags.rosbag2 import StoragePlugin, Writer

    from cluenet_ros.ros.node_process import NodeProcess, default_weights_or_random

    bag, out = Path(bag), Path(out)
    msgtype, frames = read_frames(bag, image_topic)
    store = typestore()
    frames, corrupt = skip_corrupt(frames, msgtype, store)
    if not frames:
        raise BagError(f"{bag}: none of the {len(corrupt)} messages on '{image_topic}' decodes as {msgtype}")
    gt_dir = Path(gt) if gt else (bag / GT_DIR if (bag / GT_DIR).is_dir() else None)
    lockstep = rate == "max"
    speed = 1.0 if lockstep else float(rate)
    if not math.isfinite(speed) or speed <= 0:
        raise BagError("--rate must be positive or 'max'")
    out.mkdir(parents=True, exist_ok=True)
    record = out / "outputs"
    if record.exists():
        raise BagError(f"{record}: already exists; choose another --out")

    weights = weights or default_weights_or_random()
    if weights != "random":  # a bad checkpoint is the user's error, found before the node starts
        from cluenet_ros.models.checkpoint import load_models

        load_models(weights, ("stage1", "stage2"))
    compressed = msgtype.endswith("CompressedImage")
    params = ("qos.reliability:=reliable", "qos.depth:=1",
              f"subscribe_compressed:={'true' if compressed else 'false'}", *node_params)
    with NodeProcess(NS, weights, out / "node.log", params, model_config) as node_proc:
        received, published, arrivals, end = _replay(frames, compressed, lockstep, speed, node_proc)

    with Writer(record, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        for topic, typ in OUTPUTS.items():
            conn = writer.add_connection(f"{NS}/{topic}", typ, typestore=store)
            for t, raw in received[topic]:
                writer.write(conn, t, raw)
    sent = {s: t for s, t in reversed(published)}  # first publication of each stamp
    return _report(bag, image_topic, msgtype, rate, weights, gt_dir, out, record, store, received, published,
                   sent, arrivals, end, corrupt)


def _replay(frames, compressed: bool, lockstep: bool, speed: float, node_proc):
    """Publish the recorded bytes at the recorded pace (or in lockstep) and collect
    every output as raw CDR with its arrival time."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image

    rclpy.init()
    node = rclpy.create_node("cluenet_bag_player")
    qos = QoSProfile(depth=50, reliability=ReliabilityPolicy.RELIABLE)
    received: dict[str, list] = {t: [] for t in OUTPUTS}
    arrivals: dict[int, float] = {}

    def keep(topic):
        def cb(raw: bytes):
            now = time.time()
            received[topic].append((time.time_ns(), bytes(raw)))
            if topic == "pedestrians":
                arrivals.setdefault(header_stamp_ns(raw), now)
        return cb

    for topic, typ in OUTPUTS.items():
        node.create_subscription(_ros_type(typ), f"{NS}/{topic}", keep(topic), qos, raw=True)
    in_topic = f"{NS}/image/compressed" if compressed else f"{NS}/image"
    pub = node.create_publisher(CompressedImage if compressed else Image, in_topic, qos)
    published: list[tuple[int, float]] = []
    try:
        node_proc.wait_for_subscriber(pub, lambda s: rclpy.spin_once(node, timeout_sec=s))
        t0_log, t0 = frames[0][0], time.time()
        for logtime, raw in frames:
            stamp = header_stamp_ns(raw)
            if lockstep:
                wait_until = time.time() + 60
                while published and published[-1][0] not in arrivals and time.time() < wait_until:
                    rclpy.spin_once(node, timeout_sec=0.01)
            else:
                due = t0 + (logtime - t0_log) / 1e9 / speed
                while time.time() < due:
                    rclpy.spin_once(node, timeout_sec=max(0.0, min(0.01, due - time.time())))
            pub.publish(raw)
            published.append((stamp, time.time()))
        tail = time.time() + 60
        while time.time() < tail and published[-1][0] not in arrivals:
            rclpy.spin_once(node, timeout_sec=0.05)
        end = time.time()
        settle = time.time() + 0.5
        while time.time() < settle:
            rclpy.spin_once(node, timeout_sec=0.05)
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return received, published, arrivals, end


def _report(bag, image_topic, msgtype, rate, weights, gt_dir, out, record, store, received, published, sent,
            arrivals, end, corrupt=()) -> dict:
    latencies = [(sent[s], 1000 * (arrivals[s] - sent[s])) for s in sent if s in arrivals]
    latencies.sort()
    lat = np.array([v for _, v in latencies]) if latencies else np.zeros(0)
    wall = end - published[0][1]
    report = {
        "bag": str(bag), "image_topic": image_topic, "message_type": msgtype, "rate": rate,
        "weights": weights, "frames_replayed": len(published), "frames_answered": len(latencies),
        "frames_dropped": len(published) - len(latencies),
        "frames_corrupt": len(corrupt), "corrupt_messages": list(corrupt),
        "throughput_fps": len(latencies) / wall if wall > 0 else float("nan"),
        "latency_ms_mean": float(lat.mean()) if len(lat) else None,
        "latency_ms_median": float(np.median(lat)) if len(lat) else None,
        "latency_ms_p95": float(np.percentile(lat, 95)) if len(lat) else None,
        "output_bag": str(record),
    }
    if gt_dir is not None:
        report["accuracy"] = _accuracy(gt_dir, received, store)
    _plots(latencies, out)
    (out / "report.json").write_text(json.dumps(_clean(report), indent=2) + "\n")
    (out / "report.md").write_text(_markdown(report))
    return report


def _ros_type(name: str):
    import importlib

    pkg, _, cls = name.split("/")
    return getattr(importlib.import_module(f"{pkg}.msg"), cls)


def _accuracy(gt_dir: Path, received, store) -> dict:
    import cv2

    from cluenet_ros.evaluation import detection as det_eval
    from cluenet_ros.evaluation.errors import read_json
    from cluenet_ros.evaluation.pose import keypoint_ap, occluded_keypoint_ap
    from cluenet_ros.evaluation.segmentation import MaskIoU

    stamps_file = gt_dir / "stamps.json"
    if not stamps_file.is_file():
        raise BagError(f"{gt_dir}: no stamps.json pairing image ids with header stamps")
    image_of = {v: int(k) for k, v in read_json(stamps_file).items()}
    cp = read_json(gt_dir / "citypersons.json")
    images = {img["id"]: img for img in cp["images"]}
    dets, kps, answered, iou = [], [], set(), MaskIoU()
    for _, raw in received["pedestrians"]:
        msg = store.deserialize_cdr(raw, OUTPUTS["pedestrians"])
        image_id = image_of.get(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
        if image_id is None or image_id in answered:
            continue
        answered.add(image_id)
        for p in msg.pedestrians:
            b = p.full_box
            x1, y1 = b.center.position.x - b.size_x / 2, b.center.position.y - b.size_y / 2
            dets.append({"image_id": image_id, "category_id": 1, "bbox": [x1, y1, b.size_x, b.size_y],
                         "score": float(p.score)})
            flat = [v for k in p.keypoints for v in (float(k.x), float(k.y), 1.0)]
            kps.append({"image_id": image_id, "category_id": 1, "keypoints": flat, "score": float(p.score)})
    for _, raw in received["mask"]:
        msg = store.deserialize_cdr(raw, OUTPUTS["mask"])
        image_id = image_of.get(msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec)
        if image_id is None or not images[image_id].get("semantic_mask"):
            continue
        pred = np.asarray(msg.data, np.uint8).reshape(msg.height, msg.step)[:, : msg.width] > 0
        sem = cv2.imread(str(gt_dir / images[image_id]["semantic_mask"]), cv2.IMREAD_UNCHANGED)
        iou.add(pred, (sem > 0) & (sem != 255), sem == 255)
    keep = lambda d: dict(d, images=[i for i in d["images"] if i["id"] in answered],  # noqa: E731
                          annotations=[a for a in d["annotations"] if a["image_id"] in answered])
    gt = det_eval.load_ground_truth(keep(cp))
    acc = {"frames_scored": len(answered),
           "detection_mr": det_eval.evaluate_detections(gt, det_eval.load_detections(dets, gt)),
           "mask_iou": iou.iou}
    coco_file = gt_dir / "coco_keypoints.json"
    if coco_file.is_file():
        coco = keep(read_json(coco_file))
        acc["keypoint_ap"] = keypoint_ap(coco, kps)
        acc["occluded_keypoint_ap"] = occluded_keypoint_ap(coco, kps)
    return acc


def _plots(latencies, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5), dpi=100)
    if latencies:
        t0 = latencies[0][0]
        a.plot([t - t0 for t, _ in latencies], [v for _, v in latencies], marker=".", lw=0.8)
        b.hist([v for _, v in latencies], bins=min(30, max(5, len(latencies) // 3)))
    a.set_xlabel("replay time (s)")
    a.set_ylabel("latency (ms)")
    a.set_title("latency over time")
    b.set_xlabel("latency (ms)")
    b.set_ylabel("frames")
    b.set_title("latency histogram")
    fig.tight_layout()
    fig.savefig(out / "latency.png")
    plt.close(fig)


def _clean(v):
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    return None if isinstance(v, float) and math.isnan(v) else v


def _markdown(r: dict) -> str:
    f = lambda v, unit="": "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.1f}{unit}"  # noqa: E731
    lines = [f"# Bag evaluation: {r['bag']}", "",
             f"- topic `{r['image_topic']}` ({r['message_type']}), rate {r['rate']}, weights `{r['weights']}`",
             f"- frames replayed {r['frames_replayed']}, answered {r['frames_answered']}, dropped {r['frames_dropped']}",
             f"- throughput {f(r['throughput_fps'])} frames/s",
             *([f"- corrupt messages skipped (their CDR does not decode): {r['frames_corrupt']}: " + "; ".join(
                 f"#{c['index']} at log time {c['log_time_ns']} ns ({c['error']})" for c in r["corrupt_messages"])]
               if r.get("frames_corrupt") else []),
             f"- latency mean {f(r['latency_ms_mean'], ' ms')}, median {f(r['latency_ms_median'], ' ms')}, "
             f"p95 {f(r['latency_ms_p95'], ' ms')}", "", "![latency](latency.png)", ""]
    acc = r.get("accuracy")
    if acc:
        pct = lambda v: "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}%"  # noqa: E731
        lines += ["## Accuracy on the replayed frames", "", f"Frames scored: {acc['frames_scored']}", "",
                  "| metric | value |", "|---|---|"]
        for k, v in acc["detection_mr"].items():
            lines.append(f"| MR^-2 {k} | {pct(v)} |")
        lines.append(f"| mask IoU | {pct(acc['mask_iou'])} |")
        if "keypoint_ap" in acc:
            lines.append(f"| keypoint AP | {pct(acc['keypoint_ap']['AP'])} |")
            if acc.get("occluded_keypoint_ap"):
                lines.append(f"| keypoint AP, occluded only | {pct(acc['occluded_keypoint_ap']['AP'])} |")
    lines.append(f"\nOutputs recorded in `{r['output_bag']}` (MCAP).\n")
    return "\n".join(lines)
