"""tools/ablation_seeds_table.py: deliverable 4 summarised over training seeds. Checked
on session 27's committed measurements (the figures its docs quote), on the rule that
decides "shown", and on bad input (a clear error, not a traceback)."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from conftest import REPO

TOOL = REPO / "tools" / "ablation_seeds_table.py"
S27 = ["--run", "base", "28", "s27/abl_base_600", "--run", "base", "29", "s27/abl_base_seed29_600",
       "--run", "flat", "28", "s27/abl_flat_600", "--run", "flat", "29", "s27/abl_flat_seed29_600",
       "--run", "figure", "28", "s27/abl_figure_600"]


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope="module")
def tool():
    spec = importlib.util.spec_from_file_location("ablation_seeds_table", TOOL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_session27_seeds(tmp_path):
    out = tmp_path / "t.json"
    r = _run(*S27, "--json", str(out))
    assert r.returncode == 0, r.stderr
    assert "| base | 29 | 56.0% | 29.5% | 23.21 | 36.2% |  |" in r.stdout
    assert "| flat | 29 | 62.7% | 38.5% | 26.29 | 42.6% | +9.0 |" in r.stdout
    data = json.loads(out.read_text())
    base, flat, fig = (data["arms"][k] for k in ("base", "flat", "figure"))
    assert abs(base["ap_range"] - 0.145) < 0.002 and abs(base["mean"]["ap"] - 0.367) < 0.001
    v = flat["versus_base"]
    assert v["paired_seeds"] == [28, 29] and [round(100 * d, 1) for d in v["ap_differences"]] == [-5.7, 9.0]
    # two seeds of opposite sign: a t-interval (1 degree of freedom) far across zero, not shown
    assert v["interval"][0] < -0.5 and v["interval"][1] > 0.5 and not v["same_sign"] and not v["shown"]
    assert fig["versus_base"]["paired_seeds"] == [28] and fig["versus_base"]["interval"] is None
    assert not fig["versus_base"]["shown"]


def test_shown_needs_same_sign_and_an_interval_clear_of_zero(tool):
    s = tool.summarise_differences([-0.20, -0.22, -0.21])
    assert s["same_sign"] and s["shown"] and s["interval"][1] < 0
    s = tool.summarise_differences([-0.20, -0.02])  # same sign, but two seeds this far apart
    assert s["same_sign"] and not s["shown"] and s["interval"][1] > 0
    s = tool.summarise_differences([0.10, 0.12, -0.01])
    assert not s["same_sign"] and not s["shown"]
    # the t quantile with 2 degrees of freedom (4.303), not the normal 1.96
    s = tool.summarise_differences([0.0, 0.1, 0.2])
    assert abs((s["interval"][1] - s["mean"]) - 4.303 * 0.1 / 3 ** 0.5) < 1e-3


@pytest.mark.parametrize("args,message", [
    (["--run", "flat", "28", "s27/abl_flat_600"], "no run of the base arm 'base'"),
    (["--run", "base", "28", "s27/nowhere"], "s27/nowhere/real.json: not found"),
    (["--run", "base", "28", "s27/abl_base_600", "--run", "base", "28", "s27/abl_base_600"], "seed 28 given twice"),
])
def test_bad_input_is_a_clear_error(args, message):
    r = _run(*args)
    assert r.returncode != 0 and message in r.stderr and "Traceback" not in r.stderr


def test_welch_interval_agrees_with_scipy(tool):
    from scipy import stats

    a, b = [0.38, 0.385, 0.539, 0.41], [0.439, 0.295, 0.37]
    lo, hi = tool.welch_interval(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert abs(lo - ref.low) < 1e-9 and abs(hi - ref.high) < 1e-9
    assert tool.welch_interval([0.4], b) is None


def test_secondary_figures_are_paired_differences(tmp_path):
    out = tmp_path / "t.json"
    r = _run(*S27, "--json", str(out))
    assert r.returncode == 0, r.stderr
    sec = json.loads(out.read_text())["arms"]["flat"]["secondary_versus_base"]
    # flat minus base recall at seeds 28 and 29: 69.3 - 66.7 and 62.7 - 56.0 (session 27's figures)
    assert [round(100 * d, 1) for d in sec["recall"]["differences"]] == [2.7, 6.7]
    assert sec["fp_per_image"]["seeds"] == 2 and "mr_reasonable" in sec
    # figure has one paired seed: no interval, so no secondary row
    assert "| flat | +1.6 [-90.1, +93.3] | +4.7 [" in r.stdout and "\n| figure | -25.5" not in r.stdout


def test_block_anova_agrees_with_a_nested_least_squares_fit(tool):
    import numpy as np
    from scipy import stats

    ap = {"base": {28: 0.44, 29: 0.30, 30: 0.37}, "flat": {28: 0.38, 29: 0.39, 30: 0.54, 31: 0.28},
          "figure": {28: 0.19, 29: 0.35, 30: 0.40}}
    om = tool.block_anova(ap)
    assert om["seeds"] == [28, 29, 30] and om["df"] == [2, 4]  # seed 31 is not a complete block
    # the same F from two regressions: seed blocks only, and seed blocks plus arms
    arms, seeds = om["arms"], om["seeds"]
    y = np.array([ap[a][s] for a in arms for s in seeds])
    blocks = np.array([[1.0] + [float(s == t) for t in seeds[1:]] for _ in arms for s in seeds])
    full = np.hstack([blocks, np.array([[float(a == c) for c in arms[1:]] for a in arms for _ in seeds])])
    rss = [float(np.sum((y - x @ np.linalg.lstsq(x, y, rcond=None)[0]) ** 2)) for x in (blocks, full)]
    f = ((rss[0] - rss[1]) / 2) / (rss[1] / 4)
    assert abs(om["f"] - f) < 1e-9 and abs(om["p"] - stats.f.sf(f, 2, 4)) < 1e-9
    arms_only = np.hstack([np.ones((len(y), 1)), full[:, len(seeds):]])
    rss_arms = float(np.sum((y - arms_only @ np.linalg.lstsq(arms_only, y, rcond=None)[0]) ** 2))
    f_seed = ((rss_arms - rss[1]) / 2) / (rss[1] / 4)
    assert abs(om["seed_f"] - f_seed) < 1e-9 and om["seed_df"] == [2, 4]
    assert abs(om["seed_friedman_p"] - stats.friedmanchisquare(*[[ap[a][s] for a in arms] for s in seeds]).pvalue) < 1e-9
    ref = stats.friedmanchisquare(*[[ap[a][s] for s in seeds] for a in arms])
    assert abs(om["friedman_chi2"] - ref.statistic) < 1e-9
    assert tool.block_anova({"base": ap["base"], "flat": ap["flat"]}) is None  # two arms: no omnibus


def test_seeds_for_power_matches_the_textbook_paired_t_sizes(tool):
    # two-sided paired t-test at 5%, 80% power: effect size 1 needs 10 pairs, 0.5 needs 34
    assert tool.seeds_for_power(0.10, 0.10) == 10
    assert tool.seeds_for_power(0.10, 0.05) == 34
    assert tool.seeds_for_power(0.30, 0.001) is None


def test_table_prints_power_and_omnibus(tmp_path):
    r = _run(*S27)
    assert r.returncode == 0, r.stderr
    assert "| flat | 10.4 | 36 | 11 |" in r.stdout  # sd of the paired differences -5.7 and +9.0
    assert "All arms at once" not in r.stdout  # figure has no second seed: no complete block of 3 arms


def test_omnibus_line_on_three_complete_arms(tmp_path, tool):
    aps = {"base": (0.40, 0.30), "flat": (0.42, 0.33, 0.60), "figure": (0.20, 0.25)}
    args = []
    for arm, values in aps.items():
        for seed, ap in zip((28, 29, 30), values):
            folder = tmp_path / f"{arm}{seed}"
            folder.mkdir()
            (folder / "real.json").write_text(json.dumps(
                {"detectors": {"cluenet": {"recall": 0.5, "ap": ap, "fp_per_image": 1.0}}}))
            args += ["--run", arm, str(seed), folder.name]
    r = _run(*args, "--root", str(tmp_path))
    assert r.returncode == 0, r.stderr
    om = tool.block_anova({a: dict(zip((28, 29, 30), v)) for a, v in aps.items()})
    assert om["seeds"] == [28, 29]  # flat's seed 30 is no complete block
    assert f"F(2, 2) = {om['f']:.2f}, p = {om['p']:.3f}" in r.stdout and om["p"] < 0.5
    # paired mean over seeds 28-29 is +2.5; the Welch interval is printed with the difference
    # of the arm means it is centred on, 45.0% - 35.0%
    assert "| flat | +10.0 [" in r.stdout and "| flat | 2 | " not in r.stdout


def test_the_synthetic_column_names_the_world_it_read():
    base = _run(*S27)
    assert base.returncode == 0 and "| MR^-2 R base val |" in base.stdout
    # session 36 reads plateval300 (clutter val300 over held-out plates) beside session 33's base runs
    runs = []
    for s in (28, 29, 30):
        runs += ["--run", "base", str(s), f"s33/abl_base_seed{s}_600", "--run", "platetrain", str(s),
                 f"s36/abl_platetrain_seed{s}_600"]
    r = _run(*runs, "--world", "plateval300")
    assert r.returncode == 0, r.stderr
    assert "MR^-2 R plateval300 |" in r.stdout and "base val" not in r.stdout
    assert "| platetrain | 29 | 84.0% | 65.5% | 47.64 | 46.4% | +15.3 |" in r.stdout
