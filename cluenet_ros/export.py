"""``cluenet export --onnx OUT``: the dense networks as ONNX, verified with onnxruntime.

Two files: ``OUT`` holds stage 2 (segmented crops -> keypoint heatmaps, dynamic
batch) and ``<OUT stem>.stage1.onnx`` the dense part of stage 1 (image -> pedestrian
mask logits and attended features F_att). The work is in
:mod:`cluenet_ros.inference.onnx_export`; this module only parses the command, so
``cluenet --help`` does not import torch.
"""
from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("export", help="export the dense networks to ONNX (checked with onnxruntime)")
    p.add_argument("--onnx", required=True, help="stage-2 ONNX file; stage 1 goes to <stem>.stage1.onnx")
    p.add_argument("--weights", help="ClueNet checkpoint; default: the weights the node uses (the packaged "
                                     "demo weights); 'random': random weights of --config (checks only)")
    p.add_argument("--config", help="model YAML for --weights random")
    p.add_argument("--size", default="512x256", help="example stage-1 input WIDTHxHEIGHT (multiples of 32)")
    p.set_defaults(func=_run)


def _run(args) -> int:
    from cluenet_ros.errors import InputError

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
