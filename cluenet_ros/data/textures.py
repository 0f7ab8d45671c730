"""Photo textures and HDR skies for the realistic world, built on each machine.

``cluenet data textures`` (run by ``make data``) downloads the Debian packages the
manifest names (``torcs-data``: road, pavement, grass, facade, wall and tree
photographs; ``blender-data``: CC0 HDR sky panoramas), writes only the listed
members, checks each against the SHA-256 in the manifest, and converts them to
one form the renderer reads fast:

* textures: PNG, RGB (tree cut-outs RGBA), at most ``MAX_SIDE`` pixels a side;
* skies: the original ``.exr`` beside a tone-mapped 8-bit equirectangular PNG
  and the light the world takes from it (mean colour of the upper hemisphere for
  the ambient light; direction, colour and share of the brightest region for the
  sun), so rendering never needs an OpenEXR reader.

The folder (``data/textures``, or ``$CLUENET_TEXTURES``) gets ``index.json`` (the
files by category, with their metric size and light) and ``SOURCES.md`` (package,
version, path in the package and licence of every file). Nothing of it is ever
committed: the textures stay under their packages' licences (GPL-2+, Free Art
License, CC0).
"""
from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from cluenet_ros.data.debian_packages import deb_version, download_deb, extract_members, sha256
from cluenet_ros.errors import FileInputError

MANIFEST = Path(__file__).resolve().parents[1] / "synth" / "realistic" / "texture_manifest.json"
INDEX = "index.json"
INDEX_VERSION = 1
MAX_SIDE = 1024


def default_dir() -> Path:
    """``$CLUENET_TEXTURES``, else ``data/textures`` in the project folder."""
    env = os.environ.get("CLUENET_TEXTURES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / "textures"


def load_manifest(path: str | Path = MANIFEST) -> dict:
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FileInputError(path, f"cannot read the texture manifest: {exc}") from exc
    packages = data.get("packages", {})
    for i, f in enumerate(data.get("files", [])):
        missing = {"category", "package", "member", "name", "sha256", "licence"} - set(f)
        if missing:
            raise FileInputError(path, f"files[{i}] lacks {sorted(missing)}")
        if f["package"] not in packages:
            raise FileInputError(path, f"files[{i}]: package {f['package']!r} is not in 'packages'")
    return data


def manifest_digest(path: str | Path = MANIFEST) -> str:
    return sha256(path)


def is_built(out_dir: Path | None = None, manifest: str | Path = MANIFEST) -> bool:
    """True when ``out_dir`` holds an index written from this manifest."""
    index = Path(out_dir or default_dir()) / INDEX
    if not index.is_file():
        return False
    try:
        data = json.loads(index.read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return data.get("manifest_sha256") == manifest_digest(manifest)


def build(out_dir: Path | None = None, manifest: str | Path = MANIFEST, force: bool = False,
          deb_dir: Path | None = None, log=print, label: str = "textures") -> Path:
    """Writes the texture folder (idempotent; ``force`` rebuilds). ``deb_dir`` is a
    folder already holding the packages' .deb files (else apt-get downloads them
    into a temporary folder, removed afterwards). ``label`` names what is built in the
    log and in SOURCES.md (the background plates use this builder with their own
    manifest)."""
    out_dir = Path(out_dir or default_dir())
    data = load_manifest(manifest)
    if not force and is_built(out_dir, manifest):
        log(f"{label}: present in {out_dir}")
        return out_dir
    by_package: dict[str, list[dict]] = {}
    for f in data["files"]:
        by_package.setdefault(f["package"], []).append(f)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, list[dict]] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix=f"cluenet-{label}-") as tmp:
        tmp = Path(tmp)
        for package, files in by_package.items():
            info = data["packages"][package]
            deb = _find_deb(deb_dir, package) if deb_dir else None
            if deb is None:
                deb = download_deb(package, info.get("version"), tmp,
                                   hint="download it elsewhere and pass --deb-dir (a folder holding the .deb)")
            versions[package] = deb_version(deb)
            log(f"{label}: extracting {len(files)} files from {deb.name}")
            raw = tmp / package
            written = extract_members(deb, {f["member"]: f"{i:03d}_{Path(f['member']).name}"
                                            for i, f in enumerate(files)}, raw)
            for f in files:
                path = written[f["member"]]
                if sha256(path) != f["sha256"]:
                    raise FileInputError(
                        path, f"{package} {versions[package]}: {f['member']} differs from the file the manifest "
                              f"lists (SHA-256 {f['sha256'][:12]}..., {package} {info.get('version')}); the "
                              f"archive has another version: update {Path(manifest).name} (paths, SHA-256) for it")
                entry = _convert(f, path, out_dir)
                entry.update(package=package, version=versions[package], member=f["member"], licence=f["licence"])
                entries.setdefault(f["category"], []).append(entry)
            if deb.parent == tmp:
                deb.unlink()
            shutil.rmtree(raw, ignore_errors=True)
    index = {"version": INDEX_VERSION, "manifest_sha256": manifest_digest(manifest), "packages": versions,
             "categories": entries}
    _remove_stale(out_dir, entries)
    (out_dir / "SOURCES.md").write_text(_sources(data, entries, versions, label))
    (out_dir / INDEX).write_text(json.dumps(index, indent=1) + "\n")  # last: marks the folder complete
    log(f"{label}: wrote {sum(map(len, entries.values()))} files in {len(entries)} categories to {out_dir}")
    return out_dir


