"""tools/real_fp_groups.py: false positives of a fixed camera grouped across frames,
and the check's AP with a group left out."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("real_fp_groups", REPO / "tools" / "real_fp_groups.py")
tool = importlib.util.module_from_spec(spec)
spec.loader.exec_module(tool)


def fp(frame, x, score):
    return {"frame": frame, "box": np.array([x, 0.0, x + 20.0, 50.0]), "score": score}


def test_a_static_object_is_one_group_and_a_frame_counts_once():
    fps = [fp(0, 100, 0.9), fp(1, 102, 0.95), fp(2, 101, 0.8),   # one object in three frames
           fp(1, 104, 0.7),                                        # a second box on it in frame 1
           fp(0, 300, 0.6)]                                        # something else
    groups = sorted(tool.group_static(fps), key=lambda g: -len(g))
    assert [len(g) for g in groups] == [3, 1, 1]
    assert groups[0][0]["score"] == 0.95 and sorted(m["frame"] for m in groups[0]) == [0, 1, 2]
    assert {m["score"] for g in groups[1:] for m in g} == {0.7, 0.6}


def test_leaving_out_boxes_recomputes_ap():
    # one image, two people, a false positive above both hits: interpolated precision 2/3 at both recalls
    rows = [{"file": "a", "people": 2, "hits_at_threshold": 2, "fps_at_threshold": 1,
             "scores": [0.99, 0.9, 0.8], "hit": [0, 1, 1]}]
    assert tool.ap_without(rows, set()) == pytest.approx(2 / 3)
    assert tool.ap_without(rows, {("a", 0)}) == pytest.approx(1.0)
    assert tool.ap_without(rows, {("a", 2)}) == pytest.approx(0.25)   # a hit left out: its person is missed
