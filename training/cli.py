"""``cluenet train stage1|stage2|baseline --config FILE [--resume]`` and ``cluenet train combine``.

Multi-GPU (or multi-process CPU) training runs the same command under torchrun::

    torchrun --nproc_per_node 4 -m cluenet_training.cli stage1 --config training/configs/stage1_paper.yaml
"""
from __future__ import annotations

import sys


def add_arguments(sub) -> None:
    helps = {"stage1": "train ClueNet stage 1", "stage2": "train ClueNet stage 2",
             "baseline": "train the Keypoint R-CNN baseline of the accuracy study"}
    for stage, text in helps.items():
        p = sub.add_parser(stage, help=text)
        p.add_argument("--config", required=True, help="YAML under training/configs/")
        p.add_argument("--resume", action="store_true", help="continue from OUT_DIR/last.pt")
        p.set_defaults(func=run, stage=stage)
    c = sub.add_parser("combine", help="stage-1 and stage-2 checkpoints -> one pipeline checkpoint")
    c.add_argument("--stage1", required=True)
    c.add_argument("--stage2", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--half", action="store_true", help="store the weights as fp16 (half the size)")
    c.add_argument("--note", help="free text kept in the provenance (what the files cannot tell, e.g. a chain of "
                                  "fine-tuning runs on another machine)")
    c.set_defaults(func=combine)
    m = sub.add_parser("calibrate-mask", help="shift stage 1's segmentation bias so that 0.5 is the "
                                              "IoU-optimal mask threshold on validation data")
    m.add_argument("--weights", required=True, help="stage-1 or pipeline checkpoint")
    m.add_argument("--data", required=True, help="validation split folder")
    m.add_argument("--out", required=True)
    m.add_argument("--max-images", type=int, default=100)
    m.set_defaults(func=calibrate)
    n = sub.add_parser("update-norms", help="re-estimate stage 1's batch-norm running statistics on a run's own "
                                            "batches (after averaging weights: a soup's stored statistics are those "
                                            "of its ingredients, not its own)")
    n.add_argument("--weights", required=True, help="stage-1 or pipeline checkpoint")
    n.add_argument("--config", required=True, help="the stage-1 training YAML whose batches to pass (its train data, "
                                                   "mix, augmentation, plates, seed, batch size and unfreezing)")
    n.add_argument("--out", required=True)
    n.add_argument("--batches", type=int, default=100, help="iterations' batches to average over (default 100)")
    n.set_defaults(func=update_norms)
    v = sub.add_parser("convert-citypersons", help="CityPersons (anno_<split>.mat + Cityscapes) -> a split folder "
                                                   "for validation, eval full and bag make")
    v.add_argument("--cityscapes", required=True, help="Cityscapes root (leftImg8bit/, gtFine/)")
    v.add_argument("--annotations", required=True,
                   help="CityPersons anno_<split>.mat, or the Cityscapes download's gtBboxCityPersons folder")
    v.add_argument("--split", default="val")
    v.add_argument("--out", required=True)
    v.set_defaults(func=convert)
    r = sub.add_parser("replate", help="a split folder with its backgrounds replaced by photographs -> a new split "
                                       "(a selection set with photographed backgrounds, e.g. held-out plates)")
    r.add_argument("--data", required=True, help="the source split folder (e.g. DIR/val written by cluenet synth)")
    r.add_argument("--plates", required=True, nargs="+", help="plate folders (as augment.background_plate_dirs)")
    r.add_argument("--out", required=True, help="a new (or empty) folder for the replated split")
    r.add_argument("--seed", type=int, default=0, help="draws every image's crop (default 0)")
    r.set_defaults(func=replate)


def register(sub) -> None:
    p = sub.add_parser("train", help="train ClueNet (stage1, stage2, combine)")
    add_arguments(p.add_subparsers(dest="train_command", metavar="WHAT", required=True))


def run(args) -> int:
    from cluenet_training import config as tc

    if args.stage == "stage1":
        from cluenet_training.stage1 import train

        path = train(tc.load_stage1(args.config), args.resume)
    elif args.stage == "baseline":
        from cluenet_training.baseline import train

        path = train(tc.load_baseline(args.config), args.resume)
    else:
        from cluenet_training.stage2 import train

        path = train(tc.load_stage2(args.config), args.resume)
    print(f"checkpoint: {path}")
    return 0


def combine(args) -> int:
    from cluenet_ros.models.checkpoint import load_models, read_checkpoint, save_checkpoint

    models = {**load_models(args.stage1, ("stage1",)), **load_models(args.stage2, ("stage2",))}
    provenance = {"stage1": _provenance(args.stage1, read_checkpoint(args.stage1), "stage1"),
                  "stage2": _provenance(args.stage2, read_checkpoint(args.stage2), "stage2"),
                  "half": bool(args.half)}
    if args.note:
        provenance["note"] = args.note
    save_checkpoint(args.out, models, half=args.half, provenance=provenance)
    print(f"wrote {args.out}")
    return 0


def calibrate(args) -> int:
    from cluenet_training.calibrate import calibrate_mask

    r = calibrate_mask(args.weights, args.data, args.out, args.max_images)
    print(f"mask logit shifted by {r['logit_shift']:+.3f}: validation IoU at 0.5 "
          f"{r['val_iou_at_0.5_before']:.3f} -> {r['val_iou_at_0.5_after']:.3f}; wrote {args.out}")
    return 0


def update_norms(args) -> int:
    from cluenet_training.norms import update_norm_statistics

    r = update_norm_statistics(args.weights, args.config, args.out, args.batches)
    print(f"re-estimated {r['norm_layers']} batch norms over {r['images']} images ({r['batches']} batches): "
          f"statistics moved by {100 * r['relative_change']:.2f}% of their summed magnitude; wrote {args.out}")
    return 0


def _provenance(path: str, checkpoint: dict, stage: str) -> dict:
    """Where a stage came from: its file, the training config and iteration stored in
    training checkpoints, and the commit of the code that combined it. A stage taken
    from a combined pipeline file keeps the provenance recorded there for it (with
    ``via`` naming the file), so that re-combining does not bury it a level deeper."""
    import subprocess
    from pathlib import Path

    earlier = checkpoint.get("provenance") or {}
    if "train_config" not in checkpoint and isinstance(earlier.get(stage), dict):
        return {**earlier[stage], "via": str(path)}
    out = {"file": str(path)}
    if "train_config" in checkpoint:
        out["train_config"] = checkpoint["train_config"]
    if "training" in checkpoint:
        out["iteration"] = checkpoint["training"].get("iteration")
    if checkpoint.get("provenance"):  # e.g. a calibrated stage 1: its own history
        out["history"] = checkpoint["provenance"]
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent)
        if commit.returncode == 0:
            out["code_commit"] = commit.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return out


def convert(args) -> int:
    from cluenet_training.convert import convert_citypersons

    print(convert_citypersons(args.cityscapes, args.annotations, args.split, args.out))
    return 0


def replate(args) -> int:
    from cluenet_training.plates import replate_split

    out = replate_split(args.data, args.out, args.plates, seed=args.seed)
    print(f"wrote {out}")
    return 0

def main(argv=None) -> int:
    """Entry for torchrun (`-m cluenet_training.cli stage1 --config ...`): the same
    command as `cluenet train ...`."""
    from cluenet_ros.cli import main as cluenet

    return cluenet(["train", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())

