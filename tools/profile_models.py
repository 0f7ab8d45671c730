#!/usr/bin/env python3
"""Where the CPU time of a ClueNet frame goes: per stage and per operator.

For each model configuration (mobile, full-size) at one resolution: a random model
with calibrated batch norm (as `cluenet bench` runs it), ``--people`` pedestrians
forced through stage 2, eager torch. Per stage: wall time of each sub-module
(forward hooks; the CPU runs synchronously), median over frames. Per operator:
torch.profiler's self CPU time, averaged per frame. Writes a Markdown table and
the raw figures:

    .venv/bin/python tools/profile_models.py --resolution 1024x512 --frames 3 \
        --out docs/bench/profile_1024x512.md
"""
from __future__ import annotations

import argparse
import json
import logging
import subprocess
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from cluenet_ros.benchmark.pipeline_bench import calibrate_batchnorm, frame
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.models.factory import load_model_configs

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"mobile": str(REPO / "config" / "model_mobile.yaml"), "full": None}
# (label, attribute path from the pipeline) in execution order
PARTS = (("stage 1: trunk", "stage1.trunk"), ("stage 1: inception blocks", "stage1.inception"),
         ("stage 1: channel attention", "stage1.attention"), ("stage 1: segmentation decoder", "stage1.seg_decoder"),
         ("stage 1: RPN (head, anchors, NMS)", "stage1.rpn"),
         ("stage 1: RoI align", "stage1.roi_heads.box_roi_pool"),
         ("stage 1: RoI box head (2 FC)", "stage1.roi_heads.box_head"),
         ("stage 1: RoI predictor", "stage1.roi_heads.box_predictor"),
         ("stage 1: RoI heads, all", "stage1.roi_heads"), ("stage 2: network", "stage2"))
DENSE = "stage 1: dense part (compiled: trunk to segmentation)"


def _get(obj, path: str):
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def profile(config: str | None, resolution: tuple[int, int], people: int, frames: int,
            post_nms: int | None = None, backend: str = "torch") -> dict:
    s1, s2 = load_model_configs(config)
    torch.manual_seed(0)
    pipe = ClueNetPipeline.random(PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=1.0,
                                                 max_detections=people), s1, s2)
    if post_nms:
        pipe.stage1.rpn._post_nms_top_n["testing"] = post_nms
    img = frame(*resolution)
    calibrate_batchnorm(pipe, img)
    backend = pipe.use_backend(backend, persist=False)
    pipe(img)  # warm-up
    times: dict[str, list[float]] = defaultdict(list)
    starts: dict[str, float] = {}
    hooks = []

    def timed(label, fn):
        def run(x):
            t0 = time.perf_counter()
            out = fn(x)
            times[label].append(1000 * (time.perf_counter() - t0))
            return out
        return run

    if backend != "torch":  # the compiled parts are opaque to module hooks: time the calls
        pipe.stage1.dense_runner = timed(DENSE, pipe.stage1.dense_runner)
        pipe._stage2_runner = timed("stage 2: network", pipe._stage2_runner)
    for label, path in PARTS:
        mod = _get(pipe, path)
        hooks.append(mod.register_forward_pre_hook(lambda m, a, label=label: starts.__setitem__(label, time.perf_counter())))
        hooks.append(mod.register_forward_hook(
            lambda m, a, o, label=label: times[label].append(1000 * (time.perf_counter() - starts[label]))))
    stage_ms: dict[str, list[float]] = defaultdict(list)
    e2e = []
    proposals = []
    rpn_forward = pipe.stage1.rpn.forward

    def counting_rpn(*a, **k):
        out = rpn_forward(*a, **k)
        proposals.append(sum(len(p) for p in out[0]))
        return out

    pipe.stage1.rpn.forward = counting_rpn
    for _ in range(frames):
        t = {}
        t0 = time.perf_counter()
        pipe.process_batch([img], timings=t)
        e2e.append(1000 * (time.perf_counter() - t0))
        for k, v in t.items():
            stage_ms[k].append(v)
    for h in hooks:
        h.remove()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(frames):
            pipe(img)
    total_self = sum(e.self_cpu_time_total for e in prof.key_averages())
    ops = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    op_rows = [{"op": e.key, "self_ms_per_frame": e.self_cpu_time_total / 1000 / frames,
                "share": e.self_cpu_time_total / total_self, "calls_per_frame": e.count / frames} for e in ops[:15]]
    return {"config": config or "full-size (paper)", "backend": backend,
            "resolution": f"{resolution[0]}x{resolution[1]}",
            "people": people, "frames": frames, "rpn_post_nms_top_n_test": pipe.stage1.rpn._post_nms_top_n["testing"],
            "proposals_per_frame": float(np.median(proposals)) if proposals else None,
            "e2e_ms_median": float(np.median(e2e)),
            "pipeline_stages_ms": {k: float(np.median(v)) for k, v in stage_ms.items()},
            "parts_ms": {k: float(np.median(v)) for k, v in times.items() if v},
            "operators": op_rows, "threads": torch.get_num_threads()}


