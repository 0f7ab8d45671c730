#!/usr/bin/env python3
"""Issue 18: does a synthetic figure rank models the way the real check does?

A choosing set is only useful if the model it prefers is the one the real photographs
prefer. Session 42 found that plateval900, the choosing set since session 38, ranks the
soups near the shipped model backwards. This tool measures that agreement, for every
synthetic figure the committed reports hold, from the committed reports alone: it
trains and evaluates nothing.

For each session folder (``docs/accuracy/real_world/sNN``) it takes every soup with a
real check (``soups/<name>/real_<name>.json``) and reads its synthetic figures:

- ``plateval900``: the pooled MR^-2 Reasonable of the session's ``plateval900*.json``;
- ``pv_<figure>``: the mean over the composite reports ``soups/<name>/plateval_seed*/report.json``
  of MR^-2 heavy, reasonable+heavy, all, and mask IoU;
- ``<set>_<figure>``: the same from ``soups/<name>/<set>/report.json`` where a session kept
  other sets (``capsule``, ``clutter``);
- ``acceptance_recall``, ``acceptance_mask_iou``: the demo acceptance test's line.

and correlates each, by Spearman's rank correlation, with the real figures (AP, recall and
false boxes per image at the report's threshold, and at score 0.9). A soup measured in two
sessions counts once, where its real check is. Intervals: percentile bootstrap over soups
(soups share ingredients, so they are not independent and the intervals are optimistic).

Choosing a choosing set by its agreement with the real check uses the check for selection;
a plan that does so has to say it.

    tools/rank_agreement.py [--root docs/accuracy/real_world] [--sessions s38,...] [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

import numpy as np
from scipy.stats import rankdata

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluenet_ros.evaluation.real_check import at_threshold, figures  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
MR_KEYS = {"mr_r": "reasonable", "mr_ho": "heavy", "mr_rho": "reasonable_heavy", "mr_all": "all"}
REAL_KEYS = ("ap", "recall", "fp_per_image", "recall_at_0.9", "fp_per_image_at_0.9")
ACCEPT = re.compile(r"recall ([0-9.]+), mask IoU ([0-9.]+)")


def _report_figures(report: dict) -> dict:
    out = {k: report["detection_mr"][v] for k, v in MR_KEYS.items() if v in report.get("detection_mr", {})}
    if report.get("mask_iou") is not None:
        out["mask_iou"] = report["mask_iou"]
    return out


def real_figures(path: Path) -> dict:
    entry = json.loads(path.read_text())["detectors"]["cluenet"]
    out = {k: float(entry[k]) for k in ("ap", "recall", "fp_per_image")}
    if entry.get("per_image"):
        f = figures(at_threshold(entry["per_image"], 0.9))
        out["recall_at_0.9"], out["fp_per_image_at_0.9"] = f["recall"], f["fp_per_image"]
    return out


def synthetic_figures(session: Path, soup: Path, pooled: dict) -> dict:
    out = {}
    if soup.name in pooled:
        out["plateval900"] = pooled[soup.name]
    composites = [json.loads(p.read_text()) for p in sorted(soup.glob("plateval_seed*/report.json"))]
    if composites:
        per = [_report_figures(r) for r in composites]
        for key in per[0]:
            if key != "mr_r" and all(key in f for f in per):
                out[f"pv_{key}"] = float(np.mean([f[key] for f in per]))
    for other in sorted(soup.iterdir()):
        report = other / "report.json"
        if other.is_dir() and not other.name.startswith("plateval_seed") and report.is_file():
            for key, value in _report_figures(json.loads(report.read_text())).items():
                out[f"{other.name}_{key}"] = value
    accept = soup / "acceptance.txt"
    if accept.is_file():
        m = ACCEPT.search(accept.read_text())
        if m:
            out["acceptance_recall"], out["acceptance_mask_iou"] = float(m.group(1)), float(m.group(2))
    return out


def collect(root: Path, sessions: list[str] | None = None) -> dict:
    """``{soup: {"session", "real": {...}, "synthetic": {...}}}`` over the session folders."""
    folders = sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name))
    if sessions:
        missing = set(sessions) - {p.name for p in folders}
        if missing:
            raise FileNotFoundError(f"no session folder {', '.join(sorted(missing))} under {root}")
        folders = [p for p in folders if p.name in sessions]
    pooled_by_session = {}
    for folder in folders:
        pooled = {}
        for f in sorted(folder.glob("plateval900*.json")):
            pooled.update(json.loads(f.read_text()).get("pooled", {}))
        pooled_by_session[folder.name] = pooled
    soups = {}
    for folder in folders:
        for soup in sorted((folder / "soups").glob("*")) if (folder / "soups").is_dir() else []:
            real = soup / f"real_{soup.name}.json"
            if not real.is_file() or soup.name in soups:
                continue
            synth = synthetic_figures(folder, soup, pooled_by_session[folder.name])
            if "plateval900" not in synth:   # measured again later (e.g. soup_s in s42): take that pooled figure
                for later in pooled_by_session.values():
                    if soup.name in later:
                        synth["plateval900"] = later[soup.name]
                        break
            soups[soup.name] = {"session": folder.name, "real": real_figures(real), "synthetic": synth}
    return soups


def _rho(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho: Pearson's correlation of the ranks (ties share their mean rank)."""
    rx, ry = rankdata(x), rankdata(y)
    if rx.std() == 0 or ry.std() == 0:
        return math.nan
    return float(np.corrcoef(rx, ry)[0, 1])


