"""What the backend cache holds, and which of it no start will read again.

Why: every checkpoint a user runs on a compiled backend or standalone leaves 20-75 MB
of graphs in the cache (each fine-tune, each soup), and each change of the standalone
graphs' format (:data:`.standalone.FORMAT`) or of the installed torch (in the compiled
graphs' key) leaves the old folders behind, unread.
Nothing removed them, so the cache only grew (367 MB on the machine that made the demo
model, two thirds of it unreadable by the current version). ``cluenet cache`` lists the
entries and prunes them; this module knows the entries and touches no torch.

Only folders this package writes are recognised, by name and contents; anything else
under the cache folder (``CLUENET_CACHE_DIR`` may name a folder a user also keeps other
things in) is listed as ``unknown`` and never removed. An unfinished export younger than
:data:`UNFINISHED_GRACE_S` may still be being written by another process, and is kept.

A folder's modification time is its last use: a start that reads an entry touches it
(:func:`mark_used`; best effort, a read-only cache stays as it is).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from cluenet_ros.inference.runtimes import cache_root

UNFINISHED_GRACE_S = 3600.0  # an export takes seconds; one this old was interrupted
_KEY = r"[0-9a-f]{24}"
_STANDALONE = re.compile(rf"standalone-{_KEY}")
_STANDALONE_PART = re.compile(rf"standalone-{_KEY}\.part-.+")
_COMPILED = re.compile(_KEY)
COMPILED_FILES = ("stage1_dense.onnx", "stage2.onnx")
EXPORT_INFO = "export.json"  # a compiled folder's torch version (its key holds it too)

KINDS = ("standalone", "standalone stage 1", "compiled", "unfinished export", "unknown")


@dataclass(frozen=True)
class Entry:
    path: Path
    kind: str  # one of KINDS
    size: int  # bytes, every file below it
    last_used: float  # the folder's modification time (epoch seconds)
    weights: str | None = None  # the checkpoint a standalone folder was exported from
    format: int | None = None  # a standalone folder's graph format
    stale: str | None = None  # why no start of this version reads it again (None: it may)

    @property
    def removable(self) -> bool:
        return self.kind != "unknown"


def mark_used(folder: Path) -> None:
    """Record that a start read ``folder`` (its modification time); a cache that cannot
    be written (read-only, another user's) is left as it is."""
    try:
        os.utime(folder)
    except OSError:
        pass


def scan(root: Path | None = None, now: float | None = None) -> list[Entry]:
    """Every entry directly under the cache folder, largest first. An absent folder holds
    nothing."""
    from cluenet_ros.inference.standalone import FORMAT

    root = cache_root() if root is None else Path(root)
    now = time.time() if now is None else now
    if not root.is_dir():
        return []
    entries = []
    for path in root.iterdir():
        if path.is_symlink() or not path.is_dir():
            entries.append(Entry(path, "unknown", _size(path), _mtime(path)))
            continue
        entries.append(_classify(path, _size(path), _mtime(path), now, FORMAT))
    return sorted(entries, key=lambda e: (-e.size, e.path.name))


def _classify(path: Path, size: int, mtime: float, now: float, current_format: int) -> Entry:
    name = path.name
    young = now - mtime < UNFINISHED_GRACE_S
    unfinished = Entry(path, "unfinished export", size, mtime,
                       stale=None if young else "an interrupted export (never completed)")
    if _STANDALONE_PART.fullmatch(name):
        return unfinished
    if _STANDALONE.fullmatch(name):
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError):
            return unfinished  # exports are renamed into place complete: this one never was
        fmt = manifest.get("format")
        kind = "standalone stage 1" if manifest.get("stage1_only") else "standalone"
        stale = None if fmt == current_format else f"graphs of format {fmt}; this version reads {current_format}"
        return Entry(path, kind, size, mtime, weights=manifest.get("weights"), format=fmt, stale=stale)
    if _COMPILED.fullmatch(name):
        if all((path / f).is_file() for f in COMPILED_FILES):
            return Entry(path, "compiled", size, mtime, stale=_other_torch(path))
        if any(p.name.endswith(".part") or p.suffix == ".onnx" for p in path.iterdir()):
            return unfinished
    return Entry(path, "unknown", size, mtime)


def _other_torch(folder: Path) -> str | None:
    """Why a compiled folder is never read again: its key holds the torch version it
    was exported with, and another is installed (None: the same, or not known)."""
    import importlib.metadata

    try:
        made = json.loads((folder / EXPORT_INFO).read_text())["torch"]
        installed = importlib.metadata.version("torch")
    except (OSError, ValueError, KeyError, importlib.metadata.PackageNotFoundError):
        return None
    if made.split("+")[0] == installed.split("+")[0]:
        return None
    return f"exported with torch {made}; torch {installed} is installed"


def select(entries: list[Entry], older_than_days: float | None = None, everything: bool = False,
           now: float | None = None) -> list[Entry]:
    """The entries a prune removes: the stale ones (another format or torch, interrupted exports),
    those not used for ``older_than_days``, or with ``everything`` all this package wrote.
    Never an unknown entry, never an export that may still be in progress."""
    now = time.time() if now is None else now
    if older_than_days is not None and older_than_days < 0:
        raise ValueError(f"--older-than must be 0 or more days, got {older_than_days:g}")
    chosen = []
    for e in entries:
        if not e.removable or (e.kind == "unfinished export" and e.stale is None):
            continue
        old = older_than_days is not None and now - e.last_used >= older_than_days * 86400.0
        if everything or e.stale is not None or old:
            chosen.append(e)
    return chosen


def remove(entries: list[Entry]) -> int:
    """Delete ``entries``; the bytes freed. A folder that vanished meanwhile (another
    prune) counts as removed."""
    freed = 0
    for e in entries:
        if not e.removable:
            raise ValueError(f"{e.path}: not an entry this package wrote; left alone")
        if e.path.exists():
            shutil.rmtree(e.path)
        freed += e.size
    return freed


def stale_summary(root: Path | None = None) -> tuple[int, int]:
    """(count, bytes) of the entries a plain ``cluenet cache prune`` would remove."""
    chosen = select(scan(root))
    return len(chosen), sum(e.size for e in chosen)


def _size(path: Path) -> int:
    if path.is_symlink() or path.is_file():
        return path.lstat().st_size
    total = 0
    for folder, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(folder, f)).st_size
            except OSError:  # removed while we walked
                pass
    return total


def _mtime(path: Path) -> float:
    return path.lstat().st_mtime
