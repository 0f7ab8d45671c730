#!/usr/bin/env python3
"""Issue 18, deliverable 4 over several training seeds: each arm's real-check figures
per seed and their mean, and each arm's real-AP difference from the base arm at every
seed both were trained with, summarised over seeds.

Why: session 27 found two training seeds of the same arm 14.5 real-AP points apart,
while the image-bootstrap intervals of ``ablation_arms_table.py`` only cover the 14
images. Here the unit of replication is the training seed. An arm "differs" only if
every paired seed moves the same way and the t-interval of the mean difference over
seeds (n - 1 degrees of freedom) excludes zero; with two seeds that interval is wide
(12.7 times the standard error), which is the honest width of two seeds.

Pairing by seed is meaningful here because the arms render the same scenes (synth seed
28) and a training seed fixes the sample order and augmentations; the unpaired Welch
interval on the arm means is given beside it, for readers who doubt the pairing. Recall,
FP/image and the synthetic MR^-2 get the same paired summary as secondary figures: the
verdict ("shown") is about real AP only. Two more figures decide nothing either: how
many paired seeds an effect of 5 or 10 AP points would need to show (from the measured
seed noise), and an omnibus test of all arms at once with the seed as block.

Each run is a folder written by tools/real_world_eval.sh (``real.json`` and
``full_<world>/report.json``), under --root:

    tools/ablation_seeds_table.py --run base 28 s27/abl_base_600 --run base 29 s27/abl_base_seed29_600 \\
        --run flat 28 s27/abl_flat_600 --run flat 29 s27/abl_flat_seed29_600 [--json out.json]
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
LEVEL = 0.95


def read_run(folder: Path, world: str) -> dict:
    """One arm-seed's real figures and synthetic validation figures."""
    real_path = folder / "real.json"
    if not real_path.is_file():
        raise FileNotFoundError(f"{real_path}: not found (run tools/real_world_eval.sh first)")
    c = json.loads(real_path.read_text())["detectors"]["cluenet"]
    out = {"recall": c["recall"], "ap": c["ap"], "fp_per_image": c["fp_per_image"]}
    rep_path = folder / f"full_{world}" / "report.json"
    if rep_path.is_file():
        out["mr_reasonable"] = json.loads(rep_path.read_text())["detection_mr"]["reasonable"]
    return out


def summarise_differences(diffs: list[float], level: float = LEVEL) -> dict:
    """Mean paired difference over seeds, its t-interval and whether it counts as shown."""
    n = len(diffs)
    mean = sum(diffs) / n if n else float("nan")
    if n < 2:
        return {"seeds": n, "mean": mean, "sd": None, "interval": None, "same_sign": None, "shown": False}
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * sd / math.sqrt(n)
    same_sign = all(d > 0 for d in diffs) or all(d < 0 for d in diffs)
    lo, hi = mean - half, mean + half
    return {"seeds": n, "mean": mean, "sd": sd, "interval": [lo, hi], "same_sign": same_sign,
            "shown": bool(same_sign and (lo > 0 or hi < 0))}


