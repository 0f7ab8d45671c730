"""``cluenet synth``: render a synthetic occluded-pedestrian dataset."""
from __future__ import annotations

import argparse
import json
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathlib itself is imported where it is needed
    from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}") from None
    if w < 32 or h < 32:
        raise argparse.ArgumentTypeError("images must be at least 32x32")
    return w, h


def _range(text: str) -> tuple[int, int]:
    try:
        lo, _, hi = text.partition("-")
        lo, hi = int(lo), int(hi or lo)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected MIN-MAX, got {text!r}") from None
    if not 0 <= lo <= hi:
        raise argparse.ArgumentTypeError(f"expected 0 <= MIN <= MAX, got {text!r}")
    return lo, hi


def register(sub) -> None:
    p = sub.add_parser("synth", help="render a synthetic dataset (CityPersons + COCO formats)",
                       description="Render street scenes with occluded pedestrians and exact ground "
                                   "truth. The same seed gives byte-identical output.")
    p.add_argument("--out", required=True, help="output folder (splits are written below it)")
    p.add_argument("--images", type=int, required=True, help="number of images over all splits")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", type=_size, default=(1024, 512), help="WIDTHxHEIGHT (default 1024x512)")
    p.add_argument("--people", type=_range, default=(1, 6), help="people per image, MIN-MAX (default 1-6)")
    p.add_argument("--occlusion", default="car=0.5,pole=0.35,vegetation=0.4",
                   help="per-image probability of each occluder kind")
    p.add_argument("--split", default="train=0.8,val=0.2",
                   help="'train=0.8,val=0.2' or one split name, e.g. 'benchmark'")
    p.add_argument("--workers", type=int, default=1, help="rendering processes")
    p.add_argument("--reuse", action="store_true",
                   help="keep OUT if it was rendered with this exact recipe (its synth.json); refuse if it "
                        "holds another one; render otherwise (scripts that must not train on the wrong data)")
    p.add_argument("--domain", choices=("source", "target"), default="source",
                   help="'target': a shifted domain (other backgrounds and textures, dusk lighting, a higher "
                        "and wider camera with colour cast, blur and noise) for domain-adaptation studies; its "
                        "keypoint labels are for evaluation only")
    r = p.add_argument_group("realistic world (--world realistic; see docs/synth/README.md)")
    p.add_argument("--world", choices=("capsules", "realistic"), default="capsules",
                   help="'capsules': pybullet's capsule humanoid (default); 'realistic': anny bodies in clothes, "
                        "textured streets, car and pole cameras, sensor effects (pyrender over EGL)")
    r.add_argument("--body", default="anny", help="anny (default) or figure (a fast capsule stand-in)")
    r.add_argument("--effects", default="all",
                   help="sensor effects: all, fast (exposure, white_balance, noise), none, or a comma list of "
                        "exposure, white_balance, motion_blur, noise, jpeg")
    r.add_argument("--camera", default="car=0.65,pole=0.35", help="camera mounts and their weights")
    r.add_argument("--person-px", type=_range, default=(30, 400),
                   help="full-body heights in pixels for a 1024-row frame, scaled to --size (default 30-400)")
    r.add_argument("--antialias", choices=("on", "off"), default="on",
                   help="4x multisampling of the colour pass (off: the fast path, about 30%% less CPU)")
    r.add_argument("--textures", choices=("auto", "photo", "procedural"), default="auto",
                   help="photo: streets, facades, vegetation and HDR skies from the photo textures that "
                        "`cluenet data textures` builds; procedural: drawn textures; auto (default): photo "
                        "when they are built")
    r.add_argument("--texture-dir", default=None,
                   help="the photo texture folder (default: data/textures, or $CLUENET_TEXTURES)")
    r.add_argument("--carried", type=float, default=0.3,
                   help="per-person probability of carrying a handbag, backpack or suitcase (default 0.3)")
    r.add_argument("--clutter", type=int, default=0,
                   help="up to this many street objects per image anywhere in view (cones, signs, bollards, "
                        "lamp posts, bins, vans, trees, sacks): hard negatives for the detector (default 0)")
    r.add_argument("--clutter-kinds", default="street", choices=("street", "wide"),
                   help="which street objects --clutter draws: street (the list above; default) or wide (those, "
                        "camera tripods and litter lying on the ground)")
    r.add_argument("--poses", default="walk=0.5,stand=0.3,mocap=0.2",
                   help="pose sources and weights: walk, stand (parametric), mocap (retargeted clips)")
    p.set_defaults(func=run)


def _weights(text: str, what: str) -> tuple[tuple[str, float], ...]:
    out = []
    for part in (t.strip() for t in text.split(",") if t.strip()):
        name, _, value = part.partition("=")
        try:
            out.append((name, float(value)))
        except ValueError:
            raise ValueError(f"{what} {part!r}: expected NAME=WEIGHT") from None
    return tuple(out)


