"""``cluenet eval``: the paper's metrics from files."""
from __future__ import annotations

import json
import math
from pathlib import Path

from cluenet_ros.inference.detection_flip import MERGES


def register(sub) -> None:
    p = sub.add_parser("eval", help="evaluate detections, masks or keypoints")
    ev = p.add_subparsers(dest="eval_command", metavar="WHAT", required=True)

    d = ev.add_parser("detection", help="log-average miss rate (CityPersons protocol)")
    d.add_argument("--gt", required=True, help="ground truth, CityPersons evaluation JSON")
    d.add_argument("--dt", required=True, help="detections, COCO results JSON")
    d.add_argument("--json", help="write {reasonable, heavy, reasonable_heavy, all} here")
    d.set_defaults(func=run_detection)

    k = ev.add_parser("pose", help="keypoint AP (COCOeval, 13-keypoint OKS sigmas)")
    k.add_argument("--gt", required=True, help="COCO keypoints JSON")
    k.add_argument("--dt", required=True, help="COCO keypoint results JSON")
    k.add_argument("--json", help="write the figures here")
    k.set_defaults(func=run_pose)

    s = ev.add_parser("segmentation", help="pedestrian mask IoU over a dataset")
    s.add_argument("--gt", required=True, help="folder of ground-truth mask PNGs")
    s.add_argument("--pred", required=True, help="folder of predicted mask PNGs, same file names")
    s.add_argument("--ignore-value", type=int, default=255, help="ground-truth value to skip (-1: none)")
    s.add_argument("--json", help="write the figures here")
    s.set_defaults(func=run_segmentation)

    register_full(ev)
    register_real(ev)


def _write(path, data) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(data, indent=2, allow_nan=False,
                                         default=lambda v: None) + "\n")


def _clean(d: dict) -> dict:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}


def run_detection(args) -> int:
    from cluenet_ros.evaluation.detection import (evaluate_detections, format_table, load_detections,
                                                  load_ground_truth)

    gt = load_ground_truth(args.gt)
    res = evaluate_detections(gt, load_detections(args.dt, gt))
    print(format_table(res))
    _write(args.json, _clean(res))
    return 0


def run_pose(args) -> int:
    from cluenet_ros.evaluation.pose import keypoint_ap, occluded_keypoint_ap

    res = {"all_keypoints": _clean(keypoint_ap(args.gt, args.dt, args.dt))}
    occ = occluded_keypoint_ap(args.gt, args.dt, args.dt)
    if occ is not None:
        res["occluded_keypoints"] = _clean(occ)
    for name, figures in res.items():
        print(f"{name:<19} " + "  ".join(f"{k} {'n/a' if v is None else f'{100 * v:.1f}'}"
                                         for k, v in figures.items()))
    _write(args.json, res)
    return 0


def run_segmentation(args) -> int:
    from cluenet_ros.evaluation.segmentation import iou_from_folders

    acc = iou_from_folders(args.pred, args.gt, None if args.ignore_value < 0 else args.ignore_value)
    print(f"pedestrian IoU {100 * acc.iou:.2f}% over {acc.images} images")
    _write(args.json, {"iou": acc.iou, "images": acc.images, "intersection": acc.intersection,
                       "union": acc.union})
    return 0


