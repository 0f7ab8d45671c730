#!/usr/bin/env python3
"""Steady-state throughput of the realistic world's renderer (after start-up), at the
dataset defaults (1-6 people, car 0.5 / pole 0.35 / vegetation 0.4), without writing files.

    .venv/bin/python tools/synth_bench.py --body anny --effects fast --images 20
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--body", default="anny", choices=("anny", "figure"))
    ap.add_argument("--effects", default="fast", help="all, fast or none")
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--size", default="1024x512")
    ap.add_argument("--antialias", choices=("on", "off"), default="on")
    ap.add_argument("--textures", choices=("auto", "photo", "procedural"), default="auto")
    args = ap.parse_args()
    from cluenet_ros.synth.realistic.effects import EFFECTS, FAST_EFFECTS
    from cluenet_ros.synth.realistic.world import RealisticRenderer, WorldOptions

    w, h = (int(v) for v in args.size.split("x"))
    effects = {"all": EFFECTS, "fast": FAST_EFFECTS, "none": ()}[args.effects]
    t0 = time.perf_counter()
    r = RealisticRenderer(w, h, 6, WorldOptions(body=args.body, effects=effects,
                                                     antialias=args.antialias == "on", textures=args.textures))
    occ = {"car": 0.5, "pole": 0.35, "vegetation": 0.4}
    r.render(np.random.default_rng(99), 4, occ)
    start = time.perf_counter() - t0
    t, c = time.perf_counter(), time.process_time()
    for k in range(args.images):
        rng = np.random.default_rng([0, k])
        r.render(rng, int(rng.integers(1, 7)), occ)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"{args.body}, effects {args.effects}, antialias {args.antialias}, textures {r.texture_mode}, {w}x{h}: "
          f"{args.images / wall:.2f} images/s "
          f"({cpu / args.images:.2f} CPU-s per image; start-up {start:.1f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    r.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