def world_options(args):
    """--body/--effects/--camera/--person-px/--poses as a validated WorldOptions."""
    from cluenet_ros.synth.realistic.effects import EFFECTS, FAST_EFFECTS
    from cluenet_ros.synth.realistic.world import WorldOptions

    presets = {"all": EFFECTS, "fast": FAST_EFFECTS, "none": ()}
    effects = presets[args.effects] if args.effects in presets else tuple(
        e.strip() for e in args.effects.split(",") if e.strip())
    return WorldOptions(body=args.body, effects=tuple(effects), mounts=_weights(args.camera, "camera mount"),
                        person_px=tuple(float(v) for v in args.person_px),
                        poses=_weights(args.poses, "pose"), antialias=args.antialias == "on",
                        textures=args.textures, texture_dir=args.texture_dir,
                        carried=args.carried, clutter=args.clutter,
                        clutter_kinds=args.clutter_kinds).validate()


RECIPE_FILE = "synth.json"
# world options added after recipes were first recorded, with the value every earlier folder
# was rendered with: written to a recipe only when set otherwise
RECORDED_WHEN_SET = {"clutter_kinds": "street"}


def recipe(images: int, seed: int, options, texture_mode: str | None) -> dict:
    """What decides the rendered bytes, as JSON: the counts, the seed and every option, with
    the texture choice resolved (auto means photo on one machine and procedural on another)
    and the texture folder's path left out (machine-specific, not content)."""
    import dataclasses

    opts = dataclasses.asdict(options)
    if opts.get("world_options"):
        opts["world_options"].pop("texture_dir", None)
        for key, default in RECORDED_WHEN_SET.items():  # folders rendered before these options stay reusable
            if opts["world_options"].get(key) == default:
                del opts["world_options"][key]
        opts["world_options"]["textures"] = texture_mode
    return json.loads(json.dumps({"images": images, "seed": seed, "options": opts}))  # tuples as lists


def _reusable(out: Path, wanted: dict) -> bool:
    """True if ``out`` holds data rendered with ``wanted``; False if there is nothing there
    to keep; ValueError if it holds something else, naming what differs."""
    from cluenet_ros.config import differences
    from cluenet_ros.errors import FileInputError

    path = out / RECIPE_FILE
    if not path.is_file():
        if out.is_dir() and any(out.iterdir()):
            raise FileInputError(out, f"--reuse: not empty and has no {RECIPE_FILE} (rendered before recipes were "
                                      "recorded, or cut short); delete it to render it again")
        return False
    changed = differences(json.loads(path.read_text()), wanted)
    if not changed:
        return True
    diff = "; ".join(f"{k}: {there!r} there, {asked!r} asked" for k, (there, asked) in changed.items())
    raise FileInputError(path, f"--reuse: this folder was rendered with another recipe ({diff}); delete it or "
                               "give another --out")


def run(args) -> int:
    from pathlib import Path

    from cluenet_ros.synth.dataset import SynthOptions, generate, parse_occlusion, parse_splits

    if args.images < 1:
        raise ValueError("--images must be at least 1")
    options = SynthOptions(width=args.size[0], height=args.size[1], people=args.people,
                           occlusion=parse_occlusion(args.occlusion), splits=parse_splits(args.split),
                           domain=args.domain, world=args.world,
                           world_options=world_options(args) if args.world == "realistic" else None)
    if args.world == "realistic":
        from cluenet_ros.synth.realistic.photo_textures import resolve

        mode, folder = resolve(args.textures, args.texture_dir)
        if mode == "photo" and not (folder / "index.json").is_file():
            from cluenet_ros.errors import FileInputError

            raise FileInputError(folder / "index.json", "missing: build the photo textures with `cluenet data "
                                                        "textures` (or use --textures procedural)")
        why = {"photo": f"from {folder}",
               "procedural": "requested" if args.textures == "procedural" else
               f"{folder} is not built: `cluenet data textures` builds it"}[mode]
        print(f"textures: {mode} ({why})", flush=True)
    wanted = recipe(args.images, args.seed, options, mode if args.world == "realistic" else None)
    out = Path(args.out)
    if args.reuse and _reusable(out, wanted):
        print(f"{out}: already rendered with this recipe ({RECIPE_FILE}); kept")
        return 0
    (out / RECIPE_FILE).unlink(missing_ok=True)  # written last: its presence means the data is complete
    t0 = time.perf_counter()
    counts = generate(args.out, args.images, args.seed, options, workers=max(1, args.workers))
    dt = time.perf_counter() - t0
    (out / RECIPE_FILE).write_text(json.dumps(wanted, indent=1, sort_keys=True) + "\n")
    print(f"wrote {sum(counts.values())} images ({', '.join(f'{k}: {v}' for k, v in counts.items())}) "
          f"to {args.out} in {dt:.1f} s ({sum(counts.values()) / dt:.2f} images/s)")
    return 0
