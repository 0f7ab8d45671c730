"""``cluenet data``: data the project builds on each machine from package registries."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("data", help="build data sets that are made on each machine (never committed)")
    d = p.add_subparsers(dest="data_command", metavar="WHAT", required=True)
    r = d.add_parser("real-images", help="the real-image check set (images from Debian's opencv-doc; "
                                         "labels ship with the package); only for measuring")
    r.add_argument("--out", default=None, help="folder (default: data/real_images, or $CLUENET_REAL_IMAGES)")
    r.add_argument("--source-dir", default=None,
                   help="a folder already holding opencv-doc's examples/data files (default: apt-get download)")
    r.add_argument("--force", action="store_true", help="rebuild even when every image is present")
    r.set_defaults(func=run_real_images)
    t = d.add_parser("textures", help="photo textures and HDR skies for `cluenet synth --world realistic "
                                      "--textures photo` (from Debian's torcs-data and blender-data)")
    t.add_argument("--out", default=None, help="folder (default: data/textures, or $CLUENET_TEXTURES)")
    t.add_argument("--deb-dir", default=None,
                   help="a folder already holding the packages' .deb files (default: apt-get download)")
    t.add_argument("--force", action="store_true", help="rebuild even when the folder is complete")
    t.set_defaults(func=run_textures)
    b = d.add_parser("plates", help="real background photographs for stage-1 training "
                                    "(augment.background_plate; from Debian wallpaper packages)")
    b.add_argument("--out", default=None, help="folder (default: data/plates, or $CLUENET_PLATES)")
    b.add_argument("--deb-dir", default=None,
                   help="a folder already holding the packages' .deb files (default: apt-get download)")
    b.add_argument("--force", action="store_true", help="rebuild even when the folder is complete")
    b.set_defaults(func=run_plates)


def run_real_images(args) -> int:
    from cluenet_ros.data.real_images import build

    build(args.out and Path(args.out), args.source_dir and Path(args.source_dir), force=args.force)
    return 0


def run_textures(args) -> int:
    from cluenet_ros.data.textures import build

    build(args.out and Path(args.out), force=args.force, deb_dir=args.deb_dir and Path(args.deb_dir))
    return 0


def run_plates(args) -> int:
    from cluenet_ros.data.plates import build

    build(args.out and Path(args.out), force=args.force, deb_dir=args.deb_dir and Path(args.deb_dir))
    return 0