def spearman(x: np.ndarray, y: np.ndarray, samples: int, seed: int) -> dict:
    rho = _rho(x, y) if len(x) >= 3 else math.nan
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(samples):
        idx = rng.integers(0, len(x), len(x))
        r = _rho(x[idx], y[idx])
        if not math.isnan(r):
            draws.append(r)
    lo, hi = (np.percentile(draws, [2.5, 97.5]) if draws else (math.nan, math.nan))
    return {"rho": rho, "interval": [float(lo), float(hi)], "n": int(len(x))}


def agreement(soups: dict, samples: int = 2000, seed: int = 0) -> dict:
    """``{synthetic figure: {real figure: {"rho", "interval", "n"}}}`` over the soups holding both."""
    keys = sorted({k for s in soups.values() for k in s["synthetic"]})
    out = {}
    for key in keys:
        names = [n for n, s in soups.items() if key in s["synthetic"]]
        if len(names) < 3:
            continue
        x = np.array([soups[n]["synthetic"][key] for n in names])
        out[key] = {}
        for real in REAL_KEYS:
            have = [n for n in names if real in soups[n]["real"]]
            if len(have) >= 3:
                out[key][real] = spearman(np.array([soups[n]["synthetic"][key] for n in have]),
                                          np.array([soups[n]["real"][real] for n in have]), samples, seed)
    return out


def table(result: dict) -> str:
    lines = ["| synthetic figure | n | " + " | ".join(f"vs real {k}" for k in REAL_KEYS) + " |",
             "|---|---|" + "---|" * len(REAL_KEYS)]
    for key, row in result.items():
        n = max(c["n"] for c in row.values())
        cells = [f"{row[k]['rho']:+.2f} [{row[k]['interval'][0]:+.2f}, {row[k]['interval'][1]:+.2f}]" if k in row else ""
                 for k in REAL_KEYS]
        lines.append(f"| {key} | {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=REPO / "docs" / "accuracy" / "real_world")
    ap.add_argument("--sessions", help="comma-separated session folders (default: all with soups)")
    ap.add_argument("--exclude", default="", help="comma-separated soup names to leave out")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", type=Path)
    a = ap.parse_args(argv)
    try:
        soups = collect(a.root, a.sessions.split(",") if a.sessions else None)
    except (OSError, json.JSONDecodeError, KeyError, FileNotFoundError) as e:
        print(f"rank_agreement: {e}", file=sys.stderr)
        return 2
    for name in filter(None, a.exclude.split(",")):
        soups.pop(name, None)
    if len(soups) < 3:
        print(f"rank_agreement: {len(soups)} soups with a real check under {a.root}; at least 3 are needed",
              file=sys.stderr)
        return 2
    result = agreement(soups, a.samples, a.seed)
    print(f"{len(soups)} soups ({', '.join(soups)}); Spearman's rho, 95% bootstrap over soups. A useful miss-rate "
          f"figure reads negative against real AP and recall (lower miss rate, more found).\n")
    print(table(result))
    if a.json:
        a.json.write_text(json.dumps({"soups": soups, "agreement": result, "samples": a.samples, "seed": a.seed},
                                     indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
