"""`cluenet data textures` (issue 18): the builder against a tiny Debian package made
here, the manifest's SHA-256 check, the sky's light, and the photo sky's view.

No network and no real package: the .deb is built with ``dpkg-deb -b`` from
stand-in images the test draws itself.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from cluenet_ros.data import debian_packages as dp
from cluenet_ros.data import textures as T
from cluenet_ros.errors import FileInputError, InputError
from cluenet_ros.synth.realistic import photo_textures as photo

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg-deb") is None,
                                reason="dpkg-deb is not installed: the tiny test package cannot be built")


def _pano(h=32, w=64, sun=(90.0, 30.0)) -> np.ndarray:
    """Linear float32 RGB panorama: a blue sky, a grey ground and a small bright sun."""
    img = np.zeros((h, w, 3), np.float32)
    img[: h // 2] = (0.3, 0.5, 1.0)
    img[h // 2:] = (0.2, 0.2, 0.2)
    c = int((sun[0] / 360 + 0.5) * w)
    r = int((0.5 - sun[1] / 180) * h)
    img[r - 1:r + 2, c - 1:c + 2] = (500.0, 450.0, 400.0)
    return img


def _make_deb(tmp: Path) -> tuple[Path, dict]:
    """A package 'cluenet-test-tex' 1.0 holding three images, an HDR sky and a
    copyright file; returns the .deb and a manifest for it."""
    from PIL import Image

    root = tmp / "pkg"
    files = {
        "usr/share/tex/road.rgb": ("asphalt", (60, 60, 60)),
        "usr/share/tex/slab.png": ("pavement", (200, 30, 30)),
        "usr/share/tex/house.png": ("facade", (30, 30, 200)),
    }
    for member, (_, colour) in files.items():
        path = root / member
        path.parent.mkdir(parents=True, exist_ok=True)
        img = Image.fromarray(np.full((32, 32, 3), colour, np.uint8))
        img.save(path, format="SGI" if member.endswith(".rgb") else "PNG")
    sky = root / "usr/share/sky/clear.hdr"
    sky.parent.mkdir(parents=True)
    assert cv2.imwrite(str(sky), _pano()[..., ::-1])
    copyright_ = root / "usr/share/doc/cluenet-test-tex/copyright"
    copyright_.parent.mkdir(parents=True)
    copyright_.write_text("Files: *\nLicense: CC0-1.0\n")
    (root / "DEBIAN").mkdir()
    (root / "DEBIAN/control").write_text("Package: cluenet-test-tex\nVersion: 1.0\nArchitecture: all\n"
                                         "Maintainer: test <test@example.org>\nDescription: test textures\n")
    debs = tmp / "debs"
    debs.mkdir()
    deb = debs / "cluenet-test-tex_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-b", str(root), str(deb)], check=True, capture_output=True)
    entries = [{"category": cat, "package": "cluenet-test-tex", "member": m, "name": Path(m).stem,
                "licence": "CC0-1.0", "size_m": [3, 3], "sha256": dp.sha256(root / m)}
               for m, (cat, _) in files.items()]
    entries.append({"category": "sky_hdr", "package": "cluenet-test-tex", "member": "usr/share/sky/clear.hdr",
                    "name": "clear", "licence": "CC0-1.0", "sha256": dp.sha256(sky)})
    entries.append({"category": "licence", "package": "cluenet-test-tex",
                    "member": "usr/share/doc/cluenet-test-tex/copyright", "name": "copyright",
                    "licence": "CC0-1.0", "sha256": dp.sha256(copyright_)})
    manifest = {"packages": {"cluenet-test-tex": {"version": "1.0", "licences": {"CC0-1.0": "all"}}},
                "files": entries}
    return deb, manifest


@needs_dpkg
def test_extract_members_full_paths_and_flat(tmp_path):
    deb, _ = _make_deb(tmp_path)
    out = tmp_path / "out"
    written = dp.extract_members(deb, {"./usr/share/tex/slab.png": "a/slab.png", "/usr/share/sky/clear.hdr": "s.hdr"},
                                 out)
    assert written["./usr/share/tex/slab.png"] == out / "a/slab.png" and (out / "a/slab.png").is_file()
    assert (out / "s.hdr").is_file()
    flat = dp.extract_members(deb, ["road.rgb", "house.png"], out / "flat", root="usr/share/tex")
    assert sorted(p.name for p in flat.values()) == ["house.png", "road.rgb"]
    with pytest.raises(InputError, match="lacks"):
        dp.extract_members(deb, ["usr/share/tex/nothing.png"], out)
    assert dp.deb_version(deb) == "1.0"


@needs_dpkg
def test_build_writes_index_sources_and_is_idempotent(tmp_path):
    deb, manifest = _make_deb(tmp_path)
    mpath = tmp_path / "manifest.json"
    mpath.write_text(json.dumps(manifest))
    out = tmp_path / "textures"
    logs = []
    T.build(out, mpath, deb_dir=deb.parent, log=logs.append)
    index = json.loads((out / "index.json").read_text())
    cats = index["categories"]
    assert set(cats) == {"asphalt", "pavement", "facade", "sky_hdr", "licence"}
    road = cv2.imread(str(out / cats["asphalt"][0]["file"]))
    assert road.shape == (32, 32, 3) and (road == 60).all()   # SGI converted to PNG
    assert cats["pavement"][0]["size_m"] == [3.0, 3.0]
    sky = cats["sky_hdr"][0]
    assert cv2.imread(str(out / sky["file"])).shape == (32, 64, 3) and (out / sky["hdr"]).is_file()
    assert abs(sky["sun"]["azimuth_deg"] - 90) < 12 and abs(sky["sun"]["elevation_deg"] - 30) < 12
    assert sky["ambient"][2] == 1.0 and sky["ambient"][0] < sky["ambient"][2]   # blue sky
    sources = (out / "SOURCES.md").read_text()
    assert "| pavement/slab.png | cluenet-test-tex | 1.0 | /usr/share/tex/slab.png | CC0-1.0 |" in sources
    assert T.is_built(out, mpath)
    T.build(out, mpath, deb_dir=deb.parent, log=logs.append)
    assert "present" in logs[-1]
    manifest["files"] = [f for f in manifest["files"] if f["name"] != "house"] + [
        dict(f, category="brick") for f in manifest["files"] if f["name"] == "house"]
    mpath.write_text(json.dumps(manifest))                    # another manifest: a rebuild, old files removed
    T.build(out, mpath, deb_dir=deb.parent, log=logs.append)
    assert (out / "brick/house.png").is_file() and not (out / "facade/house.png").exists()
    assert photo.resolve("auto", out) == ("photo", out)


@needs_dpkg
def test_build_refuses_a_file_that_differs_from_the_manifest(tmp_path):
    deb, manifest = _make_deb(tmp_path)
    manifest["files"][1]["sha256"] = "0" * 64
    mpath = tmp_path / "manifest.json"
    mpath.write_text(json.dumps(manifest))
    with pytest.raises(FileInputError, match=r"usr/share/tex/slab.png differs from the file the manifest lists"):
        T.build(tmp_path / "textures", mpath, deb_dir=deb.parent, log=lambda *_: None)
    assert not (tmp_path / "textures" / "index.json").exists()


def test_repository_manifest_is_consistent():
    data = T.load_manifest()
    cats = {f["category"] for f in data["files"]}
    assert {"asphalt", "pavement", "facade", "grass", "foliage", "sky_hdr"} <= cats
    assert all(len(f["sha256"]) == 64 for f in data["files"])
    assert all("size_m" in f for f in data["files"] if f["category"] in ("asphalt", "pavement", "facade", "brick"))
    assert len({(f["category"], f["name"]) for f in data["files"]}) == len(data["files"])


def test_auto_is_procedural_without_a_built_folder(tmp_path):
    assert photo.resolve("auto", tmp_path / "absent") == ("procedural", tmp_path / "absent")
    assert photo.resolve("procedural", tmp_path)[0] == "procedural"
    with pytest.raises(FileInputError, match="cluenet data textures"):
        photo.load(tmp_path / "absent")
    with pytest.raises(ValueError, match="choose one of"):
        photo.resolve("glossy")


def test_sky_view_follows_the_camera():
    pano = np.zeros((64, 128, 3), np.uint8)
    pano[:32] = (0, 255, 0)                     # above the horizon: green
    pano[32:] = (255, 0, 255)                   # below: magenta
    pano[:32, 64:] = (0, 0, 255)                # upper half at azimuth 0..180 (right of the centre): blue
    sky = photo.Sky("t", pano, np.ones(3), 90.0, 30.0, np.ones(3), 0.5)
    level = np.eye(3)
    view = photo.sky_view(sky, 80, 40, 40.0, 40.0, 40.0, 20.0, level, 0.0)
    assert (view[5, 5] == (0, 255, 0)).all() and (view[5, 75] == (0, 0, 255)).all()   # left: az < 0, right: > 0
    assert (view[35, 40] == (255, 0, 255)).all()
    turned = photo.sky_view(sky, 80, 40, 40.0, 40.0, 40.0, 20.0, level, math.pi / 2)
    assert (turned[5, 5] == (0, 0, 255)).all()                                      # turned 90 deg: all blue
    d = photo.sun_direction(sky, 0.0)
    assert d[0] > 0.8 and abs(d[1] - 0.5) < 1e-6                                   # towards +x, 30 deg up
    d = photo.sun_direction(photo.Sky("t", pano, np.ones(3), 0.0, 2.0, np.ones(3), 0.5), 0.0)
    assert abs(math.degrees(math.asin(d[1])) - 20) < 1e-6                          # a low sun is raised


def test_sky_draws_match_the_procedural_sky():
    from cluenet_ros.synth.realistic import textures as tex

    for seed in range(4):
        a, b = np.random.default_rng(seed), np.random.default_rng(seed)
        tex.sky(a, 96, 48, 20.0)
        tex.sky_draws(b, 96, 48)
        assert a.bit_generator.state == b.bit_generator.state


def test_read_hdr_reads_openexr_after_cv2_is_imported(tmp_path):
    """The builder enables OpenCV's EXR codec itself, also where cv2 was imported first
    (OpenCV reads the setting at its first EXR use). Each step in a process of its own:
    the setting cannot be undone once read."""
    import os
    import subprocess
    import sys

    path = str(tmp_path / "sky.exr")
    write = f"""
import sys, cv2, numpy as np
img = np.zeros((8, 16, 3), np.float32); img[..., 2] = 2.5; img[0, 0] = (0.0, 0.0, 300.0)
try:
    ok = cv2.imwrite({path!r}, img)
except cv2.error:
    ok = False
sys.exit(0 if ok else 3)
"""
    env = dict(os.environ, OPENCV_IO_ENABLE_OPENEXR="1")
    done = subprocess.run([sys.executable, "-c", write], capture_output=True, text=True, env=env)
    if done.returncode == 3:
        pytest.skip("this OpenCV build cannot write OpenEXR files")
    assert done.returncode == 0, done.stderr[-2000:]
    read = f"""
import cv2, numpy as np
from cluenet_ros.data.textures import read_hdr
hdr = read_hdr({path!r})
assert hdr.dtype == np.float32 and hdr.shape == (8, 16, 3), hdr.shape
assert abs(hdr[1, 1, 0] - 2.5) < 1e-3 and hdr[0, 0, 0] > 299, hdr[:2, :2]   # BGR -> RGB, linear values
"""
    env.pop("OPENCV_IO_ENABLE_OPENEXR")
    done = subprocess.run([sys.executable, "-c", read], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
