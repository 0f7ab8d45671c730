#!/usr/bin/env python3
"""Render a grid of realistic-world samples for docs/synth (our own renders, so the
image may be committed). The left column shows the annotations: full boxes (green),
visible boxes (yellow), keypoints visible (red) and hidden (blue).

    .venv/bin/python tools/synth_grid.py --out docs/synth/realistic_grid.jpg
    .venv/bin/python tools/synth_grid.py --out docs/synth/realistic_grid_clutter.jpg --rows 2 --clutter 10

With ``--textures photo`` the grid shows the photo textures: such an image derives from
third-party textures and is never committed (write it outside the repository).
"""
from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import cv2
import numpy as np

from cluenet_ros.cli import main as cluenet


def annotate(img: np.ndarray, anns: list[dict]) -> np.ndarray:
    out = img.copy()
    for a in anns:
        x, y, w, h = a["full_bbox"]
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 0), 1)
        x, y, w, h = a["bbox"]
        cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), (0, 255, 255), 1)
        for kx, ky, v in np.asarray(a["keypoints_full"]).reshape(-1, 3):
            if 0 <= kx < img.shape[1] and 0 <= ky < img.shape[0]:
                cv2.circle(out, (int(kx), int(ky)), 2, (0, 0, 255) if v == 2 else (255, 0, 0), -1)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/synth/realistic_grid.jpg")
    ap.add_argument("--rows", type=int, default=4)
    ap.add_argument("--cols", type=int, default=3)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--tile", default="480x240", help="tile size WxH (the images render at 1024x512)")
    ap.add_argument("--body", default="anny")
    ap.add_argument("--quality", type=int, default=82)
    ap.add_argument("--textures", default="procedural", choices=("procedural", "photo", "auto"),
                    help="procedural (default): the committed grid holds no third-party pixels; a grid "
                         "rendered with photo textures derives from them (GPL-2+ / Free Art License): "
                         "never commit it")
    ap.add_argument("--clutter", type=int, default=0, help="`cluenet synth --clutter N` (street objects)")
    args = ap.parse_args()
    tw, th = (int(v) for v in args.tile.split("x"))
    n = args.rows * args.cols
    with tempfile.TemporaryDirectory() as tmp:
        assert cluenet(["synth", "--world", "realistic", "--body", args.body, "--out", tmp, "--images", str(n),
                        "--seed", str(args.seed), "--split", "grid", "--people", "2-7",
                        "--textures", args.textures, "--clutter", str(args.clutter)]) == 0
        root = Path(tmp) / "grid"
        coco = json.loads((root / "coco_keypoints.json").read_text())
        by_image: dict[int, list] = {}
        for a in coco["annotations"]:
            by_image.setdefault(a["image_id"], []).append(a)
        tiles = []
        for i, im in enumerate(coco["images"]):
            img = cv2.imread(str(root / im["file_name"]))
            if i % args.cols == 0:
                img = annotate(img, by_image.get(im["id"], []))
            tiles.append(cv2.resize(img, (tw, th), interpolation=cv2.INTER_AREA))
    rows = [np.concatenate(tiles[r * args.cols:(r + 1) * args.cols], axis=1) for r in range(args.rows)]
    grid = np.concatenate(rows, axis=0)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, grid, [cv2.IMWRITE_JPEG_QUALITY, args.quality])
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
