"""The ground-position study's bookkeeping (no rendering): bins, leg occlusion,
capped estimates."""
from __future__ import annotations

import pytest

from cluenet_ros.evaluation.ground_study import MAX_RANGE, summarise


def rec(d, full, vis, legs=False, visibility=1.0):
    return dict(distance=d, full_box=full, visible_box=vis, legs_occluded=legs, visibility=visibility)


def test_summary_bins_and_medians():
    records = [rec(6.0, 6.3, 6.3), rec(8.0, 7.6, 7.6), rec(9.0, 9.0, 9.0),        # 5-10: 5%, 5%, 0%
               rec(12.0, 12.6, 30.0, legs=True, visibility=0.5),                 # 10-20, legs hidden
               rec(15.0, 15.0, float("nan"), legs=True, visibility=0.4),         # visible box above the horizon
               rec(18.0, 17.1, 17.1),
               rec(45.0, 40.0, 40.0)]                                            # outside every bin
    s = summarise(records)
    assert s["count"] == {"5-10": 3, "10-20": 3, "20-40": 0}
    assert s["median_rel_error"]["5-10"] == pytest.approx(0.05)
    assert s["median_rel_error"]["10-20"] == pytest.approx(0.05)
    assert s["median_rel_error"]["20-40"] is None
    assert s["count_legs_occluded"]["10-20"] == 2
    assert s["median_rel_error_legs_occluded"]["10-20"] == pytest.approx((0.05 + 0.0) / 2)
    # the visible-box estimate: 30 m for 12 m (150%), none for 15 m (counts as MAX_RANGE)
    assert s["visible_box_median_rel_error_legs_occluded"]["10-20"] == pytest.approx(
        (1.5 + (MAX_RANGE - 15.0) / 15.0) / 2)
    assert s["median_rel_error_fully_visible"]["10-20"] == pytest.approx(0.05)
