"""Files taken out of Debian packages: the data the project builds on each machine.

Two steps, shared by every builder (``real_images``, ``textures``): ``download_deb``
fetches one package with ``apt-get download`` (no root needed), and
``extract_members`` streams the package's data archive through ``dpkg-deb
--fsys-tarfile`` and writes only the chosen members (a 300 MB package is never
unpacked whole).
"""
from __future__ import annotations

import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

from cluenet_ros.errors import InputError


def sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def download_deb(package: str, version: str | None, into: Path, hint: str = "") -> Path:
    """``apt-get download`` of ``package`` into the folder ``into``: exactly ``version``
    when the archive still has it, else the version it has (callers check the files'
    SHA-256, so a different version is caught there). ``hint`` ends the error message
    where apt-get is missing (what to do instead)."""
    into = Path(into)
    if shutil.which("apt-get") is None:
        raise InputError(f"apt-get is not available: cannot download {package} {version or ''}".rstrip()
                         + (f"; {hint}" if hint else ""))
    specs = ([f"{package}={version}"] if version else []) + [package]
    stderr = ""
    for spec in specs:
        done = subprocess.run(["apt-get", "download", spec], cwd=into, capture_output=True, text=True)
        stderr = done.stderr
        debs = sorted(into.glob(f"{package}_*.deb"))
        if done.returncode == 0 and debs:
            return debs[0]
    raise InputError(f"apt-get download {package} failed: {' '.join(stderr.split())[-300:]}")


def deb_version(deb: Path) -> str:
    """The package version recorded in a .deb's control file."""
    done = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], capture_output=True, text=True)
    if done.returncode != 0:
        raise InputError(f"dpkg-deb cannot read {deb}: {' '.join(done.stderr.split())[-300:]}")
    return done.stdout.strip()


def extract_members(deb: Path, members: dict[str, str | Path] | list[str], into: Path | None = None,
                    root: str = "") -> dict[str, Path]:
    """Writes chosen files of the package's data archive.

    ``members`` maps a path in the package (``usr/share/...``, with or without a
    leading ``./`` or ``/``, relative to ``root`` when given) to the file to write
    (relative to ``into``); a list writes each member flat into ``into`` under its
    base name. Returns {member: written path}; a member the package lacks is an error.
    """
    if isinstance(members, (list, tuple)):
        members = {m: Path(m).name for m in members}
    prefix = root.strip("/")

    def norm(name: str) -> str:
        name = (name[2:] if name.startswith("./") else name).lstrip("/")
        return f"{prefix}/{name}" if prefix else name

    wanted = {norm(m): (m, Path(into) / t if into is not None else Path(t)) for m, t in members.items()}
    written: dict[str, Path] = {}
    if shutil.which("dpkg-deb") is None:
        raise InputError(f"dpkg-deb is not available: cannot read {Path(deb).name}")
    proc = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    try:
        with tarfile.open(fileobj=proc.stdout, mode="r|") as tar:
            for member in tar:
                name = member.name[2:] if member.name.startswith("./") else member.name.lstrip("/")
                hit = wanted.pop(name, None)
                if hit is None or not member.isfile():
                    if hit is not None:
                        wanted[name] = hit
                    continue
                original, target = hit
                target.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                with open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                written[original] = target
                if not wanted:
                    break
    finally:
        proc.stdout.close()
        proc.kill()
        proc.wait()
    if wanted:
        raise InputError(f"{Path(deb).name} lacks {sorted(m for m, _ in wanted.values())}")
    return written
