"""``cluenet eval full``: run a checkpoint over a dataset split and report every
metric of the paper in Markdown, JSON and plots."""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cluenet_ros.data.split import SplitFolder
from cluenet_ros.evaluation import detection as det_eval
from cluenet_ros.evaluation.occlusion_study import LEVELS, ClueNetProbe, ap_against_occlusion, fully_visible, plot
from cluenet_ros.evaluation.pose import keypoint_ap, keypoints_inside_masks, occluded_keypoint_ap
from cluenet_ros.evaluation.segmentation import MaskIoU
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig

IGNORE = 255


def evaluate_split(pipeline: ClueNetPipeline, data: SplitFolder, max_images: int | None = None,
                   levels=LEVELS, progress: bool = True) -> dict:
    """Every metric for ``pipeline`` (a ClueNetPipeline, or anything with its call
    signature and an ``occlusion_probe(samples)``, such as the Keypoint R-CNN
    baseline; frames without a mask skip the mask IoU)."""
    images = data.images[:max_images] if max_images else data.images
    dets, kp_results, inside_pts, inside_masks = [], [], [], []
    seg = MaskIoU()
    occlusion_samples = []
    coco_by_id = {a["id"]: a for a in (data.coco or {}).get("annotations", [])}
    latencies = []
    for img in tqdm(images, desc="evaluating", unit="img", disable=not progress):
        rgb = data.read_rgb(img)
        t0 = time.perf_counter()
        res = pipeline(rgb)
        latencies.append(time.perf_counter() - t0)
        for i in range(len(res)):
            x1, y1, x2, y2 = (float(v) for v in res.boxes[i])
            dets.append({"image_id": img["id"], "category_id": 1, "bbox": [x1, y1, x2 - x1, y2 - y1],
                         "score": float(res.scores[i])})
            k = res.keypoints[i]
            kp_results.append({"image_id": img["id"], "category_id": 1,
                               "keypoints": np.c_[k[:, :2], np.ones(len(k))].ravel().tolist(),
                               "score": float(res.scores[i])})
        semantic = data.read_mask(img, "semantic_mask")
        if semantic is not None and res.mask is not None:
            seg.add(res.mask > 0, (semantic > 0) & (semantic != IGNORE),
                    semantic == IGNORE if (semantic == IGNORE).any() else None)
        instances = data.read_mask(img, "instance_mask")
        for ann in data.annotations(img["id"]):
            if instances is None or ann.get("ignore") or "instance_id" not in ann:
                continue
            person = instances == ann["instance_id"]
            if float(ann.get("vis_ratio", 0)) >= 0.95:  # a full (unoccluded) pedestrian instance
                xywh = np.c_[res.boxes[:, :2], res.boxes[:, 2:] - res.boxes[:, :2]]
                ious = det_eval.iou_matrix(np.asarray([ann["bbox"]], float), xywh, np.zeros(len(xywh), bool))[0]
                if len(ious) and ious.max() >= 0.5:
                    inside_pts.append(res.keypoints[int(np.argmax(ious)), :, :2])
                    inside_masks.append(person)
            coco_ann = coco_by_id.get(ann["id"])
            if coco_ann is not None and fully_visible(coco_ann):
                occlusion_samples.append((rgb, person, coco_ann))

    gt = det_eval.load_ground_truth(data.citypersons)
    report = {
        "images": len(images),
        "detection_mr": det_eval.evaluate_detections(gt, det_eval.load_detections(dets, gt)),
        "mask_iou": seg.iou,
        "keypoints_inside_mask": keypoints_inside_masks(inside_pts, inside_masks),
        "keypoints_inside_mask_instances": len(inside_pts),
        "latency_ms_median": 1000 * float(np.median(latencies)) if latencies else float("nan"),
    }
    if data.coco is not None:
        coco = dict(data.coco, images=[i for i in data.coco["images"] if i["id"] in {x["id"] for x in images}])
        ids = {i["id"] for i in coco["images"]}
        coco["annotations"] = [a for a in coco["annotations"] if a["image_id"] in ids]
        report["keypoint_ap"] = keypoint_ap(coco, kp_results)
        report["occluded_keypoint_ap"] = occluded_keypoint_ap(coco, kp_results)
        make_probe = getattr(pipeline, "occlusion_probe", None) or (lambda s: ClueNetProbe(pipeline, s))
        probe = make_probe(occlusion_samples) if occlusion_samples else None
        anns = [s[2] for s in occlusion_samples]
        report["ap_against_occlusion"] = {f"{int(round(100 * k))}%": v for k, v in
                                          ap_against_occlusion(probe, anns, coco, levels).items()}
        report["occlusion_study_people"] = len(occlusion_samples)
    report["_detections"] = dets
    report["_keypoints"] = kp_results
    return report


