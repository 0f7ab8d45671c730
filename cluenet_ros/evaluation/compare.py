"""``cluenet eval compare``: several ``eval full`` reports side by side (the
accuracy study's tables and one AP-against-occlusion plot with every model), so
the published report is regenerated from the run folders, never typed by hand."""
from __future__ import annotations

import json
import math
from pathlib import Path

from cluenet_ros.evaluation.detection import SETUPS
from cluenet_ros.evaluation.errors import EvaluationInputError, read_json


def _pct(v) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.2f}"


def load_reports(runs: list[tuple[str, Path]]) -> list[tuple[str, dict]]:
    out = []
    for name, folder in runs:
        path = Path(folder) / "report.json"
        if not path.is_file():
            raise EvaluationInputError(path, f"no report (run `cluenet eval full ... --out {folder}` first)")
        out.append((name, read_json(path)))
    return out


def tables(reports: list[tuple[str, dict]]) -> str:
    """Markdown: detection and segmentation, pose, and AP against occlusion."""
    setups = [s for s in SETUPS if s.name != "all"]
    lines = ["| model | " + " | ".join(f"MR^-2 {s.label} (%)" for s in setups) + " | mask IoU (%) |",
             "|---|" + "---|" * (len(setups) + 1)]
    for name, r in reports:
        mr = r.get("detection_mr", {})
        lines.append(f"| {name} | " + " | ".join(_pct(mr.get(s.name)) for s in setups)
                     + f" | {_pct(r.get('mask_iou'))} |")
    lines += ["", "| model | keypoint AP (%) | AP50 | AP75 | occluded keypoints AP (%) | keypoints inside the mask (%) |",
              "|---|---|---|---|---|---|"]
    for name, r in reports:
        ap, occ = r.get("keypoint_ap") or {}, r.get("occluded_keypoint_ap") or {}
        lines.append(f"| {name} | {_pct(ap.get('AP'))} | {_pct(ap.get('AP50'))} | {_pct(ap.get('AP75'))} | "
                     f"{_pct(occ.get('AP'))} | {_pct(r.get('keypoints_inside_mask'))} |")
    levels = list(reports[0][1].get("ap_against_occlusion", {})) if reports else []
    if levels:
        lines += ["", "| model | " + " | ".join(f"{lv} hidden" for lv in levels) + " |",
                  "|---|" + "---|" * len(levels)]
        for name, r in reports:
            occ = r.get("ap_against_occlusion", {})
            lines.append(f"| {name} | " + " | ".join(_pct(occ.get(lv)) for lv in levels) + " |")
    return "\n".join(lines) + "\n"


def plot(reports: list[tuple[str, dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4), dpi=100)
    for name, r in reports:
        occ = r.get("ap_against_occlusion") or {}
        xs = [float(k.rstrip("%")) for k in occ]
        ys = [100 * v if v is not None else float("nan") for v in occ.values()]
        ax.plot(xs, ys, marker="o", label=name)
    ax.set_xlabel("hidden share of the person (%)")
    ax.set_ylabel("keypoint AP (%)")
    ax.set_title("AP against occlusion")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: never over a curve
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def compare(runs: list[tuple[str, Path]], out: Path) -> Path:
    reports = load_reports(runs)
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables.md").write_text(tables(reports))
    plot(reports, out / "ap_vs_occlusion.png")
    (out / "summary.json").write_text(json.dumps({name: r for name, r in reports}, indent=2) + "\n")
    return out / "tables.md"


def parse_run(text: str) -> tuple[str, Path]:
    name, sep, folder = text.partition("=")
    if not sep or not name or not folder:
        raise EvaluationInputError("--run", f"{text!r} is not NAME=REPORT_FOLDER")
    return name, Path(folder)