def register_full(ev) -> None:
    f = ev.add_parser("full", help="run a checkpoint over a dataset split and report all metrics")
    f.add_argument("--weights", required=True, help="ClueNet checkpoint (stage1 + stage2), or a Keypoint R-CNN "
                                                    "baseline checkpoint (`cluenet train baseline`)")
    f.add_argument("--data", required=True, help="split folder with citypersons.json / coco_keypoints.json")
    f.add_argument("--out", required=True, help="report folder (report.md, report.json, plots)")
    f.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    f.add_argument("--max-images", type=int, default=None)
    f.add_argument("--backend", default="torch", choices=("auto", "torch", "onnxruntime", "openvino"),
                   help="runtime of ClueNet's dense networks (default torch, the reference; auto: the fastest "
                        "installed); the report records it")
    f.add_argument("--int8", action="store_true",
                   help="int8 dense networks (backend onnxruntime or openvino; quantised once, calibrated on "
                        "synthetic images, cached); the report records it")
    f.add_argument("--input-scale", type=float, default=None,
                   help="resize factor before stage 1, as the node's input_scale (default: the checkpoint's)")
    f.add_argument("--flip-test", action="store_true",
                   help="stage 2 also on each crop's mirror image, heatmaps averaged; the report records it")
    f.add_argument("--no-detection-flip-test", dest="detection_flip_test", action="store_false",
                   help="stage 1 on the frame alone (default: also on its mirror image, the two views' detections "
                        "merged by --detection-flip-merge and the masks averaged, as the node does); the report "
                        "records it")
    f.add_argument("--detection-flip-merge", default="nms", choices=MERGES,
                   help="nms (union, then NMS) or fusion (weighted box fusion); default nms")
    f.add_argument("--detection-extra-scale", type=float, default=0.0,
                   help="stage 1 also at this multiple of the input scale, its views merged too (0: off, the "
                        "default, the synthetic protocol of every committed study)")
    f.add_argument("--detection-extra-scale-min-height", type=float, default=0.0,
                   help="only boxes of the extra-scale views at least this tall (pixels at the input scale) join the merge (0: all)")
    f.add_argument("--detection-extra-weights", default="",
                   help="a stage-1 (or pipeline) checkpoint that runs the extra-scale views instead of --weights "
                        "(PipelineConfig.detection_extra_weights; default: --weights itself)")
    f.add_argument("--perspective-rescore", action="store_true",
                   help="lower the score of boxes off the frame's person-height line (the node's perspective.enable, with PipelineConfig's default settings); off by default")
    f.add_argument("--standalone", action="store_true",
                   help="the torch-free standalone pipeline (the node's standalone:=true; --backend picks the runtime of its "
                        "dense stage-1 graph, openvino or onnxruntime, auto the first installed); the "
                        "AP-against-occlusion study (stage 2 on true crops) still runs eagerly, as for every backend")
    f.set_defaults(func=run_full)
    c = ev.add_parser("compare", help="several `eval full` reports side by side: tables and one occlusion plot")
    c.add_argument("--run", action="append", required=True, metavar="NAME=REPORT_FOLDER",
                   help="a model's name and its `eval full --out` folder (repeat; order is kept)")
    c.add_argument("--out", required=True, help="folder for tables.md, ap_vs_occlusion.png, summary.json")
    c.set_defaults(func=run_compare)


def run_full(args) -> int:
    from cluenet_ros.evaluation.full import run_full as full

    path = full(args.weights, args.data, args.out, args.device, args.max_images, backend=args.backend,
                int8=args.int8, flip_test=args.flip_test, input_scale=args.input_scale, standalone=args.standalone,
                detection_flip=args.detection_flip_merge if args.detection_flip_test else None,
                detection_extra_scale=args.detection_extra_scale, perspective=args.perspective_rescore,
                detection_extra_scale_min_height=args.detection_extra_scale_min_height,
                detection_extra_weights=args.detection_extra_weights)
    print(path.read_text())
    print(f"report written to {path.parent}")
    return 0


def run_compare(args) -> int:
    from cluenet_ros.evaluation.compare import compare, parse_run

    path = compare([parse_run(r) for r in args.run], Path(args.out))
    print(path.read_text())
    print(f"comparison written to {path.parent}")
    return 0


def register_real(ev) -> None:
    r = ev.add_parser("real", help="detection on the real-image check set, beside OpenCV's HOG people detector")
    r.add_argument("--weights", default=None, help="ClueNet checkpoint (default: the weights the node uses)")
    from cluenet_ros.data.real_images import REAL_SETS

    r.add_argument("--set", dest="real_set", default="first", choices=tuple(REAL_SETS),
                   help="; ".join(f"{s.name}: {s.summary}" for s in REAL_SETS.values())
                        + "; the sets other than the first are kept apart for validating choices (build one with "
                          "`cluenet data real-images --set NAME`)")
    r.add_argument("--images", default=None,
                   help="the built set (default: the set's folder, " + "; ".join(
                       f"{s.name}: data/{s.folder}, or ${s.env}" for s in REAL_SETS.values())
                        + "; build it with `cluenet data real-images`); overrides --set's folder")
    r.add_argument("--labels", default=None,
                   help="label file (default: the set's packaged one, " + ", ".join(
                       f"{s.labels.name} for {s.name}" for s in REAL_SETS.values()) + "); overrides --set's")
    r.add_argument("--score-threshold", type=float, default=None,
                   help="ClueNet's operating point for recall and FP/image (default: the node's, 0.5)")
    r.add_argument("--input-scale", type=float, default=1.0, help="resize factor before stage 1")
    r.add_argument("--no-detection-flip-test", dest="detection_flip_test", action="store_false",
                   help="stage 1 on the frame alone (default: also on its mirror image, the two views' detections "
                        "merged, as the node does)")
    r.add_argument("--detection-flip-merge", default="nms", choices=MERGES,
                   help="nms (union, then NMS) or fusion (weighted box fusion); default nms")
    r.add_argument("--detection-extra-scale", type=float, default=None,
                   help="stage 1 also at this multiple of the input scale, its views merged too (0: off; default "
                        "the node's, PipelineConfig's)")
    r.add_argument("--detection-extra-scale-min-height", type=float, default=None,
                   help="only boxes of the extra-scale views at least this tall (pixels at the input scale) join the merge (0: all); default PipelineConfig's")
    r.add_argument("--detection-extra-weights", default="",
                   help="a stage-1 (or pipeline) checkpoint that runs the extra-scale views instead of --weights "
                        "(PipelineConfig.detection_extra_weights; default: --weights itself)")
    r.add_argument("--perspective-rescore", action="store_true",
                   help="lower the score of boxes off the frame's person-height line (the node's perspective.enable, with PipelineConfig's default settings); off by default")
    r.add_argument("--hog-upscale", type=float, default=2.0, help="HOG runs on the image scaled by this")
    r.add_argument("--no-hog", action="store_true", help="leave HOG out")
    r.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    r.add_argument("--backend", default="torch", choices=("auto", "torch", "onnxruntime", "openvino"))
    r.add_argument("--json", help="write the figures here")
    r.add_argument("--overlays", help="folder for one picture per image with labels and detections")
    r.set_defaults(func=run_real)