def _pct(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}"


def write_report(report: dict, out: str | Path, title: str) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "detections.json").write_text(json.dumps(report.pop("_detections")))
    (out / "keypoints.json").write_text(json.dumps(report.pop("_keypoints")))

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return None if isinstance(v, float) and math.isnan(v) else v

    (out / "report.json").write_text(json.dumps(clean(report), indent=2) + "\n")
    lines = [f"# {title}", "", f"Images: {report['images']}", "", "## Detection (MR^-2, lower is better)", "",
             "| setup | MR^-2 (%) |", "|---|---|"]
    for s in det_eval.SETUPS:
        lines.append(f"| {s.label} | {_pct(report['detection_mr'][s.name])} |")
    lines += ["", "## Segmentation", "", f"Pedestrian mask IoU: {_pct(report['mask_iou'])}%" if report["mask_iou"] is not None
              and not math.isnan(report["mask_iou"]) else "Pedestrian mask IoU: n/a (the model has no mask)", "",
              "## Pose", ""]
    if "keypoint_ap" in report:
        lines += ["| keypoints | AP | AP50 | AP75 | APM | APL |", "|---|---|---|---|---|---|"]
        for name, key in (("annotated (visible)", "keypoint_ap"), ("occluded only", "occluded_keypoint_ap")):
            figs = report.get(key)
            if figs:
                lines.append(f"| {name} | " + " | ".join(_pct(figs[s]) for s in ("AP", "AP50", "AP75", "APM", "APL")) + " |")
        lines += ["", "### AP against occlusion", "", "| hidden | " + " | ".join(report["ap_against_occlusion"]) + " |",
                  "|---|" + "---|" * len(report["ap_against_occlusion"]),
                  "| AP (%) | " + " | ".join(_pct(v) for v in report["ap_against_occlusion"].values()) + " |",
                  "", f"({report['occlusion_study_people']} fully visible people) ![AP against occlusion](ap_vs_occlusion.png)"]
        plot({float(k[:-1]) / 100: (v if v is not None else float("nan"))
              for k, v in report["ap_against_occlusion"].items()}, out / "ap_vs_occlusion.png")
    lines += ["", f"Keypoints inside the ground-truth mask of full pedestrian instances: "
              f"{_pct(report['keypoints_inside_mask'])}% ({report['keypoints_inside_mask_instances']} instances)",
              "", f"Median pipeline latency: {report['latency_ms_median']:.1f} ms per image", ""]
    (out / "report.md").write_text("\n".join(lines))
    return out / "report.md"


