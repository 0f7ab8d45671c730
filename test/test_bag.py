"""Bag tools: make then eval round trips through the real node over DDS; storage
formats, compressed images, out-of-order stamps, extra topics, bad bags."""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("rclpy")

from cluenet_ros.bag.evaluate import header_stamp_ns, read_frames  # noqa: E402
from cluenet_ros.bag.make import START_NS, BagError  # noqa: E402
from cluenet_ros.bag.types import typestore  # noqa: E402
from cluenet_ros.cli import main as cluenet  # noqa: E402
from conftest import REPO  # noqa: E402

TINY = str(REPO / "test" / "data" / "tiny_model.yaml")
TOPIC = "/camera/image_raw"


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bagdata")
    assert cluenet(["synth", "--out", str(root), "--images", "5", "--seed", "4", "--size", "256x128",
                    "--split", "cam", "--people", "2-4"]) == 0
    return root / "cam"


def evaluate(bag: Path, out: Path, *extra: str, topic: str = TOPIC) -> dict:
    assert cluenet(["bag", "eval", str(bag), "--image-topic", topic, "--out", str(out), "--weights", "random",
                    "--model-config", TINY, "--param", "score_threshold:=0.0", "--param", "max_detections:=5",
                    *extra]) == 0
    return json.loads((out / "report.json").read_text())


