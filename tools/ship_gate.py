#!/usr/bin/env python3
"""Issue 18's ship gate: a candidate stage 1 may replace the shipped demo only if it
keeps every real-check target that the shipped demo meets.

Session 25's rule chose a model on synthetic validation that passed both synthetic
gates and then read 40% real recall, under the issue's own 50% target, which the
shipped demo meets; it was vetoed afterwards, by hand. From session 26 on, plans name
this gate before training. It only vetoes: it never chooses among candidates, and it
reads nothing but the real-check reports (``cluenet eval real --json``) of the
candidate and of the shipped demo, each with HOG measured in the same run.

Targets (issue 18): recall at IoU 0.5 of at least 50% at the node's operating point,
and AP at IoU 0.5 at least HOG's, measured side by side in one run.

Amended in session 43 (``docs/accuracy/real_world/s43/PLAN.md``): session 42's rule
shipped a candidate whose real AP the check read 4.0 points under the shipped demo's,
with a paired interval clear of zero, because neither met the AP target and so the
gate did not look at AP. A candidate is now also vetoed when the 95% paired
image-bootstrap interval of its AP minus the shipped demo's lies wholly below zero: a
loss on the target, in the target's direction, that the check tells apart from image
noise. That needs the reports' per-image rows (``cluenet eval real --json``).

    tools/ship_gate.py CANDIDATE.json --shipped SHIPPED.json [--json out.json]
    tools/ship_gate.py ... --no-ap-loss-veto     # the gate of sessions 26-42
    tools/ship_gate.py ... --settings-differ     # the candidate is a pipeline setting, not weights

Since session 43 the node runs stage 1 at a second scale by default, while the
committed reports of earlier sessions were measured without it. The gate compares
weights only under the same pipeline settings (read from each report's note), unless
``--settings-differ`` says that the settings are the candidate.

Since session 45 the verdict also says how many sources (videos, photographs) the
check's images come from and what the AP difference reads with each source left out
(information, never a veto): 12 of the first set's 14 images are frames of one fixed
camera, so the image bootstrap's interval is narrower than the check's evidence.

Exit status 0 when the candidate may ship, 1 when the gate vetoes it, 2 on bad input.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluenet_ros.evaluation.real_uncertainty import leave_one_source_out, paired_difference  # noqa: E402

MIN_RECALL = 0.5
AP_LOSS = "ap_loss_vs_shipped"


class GateInputError(ValueError):
    """A report the gate cannot judge (missing detector or figure)."""


def _figure(report: dict, detector: str, key: str, source: str) -> float:
    entry = report.get("detectors", {}).get(detector)
    if entry is None:
        raise GateInputError(f"{source}: no '{detector}' detector in the report"
                             + (" (run `cluenet eval real` without --no-hog)" if detector == "hog" else ""))
    if key not in entry:
        raise GateInputError(f"{source}: '{detector}' has no '{key}'")
    return float(entry[key])


def targets_met(report: dict, source: str = "report") -> dict:
    """``{target: {"value", "bar", "met"}}`` for the ClueNet detector of one report."""
    recall = _figure(report, "cluenet", "recall", source)
    ap, hog_ap = _figure(report, "cluenet", "ap", source), _figure(report, "hog", "ap", source)
    return {
        "recall_at_0.5": {"value": recall, "bar": MIN_RECALL, "met": recall >= MIN_RECALL},
        "ap_vs_hog": {"value": ap, "bar": hog_ap, "met": ap >= hog_ap},
    }


def settings(report: dict) -> str | None:
    """The pipeline settings a report's ClueNet run was measured with (its note after
    the weights' file name), or None where the report has no note."""
    note = report.get("detectors", {}).get("cluenet", {}).get("note")
    return note.split(", ", 1)[1] if note and ", " in note else None


def check_settings(candidate: dict, shipped: dict) -> None:
    a, b = settings(candidate), settings(shipped)
    if a is not None and b is not None and a != b:
        raise GateInputError(f"the reports were measured with different pipeline settings (candidate: {a}; "
                             f"shipped: {b}): measure both alike, or pass --settings-differ when the "
                             "settings are what is being judged")


def _rows(report: dict, source: str) -> list[dict]:
    rows = report.get("detectors", {}).get("cluenet", {}).get("per_image")
    if not rows:
        raise GateInputError(f"{source}: the report has no per-image rows, which the AP-loss veto needs "
                             "(write it again with `cluenet eval real --json`, or pass --no-ap-loss-veto)")
    return rows


def ap_loss(candidate: dict, shipped: dict, samples: int = 2000, seed: int = 0) -> dict:
    """The candidate's AP minus the shipped demo's, paired over images, and whether its
    95% interval lies wholly below zero."""
    d = paired_difference(_rows(shipped, "shipped"), _rows(candidate, "candidate"), samples, seed=seed)["ap"]
    return {"difference": d["difference"], "interval": d["interval"], "samples": samples, "seed": seed,
            "veto": bool(d["interval"][1] < 0)}


