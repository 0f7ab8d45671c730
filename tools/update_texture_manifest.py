#!/usr/bin/env python3
"""Re-hash the photo-texture manifest against the packages at hand: for a new version
of torcs-data or blender-data (when `cluenet data textures` reports that a file
differs). Extracts every listed member from the .deb files in --deb-dir (apt-get
downloads them when absent), records each package's version and each member's SHA-256,
and rewrites the manifest. Look at the textures again before committing the result.

    .venv/bin/python tools/update_texture_manifest.py [--deb-dir /tmp/debs]
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from cluenet_ros.data.debian_packages import deb_version, download_deb, extract_members, sha256
from cluenet_ros.data.textures import MANIFEST, load_manifest


def dumps(manifest: dict) -> str:
    """The manifest's layout: the header indented, one line per file."""
    head = {k: v for k, v in manifest.items() if k != "files"}
    text = json.dumps(head, indent=1, ensure_ascii=False)[:-2] + ',\n "files": [\n' + ",\n".join(
        "  " + json.dumps(f, ensure_ascii=False) for f in manifest["files"]) + "\n ]\n}\n"
    assert json.loads(text) == manifest
    return text


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", default=str(MANIFEST))
    ap.add_argument("--deb-dir", default=None, help="folder holding the .deb files (default: apt-get download)")
    args = ap.parse_args()
    manifest = load_manifest(args.manifest)
    with tempfile.TemporaryDirectory(prefix="cluenet-manifest-") as tmp:
        tmp = Path(tmp)
        for package, info in manifest["packages"].items():
            debs = sorted(Path(args.deb_dir).glob(f"{package}_*.deb")) if args.deb_dir else []
            deb = debs[-1] if debs else download_deb(package, None, tmp)
            info["version"] = deb_version(deb)
            files = [f for f in manifest["files"] if f["package"] == package]
            written = extract_members(deb, {f["member"]: f"{i:03d}" for i, f in enumerate(files)}, tmp / package)
            changed = 0
            for f in files:
                digest = sha256(written[f["member"]])
                changed += digest != f["sha256"]
                f["sha256"] = digest
            print(f"{package} {info['version']}: {len(files)} files, {changed} changed")
    Path(args.manifest).write_text(dumps(manifest))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
