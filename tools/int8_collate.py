#!/usr/bin/env python3
"""Collect the int8 study's figures into docs/bench/int8.json (see docs/bench/int8.md).

Inputs: `cluenet eval full` report folders named BACKEND and BACKEND_int8 under
--evals, the interleaved latency JSON of tools/bench_int8.py (--latency) and the
`cluenet bench --weights ... [--int8] --json` files bench_BACKEND[_int8].json under
--bench (peak RSS). Applies the issue's rule: int8 may be on by default only if
MR^-2 (Reasonable), mask IoU and keypoint AP all stay within 1 point of fp32 on
every backend.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

RULE_POINTS = 1.0


def metrics(report: dict) -> dict:
    occ = report.get("ap_against_occlusion", {})
    return {"mr2_reasonable": 100 * report["detection_mr"]["reasonable"],
            "mr2_heavy": 100 * report["detection_mr"]["heavy"],
            "mr2_all": 100 * report["detection_mr"]["all"],
            "mask_iou": 100 * report["mask_iou"],
            "keypoint_ap": 100 * report["keypoint_ap"]["AP"],
            "keypoint_ap50": 100 * report["keypoint_ap"]["AP50"],
            "occlusion_study_ap_20": 100 * occ["20%"] if occ.get("20%") is not None else None,
            "occlusion_study_ap_70": 100 * occ["70%"] if occ.get("70%") is not None else None,
            "keypoints_inside_mask": 100 * report["keypoints_inside_mask"],
            "images": report["images"], "latency_ms_median_eval": report["latency_ms_median"]}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--evals", default="out/int8_eval")
    ap.add_argument("--latency", default="out/int8_bench/interleaved.json")
    ap.add_argument("--bench", default="out/int8_bench")
    ap.add_argument("--recipe", help="the int8-<key>.json record from the backend cache")
    ap.add_argument("--variant", action="append", default=[], metavar="NAME=REPORT_FOLDER",
                    help="an int8 report of another recipe (figures only, not part of the decision)")
    ap.add_argument("--note", action="append", default=[], help="a line for the 'notes' list")
    ap.add_argument("--out", default="docs/bench/int8.json")
    args = ap.parse_args()
    out = {"rule": f"int8 on by default only if MR^-2 Reasonable, mask IoU and keypoint AP all stay within "
                   f"{RULE_POINTS:g} point of fp32 on every backend", "accuracy": {}, "speed": {}}
    passes = True
    for folder in sorted(Path(args.evals).iterdir()):
        if not folder.is_dir() or folder.name.endswith("_int8") or not (folder / "report.json").is_file():
            continue
        q = folder.with_name(folder.name + "_int8")
        if not (q / "report.json").is_file():
            continue
        a = metrics(json.loads((folder / "report.json").read_text()))
        b = metrics(json.loads((q / "report.json").read_text()))
        delta = {k: (b[k] - a[k]) for k in a if isinstance(a[k], float) and isinstance(b[k], float)}
        ok = all(abs(delta[k]) <= RULE_POINTS for k in ("mr2_reasonable", "mask_iou", "keypoint_ap"))
        passes &= ok
        out["accuracy"][folder.name] = {"fp32": a, "int8": b, "int8_minus_fp32": delta, "within_rule": ok}
    if Path(args.latency).is_file():
        out["speed"]["interleaved"] = json.loads(Path(args.latency).read_text())
    rss = {}
    for f in sorted(Path(args.bench).glob("bench_*.json")):
        r = json.loads(f.read_text())
        rss[f.stem[len("bench_"):]] = {k: r.get(k) for k in ("backend", "int8", "e2e_ms_median", "stages_ms",
                                                              "peak_mem_mb", "peak_mem_mb_including_setup",
                                                              "rss_anon_mb", "backend_setup_s", "frames")}
    out["speed"]["cluenet_bench_separate_processes"] = rss
    if args.recipe:
        out["calibration"] = json.loads(Path(args.recipe).read_text())
    for v in args.variant:
        name, folder = v.rsplit("=", 1)
        out.setdefault("variants", {})[name] = metrics(json.loads((Path(folder) / "report.json").read_text()))
    if args.note:
        out["notes"] = args.note
    out["int8_default"] = bool(passes and out["accuracy"])
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    for name, acc in out["accuracy"].items():
        print(name, {k: round(v, 2) for k, v in acc["int8_minus_fp32"].items()}, "within rule:", acc["within_rule"])
    print("int8 default:", out["int8_default"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