def sources_of(report: dict) -> dict[str, str] | None:
    """``{file: source}`` from the label file of the set the report names (its
    ``set.name``), or None where the report names no known set."""
    from cluenet_ros.data.real_images import labels_path, load_labels

    # reports written before the second set existed name no set: they are all of the first
    name = report["set"].get("name", "first") if isinstance(report.get("set"), dict) else None
    if not name:
        return None
    try:
        _, images = load_labels(labels_path(name))
    except (ValueError, KeyError, OSError):
        return None
    return {im.file: im.source or im.file for im in images}


def by_source(candidate: dict, shipped: dict) -> dict | None:
    source_of = sources_of(shipped)
    if source_of is None:
        return None
    try:
        return leave_one_source_out(_rows(shipped, "shipped"), _rows(candidate, "candidate"), source_of)
    except (GateInputError, ValueError):
        return None


def judge(candidate: dict, shipped: dict, ap_loss_veto: bool = True, samples: int = 2000, seed: int = 0) -> dict:
    """The verdict: a target the shipped demo meets and the candidate misses is a veto,
    and so (unless ``ap_loss_veto`` is off) is an AP loss clear of image noise."""
    cand, ship = targets_met(candidate, "candidate"), targets_met(shipped, "shipped")
    vetoes = [name for name in ship if ship[name]["met"] and not cand[name]["met"]]
    verdict = {"candidate": cand, "shipped": ship}
    if ap_loss_veto:
        loss = ap_loss(candidate, shipped, samples, seed)
        verdict[AP_LOSS] = loss
        if loss["veto"]:
            vetoes.append(AP_LOSS)
        spread = by_source(candidate, shipped)
        if spread is not None:
            verdict["by_source"] = spread
    return {**verdict, "vetoes": vetoes, "may_ship": not vetoes}


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def table(verdict: dict) -> str:
    lines = ["| target | shipped | candidate | gate |", "|---|---|---|---|"]
    for name, ship in verdict["shipped"].items():
        cand = verdict["candidate"][name]
        gate = "veto" if name in verdict["vetoes"] else ("kept" if ship["met"] else "not required (shipped misses it)")
        lines.append(f"| {name} | {_pct(ship['value'])} (bar {_pct(ship['bar'])}) "
                     f"| {_pct(cand['value'])} (bar {_pct(cand['bar'])}) | {gate} |")
    loss = verdict.get(AP_LOSS)
    if loss:
        lo, hi = loss["interval"]
        lines.append(f"| AP, candidate minus shipped (paired, 95%) | | {100 * loss['difference']:+.1f} "
                     f"[{100 * lo:+.1f}, {100 * hi:+.1f}] points | {'veto' if loss['veto'] else 'kept'} |")
    spread = verdict.get("by_source")
    if spread:
        lines.append("")
        lines.append(f"{len(spread['sources'])} sources (" + ", ".join(f"{k}: {n} image{'s' if n > 1 else ''}" for k, n in
                                                         spread["sources"].items()) + "); AP difference with one left "
                     "out (information): " + ", ".join(f"without {k} {100 * d['ap']:+.1f}"
                                                     for k, d in spread["without"].items()))
    lines.append("")
    lines.append("may ship" if verdict["may_ship"] else "VETO: " + ", ".join(verdict["vetoes"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("candidate", type=Path, help="the candidate's `cluenet eval real --json` report")
    ap.add_argument("--shipped", type=Path, required=True, help="the shipped demo's report")
    ap.add_argument("--json", type=Path, help="write the verdict here")
    ap.add_argument("--no-ap-loss-veto", action="store_true",
                    help="only the targets the shipped demo meets (the gate before session 43)")
    ap.add_argument("--settings-differ", action="store_true",
                    help="the reports may differ in pipeline settings (a setting is the candidate)")
    ap.add_argument("--samples", type=int, default=2000, help="paired bootstrap draws (default 2000)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    try:
        reports = [json.loads(p.read_text()) for p in (a.candidate, a.shipped)]
        if not a.settings_differ:
            check_settings(*reports)
        verdict = judge(*reports, ap_loss_veto=not a.no_ap_loss_veto, samples=a.samples, seed=a.seed)
    except (OSError, json.JSONDecodeError, GateInputError, ValueError) as e:
        print(f"ship_gate: {e}", file=sys.stderr)
        return 2
    print(table(verdict))
    if a.json:
        a.json.write_text(json.dumps(verdict, indent=1) + "\n")
    return 0 if verdict["may_ship"] else 1


if __name__ == "__main__":
    sys.exit(main())
