#!/usr/bin/env python3
"""Session 46, part B (a read, choosing nothing): ClueNet and HOG on the people of the two
sets kept apart from the check, pooled (second + third: 50 people in 13 images), with a
paired percentile bootstrap over images. Uses the reports' per-image scores and hit flags,
and the same AP (VOC all-point, IoU 0.5) as `cluenet eval real`.

    python docs/accuracy/real_world/s46/apart_pooled.py SECOND.json THIRD.json
"""
from __future__ import annotations

import json
import sys

import numpy as np

from cluenet_ros.evaluation.real_check import average_precision


def rows(path: str, det: str) -> list[dict]:
    return json.load(open(path))["detectors"][det]["per_image"]


def ap(rs: list[dict]) -> float:
    people = sum(r["people"] for r in rs)
    scores = np.array([x for r in rs for x in r["scores"]], float)
    hits = np.array([x for r in rs for x in r["hit"]], bool)
    return average_precision(scores, hits, people)


def main(second: str, third: str, draws: int = 5000, seed: int = 0) -> int:
    c = rows(second, "cluenet") + rows(third, "cluenet")
    h = rows(second, "hog") + rows(third, "hog")
    assert [r["file"] for r in c] == [r["file"] for r in h]
    rng = np.random.default_rng(seed)
    diffs, cs, hs = [], [], []
    for _ in range(draws):
        idx = rng.integers(len(c), size=len(c))
        if sum(c[i]["people"] for i in idx) == 0:
            continue
        a, b = ap([c[i] for i in idx]), ap([h[i] for i in idx])
        cs.append(a), hs.append(b), diffs.append(a - b)
    lo = lambda v: 100 * np.percentile(v, 2.5)   # noqa: E731
    hi = lambda v: 100 * np.percentile(v, 97.5)  # noqa: E731
    print(f"{sum(r['people'] for r in c)} people in {len(c)} images (second + third)")
    print("| detector | AP @0.5 (95%) |\n|---|---|")
    print(f"| ClueNet | {100 * ap(c):.1f}% [{lo(cs):.1f}, {hi(cs):.1f}] |")
    print(f"| HOG | {100 * ap(h):.1f}% [{lo(hs):.1f}, {hi(hs):.1f}] |")
    print(f"\nClueNet minus HOG, paired: {100 * (ap(c) - ap(h)):+.1f} [{lo(diffs):+.1f}, {hi(diffs):+.1f}], "
          f"P(ahead) {np.mean(np.array(diffs) > 0):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:3]))