def to_markdown(results: dict, load: str) -> str:
    lines = ["# Per-stage and per-operator CPU profile", "",
             "Written by `tools/profile_models.py` (eager torch, or the backend after `@` in a column name; fp32, random weights with calibrated batch norm, "
             "pedestrians forced through stage 2 as in `cluenet bench`). Medians over the frames; the machine's "
             f"load while it ran: `{load}` (2 cores shared with other jobs: absolute times are inflated, shares "
             "are what to read).", ""]
    names = list(results)
    lines += ["## Per stage (ms per frame)", "", "| part | " + " | ".join(names) + " |",
              "|---|" + "---|" * len(names)]
    parts = [p for p, _ in PARTS[:4]] + [DENSE] + [p for p, _ in PARTS[4:]]
    for p in parts:
        if any(p in results[n]["parts_ms"] for n in names):
            lines.append(f"| {p} | " + " | ".join(f"{results[n]['parts_ms'][p]:.1f}" if p in results[n]["parts_ms"]
                                                   else "-" for n in names) + " |")
    for st in ("preprocess", "stage1", "crop_mask", "stage2", "postprocess"):
        lines.append(f"| pipeline: {st} | " + " | ".join(f"{results[n]['pipeline_stages_ms'].get(st, 0):.1f}"
                                                       for n in names) + " |")
    lines.append("| **end to end** | " + " | ".join(f"**{results[n]['e2e_ms_median']:.1f}**" for n in names) + " |")
    lines.append("| RPN proposals kept (post-NMS, test) | " + " | ".join(
        f"{results[n]['proposals_per_frame']:.0f} of {results[n]['rpn_post_nms_top_n_test']}" for n in names) + " |")
    for n in names:
        lines += ["", f"## Operators, {n} (top 15 by self CPU time)", "",
                  "| operator | self ms / frame | share | calls / frame |", "|---|---|---|---|"]
        for r in results[n]["operators"]:
            lines.append(f"| `{r['op']}` | {r['self_ms_per_frame']:.1f} | {100 * r['share']:.1f}% | "
                         f"{r['calls_per_frame']:.0f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--resolution", default="1024x512")
    ap.add_argument("--people", type=int, default=10)
    ap.add_argument("--frames", type=int, default=3)
    ap.add_argument("--configs", default="mobile,full,mobile@openvino,full@openvino",
                    help="NAME[@BACKEND],...; NAME one of " + ", ".join(CONFIGS))
    ap.add_argument("--out", default=str(REPO / "docs" / "bench" / "profile_1024x512.md"))
    a = ap.parse_args()
    logging.getLogger("cluenet_ros").setLevel(logging.ERROR)
    w, h = (int(v) for v in a.resolution.split("x"))
    results = {}
    for item in a.configs.split(","):
        name, _, backend = item.partition("@")
        results[item] = profile(CONFIGS[name], (w, h), a.people, a.frames, backend=backend or "torch")
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    out = Path(a.out)
    out.write_text(to_markdown(results, load))
    out.with_suffix(".json").write_text(json.dumps({"load": load, "results": results}, indent=2) + "\n")
    print(out.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
