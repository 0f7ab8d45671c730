"""How many camera frames reach pedestrian_node's image subscription over DDS.

``python -m cluenet_ros.benchmark.dds_delivery`` starts the node (random tiny
model, the default best-effort subscription) and, in a separate process, a
camera-like publisher that sends rgb8 frames of each size at a fixed rate, once
with a reliable and once with a best-effort publisher. It counts receptions (the
node's ``frames_received`` diagnostic), not answers. ``--profile shipped|none``
chooses the Fast DDS set-up of both processes: the profile in
config/fastdds_shm.xml (what the launch file sets) or the middleware's default.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "config" / "fastdds_shm.xml"
SIZES = ((640, 480), (1280, 720), (2048, 1024))


def profile_env(profile: str) -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env.pop("FASTDDS_DEFAULT_PROFILES_FILE", None)
    if profile == "shipped":
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = str(PROFILE)
    elif profile != "none":
        env["FASTDDS_DEFAULT_PROFILES_FILE"] = profile
    return env


def start_node(namespace: str, profile: str, log, model_config: Path, extra: tuple[str, ...] = ()) -> subprocess.Popen:
    # the packaged parameters (best-effort subscription, keep last 1); a small random model at
    # a quarter of the input size keeps the CPU free, and diagnostics come 4 times a second
    cmd = [sys.executable, "-m", "cluenet_ros.ros.pedestrian_node", "--ros-args", "-r", f"__ns:={namespace}",
           "--params-file", str(REPO / "config" / "pedestrian.yaml"), "-p", "weights:=random",
           "-p", f"model_config:={model_config}", "-p", "device:=cpu", "-p", "input_scale:=0.25",
           "-p", "diagnostics_period:=0.25"]
    for p in extra:
        cmd += ["-p", p]
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=profile_env(profile))


def run_publisher(namespace: str, profile: str, reliability: str, sizes, frames: int, rate: float,
                  timeout: float = 600) -> dict:
    cmd = [sys.executable, "-m", "cluenet_ros.benchmark.dds_delivery", "publish", "--namespace", namespace,
           "--reliability", reliability, "--frames", str(frames), "--rate", str(rate),
           "--sizes", ",".join(f"{w}x{h}" for w, h in sizes)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=profile_env(profile), timeout=timeout)
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode != 0 or not lines:
        raise RuntimeError(f"publisher failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return json.loads(lines[-1])


def measure(profile: str, sizes=SIZES, frames: int = 50, rate: float = 10.0,
            reliabilities=("reliable", "best_effort"), model_config: Path | None = None,
            namespace: str = "/dds_delivery", log_path: Path | None = None,
            publisher_profile: str | None = None, node_params: tuple[str, ...] = ()) -> dict:
    """{reliability: {"WxH": received fraction}} for one Fast DDS set-up (the
    publisher's may differ: ``publisher_profile``, default the node's)."""
    model_config = model_config or REPO / "test" / "data" / "tiny_model.yaml"
    log = open(log_path or os.devnull, "w")
    node = start_node(namespace, profile, log, model_config, tuple(node_params))
    try:
        return {rel: run_publisher(namespace, publisher_profile or profile, rel, sizes, frames, rate)
                for rel in reliabilities}
    finally:
        node.send_signal(2)
        try:
            node.wait(timeout=30)
        except subprocess.TimeoutExpired:
            node.kill()
        log.close()


# -- the publisher process ------------------------------------------------------------
def publish(namespace: str, reliability: str, sizes, frames: int, rate: float) -> dict:
    import numpy as np
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from cluenet_ros.ros.image_codec import as_uint8_array

    rclpy.init()
    node = rclpy.create_node("dds_delivery_camera")
    qos = QoSProfile(history=HistoryPolicy.KEEP_LAST, depth=10,
                     reliability=(ReliabilityPolicy.RELIABLE if reliability == "reliable"
                                  else ReliabilityPolicy.BEST_EFFORT))
    pub = node.create_publisher(Image, f"{namespace}/image", qos)
    diag = []
    node.create_subscription(DiagnosticArray, "/diagnostics", lambda m: diag.append((time.monotonic(), m)), 10)

    def spin(seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=min(0.01, max(0.0, end - time.monotonic())))

    def received_after(t0: float, timeout: float = 15.0) -> int:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            for t, m in reversed(diag):
                if t > t0:
                    for st in m.status:
                        if st.name.startswith("pedestrian_node"):
                            return int({kv.key: kv.value for kv in st.values}["frames_received"])
            spin(0.05)
        raise RuntimeError("no diagnostics from pedestrian_node")

    end = time.monotonic() + 60
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        spin(0.1)
    if pub.get_subscription_count() == 0:
        raise RuntimeError(f"no subscriber on {namespace}/image")
    spin(1.0)  # let discovery settle on both sides
    result = {}
    for w, h in sizes:
        msg = Image(height=h, width=w, encoding="rgb8", step=w * 3)
        msg.data = as_uint8_array(np.random.default_rng(w).integers(0, 256, (h, w, 3), dtype=np.uint8))
        msg.header.frame_id = "camera"
        before = received_after(time.monotonic())
        start = time.monotonic()
        for i in range(frames):
            spin(max(0.0, start + i / rate - time.monotonic()))
            msg.header.stamp = node.get_clock().now().to_msg()
            pub.publish(msg)
        spin(0.5)
        after = received_after(time.monotonic())
        result[f"{w}x{h}"] = (after - before) / frames
    node.destroy_node()
    rclpy.shutdown()
    return result


def _sizes(text: str):
    return [tuple(int(v) for v in s.split("x")) for s in text.split(",")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="mode")
    p = sub.add_parser("publish", help="(internal) the publisher process")
    p.add_argument("--namespace", required=True)
    p.add_argument("--reliability", choices=("reliable", "best_effort"), required=True)
    p.add_argument("--frames", type=int, default=50)
    p.add_argument("--rate", type=float, default=10.0)
    p.add_argument("--sizes", type=_sizes, default=list(SIZES))
    ap.add_argument("--profile", default="shipped", help="shipped, none, or the path of a Fast DDS XML profile")
    ap.add_argument("--publisher-profile", help="the publisher's set-up if not the node's")
    ap.add_argument("--frames", type=int, default=50)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--sizes", type=_sizes, default=list(SIZES))
    ap.add_argument("--reliabilities", default="reliable,best_effort", help="publisher QoS to measure")
    ap.add_argument("--node-param", action="append", default=[], help="extra node parameter NAME:=VALUE")
    args = ap.parse_args(argv)
    if args.mode == "publish":
        print(json.dumps(publish(args.namespace, args.reliability, args.sizes, args.frames, args.rate)))
        return 0
    res = measure(args.profile, args.sizes, args.frames, args.rate, args.reliabilities.split(","),
                  publisher_profile=args.publisher_profile, node_params=tuple(args.node_param))
    print(json.dumps(res))
    print("| frame | " + " | ".join(f"{r} publisher" for r in res) + " |")
    for size in res[next(iter(res))]:
        print(f"| {size} rgb8 | " + " | ".join(f"{100 * res[r][size]:.0f}%" for r in res) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