def _remove_stale(out_dir: Path, entries: dict) -> None:
    """Files an earlier build listed that this one does not write (another manifest)."""
    try:
        old = json.loads((out_dir / INDEX).read_text())["categories"]
    except (OSError, ValueError, KeyError):
        return
    keep = {e[k] for es in entries.values() for e in es for k in ("file", "hdr") if k in e}
    for es in old.values():
        for e in es:
            for k in ("file", "hdr"):
                name = e.get(k)
                if name and name not in keep and ".." not in Path(name).parts:
                    (out_dir / name).unlink(missing_ok=True)


def _find_deb(folder: Path, package: str) -> Path | None:
    debs = sorted(Path(folder).glob(f"{package}_*.deb"))
    return debs[-1] if debs else None


def _convert(f: dict, path: Path, out_dir: Path) -> dict:
    """One manifest file into its uniform form; returns its index entry."""
    category, name = f["category"], f["name"]
    folder = out_dir / category
    folder.mkdir(parents=True, exist_ok=True)
    entry: dict = {"name": name}
    if category == "licence":
        target = folder / f"{name}.txt"
        shutil.copyfile(path, target)
    elif category == "sky_hdr":
        target = folder / f"{name}.png"
        hdr_copy = folder / f"{name}.exr"
        shutil.copyfile(path, hdr_copy)
        ldr, light = sky_from_hdr(read_hdr(path))
        _write_png(target, ldr)
        entry.update(hdr=str(hdr_copy.relative_to(out_dir)), **light)
    else:
        target = folder / f"{name}.png"
        img = read_image(path, keep_alpha=category == "tree_cutout")
        h, w = img.shape[:2]
        if max(h, w) > MAX_SIDE:
            import cv2

            s = MAX_SIDE / max(h, w)
            img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        _write_png(target, img)
        if "size_m" in f:
            entry["size_m"] = [float(v) for v in f["size_m"]]
    entry["file"] = str(target.relative_to(out_dir))
    return entry


