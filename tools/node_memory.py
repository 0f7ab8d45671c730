#!/usr/bin/env python3
"""Peak resident memory of a running pedestrian_node, eager/compiled against standalone.

Issue 20 bounds the node's memory at 600 MB. `cluenet bench` measures a pipeline in
a process; this measures the node itself: it starts `pedestrian_node` with the given
settings, sends FRAMES camera frames of WxH (one at a time, each answered before the
next), and reads the node's VmHWM (peak RSS) and VmRSS from /proc before stopping it. It
also times the start (launch to the node's image subscription, made once the model is
loaded) and each frame (publish to detections received).

    tools/node_memory.py [--standalone] [--backend auto] [--frames 10] [--resolution 1024x512]
        [--weights CKPT] [--param NAME:=VALUE ...] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def status_mb(pid: int) -> dict:
    out = {}
    for line in open(f"/proc/{pid}/status"):
        key = line.split(":")[0]
        if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile"):
            out[key] = int(line.split()[1]) / 1024
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--standalone", action="store_true")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--resolution", default="1024x512")
    ap.add_argument("--weights", default="")
    ap.add_argument("--param", action="append", default=[], metavar="NAME:=VALUE",
                    help="a further node parameter (repeat), e.g. detection_extra_scale:=0.0")
    ap.add_argument("--json")
    a = ap.parse_args()
    for prm in a.param:
        if ":=" not in prm:
            ap.error(f"--param {prm!r}: expected NAME:=VALUE")
    w, h = (int(v) for v in a.resolution.split("x"))
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    os.environ.setdefault("ROS_DOMAIN_ID", str(100 + os.getpid() % 100))
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from vision_msgs.msg import Detection2DArray

    ns = "/node_memory"
    cmd = [sys.executable, "-m", "cluenet_ros.ros.pedestrian_node", "--ros-args", "-r", f"__ns:={ns}",
           *(["-p", f"weights:={a.weights}"] if a.weights else []), "-p", "device:=cpu", "-p", f"backend:={a.backend}",
           "-p", f"standalone:={'true' if a.standalone else 'false'}", "-p", "score_threshold:=0.0",
           "-p", "max_detections:=10", "-p", "qos.reliability:=reliable"]
    cmd += [arg for prm in a.param for arg in ("-p", prm)]
    t_start = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    rclpy.init()
    node = rclpy.create_node("node_memory_probe")
    qos = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)
    got = []
    node.create_subscription(Detection2DArray, f"{ns}/detections", got.append, qos)
    pub = node.create_publisher(Image, f"{ns}/image", qos)
    try:
        deadline = time.monotonic() + 600
        while pub.get_subscription_count() == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the node did not come up:\n" + (proc.stdout.read() if proc.poll() is not None else ""))
            rclpy.spin_once(node, timeout_sec=0.1)
        ready = status_mb(proc.pid)
        start_s = time.monotonic() - t_start  # the node subscribes once its model is loaded
        frame_ms = []
        rng = np.random.default_rng(0)
        counts = []
        for i in range(a.frames):
            msg = Image(height=h, width=w, encoding="rgb8", step=3 * w)
            msg.data = rng.integers(0, 256, h * w * 3, dtype=np.uint8).tobytes()
            msg.header.stamp.sec = i + 1
            n = len(got)
            t0 = time.monotonic()
            pub.publish(msg)
            while len(got) == n:
                if proc.poll() is not None:
                    raise SystemExit("the node stopped:\n" + proc.stdout.read())
                rclpy.spin_once(node, timeout_sec=0.01)
            frame_ms.append(1000 * (time.monotonic() - t0))
            counts.append(len(got[-1].detections))
        after = status_mb(proc.pid)
        with open(f"/proc/{proc.pid}/maps") as f:
            torch_loaded = any("libtorch" in line for line in f)
    finally:
        if proc.poll() is None:
            proc.send_signal(2)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        node.destroy_node()
        rclpy.shutdown()
    res = {"standalone": a.standalone, "backend_parameter": a.backend, "parameters": a.param, "resolution": f"{w}x{h}",
           "frames": a.frames, "detections_per_frame": float(np.mean(counts)),
           "rss_mb_ready": ready["VmRSS"], "peak_rss_mb": after["VmHWM"], "rss_mb_after": after["VmRSS"],
           "rss_anon_mb_after": after.get("RssAnon"), "rss_file_mb_after": after.get("RssFile"),
           "torch_loaded": torch_loaded, "start_s": start_s, "first_frame_ms": frame_ms[0] if frame_ms else None,
           "frame_ms_median_after_first": float(np.median(frame_ms[1:])) if len(frame_ms) > 1 else None}
    print(json.dumps(res))
    if a.json:
        with open(a.json, "w") as f:
            f.write(json.dumps(res, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
