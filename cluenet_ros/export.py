"""``cluenet export --onnx OUT``: the dense networks as ONNX, verified with onnxruntime;
``cluenet export --standalone``: the standalone node's graphs into a cache folder, for a
target that cannot export them itself.

Two files: ``OUT`` holds stage 2 (segmented crops -> keypoint heatmaps, dynamic
batch) and ``<OUT stem>.stage1.onnx`` the dense part of stage 1 (image -> pedestrian
mask logits and attended features F_att). The work is in
:mod:`cluenet_ros.inference.onnx_export`; this module only parses the command, so
``cluenet --help`` does not import torch.
"""
from __future__ import annotations

import json
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("export", help="export the dense networks to ONNX (checked with onnxruntime), or with "
                                      "--standalone the standalone node's graphs into a cache folder")
    p.add_argument("--onnx", help="stage-2 ONNX file; stage 1 goes to <stem>.stage1.onnx")
    p.add_argument("--weights", help="ClueNet checkpoint; default: the weights the node uses (the packaged "
                                     "demo weights); 'random': random weights of --config (checks only; not "
                                     "with --standalone)")
    p.add_argument("--config", help="model YAML for --weights random")
    p.add_argument("--size", default="512x256", help="example stage-1 input WIDTHxHEIGHT (multiples of 32)")
    p.add_argument("--standalone", action="store_true",
                   help="the graphs a standalone node (standalone:=true) runs for --weights, exported and checked "
                        "into --cache as the node's first start would: for a target where the export cannot run "
                        "(no torch, or a memory limit under the export's ~1.1 GB); copy the folder it prints into "
                        "the target's cache")
    p.add_argument("--cache", type=Path, default=None,
                   help="with --standalone: the cache folder (default: $CLUENET_CACHE_DIR, else "
                        "$XDG_CACHE_HOME/cluenet_ros/backends)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from cluenet_ros.errors import InputError

    if args.standalone:
        return _run_standalone(args)
    if args.cache is not None:
        raise InputError("--cache applies to --standalone only")
    if not args.onnx:
        raise InputError("give --onnx OUT (the dense networks as ONNX) or --standalone (the standalone node's "
                         "graphs)")
    try:
        w, h = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size: expected WIDTHxHEIGHT, got {args.size!r}") from None
    from cluenet_ros.inference.onnx_export import ExportCheckFailed, export_onnx

    try:
        info = export_onnx(args.onnx, args.weights, args.config, (w, h))
    except ExportCheckFailed as exc:
        raise InputError(str(exc)) from None
    print(f"wrote {info['stage2']} and {info['stage1_dense']}; onnxruntime vs PyTorch max |diff| "
          "(relative to the output's largest magnitude): "
          + ", ".join(f"{k} {v:.2e}" for k, v in info["max_rel_diff"].items()))
    return 0


def _run_standalone(args) -> int:
    """The node's standalone graphs for ``--weights``: exported (in a child process, as
    the node does) unless the cache already holds them."""
    from cluenet_ros._environment import packaged_file
    from cluenet_ros.errors import InputError
    from cluenet_ros.inference import standalone as S
    from cluenet_ros.inference.interface import PipelineConfig
    from cluenet_ros.inference.runtimes import cache_root

    if args.onnx or args.weights == "random" or args.config:
        raise InputError("--standalone exports a checkpoint's graphs into --cache: not with --onnx, --config or "
                         "--weights random")
    weights = Path(args.weights) if args.weights else packaged_file(Path("models") / "cluenet_demo.pt")
    if not weights.is_file():
        raise InputError(f"{weights}: no such checkpoint" + ("" if args.weights else
                         " (the packaged demo weights are not installed; pass --weights CHECKPOINT)"))
    cache = args.cache if args.cache is not None else cache_root()
    existed = (cache / f"standalone-{S.graph_key(weights, S.baked_settings(PipelineConfig()))}").is_dir()
    try:
        folder = S.ensure_exported(weights, S.baked_settings(PipelineConfig()), cache)
    except RuntimeError as exc:
        raise InputError(str(exc)) from None
    manifest = json.loads((folder / "manifest.json").read_text())
    print(f"{'already in the cache' if existed else 'exported'}: {folder}")
    print(f"  checkpoint {weights} (format {manifest['format']}); checked against PyTorch, largest difference "
          f"{max(manifest['check_max_rel_diff'].values()):.1e} of an output's scale")
    print(f"  runtimes that passed the first-inference check: dense stage 1 {', '.join(manifest['dense_runtimes'])}; "
          f"stage 2 {', '.join(manifest['stage2_runtimes'])}")
    print(f"  on a target: copy this folder into its cache folder (CLUENET_CACHE_DIR, default "
          f"~/.cache/cluenet_ros/backends) with the same checkpoint file; a node started there with "
          f"standalone:=true finds it and does not export")
    return 0
