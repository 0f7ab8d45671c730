"""The tracker alone per frame: this checkout's ByteTracker against the one at a
git revision (by default d37515b, the last one with a Kalman filter object per
track; aae36cd is the last with 8x8 covariance stacks), interleaved frame by frame in one process so that both see the same load.
People walk across a 2048x1024 view, all detected each frame with a little noise
(steady state: every track matched, as in the node benchmark).

    .venv/bin/python tools/tracker_bench.py [--people 10 50] [--frames 400] [--against d37515b]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def tracker_at(rev: str):
    """The ByteTracker class of the tracking modules at ``rev``: ``byte_tracker.py``
    and, where ``rev`` has them, the ``kalman.py`` and ``track_table.py`` it imports,
    all from that revision (each bound under its own name while the next is run)."""
    modules = {}
    for name in ("kalman", "track_table", "byte_tracker"):
        shown = subprocess.run(["git", "show", f"{rev}:cluenet_ros/tracking/{name}.py"], cwd=ROOT,
                               capture_output=True, text=True)
        if shown.returncode:
            continue  # not at that revision (the tracker then had its filter objects inside)
        module = types.ModuleType(f"{name}_{rev}")
        sys.modules[module.__name__] = module  # dataclasses look their module up there
        real = {n: sys.modules.get(f"cluenet_ros.tracking.{n}") for n in modules}
        try:
            sys.modules.update({f"cluenet_ros.tracking.{n}": m for n, m in modules.items()})
            exec(compile(shown.stdout, f"{rev}:{name}.py", "exec"), module.__dict__)
        finally:
            for n, m in real.items():
                if m is None:
                    sys.modules.pop(f"cluenet_ros.tracking.{n}", None)
                else:
                    sys.modules[f"cluenet_ros.tracking.{n}"] = m
        modules[name] = module
    return modules["byte_tracker"].ByteTracker


def frames(people: int, count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 2048, people)
    y = rng.uniform(200, 800, people)
    vx = rng.uniform(-8, 8, people)
    h = rng.uniform(80, 300, people)
    for k in range(count):
        cx = (x + vx * k) % 2048 + rng.normal(0, 2, people)
        cy = y + rng.normal(0, 2, people)
        boxes = np.stack([cx - 0.2 * h, cy - h / 2, cx + 0.2 * h, cy + h / 2], 1)
        yield boxes, rng.uniform(0.6, 0.99, people)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--people", type=int, nargs="+", default=[10, 50])
    ap.add_argument("--frames", type=int, default=400)
    ap.add_argument("--against", default="d37515b")
    args = ap.parse_args()
    from cluenet_ros.tracking import ByteTracker

    Old = tracker_at(args.against)
    for people in args.people:
        trackers = {"before": Old(), "after": ByteTracker()}
        times = {name: [] for name in trackers}
        for k, (boxes, scores) in enumerate(frames(people, args.frames + 20)):
            order = list(trackers) if k % 2 else list(trackers)[::-1]
            out = {}
            for name in order:
                t0 = time.perf_counter()
                out[name] = trackers[name].update(boxes, scores)
                if k >= 20:  # past the start-up frames
                    times[name].append(1000 * (time.perf_counter() - t0))
            assert out["before"].tolist() == out["after"].tolist(), f"frame {k}: the ids differ"
        print(f"{people} tracks, {args.frames} frames (ms per frame):")
        for name, v in times.items():
            print(f"  {name:<7} median {np.median(v):.4f}  p95 {np.percentile(v, 95):.4f}  least {np.min(v):.4f}")
        print(f"  after/before (medians) {np.median(times['after']) / np.median(times['before']):.3f}")


if __name__ == "__main__":
    main()
