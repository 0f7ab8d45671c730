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
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cluenet_ros.data.debian_packages import download_deb, extract_members, sha256
from cluenet_ros.errors import FileInputError

LABELS = Path(__file__).with_name("real_images.json")


def default_dir() -> Path:
    """``$CLUENET_REAL_IMAGES``, else ``data/real_images`` in the project folder."""
    env = os.environ.get("CLUENET_REAL_IMAGES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / "real_images"


def refuse_check_set(*paths: str | Path) -> None:
    """ValueError when a path lies in (or is) the real-image check set's folder: the
    training configuration calls this for every data path, so that the set stays
    a measurement and is never trained or selected on by mistake."""
    check = default_dir().resolve()
    for p in paths:
        if not p:
            continue
        r = Path(p).expanduser().resolve()
        if r == check or check in r.parents:
            raise ValueError(f"{p} is the real-image check set ({check}): it only measures "
                             f"(`cluenet eval real`); nothing may train or validate on it")


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
            ignore=np.asarray(ignore, dtype=bool), occluded=np.asarray(occluded, dtype=bool)))
    if not images:
        raise FileInputError(path, "no images")
    header = {k: v for k, v in data.items() if k != "images"}
    return header, images


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
    """
    import cv2

    header, images = load_labels(labels)
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


def read_image(out_dir: Path, image: LabelledImage) -> np.ndarray:
    """BGR uint8, with a clear error where the set has not been built."""
    import cv2

    path = Path(out_dir) / image.file
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise FileInputError(path, "missing or unreadable: build the set with `cluenet data real-images`")
    return img
