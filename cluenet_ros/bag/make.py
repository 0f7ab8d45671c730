"""``cluenet bag make``: a camera bag from a folder of images, a video, or a
synthetic dataset split (whose ground truth goes beside the bag).

Ground truth travels as a sidecar folder ``<bag>/ground_truth/``: the split's
``citypersons.json`` and ``coco_keypoints.json`` (mask paths rewritten to the
copied ``masks/``) plus ``stamps.json`` mapping each image id to the header stamp
(nanoseconds) of its message, so evaluation can pair outputs with truth by stamp.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from cluenet_ros.bag.types import typestore
from cluenet_ros.errors import InputError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
GT_DIR = "ground_truth"
START_NS = 1_700_000_000 * 10**9


class BagError(InputError, ValueError):
    pass


def _frames(source: Path):
    """(rgb, image_record or None) for each frame of the source, in order."""
    if source.is_dir() and (source / "citypersons.json").is_file():
        from cluenet_ros.data.split import SplitFolder

        split = SplitFolder.open(source)
        for img in split.images:
            yield split.read_rgb(img), img
    elif source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        if not files:
            raise BagError(f"{source}: no images ({', '.join(IMAGE_EXTENSIONS)}) in the folder")
        for p in files:
            bgr = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if bgr is None:
                raise BagError(f"{p}: not a readable image")
            yield bgr[..., ::-1], None
    elif source.is_file() and source.suffix.lower() in VIDEO_EXTENSIONS:
        cap = cv2.VideoCapture(str(source))
        if not cap.isOpened():
            raise BagError(f"{source}: cannot open the video")
        try:
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield bgr[..., ::-1], None
        finally:
            cap.release()
    else:
        raise BagError(f"{source}: not a folder of images, a video ({', '.join(VIDEO_EXTENSIONS)}) "
                       "or a dataset split folder")


def make_bag(source: str | Path, out: str | Path, storage: str = "mcap", topic: str = "/camera/image_raw",
             rate: float = 10.0, compressed: bool = False, frame_id: str = "camera_optical_frame") -> dict:
    from rosbags.rosbag2 import StoragePlugin, Writer

    source, out = Path(source), Path(out)
    if out.exists():
        raise BagError(f"{out}: already exists (rosbag2 bags are folders; choose a new path)")
    if rate <= 0:
        raise BagError("--rate must be positive")
    store = typestore()
    Header = store.types["std_msgs/msg/Header"]
    Time = store.types["builtin_interfaces/msg/Time"]
    plugin = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}[storage]
    period = int(round(1e9 / rate))
    stamps: dict = {}
    count = 0
    frames = _frames(source)
    first = next(frames, None)
    if first is None:
        raise BagError(f"{source}: no frames")
    with Writer(out, version=9, storage_plugin=plugin) as writer:
        if compressed:
            msgtype = "sensor_msgs/msg/CompressedImage"
            topic_name = topic.rstrip("/") + "/compressed"
        else:
            msgtype, topic_name = "sensor_msgs/msg/Image", topic
        conn = writer.add_connection(topic_name, msgtype, typestore=store)
        for rgb, record in _chain(first, frames):
            t = START_NS + count * period
            header = Header(stamp=Time(sec=t // 10**9, nanosec=t % 10**9), frame_id=frame_id)
            if compressed:
                ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 92])
                msg = store.types[msgtype](header=header, format="jpeg", data=buf.reshape(-1))
            else:
                h, w = rgb.shape[:2]
                msg = store.types[msgtype](header=header, height=h, width=w, encoding="rgb8", is_bigendian=0,
                                           step=w * 3, data=np.ascontiguousarray(rgb).reshape(-1))
            writer.write(conn, t, store.serialize_cdr(msg, msgtype))
            if record is not None:
                stamps[record["id"]] = t
            count += 1
    if stamps:
        _write_ground_truth(source, out / GT_DIR, stamps)
    return {"bag": str(out), "topic": topic_name, "messages": count, "storage": storage,
            "ground_truth": bool(stamps)}


def _chain(first, rest):
    yield first
    yield from rest


def _write_ground_truth(split: Path, dest: Path, stamps: dict) -> None:
    dest.mkdir(parents=True)
    shutil.copytree(split / "masks", dest / "masks")
    for name in ("citypersons.json", "coco_keypoints.json"):
        if (split / name).is_file():
            shutil.copy2(split / name, dest / name)
    (dest / "stamps.json").write_text(json.dumps({str(k): v for k, v in stamps.items()}))
