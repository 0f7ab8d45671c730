#!/usr/bin/env python3
"""Session 34, part B (PLAN.md): the soups against the shipped demo under session 28's rule,
from what ``soups.sh`` wrote under runs/s34/soup. Writes soups.{md,json} beside this file
and says which candidate the rule chooses (the real check is listed, it chooses nothing)."""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
RUNS = ROOT / "runs" / "s34" / "soup"
HERE = Path(__file__).resolve().parent
GATE_B_POINTS, TIE_POINTS = 5.0, 0.5


def accepted(name: str) -> bool | None:
    f = RUNS / f"accept_{name}.txt"
    if not f.is_file():
        return None
    return bool(re.search(r"\b1 passed\b", f.read_text())) and "failed" not in f.read_text()


def row(name: str) -> dict:
    out = {"model": name}
    for world in ("capsule", "clutter"):
        r = json.loads((RUNS / f"{world}_{name}" / "report.json").read_text())
        out[f"{world}_mr_r"] = 100 * r["detection_mr"]["reasonable"]
        out[f"{world}_mr_ho"] = 100 * r["detection_mr"]["heavy"]
        out[f"{world}_mask_iou"] = 100 * r["mask_iou"]
    real = json.loads((RUNS / f"real_{name}.json").read_text())
    c = real["detectors"]["cluenet"]
    out["real"] = {"recall": 100 * c["recall"], "ap": 100 * c["ap"], "fp_per_image": c["fp_per_image"]}
    out["accepted"] = True if name == "shipped" else accepted(name)
    return out


def main(names: list[str]) -> int:
    rows = [row(n) for n in ["shipped", *names]]
    ship = rows[0]
    for r in rows[1:]:
        r["gate_b"] = r["capsule_mr_r"] <= ship["capsule_mr_r"] + GATE_B_POINTS
    ok = [r for r in rows[1:] if r["accepted"] and r["gate_b"]]
    best = min(ok, key=lambda r: r["clutter_mr_r"]) if ok else None
    chosen = best["model"] if best and best["clutter_mr_r"] < ship["clutter_mr_r"] - TIE_POINTS else "shipped"
    lines = ["| model | acceptance | capsule val MR^-2 R (gate B <= %.2f%%) | HO | clutter val MR^-2 R (choice) | HO | "
             "mask IoU clutter | real recall / AP / FP per image (reads only) |" % (ship["capsule_mr_r"] + GATE_B_POINTS),
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        real = r["real"]
        lines.append(f"| {r['model']} | {r['accepted']} | {r['capsule_mr_r']:.2f}% | {r['capsule_mr_ho']:.1f}% | "
                     f"{r['clutter_mr_r']:.2f}% | {r['clutter_mr_ho']:.1f}% | {r['clutter_mask_iou']:.1f}% | "
                     f"{real['recall']:.1f}% / {real['ap']:.1f}% / {real['fp_per_image']:.2f} |")
    lines.append("")
    lines.append(f"The rule chooses: **{chosen}**.")
    (HERE / "soups.md").write_text("\n".join(lines) + "\n")
    (HERE / "soups.json").write_text(json.dumps({"rows": rows, "chosen": chosen}, indent=1) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
