#!/usr/bin/env python3
"""Summary of tools/real_world_study.sh: one row per variant (and the starting point),
real-image figures beside each world's synthetic validation figures.

    tools/real_world_summary.py [--dir docs/accuracy/real_world]

Writes DIR/summary.json and DIR/summary.md; variants without results yet are left out.
Since session 21 each session's folder (DIR/sNN) holds its candidates' real checks as
real_<name>.json and their clutter-validation reports (300 images, seed 9) as
sel_<name>/report.json; they are rows named sNN_<name>. A session's sub-folder that
tools/real_world_eval.sh wrote (DIR/sNN/<name>/real.json, an ablation arm) is a row
named sNN_<name> too, after the candidates.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ORDER = ("demo", "capsules", "realistic", "realistic_figure", "realistic_noeffects")


def _load(path: Path):
    return json.loads(path.read_text()) if path.is_file() else None


def summarise(root: Path) -> dict:
    rows = {}
    names = [n for n in ORDER if (root / n).is_dir()] + sorted(
        p.name for p in root.iterdir() if p.is_dir() and p.name not in ORDER)
    for name in names:
        real = _load(root / name / "real.json")
        if real is None:
            continue
        row = {"real": {k: real["detectors"]["cluenet"][k] for k in ("recall", "ap", "fp_per_image", "max_recall")}}
        if "hog" in real["detectors"]:
            row["hog_real"] = {k: real["detectors"]["hog"][k] for k in ("recall", "ap", "fp_per_image")}
        for world in ("capsules", "realistic"):
            full = _load(root / name / f"full_{world}" / "report.json")
            if full is not None:
                row[f"synthetic_{world}"] = {"mr_reasonable": full["detection_mr"]["reasonable"],
                                             "mask_iou": full["mask_iou"], "images": full["images"]}
        rows[name] = row
    for session in sorted((p for p in root.iterdir() if p.is_dir() and re.fullmatch(r"s\d+", p.name)),
                          key=lambda p: int(p.name[1:])):
        for real_path in sorted(session.glob("real_*.json")):
            cand = real_path.stem[len("real_"):]
            real = _load(real_path)
            row = {"real": {k: real["detectors"]["cluenet"][k] for k in ("recall", "ap", "fp_per_image", "max_recall")}}
            if "hog" in real["detectors"]:
                row["hog_real"] = {k: real["detectors"]["hog"][k] for k in ("recall", "ap", "fp_per_image")}
            full = _load(session / f"sel_{cand}" / "report.json")
            if full is not None:
                row["synthetic_clutter_val300"] = {"mr_reasonable": full["detection_mr"]["reasonable"],
                                                   "mask_iou": full["mask_iou"], "images": full["images"]}
            rows[f"{session.name}_{cand}"] = row
        for sub in sorted(p for p in session.iterdir() if (p / "real.json").is_file()):
            real = _load(sub / "real.json")
            row = {"real": {k: real["detectors"]["cluenet"][k] for k in ("recall", "ap", "fp_per_image", "max_recall")}}
            if "hog" in real["detectors"]:
                row["hog_real"] = {k: real["detectors"]["hog"][k] for k in ("recall", "ap", "fp_per_image")}
            rows[f"{session.name}_{sub.name}"] = row
    return rows


def table(rows: dict) -> str:
    pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
    lines = ["| stage 1 | real recall | real AP | real FP/image | real max recall | MR^-2 capsules val | "
             "MR^-2 realistic val | mask IoU capsules | mask IoU realistic | MR^-2 clutter val300 |", "|---" * 10 + "|"]
    for name, r in rows.items():
        c, z = r.get("synthetic_capsules", {}), r.get("synthetic_realistic", {})
        v = r.get("synthetic_clutter_val300", {})
        lines.append(f"| {name} | {pct(r['real']['recall'])} | {pct(r['real']['ap'])} | "
                     f"{r['real']['fp_per_image']:.2f} | {pct(r['real']['max_recall'])} | "
                     f"{pct(c.get('mr_reasonable'))} | {pct(z.get('mr_reasonable'))} | "
                     f"{pct(c.get('mask_iou'))} | {pct(z.get('mask_iou'))} | {pct(v.get('mr_reasonable'))} |")
    hog = next((r["hog_real"] for r in rows.values() if "hog_real" in r), None)
    if hog:
        lines += ["", f"OpenCV HOG on the same real images: recall {pct(hog['recall'])}, AP {pct(hog['ap'])}, "
                      f"FP/image {hog['fp_per_image']:.2f}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", type=Path, default=Path("docs/accuracy/real_world"))
    a = ap.parse_args()
    rows = summarise(a.dir)
    (a.dir / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    (a.dir / "summary.md").write_text(table(rows))
    print(table(rows))


if __name__ == "__main__":
    main()
