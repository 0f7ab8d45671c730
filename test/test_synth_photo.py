"""The realistic world with photo textures (issue 18): a tiny texture folder of
distinctive colours made here, rendered with the stand-in figure body.

Checks that the ground, facades and sky take the folder's colours, that photo and
procedural textures give the same truth for one seed, and that ``auto`` falls back
to procedural textures where no folder is built.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

# pyrender over EGL: a pytest process of their own (`make test` does), see setup.cfg
pytestmark = pytest.mark.egl

from cluenet_ros.errors import FileInputError
from cluenet_ros.synth.realistic.world import Camera, Layout, RealisticRenderer, WorldOptions

W, H = 96, 48
RED, YELLOW, BLUE, GREEN, MAGENTA = (220, 20, 20), (220, 220, 20), (20, 20, 220), (20, 220, 20), (220, 20, 220)
CYAN = (20, 220, 220)


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("textures")
    cats = {}
    for cat, colour, size in (("pavement", RED, 2), ("asphalt", YELLOW, 4), ("facade", BLUE, 10), ("metal", CYAN, 1)):
        (d / cat).mkdir()
        cv2.imwrite(str(d / cat / "a.png"), np.full((32, 32, 3), colour[::-1], np.uint8))
        cats[cat] = [{"name": cat, "file": f"{cat}/a.png", "size_m": [size, size]}]
    (d / "sky_hdr").mkdir()
    pano = np.zeros((32, 64, 3), np.uint8)
    pano[:16], pano[16:] = GREEN, MAGENTA                     # sky above the horizon, ground below
    cv2.imwrite(str(d / "sky_hdr" / "s.png"), pano[..., ::-1])
    cats["sky_hdr"] = [{"name": "s", "file": "sky_hdr/s.png", "ambient": [1, 1, 1],
                        "sun": {"azimuth_deg": 0, "elevation_deg": 45, "colour": [1, 1, 1], "strength": 0.5}}]
    (d / "index.json").write_text(json.dumps({"version": 1, "categories": cats}))
    return d


def _renderer(mode, folder):
    return RealisticRenderer(W, H, 3, WorldOptions(body="figure", effects=(), textures=mode,
                                                   texture_dir=str(folder), antialias=False))


def _dominant(img, colour):
    """Pixels whose largest channels are those of ``colour`` (by at least 40 levels)."""
    img = img.astype(int)
    hi = np.array(colour) > 128
    return (img[..., hi].min(-1) - img[..., ~hi].max(-1) > 40) if (~hi).any() else img.min(-1) > 150


def test_photo_colours_ground_facades_and_sky(folder):
    r = _renderer("photo", folder)
    try:
        assert r.texture_mode == "photo"
        cam = Camera.make(W, H, 60.0, 1.5, pitch_deg=-4.0)
        img = r.draw(Layout(cam, [], []), np.random.default_rng(3)).image
        assert _dominant(img[-4:], RED).mean() > 0.9               # the pavement before the road
        assert _dominant(img[: H // 3], BLUE).mean() > 0.3          # facades across the street
        sky = r.draw(Layout(Camera.make(W, H, 60.0, 1.5), [], [], street=False), np.random.default_rng(4)).image
        assert _dominant(sky[: H // 2 - 3], GREEN).mean() > 0.95   # the panorama, right way up
        assert _dominant(sky[H // 2 + 3:], MAGENTA).mean() > 0.95
    finally:
        r.close()


def test_photo_and_procedural_share_the_truth(folder):
    outs = {}
    for mode in ("photo", "procedural"):
        r = _renderer(mode, folder)
        try:
            outs[mode] = r.render(np.random.default_rng(11), 3, {"car": 0.7, "pole": 0.7, "vegetation": 0.7})
        finally:
            r.close()
    a, b = outs["photo"], outs["procedural"]
    assert np.array_equal(a.instance_ids, b.instance_ids) and np.array_equal(a.depth, b.depth)
    assert [p.full_box for p in a.people] == [p.full_box for p in b.people]
    assert not np.array_equal(a.image, b.image)


def test_auto_falls_back_to_procedural(tmp_path, folder):
    r = _renderer("auto", tmp_path / "absent")
    try:
        assert r.texture_mode == "procedural" and r.photo is None
    finally:
        r.close()
    with pytest.raises(FileInputError, match="cluenet data textures"):
        _renderer("photo", tmp_path / "absent")
    r = _renderer("auto", folder)
    try:
        assert r.texture_mode == "photo"
    finally:
        r.close()


def test_photo_poles(folder):
    r = _renderer("photo", folder)
    try:
        cam = Camera.make(W, H, 60.0, 1.5)
        pole = ("cylinder", dict(position=np.array([0.0, 0.0, -4.0]), radius=0.4, height=5.0,
                                 colour=np.array([0.5, 0.5, 0.5]), metal=0.6))
        img = r.draw(Layout(cam, [], [pole], street=False), np.random.default_rng(5)).image
        assert _dominant(img[H // 2 - 3:H // 2 + 3, W // 2 - 2:W // 2 + 2], CYAN).all()   # the metal photo
    finally:
        r.close()


def test_procedural_sky_is_the_right_way_up():
    """Zenith blue at the top of the frame, horizon haze below it (the texture is
    flipped for pyrender's last-row-first upload, as the photo sky). Over many seeds:
    a third of the skies are overcast, where the two are close."""
    r = _renderer("procedural", None)
    try:
        bluer = []
        for seed in range(6):
            img = r.draw(Layout(Camera.make(W, H, 60.0, 1.5), [], [], street=False),
                         np.random.default_rng(seed)).image.astype(np.float32)
            top, low = img[:4].reshape(-1, 3).mean(0), img[H // 2 - 6: H // 2 - 2].reshape(-1, 3).mean(0)
            bluer.append((top[2] - top[0]) - (low[2] - low[0]))  # blue over red: larger at the zenith
        assert np.median(bluer) > 10
    finally:
        r.close()