def run_full(weights: str, data_dir: str, out: str, device: str = "auto", max_images: int | None = None,
             score_threshold: float = 0.05, backend: str = "torch", int8: bool = False,
             flip_test: bool = False, input_scale: float | None = None, standalone: bool = False,
             detection_flip: str | None = "nms", detection_extra_scale: float = 0.0,
             perspective: bool = False, detection_extra_scale_min_height: float = 0.0,
             detection_extra_weights: str = "") -> Path:
    """Evaluates a ClueNet checkpoint, or a Keypoint R-CNN baseline checkpoint (the
    kind is read from the file). ``input_scale``: frames resized by this factor before
    stage 1, as the node's parameter does (default: the checkpoint's own). ``detection_flip``:
    None, or the merge of stage 1's flip test ('nms' or 'fusion')."""
    from cluenet_ros.models.checkpoint import read_checkpoint

    flip_args = ({"detection_flip_test": True, "detection_flip_merge": detection_flip} if detection_flip
                 else {"detection_flip_test": False})
    flip_args["detection_extra_scale"] = float(detection_extra_scale)
    flip_args["perspective_rescore"] = bool(perspective)
    flip_args["detection_extra_scale_min_height"] = float(detection_extra_scale_min_height)
    flip_args["detection_extra_weights"] = str(detection_extra_weights or "")
    if "keypointrcnn" in read_checkpoint(weights)["models"]:
        from cluenet_ros.inference.baseline import KeypointRCNNPredictor

        pipeline, kind = KeypointRCNNPredictor.from_checkpoint(weights, device, score_threshold), "Keypoint R-CNN"
        if int8 or flip_test or input_scale is not None or perspective:
            raise ValueError("--int8, --flip-test, --input-scale and --perspective-rescore apply to ClueNet checkpoints "
                             "(the baseline runs eager torch at its own size)")
        backend = "torch"
    elif standalone:
        from cluenet_ros.inference.standalone import StandalonePipeline

        if int8 or device == "cuda":
            raise ValueError("--standalone runs fp32 on the CPU (no --int8, no --device cuda)")
        # the occlusion study feeds true crops to stage 2: eagerly, as for every backend
        eager = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", backend="torch",
                                                                        flip_test=flip_test))
        cfg = PipelineConfig(device="cpu", backend="auto" if backend == "torch" else backend,
                             score_threshold=score_threshold, flip_test=flip_test, **flip_args)
        pipeline = StandalonePipeline.from_checkpoint(
            weights, cfg, input_scale=eager.stage1.config.input_scale if input_scale is None else input_scale)
        pipeline.occlusion_probe = lambda samples: ClueNetProbe(eager, samples)
        kind, backend = "ClueNet", f"{pipeline.backend} (standalone)"
    else:
        pipeline = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device=device, backend=backend,
                                                                           score_threshold=score_threshold,
                                                                           int8=int8, flip_test=flip_test,
                                                                           **flip_args))
        kind, backend = "ClueNet", pipeline.backend
        if input_scale is not None:
            pipeline.set_input_scale(input_scale)
    data = SplitFolder.open(data_dir)
    report = evaluate_split(pipeline, data, max_images)
    report["backend"] = backend
    report["int8"] = bool(int8)
    report["flip_test"] = bool(flip_test)
    report["detection_flip_test"] = detection_flip or False
    report["detection_extra_scale"] = float(detection_extra_scale)
    report["perspective_rescore"] = bool(perspective)
    report["detection_extra_scale_min_height"] = float(detection_extra_scale_min_height)
    report["detection_extra_weights"] = str(detection_extra_weights or "")
    report["standalone"] = bool(standalone)
    if kind == "ClueNet":
        report["input_scale"] = float(pipeline.input_scale if standalone else pipeline.stage1.config.input_scale)
    label = backend + (" int8" if int8 else "") + (", flip test" if flip_test else "")
    label += f", detection flip test ({detection_flip})" if detection_flip else ", no detection flip test"
    label += f", extra scale {detection_extra_scale:g}" if detection_extra_scale else ""
    label += (f" (boxes >= {detection_extra_scale_min_height:g} px)"
              if detection_extra_scale and detection_extra_scale_min_height else "")
    label += (f", extra views by {Path(detection_extra_weights).name}"
              if detection_extra_scale and detection_extra_weights else "")
    label += f", input scale {input_scale:g}" if input_scale is not None else ""
    label += ", perspective rescoring" if perspective else ""
    return write_report(report, out, f"{kind} evaluation of {Path(weights).name} on {data_dir} (backend {label})")