def real_set_paths(args) -> tuple[Path, Path]:
    """The label file and image folder `eval real` reads: --labels and --images where
    given, else the packaged labels and the default folder of --set."""
    from cluenet_ros.data.real_images import default_dir, labels_path

    which = getattr(args, "real_set", "first")
    return (Path(args.labels) if args.labels else labels_path(which),
            Path(args.images) if args.images else default_dir(which))


def run_real(args) -> int:
    from cluenet_ros.evaluation.real_check import (DetectorRun, cluenet_detector, format_table, hog_detector,
                                                   run_check, write_report)
    from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
    from cluenet_ros.inference.onnx_export import default_weights

    labels, images = real_set_paths(args)

    weights = args.weights or str(default_weights())
    if args.detection_extra_scale is None:
        args.detection_extra_scale = PipelineConfig().detection_extra_scale
    if args.detection_extra_scale_min_height is None:
        args.detection_extra_scale_min_height = PipelineConfig().detection_extra_scale_min_height
    operating = PipelineConfig().score_threshold if args.score_threshold is None else args.score_threshold
    if not 0.0 <= operating <= 1.0:
        raise ValueError(f"--score-threshold must be in [0, 1], got {operating}")
    if args.input_scale <= 0 or args.hog_upscale <= 0:
        raise ValueError("--input-scale and --hog-upscale must be positive")
    # every detection down to 0.05 for AP; recall and FP/image read at the operating point
    pipeline = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(
        device=args.device, backend=args.backend, score_threshold=min(0.05, operating),
        detection_flip_test=args.detection_flip_test, detection_flip_merge=args.detection_flip_merge,
        detection_extra_scale=args.detection_extra_scale, perspective_rescore=args.perspective_rescore,
        detection_extra_scale_min_height=args.detection_extra_scale_min_height,
        detection_extra_weights=args.detection_extra_weights))
    if args.input_scale != 1.0:
        pipeline.set_input_scale(args.input_scale)
    flip = (f", detection flip test ({args.detection_flip_merge})" if args.detection_flip_test
            else ", no detection flip test")
    flip += f", extra scale {args.detection_extra_scale:g}" if args.detection_extra_scale else ""
    flip += (f" (boxes >= {args.detection_extra_scale_min_height:g} px)"
             if args.detection_extra_scale and args.detection_extra_scale_min_height else "")
    flip += (f", extra views by {Path(args.detection_extra_weights).name}"
             if args.detection_extra_scale and args.detection_extra_weights else "")
    flip += ", perspective rescoring" if args.perspective_rescore else ""
    runs = [DetectorRun("cluenet", cluenet_detector(pipeline), operating,
                        note=f"{Path(weights).name}, backend {pipeline.backend}, input scale {args.input_scale:g}{flip}")]
    if not args.no_hog:
        runs.append(DetectorRun("hog", hog_detector(args.hog_upscale), 0.0,
                                note=f"OpenCV HOG default people detector, image x{args.hog_upscale:g}, "
                                     f"boxes shrunk as OpenCV's peopledetect sample"))
    report = run_check(runs, images, labels, args.overlays and Path(args.overlays))
    report["set"]["name"] = getattr(args, "real_set", "first")
    report["weights"] = str(weights)
    print(format_table(report))
    if args.json:
        write_report(report, Path(args.json))
    return 0
