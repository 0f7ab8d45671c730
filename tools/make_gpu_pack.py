#!/usr/bin/env python3
"""Pack a split folder small enough to travel to a lent GPU machine (64 MiB with the
working tree, which holds the 21 MB demo weights): images re-encoded as JPEG, only
the semantic masks stage 1 trains on (instance masks left out), one tar so that
thousands of small files cost no block slack. tools/gpu_session.sh unpacks it.

    tools/make_gpu_pack.py --data data/realworld/realistic_photo_big --out .gpupack
    # on the device: tar -xf .gpupack/photo_big.tar -C .gpupack

The pack's folder must be ignored by git (.git/info/exclude) and named in `carry`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import tarfile
import tempfile
from pathlib import Path

import cv2


def pack_split(src: Path, dst: Path, limit: int | None, quality: int) -> int:
    data = json.loads((src / "citypersons.json").read_text())
    images = data["images"][:limit] if limit else data["images"]
    ids = {im["id"] for im in images}
    (dst / "images").mkdir(parents=True, exist_ok=True)
    (dst / "masks").mkdir(parents=True, exist_ok=True)
    for im in images:
        bgr = cv2.imread(str(src / im["file_name"]), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"{src / im['file_name']}: cannot read")
        name = str(Path(im["file_name"]).with_suffix(".jpg"))
        cv2.imwrite(str(dst / name), bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
        im["file_name"] = name
        shutil.copy(src / im["semantic_mask"], dst / im["semantic_mask"])
        im.pop("instance_mask", None)
    data["images"] = images
    data["annotations"] = [a for a in data["annotations"] if a["image_id"] in ids]
    (dst / "citypersons.json").write_text(json.dumps(data))
    return len(images)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", required=True, help="a `cluenet synth` output folder (train/ and val/)")
    p.add_argument("--out", default=".gpupack")
    p.add_argument("--quality", type=int, default=90, help="JPEG quality")
    p.add_argument("--val-images", type=int, default=40, help="the trainer needs a val split; kept small")
    a = p.parse_args(argv)
    src, out = Path(a.data), Path(a.out)
    name = src.name
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / name
        n_train = pack_split(src / "train", root / "train", None, a.quality)
        n_val = pack_split(src / "val", root / "val", a.val_images, a.quality)
        out.mkdir(parents=True, exist_ok=True)
        with tarfile.open(out / f"{name}.tar", "w", format=tarfile.GNU_FORMAT) as tar:  # no per-file PAX headers
            tar.add(root, arcname=name)
    size = (out / f"{name}.tar").stat().st_size
    print(f"{out / (name + '.tar')}: {n_train} train + {n_val} val images, {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