def read_image(path: Path, keep_alpha: bool = False) -> np.ndarray:
    """RGB (or RGBA) uint8 from PNG, JPEG or SGI (``.rgb``) files."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return np.asarray(im.convert("RGBA" if keep_alpha else "RGB"))
    except Exception as exc:  # noqa: BLE001 - Pillow raises many kinds
        raise FileInputError(path, f"cannot read the image: {exc}") from exc


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    bgr = rgb[..., [2, 1, 0, 3]] if rgb.shape[-1] == 4 else rgb[..., ::-1]
    if not cv2.imwrite(str(path), np.ascontiguousarray(bgr)):
        raise FileInputError(path, "cannot write")


def read_hdr(path: Path) -> np.ndarray:
    """Linear float32 RGB of an OpenEXR (or Radiance .hdr) panorama, read with OpenCV."""
    # OpenCV reads this setting at its first EXR decode (not at import), then keeps it
    os.environ.setdefault("OPENCV_IO_ENABLE_OPENEXR", "1")
    import cv2

    try:
        img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None:
        raise FileInputError(path, "OpenCV cannot read this HDR image (for .exr it needs "
                                   "OPENCV_IO_ENABLE_OPENEXR=1 set before its first EXR read in the process)")
    img = img[..., :3][..., ::-1].astype(np.float32)
    return np.nan_to_num(np.maximum(img, 0), posinf=0.0)


def sky_from_hdr(hdr: np.ndarray) -> tuple[np.ndarray, dict]:
    """Tone-mapped sRGB uint8 panorama and the light read off it.

    The panorama is equirectangular: column 0 at azimuth -180 deg, row 0 at the
    zenith. Exposure puts the upper hemisphere's median luminance at 0.18 before
    an extended Reinhard curve (white at the 99.5th percentile) and the sRGB curve.
    Light: ``ambient`` is the mean colour of the upper hemisphere without the sun
    (weighted by solid angle, largest channel 1); ``sun`` the direction (azimuth, elevation
    in degrees) of the brightest blurred region above the horizon, its colour and
    ``strength``, the share of the upper hemisphere's light within 15 deg of it
    (a clear sky's sun holds most of it, an overcast one little).
    """
    import cv2

    h, w, _ = hdr.shape
    elev = (0.5 - (np.arange(h) + 0.5) / h) * math.pi
    upper = elev > 0
    lum = hdr @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    weight = np.cos(elev)[:, None] * np.ones((1, w), np.float32)
    up_lum = lum[upper]
    median = float(np.median(up_lum)) or 1e-6
    x = lum * (0.18 / median)
    white = max(float(np.percentile(x[upper], 99.5)), 1.0)
    scale = (1 + x / white ** 2) / (1 + x)
    mapped = np.clip(hdr * (0.18 / median) * scale[..., None], 0, 1)
    srgb = np.where(mapped <= 0.0031308, 12.92 * mapped, 1.055 * np.power(mapped, 1 / 2.4) - 0.055)
    ldr = np.clip(np.round(srgb * 255), 0, 255).astype(np.uint8)

    blurred = cv2.GaussianBlur(lum, (0, 0), max(1.0, w / 360))
    blurred[~upper] = -1
    r, c = np.unravel_index(int(np.argmax(blurred)), blurred.shape)
    sun_az = ((c + 0.5) / w - 0.5) * 360.0
    sun_el = math.degrees(elev[r])
    dirs = _directions(h, w)
    near = (dirs @ _direction(sun_az, sun_el)) > math.cos(math.radians(15))
    energy = lum * weight
    strength = float(energy[near & upper[:, None]].sum() / max(energy[upper].sum(), 1e-9))
    sun_colour = hdr[near & upper[:, None]].mean(0)
    sky = upper[:, None] & ~near       # the ambient light: the sky without its sun
    ambient = (hdr[sky] * weight[sky][:, None]).sum(0) / max(float(weight[sky].sum()), 1e-9)
    return ldr, {
        "ambient": _normalised(ambient),
        "sun": {"azimuth_deg": round(float(sun_az), 2), "elevation_deg": round(sun_el, 2),
                "colour": _normalised(sun_colour), "strength": round(strength, 4)},
    }


def _normalised(rgb) -> list[float]:
    rgb = np.asarray(rgb, np.float64)
    return [round(float(v), 4) for v in rgb / max(float(rgb.max()), 1e-9)]


def _direction(az_deg: float, el_deg: float) -> np.ndarray:
    """World direction (y up; azimuth 0 along -z, positive towards +x)."""
    a, e = math.radians(az_deg), math.radians(el_deg)
    return np.array([math.sin(a) * math.cos(e), math.sin(e), -math.cos(a) * math.cos(e)])


def _directions(h: int, w: int) -> np.ndarray:
    az = ((np.arange(w) + 0.5) / w - 0.5) * 2 * math.pi
    el = (0.5 - (np.arange(h) + 0.5) / h) * math.pi
    ce = np.cos(el)[:, None]
    return np.stack([np.sin(az)[None, :] * ce, np.sin(el)[:, None] * np.ones((1, w)), -np.cos(az)[None, :] * ce],
                    axis=-1)


def _sources(data: dict, entries: dict, versions: dict, label: str = "textures") -> str:
    lines = [f"# Sources of these {label}", "",
             f"Built by `cluenet data {label}` from Debian packages; not part of the cluenet_ros repository. "
             "Each file keeps the licence of its package member (see `licence/` for the packages' copyright "
             "files).", ""]
    for package, info in data["packages"].items():
        lines.append(f"* **{package}** {versions.get(package, info.get('version'))}: "
                     + "; ".join(f"{k}: {v}" for k, v in info.get("licences", {}).items()))
    lines += ["", "| file | package | version | path in package | licence |", "|---|---|---|---|---|"]
    for category in sorted(entries):
        for e in entries[category]:
            lines.append(f"| {e['file']} | {e['package']} | {e['version']} | /{e['member']} | {e['licence']} |")
    return "\n".join(lines) + "\n"