def test_make_then_eval_round_trip_with_ground_truth(split, tmp_path):
    bag = tmp_path / "cam_bag"
    assert cluenet(["bag", "make", "--source", str(split), "--out", str(bag), "--rate", "4"]) == 0
    _, frames = read_frames(bag, TOPIC)
    stamps = [header_stamp_ns(raw) for _, raw in frames]
    assert stamps == [START_NS + i * 250_000_000 for i in range(5)]
    started = time.monotonic()
    report = evaluate(bag, tmp_path / "ev")
    wall_ms = 1000 * (time.monotonic() - started)
    assert report["frames_replayed"] == 5
    assert report["frames_answered"] + report["frames_dropped"] == 5 and report["frames_answered"] >= 1
    # latency in milliseconds: more than the 1 ms a network forward takes at the
    # least, less than the whole replay took; throughput within what the replay allows
    for key in ("latency_ms_median", "latency_ms_mean", "latency_ms_p95"):
        assert 1.0 < report[key] < wall_ms, (key, report[key], wall_ms)
    assert report["latency_ms_median"] <= report["latency_ms_p95"]
    assert report["frames_answered"] / (wall_ms / 1000) <= report["throughput_fps"] < 1000
    acc = report["accuracy"]
    assert acc["frames_scored"] == report["frames_answered"]
    assert set(acc["detection_mr"]) == {"reasonable", "heavy", "reasonable_heavy", "all"}
    assert 0 <= acc["mask_iou"] <= 1 and "AP" in acc["keypoint_ap"]
    assert (tmp_path / "ev" / "latency.png").read_bytes()[:4] == b"\x89PNG"
    # the recorded outputs are a standard MCAP bag that an independent reader decodes
    from mcap.reader import make_reader
    from mcap_ros2.decoder import DecoderFactory

    mcap_file = next((tmp_path / "ev" / "outputs").glob("*.mcap"))
    with open(mcap_file, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        peds = [(m.header.stamp.sec * 10**9 + m.header.stamp.nanosec, len(m.pedestrians), list(m.keypoint_names))
                for _, channel, _, m in reader.iter_decoded_messages(topics=["/cluenet_bag_eval/pedestrians"])]
    assert len(peds) == report["frames_answered"]
    assert {s for s, _, _ in peds} <= set(stamps)
    assert all(names[0] == "head" and len(names) == 13 and n <= 5 for _, n, names in peds)


def write_custom_bag(path: Path, storage: str, stamps_sec: list[int], corrupt: tuple[int, ...] = ()) -> None:
    """Raw images with out-of-order header stamps (log times in order) and an extra topic;
    the images at the ``corrupt`` indices are cut to 40 bytes (their CDR does not decode)."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = typestore()
    T = store.types
    plugin = StoragePlugin.SQLITE3 if storage == "sqlite3" else StoragePlugin.MCAP
    with Writer(path, version=9, storage_plugin=plugin) as w:
        img_conn = w.add_connection(TOPIC, "sensor_msgs/msg/Image", typestore=store)
        extra = w.add_connection("/chatter", "std_msgs/msg/String", typestore=store)
        for i, sec in enumerate(stamps_sec):
            header = T["std_msgs/msg/Header"](stamp=T["builtin_interfaces/msg/Time"](sec=sec, nanosec=0), frame_id="cam")
            data = np.random.default_rng(i).integers(0, 256, 64 * 96 * 3, dtype=np.uint8)
            msg = T["sensor_msgs/msg/Image"](header=header, height=64, width=96, encoding="bgr8", is_bigendian=0,
                                             step=96 * 3, data=data)
            raw = store.serialize_cdr(msg, "sensor_msgs/msg/Image")
            w.write(img_conn, 10**9 * (i + 1), raw[:40] if i in corrupt else raw)
            w.write(extra, 10**9 * (i + 1) + 1, store.serialize_cdr(T["std_msgs/msg/String"](data="x"), "std_msgs/msg/String"))


def test_sqlite3_out_of_order_stamps_extra_topics_and_a_corrupt_payload(tmp_path):
    bag = tmp_path / "sq"
    write_custom_bag(bag, "sqlite3", [50, 20, 60, 40, 30], corrupt=(2,))
    _, frames = read_frames(bag, TOPIC)
    assert [header_stamp_ns(raw) // 10**9 for _, raw in frames] == [50, 20, 60, 40, 30]  # log-time order kept
    report = evaluate(bag, tmp_path / "ev", "--rate", "max")
    assert report["frames_replayed"] == 4 and report["frames_answered"] == 4  # lockstep: nothing else lost
    assert "accuracy" not in report
    # the message whose CDR does not decode is counted, named and skipped
    assert report["frames_corrupt"] == 1
    bad = report["corrupt_messages"][0]
    assert bad["index"] == 2 and bad["log_time_ns"] == 3 * 10**9 and bad["bytes"] == 40 and bad["error"]
    md = (tmp_path / "ev" / "report.md").read_text()
    assert "corrupt messages skipped (their CDR does not decode): 1: #2 at log time 3000000000 ns" in md


def test_compressed_bag(split, tmp_path):
    bag = tmp_path / "jpeg_bag"
    assert cluenet(["bag", "make", "--source", str(split), "--out", str(bag), "--compressed",
                    "--storage", "sqlite3"]) == 0
    msgtype, frames = read_frames(bag, TOPIC + "/compressed")
    assert msgtype == "sensor_msgs/msg/CompressedImage" and len(frames) == 5
    report = evaluate(bag, tmp_path / "ev", "--rate", "max", topic=TOPIC + "/compressed")
    assert report["frames_answered"] == 5 and report["accuracy"]["frames_scored"] == 5


def test_bad_bags_give_clear_errors(tmp_path, capsys):
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "metadata.yaml").write_text("rosbag2_bagfile_information: [broken")
    (corrupt / "corrupt.mcap").write_bytes(b"\x89MCAP0\r\n" + b"\x00garbage" * 10)
    with pytest.raises(BagError, match="corrupt: not a readable rosbag2 bag"):
        read_frames(corrupt, TOPIC)
    bag = tmp_path / "other"
    write_custom_bag(bag, "mcap", [1, 2])
    with pytest.raises(BagError, match=r"no topic '/front/image' \(the bag has: /camera/image_raw, /chatter\)"):
        read_frames(bag, "/front/image")
    empty = tmp_path / "empty"
    write_custom_bag(empty, "mcap", [])
    with pytest.raises(BagError, match="topic '/camera/image_raw' has no messages"):
        read_frames(empty, TOPIC)
    assert cluenet(["bag", "eval", str(bag), "--image-topic", "/chatter", "--out", str(tmp_path / "x")]) == 2
    assert "holds std_msgs/msg/String, not an image type" in capsys.readouterr().err
    assert cluenet(["bag", "eval", str(tmp_path / "missing"), "--image-topic", TOPIC, "--out", str(tmp_path / "y")]) == 2
    assert "missing: no such bag" in capsys.readouterr().err

