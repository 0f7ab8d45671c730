#!/usr/bin/env python3
"""Mutation check: does the test suite catch plausible one-line bugs?

Each mutation below replaces one exact snippet of the code with a wrong one of the
kind a user would care about (a changed threshold or constant, a wrong sigma, a
parameter that is ignored, a missing header, wrong units, ...). For each one, the
tool copies the working tree to a scratch folder, applies the mutation there, runs
the tests of its area with ``pytest -x`` and records whether they fail (caught) or
pass (survived). The working tree itself is never modified.

    .venv/bin/python tools/mutation_check.py                  # all mutations
    .venv/bin/python tools/mutation_check.py --only eval-iou-threshold node-marker-header
    .venv/bin/python tools/mutation_check.py --tests-from 6109a06   # the suite of an older commit
    .venv/bin/python tools/mutation_check.py --list

It is a tool, not a test: it takes about half an hour on 2 cores and is not part
of ``make test``. Exit status 0 when every mutation is caught, 1 otherwise; a
mutation whose snippet is no longer in the code (the code moved on) counts as
"stale", not caught, so the list is kept current with the code.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# test files per area (pytest -x stops at the first failure)
T_EVAL = ("test/test_evaluation.py", "test/test_metric_thresholds.py")
T_KEYPOINTS = ("test/test_keypoints.py", "test/test_metric_thresholds.py", "test/test_datasets.py")
T_OCCLUSION = ("test/test_stage2_training.py::test_mask_and_predict_patches_are_black_on_the_person_at_the_share",
               "test/test_evaluation.py", "test/test_stage2.py")
T_STAGE2 = ("test/test_stage2_training.py",)
T_LIBRARY = ("test/test_library_ops.py",)
T_TRAINING = ("test/test_training.py::test_schedules_follow_the_paper",
              "test/test_training.py::test_stage1_then_stage2_give_a_pipeline_checkpoint_and_losses_fall")
T_STAGE1 = ("test/test_stage1.py",)
T_INFERENCE = ("test/test_pipeline.py", "test/test_pipeline_parameters.py")
T_NODE = ("test/test_ros_conversions.py", "test/test_ros_messages.py", "test/test_cdr_messages.py",
          "test/test_node.py", "test/test_node_parameters.py")
T_BAG = ("test/test_bag.py",)


@dataclass(frozen=True)
class Mutation:
    id: str
    area: str
    file: str
    old: str
    new: str
    tests: tuple[str, ...]
    why: str


M = Mutation
MUTATIONS: tuple[Mutation, ...] = (
    # -- evaluation --------------------------------------------------------------------
    M("eval-iou-threshold", "evaluation", "cluenet_ros/evaluation/detection.py",
      "IOU_THRESHOLD = 0.5", "IOU_THRESHOLD = 0.45", T_EVAL, "detection match threshold changed"),
    M("eval-height-expansion", "evaluation", "cluenet_ros/evaluation/detection.py",
      "HEIGHT_EXPANSION = 1.25", "HEIGHT_EXPANSION = 1.0", T_EVAL, "detections no longer kept down to 50/1.25 px"),
    M("eval-fppi-points", "evaluation", "cluenet_ros/evaluation/detection.py",
      "FPPI_POINTS = np.logspace(-2.0, 0.0, 9)", "FPPI_POINTS = np.logspace(-2.0, 0.0, 10)", T_EVAL,
      "miss rate read at ten FPPI points instead of nine"),
    M("eval-reasonable-visibility", "evaluation", "cluenet_ros/evaluation/detection.py",
      'Setup("reasonable", "Reasonable (R)", (50, math.inf), (0.65, math.inf))',
      'Setup("reasonable", "Reasonable (R)", (50, math.inf), (0.6, math.inf))', T_EVAL,
      "Reasonable setup's visibility range changed"),
    M("eval-ignore-by-iou", "evaluation", "cluenet_ros/evaluation/detection.py",
      "return torch.where(torch.as_tensor(gt_ignore, dtype=torch.bool)[None, :], box_ioa(d, g), iou).numpy()",
      "return iou.numpy()", T_EVAL,
      "ignore regions judged by IoU instead of the detection's own area"),
    M("eval-recall-denominator", "evaluation", "cluenet_ros/evaluation/detection.py",
      "recall = tp / num_pos if num_pos", "recall = tp / (num_pos + 1) if num_pos", T_EVAL,
      "recall off by one person"),
    M("eval-oks-sigmas-not-passed", "evaluation", "cluenet_ros/evaluation/pose.py",
      "ev.params.kpt_oks_sigmas = kp.OKS_SIGMAS.copy()", "ev.params.kpt_oks_sigmas = np.full(13, 0.079)",
      T_EVAL, "COCOeval scores with one sigma for every keypoint"),
    M("eval-stats-shifted", "evaluation", "cluenet_ros/evaluation/pose.py",
      "zip(STATS, ev.stats[:5])", "zip(STATS, ev.stats[1:6])", T_EVAL, "AP reported under the wrong names"),
    M("eval-occluded-includes-visible", "evaluation", "cluenet_ros/evaluation/pose.py",
      "hidden = full[:, 2] == 1", "hidden = full[:, 2] >= 1", T_EVAL,
      "occluded-keypoint AP also scores visible keypoints"),
    M("eval-mask-ignore-dropped", "evaluation", "cluenet_ros/evaluation/segmentation.py",
      "acc.add(pm > 0, gm > 0, ignore)", "acc.add(pm > 0, gm > 0)", T_EVAL,
      "mask IoU counts ignored pixels"),
    # -- keypoint schema ----------------------------------------------------------------
    M("kp-hip-sigma", "keypoints", "cluenet_ros/keypoints.py",
      "0.062, 0.062, 0.107, 0.107, 0.087", "0.062, 0.062, 0.087, 0.107, 0.087", T_KEYPOINTS,
      "left hip takes the knee's sigma"),
    M("kp-head-sigma", "keypoints", "cluenet_ros/keypoints.py",
      "[max(COCO_SIGMAS[j] for j in COCO_FACE)]", "[min(COCO_SIGMAS[j] for j in COCO_FACE)]", T_KEYPOINTS,
      "head sigma from the nose instead of the ears"),
    M("kp-flip-one-way", "keypoints", "cluenet_ros/keypoints.py",
      "perm[a], perm[b] = b, a", "perm[a] = b", T_KEYPOINTS, "flip maps left to right but not back"),
    M("kp-head-from-nose", "keypoints", "cluenet_ros/keypoints.py",
      "out[0, :2] = face[labelled, :2].mean(axis=0)", "out[0, :2] = face[0, :2]", T_KEYPOINTS,
      "COCO head is the nose even when the nose is unlabelled"),
    # -- occlusion / Mask and Predict ------------------------------------------------------
    M("occ-undershoot", "occlusion", "cluenet_ros/occlusion.py",
      "target = min(fraction, 1.0) * total", "target = min(fraction, 1.0) * total * 0.8", T_OCCLUSION,
      "patches hide 20% less of the person than asked"),
    M("occ-off-person", "occlusion", "cluenet_ros/occlusion.py",
      "cy, cx = divmod(int(free[rng.integers(len(free))]), w)", "cy, cx = divmod(int(rng.integers(h * w)), w)",
      T_OCCLUSION, "patches centred anywhere in the crop, not on the person"),
    M("occ-grey-patches", "occlusion", "training/transforms.py",
      "crop = crop * (~patches).float()", "crop = crop * (~patches).float() + 0.5 * patches.float()",
      T_OCCLUSION, "Mask-and-Predict patches grey instead of black"),
    # -- training ---------------------------------------------------------------------------
    M("train-lr-never-steps", "training", "training/schedules.py",
      "lr = base * gamma ** (iteration // step)", "lr = base", T_TRAINING, "learning rate never steps down"),
    M("train-warmup-slow", "training", "training/schedules.py",
      "lr *= 0.1 + 0.9 * iteration / warmup", "lr *= 0.1 + 0.9 * iteration / (2 * warmup)", T_TRAINING,
      "warm-up twice as long as configured"),
    M("train-curriculum-flat", "training", "training/schedules.py",
      "return max_fraction * min(1.0, iteration / total_iterations)", "return max_fraction", T_TRAINING,
      "Mask-and-Predict curriculum starts at the full ratio"),
    M("train-unfreeze-late", "training", "training/schedules.py",
      "thawed = 1 + (iteration - frozen_iterations) // interval",
      "thawed = (iteration - frozen_iterations) // interval", T_TRAINING,
      "gradual unfreezing one interval late"),
    M("train-adversarial-sign", "training", "training/stage2.py",
      "total = loss_pose + da.weight * loss_e if adversarial else loss_pose",
      "total = loss_pose - da.weight * loss_e if adversarial else loss_pose", T_STAGE2,
      "the encoder's adversarial update helps the domain classifier instead of fooling it"),
    M("train-curriculum-uniform", "training", "training/stage2.py",
      'return cap if schedule == "linear" else float(rng.uniform(0.0, cap))',
      "return float(rng.uniform(0.0, cap))", T_STAGE2,
      "the paper's curriculum (hide exactly the current share) replaced by U(0, share)"),
    M("train-ignore-as-background", "training", "cluenet_ros/models/stage1.py",
      "return torch.where(covered & (labels < 1), torch.full_like(labels, -1), labels)", "return labels",
      T_LIBRARY, "boxes under ignore regions sampled as negatives"),
    M("train-trunk-bn-trainable", "training", "cluenet_ros/models/trunk.py",
      'kwargs["norm_layer"] = FrozenBatchNorm2d', 'kwargs["norm_layer"] = nn.BatchNorm2d', T_LIBRARY,
      "ResNet trunk batch norm trainable by default at 2 images per GPU"),
    M("train-lambda-ignored", "training", "cluenet_ros/models/stage1.py",
      'losses["loss_total"] = losses["loss_seg"] + self.config.loss_lambda * losses["loss_det"]',
      'losses["loss_total"] = losses["loss_seg"] + losses["loss_det"]', T_STAGE1, "lambda of eq. 2 ignored"),
    M("train-seg-loss-disconnected", "training", "cluenet_ros/models/stage1.py",
      'losses["loss_total"] = losses["loss_seg"] + self.config.loss_lambda * losses["loss_det"]',
      'losses["loss_total"] = losses["loss_seg"].detach() + self.config.loss_lambda * losses["loss_det"]',
      T_STAGE1, "the segmentation head gets no gradient"),
    M("model-attention-gate", "training", "cluenet_ros/models/blocks.py",
      "return f * torch.sigmoid(self.conv(f))", "return f * torch.tanh(self.conv(f))", T_STAGE1,
      "channel attention gate is not a sigmoid (eq. 1)"),
    # -- inference ---------------------------------------------------------------------------
    M("infer-nms-runtime-ignored", "inference", "cluenet_ros/models/stage1.py",
      "self.roi_heads.nms_thresh = float(nms_iou)", "self.roi_heads.nms_thresh = self.roi_heads.nms_thresh",
      T_INFERENCE + T_NODE, "nms_iou set at run time is ignored"),
    M("infer-nms-start-ignored", "inference", "cluenet_ros/inference/pipeline.py",
      "self.set_thresholds(self.config.score_threshold, self.config.nms_iou, self.config.max_detections)",
      "self.set_thresholds(self.config.score_threshold, None, self.config.max_detections)",
      T_INFERENCE, "nms_iou of the start configuration is ignored"),
    M("infer-boxes-not-rescaled", "inference", "cluenet_ros/models/stage1.py",
      "detections = self.transform.postprocess(detections, image_list.image_sizes, original_sizes)",
      "detections = detections",
      T_INFERENCE, "boxes not scaled back when input_scale != 1"),
    M("infer-input-scale-runtime-ignored", "inference", "cluenet_ros/models/stage1.py",
      "self.transform.scale = float(scale)", "pass", T_INFERENCE + T_NODE,
      "input_scale changed at run time never reaches the detection transform"),
    M("infer-bgr-not-swapped", "inference", "cluenet_ros/inference/pipeline.py",
      "t = t.flip(0)", "t = t", T_INFERENCE, "BGR frames fed as RGB"),
    M("infer-mask-threshold-fixed", "inference", "cluenet_ros/inference/pipeline.py",
      'masks = [o["mask"] > self.config.mask_threshold for o in stage1_out]',
      'masks = [o["mask"] > 0.5 for o in stage1_out]', T_INFERENCE, "mask_threshold ignored"),
    M("infer-crop-not-masked", "inference", "cluenet_ros/inference/pipeline.py",
      "s[:3, : img.shape[1], : img.shape[2]] = img * s[3:4, : img.shape[1], : img.shape[2]]",
      "s[:3, : img.shape[1], : img.shape[2]] = img", T_INFERENCE,
      "stage-2 crops not multiplied by the stage-1 mask"),
    # (a first version swapped sy for sx here: an equivalent mutant, since crops
    # always keep the stage-2 aspect ratio and so sx == sy)
    M("infer-keypoints-half-pixel", "inference", "cluenet_ros/inference/geometry.py",
      "out[..., 0] = crops[:, None, 0] + points[..., 0] * sx[:, None]",
      "out[..., 0] = crops[:, None, 0] + (points[..., 0] + 0.5) * sx[:, None]", T_INFERENCE,
      "keypoints mapped back half a crop pixel off"),
    # -- node messages and parameters --------------------------------------------------------
    M("node-marker-header", "node", "cluenet_ros/ros/messages.py",
      "bones = Marker(header=header, ns=namespace, id=0,", "bones = Marker(ns=namespace, id=0,", T_NODE,
      "bone markers without their header"),
    M("node-marker-scale", "node", "cluenet_ros/ros/messages.py",
      "xy = (result.keypoints[..., :2] * scale)", "xy = (result.keypoints[..., :2] * 0.001)", T_NODE,
      "marker_scale ignored"),
    M("node-bbox-size", "node", "cluenet_ros/ros/messages.py",
      "b.size_y = y2 - y1", "b.size_y = x2 - x1", T_NODE, "box height from its width"),
    M("node-cdr-double-alignment", "node", "cluenet_ros/ros/cdr.py",
      "w.put(row.tobytes(), 8)", "w.put(row.tobytes(), 4)", T_NODE,
      "published detections with their doubles aligned to 4 bytes, not 8"),
    M("node-cdr-keypoint-padding", "node", "cluenet_ros/ros/cdr.py",
      "stride, used = 16 * k, max(16 * k - 3, 0)", "stride, used = 16 * k, 16 * k", T_NODE,
      "published pedestrians with padding after each one's last keypoint"),
    M("node-cdr-mask-step", "node", "cluenet_ros/ros/cdr.py",
      "w.put(_U32_PAIR.pack(width, data.size), 4)", "w.put(_U32_PAIR.pack(height, data.size), 4)", T_NODE,
      "published mask with the step taken from its height"),
    M("node-nms-param-ignored", "node", "cluenet_ros/ros/pedestrian_node.py",
      "self.pipeline.set_thresholds(nms_iou=prm.value)", "pass", T_NODE,
      "the node ignores nms_iou at run time"),
    M("node-input-scale-param-ignored", "node", "cluenet_ros/ros/pedestrian_node.py",
      "self.pipeline.set_input_scale(prm.value)", "pass", T_NODE,
      "the node ignores input_scale at run time"),
    M("node-mask-switch-ignored", "node", "cluenet_ros/ros/pedestrian_node.py",
      'if self.p("publish.mask") and _wanted(self.pub_mask):', "if _wanted(self.pub_mask):", T_NODE,
      "publish.mask:=false still publishes"),
    # -- bags ---------------------------------------------------------------------------------
    M("bag-latency-seconds", "bags", "cluenet_ros/bag/evaluate.py",
      "latencies = [(sent[s], 1000 * (arrivals[s] - sent[s]))", "latencies = [(sent[s], (arrivals[s] - sent[s]))",
      T_BAG, "bag latency reported in seconds under a _ms name"),
    M("bag-latency-microseconds", "bags", "cluenet_ros/bag/evaluate.py",
      "latencies = [(sent[s], 1000 * (arrivals[s] - sent[s]))",
      "latencies = [(sent[s], 1e6 * (arrivals[s] - sent[s]))", T_BAG, "bag latency in microseconds"),
    M("bag-stamp-period", "bags", "cluenet_ros/bag/make.py",
      "period = int(round(1e9 / rate))", "period = int(round(1e6 / rate))", T_BAG,
      "bag frames stamped at the wrong rate"),
)


def copy_tree(dest: Path, tests_from: str | None) -> None:
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, check=True,
                           capture_output=True).stdout.decode().split("\0")
    for rel in filter(None, files):
        src = REPO / rel
        if src.is_file():
            (dest / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / rel)
    (dest / "cluenet_training").symlink_to("training")  # what setup.py's package_dir does
    if tests_from:
        shutil.rmtree(dest / "test")
        archive = subprocess.run(["git", "archive", tests_from, "test"], cwd=REPO, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def run_one(m: Mutation, tree: Path, timeout: float) -> dict:
    path = tree / m.file
    original = path.read_text()
    count = original.count(m.old)
    result = {"id": m.id, "area": m.area, "why": m.why, "file": m.file}
    if count != 1:
        return dict(result, status="stale", detail=f"snippet found {count} times", seconds=0.0)
    tests = [t for t in m.tests if (tree / t.split("::")[0]).is_file()]
    if not tests:
        return dict(result, status="stale", detail="none of its test files exists", seconds=0.0)
    path.write_text(original.replace(m.old, m.new))
    env = dict(os.environ, PYTHONPATH=str(tree), ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               PYTHONDONTWRITEBYTECODE="1")
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                               "--no-header", "-rfE", *tests], cwd=tree, env=env, capture_output=True,
                              text=True, timeout=timeout)
        code, out = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired:
        code, out = -1, "timed out"
    finally:
        path.write_text(original)
    seconds = round(time.monotonic() - start, 1)
    failed = [line for line in out.splitlines() if line.startswith(("FAILED", "ERROR"))]
    if code == 1:
        return dict(result, status="caught", detail=(failed[0] if failed else "tests failed"), seconds=seconds)
    if code == 0:
        return dict(result, status="survived", detail="all tests passed", seconds=seconds)
    if code in (4, 5) and ("not found" in out or "no tests ran" in out):
        # an older suite (--tests-from) without these tests: nothing catches the bug
        return dict(result, status="survived", detail="its tests do not exist in this suite", seconds=seconds)
    return dict(result, status="error", detail=f"pytest exit {code}: {out.strip().splitlines()[-1:]}",
                seconds=seconds)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", nargs="+", metavar="ID", help="run these mutations only")
    ap.add_argument("--tests-from", metavar="REV", help="use the test/ folder of this git revision")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per mutation (default 900)")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTATIONS if not args.only or m.id in args.only]
    if args.only and len(chosen) != len(set(args.only)):
        unknown = set(args.only) - {m.id for m in chosen}
        print(f"unknown mutation ids: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if args.list:
        for m in chosen:
            print(f"{m.id:34s} {m.area:11s} {m.why}")
        return 0
    results = []
    with tempfile.TemporaryDirectory(prefix="cluenet_mutation_") as tmp:
        tree = Path(tmp)
        copy_tree(tree, args.tests_from)
        for i, m in enumerate(chosen, 1):
            r = run_one(m, tree, args.timeout)
            results.append(r)
            print(f"[{i:2d}/{len(chosen)}] {r['status']:8s} {m.id:34s} {r['seconds']:6.1f}s  {r['detail']}",
                  flush=True)
    caught = sum(r["status"] == "caught" for r in results)
    print(f"\ncaught {caught} of {len(results)} mutations ({100 * caught / max(len(results), 1):.0f}%)")
    for status in ("survived", "stale", "error"):
        ids = [r["id"] for r in results if r["status"] == status]
        if ids:
            print(f"{status}: {', '.join(ids)}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"tests_from": args.tests_from or "working tree", "caught": caught,
                                         "total": len(results), "results": results}, indent=2) + "\n")
    return 0 if caught == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
