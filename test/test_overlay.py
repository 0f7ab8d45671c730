"""The overlay drawing (no ROS): stable track colours, occluded keypoints drawn
differently from visible ones, the README picture."""
from __future__ import annotations

import colorsys

import numpy as np

from cluenet_ros.inference.pipeline import FrameResult
from cluenet_ros.overlay import OCCLUDED_RGB, VISIBLE_RGB, draw_overlay, track_colour, track_colour_u8


def test_track_colours_are_stable_and_far_apart():
    assert track_colour(7) == track_colour(7)
    hues = [colorsys.rgb_to_hsv(*track_colour(i))[0] for i in range(1, 9)]
    for a, b in zip(hues, hues[1:]):
        d = abs(a - b) % 1.0
        assert min(d, 1 - d) > 0.2  # consecutive ids look different
    assert all(0 <= c <= 255 for c in track_colour_u8(123))


def result(track_ids=None):
    kps = np.zeros((1, 13, 3), np.float32)
    kps[0, :, 0] = np.linspace(20, 100, 13)
    kps[0, :, 1] = np.linspace(20, 100, 13)
    kps[0, :, 2] = 1.0
    occluded = np.zeros((1, 13), bool)
    occluded[0, 12] = True
    return FrameResult(boxes=np.array([[10, 10, 110, 110]], np.float32), scores=np.array([0.9], np.float32),
                       visible_boxes=np.array([[10, 10, 110, 80]], np.float32), visibility=np.array([0.7], np.float32),
                       keypoints=kps, occluded=occluded, mask=np.zeros((120, 130), np.uint8),
                       track_ids=None if track_ids is None else np.array(track_ids))


def test_visible_keypoints_are_discs_and_occluded_ones_rings():
    img = np.zeros((120, 130, 3), np.uint8)
    out = draw_overlay(img, result([4]))
    assert not img.any()  # the input is not drawn on
    vx, vy = 20, 20      # keypoint 0: visible
    assert tuple(out[vy, vx]) == VISIBLE_RGB
    ox, oy = 100, 100    # keypoint 12: occluded; centre left open, the ring around it orange
    def orange(px):  # the ring is anti-aliased: OCCLUDED_RGB blended with black
        r, g, b = (int(v) for v in px)
        return r > 150 and b < 40 and abs(g / r - OCCLUDED_RGB[1] / OCCLUDED_RGB[0]) < 0.05

    assert not orange(out[oy, ox]) and tuple(out[oy, ox]) != VISIBLE_RGB
    assert orange(out[oy, ox + 3]) and orange(out[oy + 3, ox]) and orange(out[oy, ox - 3])


def test_box_takes_the_track_colour():
    out = draw_overlay(np.zeros((120, 130, 3), np.uint8), result([4]))
    assert tuple(out[95, 10]) == track_colour_u8(4)  # left edge of the full box, below the visible box
    other = draw_overlay(np.zeros((120, 130, 3), np.uint8), result([5]))
    assert tuple(other[95, 10]) == track_colour_u8(5) != track_colour_u8(4)
    untracked = draw_overlay(np.zeros((120, 130, 3), np.uint8), result(None))
    assert tuple(untracked[95, 10]) == (0, 255, 0)


def test_readme_picture_exists():
    from conftest import REPO

    png = REPO / "docs" / "features" / "debug_image.png"
    assert png.is_file() and png.stat().st_size > 10_000
    assert "docs/features/debug_image.png" in (REPO / "README.md").read_text()
