#!/usr/bin/env python3
"""Issue 18: are two models' real-image figures different, or is it the images?

Reads reports of ``cluenet eval real --json`` (written with per-image rows, since
session 22) and gives, for each report, every figure with its 95% bootstrap
interval over images, and for each report after the first, its paired difference
from the first (the same resampled images for both) with the share of draws in which
it is ahead. A measurement, not a tuning tool: the real check chooses nothing.

    tools/real_check_compare.py BASE.json OTHER.json [...] [--names a,b,...] [--json out.json]
    tools/real_check_compare.py real.json:hog real.json:cluenet    # a detector of the report (default cluenet)
    tools/real_check_compare.py A.json B.json --at 0.9   # recall and FP / image at score 0.9 (AP unchanged)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluenet_ros.evaluation.real_check import at_threshold  # noqa: E402
from cluenet_ros.evaluation.real_uncertainty import bootstrap, paired_difference  # noqa: E402


def rows_of(spec: str, default: str) -> list[dict]:
    path, _, detector = spec.partition(":") if not Path(spec).is_file() else (spec, "", "")
    path, detector = Path(path), detector or default
    report = json.loads(path.read_text())
    entry = report.get("detectors", {}).get(detector)
    if entry is None:
        sys.exit(f"{path}: no detector '{detector}' (it has {', '.join(report.get('detectors', {}))})")
    if "per_image" not in entry:
        sys.exit(f"{path}: no per-image rows; run `cluenet eval real --json` again with this version")
    return entry["per_image"]


def default_name(spec: str) -> str:
    """The report's folder, and the detector when one is named."""
    path, _, detector = spec.partition(":")
    return Path(path).parent.name + (f":{detector}" if detector else "")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("reports", nargs="+", help="FILE or FILE:DETECTOR")
    ap.add_argument("--names", help="comma-separated names for the reports (default: their folders)")
    ap.add_argument("--detector", default="cluenet")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--at", type=float, help="recall and false positives at this score instead of each report's own "
                                            "threshold (the same for every report)")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    names = a.names.split(",") if a.names else [default_name(spec) for spec in a.reports]
    if len(names) != len(a.reports):
        sys.exit(f"--names gives {len(names)} names for {len(a.reports)} reports")
    rows = [rows_of(p, a.detector) for p in a.reports]
    if a.at is not None:
        rows = [at_threshold(r, a.at) for r in rows]
    out = {"samples": a.samples, "seed": a.seed, "level": 0.95, "threshold": a.at, "reports": {},
           "versus_" + names[0]: {}}
    at = "" if a.at is None else f" (score >= {a.at:g})"
    print(f"| model | recall @0.5{at} | AP @0.5 | FP / image{at} |\n|---|---|---|---|")
    for name, r in zip(names, rows):
        b = bootstrap(r, a.samples, seed=a.seed)
        out["reports"][name] = b
        cell = [f"{100 * b[m]['value']:.1f}% [{100 * b[m]['interval'][0]:.1f}, {100 * b[m]['interval'][1]:.1f}]"
                for m in ("recall", "ap")]
        f = b["fp_per_image"]
        cell.append(f"{f['value']:.2f} [{f['interval'][0]:.2f}, {f['interval'][1]:.2f}]")
        print(f"| {name} | " + " | ".join(cell) + " |")
    if len(rows) > 1:
        print(f"\npaired differences from {names[0]} (95% interval; P = share of draws ahead)\n"
              "| model | recall | AP | FP / image |\n|---|---|---|---|")
    for name, r in zip(names[1:], rows[1:]):
        d = paired_difference(rows[0], r, a.samples, seed=a.seed)
        out["versus_" + names[0]][name] = d
        cell = [f"{100 * d[m]['difference']:+.1f} [{100 * d[m]['interval'][0]:+.1f}, {100 * d[m]['interval'][1]:+.1f}]"
                f" P {d[m]['p_b_higher']:.2f}" for m in ("recall", "ap")]
        f = d["fp_per_image"]
        cell.append(f"{f['difference']:+.2f} [{f['interval'][0]:+.2f}, {f['interval'][1]:+.2f}] P {f['p_b_higher']:.2f}")
        print(f"| {name} | " + " | ".join(cell) + " |")
    if a.json:
        a.json.parent.mkdir(parents=True, exist_ok=True)
        a.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