def welch_interval(a: list[float], b: list[float], level: float = LEVEL) -> list[float] | None:
    """Unpaired (Welch) t-interval of mean(a) - mean(b); None with under two values a side."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1) / len(a)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return [ma - mb, ma - mb]
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * se
    return [ma - mb - half, ma - mb + half]


def block_anova(ap: dict[str, dict[int, float]]) -> dict | None:
    """Omnibus test over all arms at once, on the seeds every arm was trained with.

    Why: the per-arm verdicts compare each arm with base alone; this asks whether the arms
    differ at all, with the seed as a block (two-way analysis of variance without
    interaction, and its rank-based counterpart, Friedman's test). None with under three
    arms or two complete seeds. The seed's own F comes from the same fit: a large one
    says that what a training seed fixes (sample order, augmentation draws) moves every
    arm the same way.
    """
    arms = sorted(ap)
    seeds = sorted(set.intersection(*(set(v) for v in ap.values()))) if ap else []
    k, b = len(arms), len(seeds)
    if k < 3 or b < 2:
        return None
    y = [[ap[a][s] for s in seeds] for a in arms]
    grand = sum(map(sum, y)) / (k * b)
    arm_means = [sum(row) / b for row in y]
    seed_means = [sum(y[i][j] for i in range(k)) / k for j in range(b)]
    ss_arm = b * sum((m - grand) ** 2 for m in arm_means)
    ss_seed = k * sum((m - grand) ** 2 for m in seed_means)
    ss_total = sum((v - grand) ** 2 for row in y for v in row)
    ss_err = ss_total - ss_arm - ss_seed
    df_arm, df_err = k - 1, (k - 1) * (b - 1)
    f = (ss_arm / df_arm) / (ss_err / df_err) if ss_err > 0 else float("inf")
    f_seed = (ss_seed / (b - 1)) / (ss_err / df_err) if ss_err > 0 else float("inf")
    fr = stats.friedmanchisquare(*y)
    # the seed's own test (arms as blocks) needs three seeds for Friedman's test
    fr_seed = stats.friedmanchisquare(*zip(*y)) if b >= 3 else None
    return {"arms": arms, "seeds": seeds, "f": f, "df": [df_arm, df_err], "p": float(stats.f.sf(f, df_arm, df_err)),
            "seed_share_of_variance": ss_seed / ss_total if ss_total > 0 else None,
            "friedman_chi2": float(fr.statistic), "friedman_p": float(fr.pvalue),
            "seed_f": f_seed, "seed_df": [b - 1, df_err], "seed_p": float(stats.f.sf(f_seed, b - 1, df_err)),
            "seed_friedman_p": None if fr_seed is None else float(fr_seed.pvalue)}


def seeds_for_power(sd: float, delta: float, level: float = LEVEL, power: float = 0.8,
                    max_seeds: int = 500) -> int | None:
    """Paired training seeds a two-sided paired t-test needs to find a true difference of
    ``delta`` with the given power, if the seed-to-seed sd of the difference is ``sd``.

    Why: with the seed noise measured, this says how many CPU training runs an ablation
    would need before an effect of a given size could show; None if more than max_seeds.
    """
    if sd <= 0:
        return 2
    for n in range(2, max_seeds + 1):
        crit = float(stats.t.ppf(0.5 + level / 2, n - 1))
        nc = delta / (sd / math.sqrt(n))
        if float(stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc)) >= power:
            return n
    return None


SECONDARY = ("recall", "fp_per_image", "mr_reasonable")
POWER_DELTAS = (0.05, 0.10)


def build(runs: list[tuple[str, int, str]], root: Path, world: str, base: str = "base") -> dict:
    arms: dict[str, dict[int, dict]] = {}
    for arm, seed, folder in runs:
        if seed in arms.setdefault(arm, {}):
            raise ValueError(f"arm {arm!r} seed {seed} given twice")
        arms[arm][seed] = {"folder": folder, **read_run(root / folder, world)}
    if base not in arms:
        raise ValueError(f"no run of the base arm {base!r} (it is the reference of every difference)")
    out = {"level": LEVEL, "base": base, "world": world, "arms": {}}
    for arm, seeds in arms.items():
        keys = [k for k in ("recall", "ap", "fp_per_image", "mr_reasonable") if all(k in r for r in seeds.values())]
        entry = {"seeds": seeds, "mean": {k: sum(r[k] for r in seeds.values()) / len(seeds) for k in keys}}
        aps = [r["ap"] for r in seeds.values()]
        entry["ap_range"] = max(aps) - min(aps)
        if arm != base:
            paired = sorted(set(seeds) & set(arms[base]))
            diffs = [seeds[s]["ap"] - arms[base][s]["ap"] for s in paired]
            entry["versus_base"] = {"paired_seeds": paired, "ap_differences": diffs,
                                    **summarise_differences(diffs),
                                    "ap_welch_interval": welch_interval(aps, [r["ap"] for r in arms[base].values()])}
            entry["secondary_versus_base"] = {
                k: {"differences": d, **summarise_differences(d)}
                for k in SECONDARY if k in keys and all(k in arms[base][s] for s in paired)
                for d in [[seeds[s][k] - arms[base][s][k] for s in paired]]}
            if entry["versus_base"]["sd"] is not None:
                entry["versus_base"]["seeds_for_80pct_power"] = {
                    f"{d:.2f}": seeds_for_power(entry["versus_base"]["sd"], d) for d in POWER_DELTAS}
        out["arms"][arm] = entry
    out["omnibus"] = block_anova({arm: {s: r["ap"] for s, r in seeds.items()} for arm, seeds in arms.items()})
    return out


def _pct(x) -> str:
    return "" if x is None else f"{100 * x:.1f}%"


def _world_label(table: dict) -> str:
    """'base val' for the ablation's own validation world (the tables of sessions 27-35), else the world's name."""
    world = table.get("world", "abl_base")
    return "base val" if world == "abl_base" else world


def render(table: dict) -> str:
    lines = [f"| arm | seed | real recall @0.5 | real AP @0.5 | FP/img | MR^-2 R {_world_label(table)} | AP vs base, same seed |",
             "|---|---|---|---|---|---|---|"]
    base = table["arms"][table["base"]]["seeds"]
    for arm, e in table["arms"].items():
        for seed, r in sorted(e["seeds"].items()):
            vs = f"{100 * (r['ap'] - base[seed]['ap']):+.1f}" if arm != table["base"] and seed in base else ""
            lines.append(f"| {arm} | {seed} | {_pct(r['recall'])} | {_pct(r['ap'])} | {r['fp_per_image']:.2f} | "
                         f"{_pct(r.get('mr_reasonable'))} | {vs} |")
    lines += ["", f"| arm | seeds | mean real AP | AP range over seeds | mean recall | mean FP/img | "
                  f"mean AP difference vs base [{100 * table['level']:.0f}% t over seeds] | shown? |",
              "|---|---|---|---|---|---|---|---|"]
    for arm, e in table["arms"].items():
        m, v = e["mean"], e.get("versus_base")
        if v is None:
            vs, shown = "(reference)", ""
        elif v["interval"] is None:
            vs, shown = f"{100 * v['mean']:+.1f} (one paired seed: no interval)", "no"
        else:
            vs = f"{100 * v['mean']:+.1f} [{100 * v['interval'][0]:+.1f}, {100 * v['interval'][1]:+.1f}]"
            shown = "yes" if v["shown"] else ("no (signs differ)" if not v["same_sign"] else "no")
        lines.append(f"| {arm} | {', '.join(str(s) for s in sorted(e['seeds']))} | {_pct(m['ap'])} | "
                     f"{100 * e['ap_range']:.1f} | {_pct(m['recall'])} | {m['fp_per_image']:.2f} | {vs} | {shown} |")
    rows = [(arm, e) for arm, e in table["arms"].items() if e.get("versus_base", {}).get("interval")]
    if rows:
        level = f"{100 * table['level']:.0f}%"
        lines += ["", f"Secondary figures, arm minus base (mean over paired seeds [{level} t]; AP also unpaired, "
                      "Welch); they decide nothing:", "",
                  f"| arm | AP, unpaired (Welch) | recall | FP/img | MR^-2 R {_world_label(table)} |", "|---|---|---|---|---|"]
        for arm, e in rows:
            w = e["versus_base"]["ap_welch_interval"]
            # the Welch interval is centred on the difference of the arm means, printed with it
            cells = [f"{50 * (w[0] + w[1]):+.1f} [{100 * w[0]:+.1f}, {100 * w[1]:+.1f}]" if w else ""]
            for k, scale in (("recall", 100), ("fp_per_image", 1), ("mr_reasonable", 100)):
                v = e["secondary_versus_base"].get(k)
                cells.append("" if v is None or v["interval"] is None else
                             f"{scale * v['mean']:+.{1 if scale == 100 else 2}f} "
                             f"[{scale * v['interval'][0]:+.{1 if scale == 100 else 2}f}, "
                             f"{scale * v['interval'][1]:+.{1 if scale == 100 else 2}f}]")
            lines.append(f"| {arm} | " + " | ".join(cells) + " |")
        deltas = " and ".join(f"{100 * d:.0f}" for d in POWER_DELTAS)
        lines += ["", f"Paired seeds needed for 80% power to find a true AP difference of {deltas} points, "
                      "if the seed-to-seed sd of the difference is as measured:", "",
                  "| arm | sd of paired AP difference | " + " | ".join(f"seeds for {100 * d:.0f} points"
                                                                      for d in POWER_DELTAS) + " |",
                  "|---|---|" + "---|" * len(POWER_DELTAS)]
        for arm, e in rows:
            need = e["versus_base"]["seeds_for_80pct_power"]
            lines.append(f"| {arm} | {100 * e['versus_base']['sd']:.1f} | " + " | ".join(
                str(need[f"{d:.2f}"] or "> 500") for d in POWER_DELTAS) + " |")
    om = table.get("omnibus")
    if om:
        lines += ["", f"All arms at once, seeds {', '.join(map(str, om['seeds']))} as blocks (decides nothing): "
                      f"F({om['df'][0]}, {om['df'][1]}) = {om['f']:.2f}, p = {om['p']:.3f}; "
                      f"Friedman chi2 = {om['friedman_chi2']:.2f}, p = {om['friedman_p']:.3f}; "
                      + (f"the seed accounts for {100 * om['seed_share_of_variance']:.0f}% of the real-AP variance."
                         if om["seed_share_of_variance"] is not None else "no real-AP variance at all."),
                  "", f"The seed's own effect, the same fit (decides nothing): F({om['seed_df'][0]}, "
                      f"{om['seed_df'][1]}) = {om['seed_f']:.2f}, p = {om['seed_p']:.3f}"
                      + ("" if om["seed_friedman_p"] is None else
                         f"; Friedman over seeds, arms as blocks, p = {om['seed_friedman_p']:.3f}") + "."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", nargs=3, action="append", metavar=("ARM", "SEED", "FOLDER"), required=True,
                    help="one arm-seed: its folder under --root")
    ap.add_argument("--root", type=Path, default=ROOT / "docs" / "accuracy" / "real_world")
    ap.add_argument("--world", default="abl_base", help="synthetic validation world (full_<world>/report.json)")
    ap.add_argument("--base", default="base")
    ap.add_argument("--json", type=Path)
    a = ap.parse_args()
    try:
        runs = [(arm, int(seed), folder) for arm, seed, folder in a.run]
        table = build(runs, a.root, a.world, a.base)
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"ablation_seeds_table: {exc}")
    print(render(table))
    if a.json:
        a.json.write_text(json.dumps(table, indent=2) + "\n")


if __name__ == "__main__":
    main()
