"""Real background photographs ("plates") for stage-1 training, built on each machine.

Rendered people pasted over real photographs is how synthetic-human training sets
that carry over to real cameras are usually made (SURREAL puts its bodies on real
room photographs). Here it is an augmentation (``augment.background_plate``): part
of the training images keep their rendered people, and everything else, the
rendered street, is replaced by a crop of one of these photographs, so the detector
sees photographed clutter as background and not only the renderer's.

``cluenet data plates`` downloads the Debian wallpaper packages that
``plate_manifest.json`` names and writes the listed photographs, chosen by eye from
every photograph in those packages (no person, painting, illustration or logo in
them), as PNG of at most 1024 pixels a side, with ``index.json`` and
``SOURCES.md`` (package, version, path and licence of each file) beside them. It
uses the texture builder, so the checks are the same: each member's SHA-256 against
the manifest. Nothing of it is committed; the photographs keep their licences
(CC BY 4.0, CC BY-SA 4.0, CC0, GPL-2+).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from cluenet_ros.errors import FileInputError

MANIFEST = Path(__file__).resolve().with_name("plate_manifest.json")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def default_dir() -> Path:
    """``$CLUENET_PLATES``, else ``data/plates`` in the project folder."""
    env = os.environ.get("CLUENET_PLATES")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "data" / "plates"


def build(out_dir: Path | None = None, force: bool = False, deb_dir: Path | None = None, log=print) -> Path:
    from cluenet_ros.data.textures import build as build_from_manifest

    return build_from_manifest(Path(out_dir or default_dir()), MANIFEST, force=force, deb_dir=deb_dir, log=log,
                               label="plates")


def refuse_check_set_overlap(folder: str | Path) -> None:
    """ValueError when ``folder`` is one of the real-image sets (the check, the second
    or the third set), lies inside one, or holds one: plates are read recursively, so
    a parent folder (``data``) would pull a set's photographs into training."""
    from cluenet_ros.data.real_images import REAL_SETS, refuse_check_set
    from cluenet_ros.data.real_images import default_dir as check_dir

    refuse_check_set(folder)
    r = Path(folder).expanduser().resolve()
    for s in REAL_SETS.values():
        check = check_dir(s.name).resolve()
        if r in check.parents:
            raise ValueError(f"{folder} holds {s.title} ({check}): plates are read from every folder below it, "
                             f"and the set only measures; name the plate folders themselves")


def plate_files(folders) -> list[Path]:
    """Every photograph under the folders: a built plate folder's ``plate`` entries
    (its index lists them), else every PNG or JPEG below the folder (your own
    background photographs). Sorted, so a seed picks the same plate on every machine."""
    files: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        refuse_check_set_overlap(folder)
        if not folder.is_dir():
            hint = " (build it with `cluenet data plates`)" if folder.resolve() == default_dir().resolve() else ""
            raise FileInputError(folder, f"no such plate folder{hint}")
        index = folder / "index.json"
        if index.is_file():
            try:
                entries = json.loads(index.read_text())["categories"].get("plate", [])
            except (OSError, ValueError, KeyError, AttributeError) as exc:
                raise FileInputError(index, f"cannot read the plate index: {exc}") from exc
            found = [folder / e["file"] for e in entries]
        else:
            found = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not found:
            raise FileInputError(folder, "holds no plate photographs (PNG or JPEG)")
        files += found
    return files
