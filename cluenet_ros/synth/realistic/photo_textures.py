"""Photo textures and HDR skies for the realistic world (``--textures photo``).

The folder is built by ``cluenet data textures`` (cluenet_ros/data/textures.py):
``index.json`` lists its files by category, each texture with the metric size one
image spans (``size_m``: width, height), each sky (an equirectangular tone-mapped
PNG) with the light read off its HDR original. Images are decoded once per process
(``load``'s cache) and uploaded once per renderer.

Categories the world uses: asphalt (the road), pavement and grass (the ground
before and behind it), facade and brick (building fronts), foliage (bush and hedge
colours), sky_hdr (the background and the light). asphalt, pavement, facade and
sky_hdr are required; the others are optional.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from cluenet_ros.errors import FileInputError

TEXTURE_MODES = ("auto", "photo", "procedural")
REQUIRED = ("asphalt", "pavement", "facade", "sky_hdr")
MAX_SIDE = 512          # textures are drawn at most this large: the world is seen from metres away
_CACHE: dict = {}


def default_dir() -> Path:
    from cluenet_ros.data.textures import default_dir as d

    return d()


def resolve(mode: str, folder: str | Path | None = None) -> tuple[str, Path]:
    """('photo' or 'procedural', folder): ``auto`` is photo when the folder holds an index."""
    if mode not in TEXTURE_MODES:
        raise ValueError(f"textures {mode!r}: choose one of {', '.join(TEXTURE_MODES)}")
    folder = Path(folder) if folder else default_dir()
    if mode == "auto":
        mode = "photo" if (folder / "index.json").is_file() else "procedural"
    return mode, folder


@dataclass
class Texture:
    name: str
    image: np.ndarray                   # (H, W, 3) uint8 RGB
    size_m: tuple[float, float]         # metres one image spans (width, height)
    leaves: np.ndarray | None = None    # foliage: its leaf pixels (N, 3) in [0, 1], filled on first use


@dataclass
class Sky:
    name: str
    panorama: np.ndarray                # (H, W, 3) uint8 RGB, equirectangular, row 0 at the zenith
    ambient: np.ndarray                 # (3,) colour, largest channel 1
    sun_azimuth_deg: float              # 0 along the panorama's centre column, positive to its right
    sun_elevation_deg: float
    sun_colour: np.ndarray
    sun_strength: float                 # share of the sky's light near the sun (0 overcast .. 1 clear)


class PhotoTextures:
    """The decoded texture set of one folder (see :func:`load`)."""

    def __init__(self, folder: Path, categories: dict[str, list], skies: list[Sky]):
        self.folder = folder
        self.categories = categories
        self.skies = skies

    def get(self, category: str) -> list[Texture]:
        return self.categories.get(category, [])


def load(folder: str | Path) -> PhotoTextures:
    """The set in ``folder``, decoded once per process (keyed by the index's path and
    modification time)."""
    folder = Path(folder).resolve()
    index_path = folder / "index.json"
    try:
        stamp = index_path.stat().st_mtime_ns
    except OSError:
        raise FileInputError(index_path, "missing: build the photo textures with `cluenet data textures` "
                                         "(or use --textures procedural)") from None
    key = (str(folder), stamp)
    if key not in _CACHE:
        _CACHE[key] = _read(folder, index_path)
    return _CACHE[key]


def _read(folder: Path, index_path: Path) -> PhotoTextures:
    try:
        index = json.loads(index_path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FileInputError(index_path, f"cannot read: {exc}") from exc
    cats = index.get("categories", {})
    missing = [c for c in REQUIRED if not cats.get(c)]
    if missing:
        raise FileInputError(index_path, f"no {', '.join(missing)} textures: rebuild with `cluenet data textures`")
    out: dict[str, list[Texture]] = {}
    for cat, entries in cats.items():
        if cat in ("sky_hdr", "licence", "tree_cutout"):
            continue
        out[cat] = [Texture(e.get("name", e["file"]), _image(folder / e["file"], MAX_SIDE),
                            tuple(float(v) for v in e.get("size_m", (4.0, 4.0)))) for e in entries]
    skies = []
    for e in cats["sky_hdr"]:
        sun = e.get("sun", {})
        skies.append(Sky(e.get("name", e["file"]), _image(folder / e["file"], 2048),
                         np.asarray(e.get("ambient", (1, 1, 1)), np.float32),
                         float(sun.get("azimuth_deg", 0.0)), float(sun.get("elevation_deg", 45.0)),
                         np.asarray(sun.get("colour", (1, 1, 1)), np.float32), float(sun.get("strength", 0.3))))
    return PhotoTextures(folder, out, skies)


def _image(path: Path, max_side: int) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileInputError(path, "missing or unreadable: rebuild with `cluenet data textures --force`")
    h, w = img.shape[:2]
    if max(h, w) > max_side:
        s = max_side / max(h, w)
        img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img[..., ::-1])


def side_rng(rng: np.random.Generator, salt: str = "") -> np.random.Generator:
    """A generator seeded from ``rng``'s current state without drawing from it: the
    photo choices never shift the world's own draws, so a seed gives the same
    geometry and truth with photo and procedural textures. ``salt`` gives other
    optional features (carried objects) streams of their own."""
    digest = hashlib.sha256((repr(rng.bit_generator.state) + salt).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def sky_view(sky: Sky, width: int, height: int, fx: float, fy: float, cx: float, cy: float,
             rotation: np.ndarray, yaw_rad: float) -> np.ndarray:
    """The part of the panorama a camera sees: (height, width, 3) uint8 RGB, row 0 at
    the top of the frame. ``rotation`` is world-from-camera (camera looks down -z, y
    up); ``yaw_rad`` turns the panorama about the vertical axis."""
    step = 4  # directions vary smoothly: compute them on a coarse grid and resize the maps
    hs, ws = height // step + 2, width // step + 2
    u = np.linspace(0, (ws - 1) * step, ws, dtype=np.float32) + 0.5
    v = np.linspace(0, (hs - 1) * step, hs, dtype=np.float32) + 0.5
    uu, vv = np.meshgrid(u, v)
    rays = np.stack([(uu - cx) / fx, -(vv - cy) / fy, -np.ones_like(uu)], axis=-1) @ np.asarray(
        rotation, np.float32).T
    az = np.arctan2(rays[..., 0], -rays[..., 2]) + yaw_rad
    el = np.arctan2(rays[..., 1], np.hypot(rays[..., 0], rays[..., 2]))
    ph, pw = sky.panorama.shape[:2]
    map_x = (np.mod(az / (2 * math.pi) + 0.5, 1.0) * pw - 0.5).astype(np.float32)
    map_y = ((0.5 - el / math.pi) * ph - 0.5).astype(np.float32)
    size = ((ws - 1) * step + 1, (hs - 1) * step + 1)
    # unwrap the seam before resizing (a column jumping from pw to 0 must not blend)
    map_x = np.unwrap(map_x, period=pw, axis=1).astype(np.float32)
    map_x = cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR)[:height, :width]
    map_y = cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR)[:height, :width]
    map_x = np.mod(map_x, pw).astype(np.float32)
    return cv2.remap(sky.panorama, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)


def sun_direction(sky: Sky, yaw_rad: float, min_elevation_deg: float = 20.0) -> np.ndarray:
    """Unit vector towards the sky's sun in the world (its elevation raised to at least
    ``min_elevation_deg``, so a low sun still lights the street)."""
    a = math.radians(sky.sun_azimuth_deg) - yaw_rad
    e = math.radians(max(sky.sun_elevation_deg, min_elevation_deg))
    return np.array([math.sin(a) * math.cos(e), math.sin(e), -math.cos(a) * math.cos(e)])


def leaf_colours(textures: list[Texture], g: np.random.Generator, n: int) -> np.ndarray:
    """Per-vertex colours in [0, 1] sampled from the leaves of one foliage photo (its
    near-black pixels, gaps or cut-out background, are left out)."""
    t = textures[int(g.integers(len(textures)))]
    if t.leaves is None:
        px = t.image.reshape(-1, 3)
        keep = px[px.max(1) > 30]
        t.leaves = (keep if len(keep) else px).astype(np.float32) / 255.0
    return t.leaves[g.integers(0, len(t.leaves), n)]
