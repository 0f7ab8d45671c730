"""Per-frame cost of what issue 21 adds to the node, outside the model: the tracker
(with and without keypoint smoothing), the ground positions, and the messages they
add (track labels in the skeleton markers, Detection3DArray, ground markers), for
N pedestrians moving a little between frames. Prints JSON (milliseconds per frame).

    .venv/bin/python tools/features_overhead.py --people 10 --frames 300
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builtin_interfaces.msg import Time  # noqa: E402
from std_msgs.msg import Header  # noqa: E402

from cluenet_ros.benchmark.node_bench import synthetic_result  # noqa: E402
from cluenet_ros.ground import GroundCamera, ground_positions, up_quaternion  # noqa: E402
from cluenet_ros.ros import messages  # noqa: E402
from cluenet_ros.tracking import PedestrianTracker  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--frames", type=int, default=300)
    args = ap.parse_args(argv)
    base = synthetic_result(1280, 720, args.people)
    frames = []
    for k in range(args.frames):
        r = synthetic_result(1280, 720, args.people)
        r.boxes = base.boxes + np.float32(2.0 * k % 50)  # everyone walks a little
        frames.append(r)
    header = Header(stamp=Time(sec=1), frame_id="camera")
    cam = GroundCamera(900.0, 900.0, 640.0, 360.0, 1.5, 0.05)
    out = {}

    def timed(name, fn):
        t0 = time.perf_counter()
        for f in frames:
            fn(f)
        out[name] = 1000 * (time.perf_counter() - t0) / len(frames)

    timed("messages_without_tracking", lambda f: (messages.detections(f, header), messages.pedestrians(f, header),
                                                  messages.skeleton_markers(f, header)))
    tracker = PedestrianTracker()
    timed("tracker", lambda f: tracker(f))
    smoothing = PedestrianTracker(smooth_keypoints=True)
    timed("tracker_with_keypoint_smoothing", lambda f: smoothing(f))
    tracker.reset()
    tracked = [tracker(f) for f in frames]
    it = iter(tracked)
    timed("messages_with_tracking", lambda f: (lambda t: (messages.detections(t, header), messages.pedestrians(t, header),
                                                          messages.skeleton_markers(t, header)))(next(it)))

    def ground(f):
        g = ground_positions(cam, f.boxes)
        d = messages.ground_detections(f, header, g, 1.7, up_quaternion(0.05))
        messages.ground_markers(d, f)

    it2 = iter(tracked)
    timed("ground_positions_and_messages", lambda f: ground(next(it2)))
    out["people"] = args.people
    print(json.dumps({k: (round(v, 3) if isinstance(v, float) else v) for k, v in out.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
