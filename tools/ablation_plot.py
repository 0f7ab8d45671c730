#!/usr/bin/env python3
"""Draws the issue-17 ablation study (docs/accuracy/ablation.json from
tools/ablation_eval.py, and the runs' losses.jsonl) into one figure:

  left:   keypoint AP against the hidden fraction, the mean over seeds as a line and
          every seed as a dot, so the spread that a difference must beat is visible;
  middle: AP on the target domain (mean bar, seeds as dots);
  right:  the pose loss (eq. 4) during training, mean over seeds, smoothed.

    tools/ablation_plot.py --json docs/accuracy/ablation.json --runs runs/ablation17 \\
        --out docs/accuracy/ablation.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def pose_loss_curve(run_dirs: list[Path], window: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean over the seeds' runs of the moving-average pose loss, on the iterations they share."""
    curves = []
    for d in run_dirs:
        path = d / "losses.jsonl"
        if not path.is_file():
            continue
        rec = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        loss = np.array([r["loss_pose"] for r in rec if "loss_pose" in r], dtype=float)
        if len(loss) >= window:
            curves.append(np.convolve(loss, np.ones(window) / window, mode="valid"))
    if not curves:
        return None
    n = min(len(c) for c in curves)
    return np.arange(window, window + n), np.mean([c[:n] for c in curves], axis=0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--json", type=Path, default=Path("docs/accuracy/ablation.json"))
    ap.add_argument("--runs", type=Path, default=Path("runs/ablation17"), help="for the loss curves (optional)")
    ap.add_argument("--out", type=Path, default=Path("docs/accuracy/ablation.png"))
    ap.add_argument("--window", type=int, default=50, help="moving average of the loss curve, iterations")
    a = ap.parse_args()
    variants = json.loads(a.json.read_text())["variants"]
    fig, (ax_occ, ax_tgt, ax_loss) = plt.subplots(1, 3, figsize=(15, 4.5), gridspec_kw={"width_ratios": [3, 2, 3]})
    for i, (name, v) in enumerate(variants.items()):
        colour = f"C{i}"
        levels = [float(k) for k in v["ap_vs_occlusion"]]
        ax_occ.plot(levels, list(v["ap_vs_occlusion"].values()), "-o", color=colour, label=name)
        for lv, values in v.get("ap_vs_occlusion_per_seed", {}).items():
            ax_occ.scatter([float(lv)] * len(values), values, color=colour, s=10, alpha=0.5)
        ax_tgt.bar(i, v["target_domain_ap"], color=colour, alpha=0.7)
        seeds = v.get("target_domain_ap_per_seed", [])
        ax_tgt.scatter([i] * len(seeds), seeds, color="k", s=10, zorder=3)
        curve = pose_loss_curve([a.runs / name / f"seed{s}" for s in v["seeds"]], a.window)
        if curve is not None:
            ax_loss.plot(*curve, color=colour, label=name)
    iters = {v["iterations"] for v in variants.values()}
    seeds = {tuple(v["seeds"]) for v in variants.values()}
    ax_occ.set(xlabel="fraction of the person hidden by black patches", ylabel="keypoint AP (OKS, true crops)",
               title=f"source domain, {'/'.join(map(str, sorted(iters)))} iterations, seeds "
                     f"{', '.join(' '.join(map(str, s)) for s in sorted(seeds))}")
    ax_occ.grid(alpha=0.3)
    ax_occ.legend(fontsize=8)
    ax_tgt.set_xticks(range(len(variants)), list(variants), rotation=20, fontsize=8)
    ax_tgt.set(ylabel="keypoint AP", title="target domain (labels never trained on)")
    ax_tgt.grid(alpha=0.3, axis="y")
    ax_loss.set(xlabel="iteration", ylabel=f"pose loss (mean of seeds, {a.window}-iteration average)",
                title="training", yscale="log")
    ax_loss.grid(alpha=0.3)
    if ax_loss.lines:
        ax_loss.legend(fontsize=8)
    fig.tight_layout()
    a.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
