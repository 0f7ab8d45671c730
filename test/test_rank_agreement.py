"""tools/rank_agreement.py: Spearman's rho between committed synthetic figures and the real
check, on session folders the test writes (and a smoke read of the committed ones)."""
from __future__ import annotations

import importlib.util
import json

import pytest

from conftest import REPO


def _tool():
    spec = importlib.util.spec_from_file_location("rank_agreement", REPO / "tools" / "rank_agreement.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def _real(n_hits_first):
    """A real report on 4 images of 2 people: ``n_hits_first`` of the 8 people ranked above every false box."""
    rows = []
    for i in range(4):
        first = max(0, min(2, n_hits_first - 2 * i))
        hit = [1] * first + [0, 0] + [1] * (2 - first)
        rows.append({"file": f"im{i}.png", "people": 2, "hits_at_threshold": 2, "fps_at_threshold": 2,
                     "scores": [0.95, 0.92, 0.6, 0.55], "hit": hit})
    from cluenet_ros.evaluation.real_check import figures
    f = figures(rows)
    return {"detectors": {"cluenet": {**f, "per_image": rows}}}


def _session(root, name, soups, pooled):
    folder = root / name
    (folder / "soups").mkdir(parents=True)
    (folder / "plateval900.json").write_text(json.dumps({"pooled": pooled}))
    for soup, (hits, mr_ho, accept) in soups.items():
        d = folder / "soups" / soup
        d.mkdir()
        (d / f"real_{soup}.json").write_text(json.dumps(_real(hits)))
        for seed in (36, 37):
            (d / f"plateval_seed{seed}").mkdir()
            (d / f"plateval_seed{seed}" / "report.json").write_text(json.dumps(
                {"detection_mr": {"reasonable": 0.4, "heavy": mr_ho + (seed - 36) * 0.01}, "mask_iou": 0.5}))
        (d / "acceptance.txt").write_text(f"pipe.pt: recall {accept:.3f}, mask IoU 0.300\n.\n1 passed\n")


@pytest.fixture
def root(tmp_path):
    # real AP rises a -> d; plateval900 falls with it (a useful figure), heavy MR rises (a backwards one)
    _session(tmp_path, "s90", {"a": (0, 0.80, 1.0), "b": (2, 0.82, 0.8)}, {"a": 0.45, "b": 0.40, "c": 0.35})
    _session(tmp_path, "s91", {"c": (5, 0.85, 0.8), "d": (8, 0.90, 0.6)}, {"d": 0.30})
    return tmp_path


def test_rho_signs_follow_the_ranking(root, capsys):
    tool = _tool()
    soups = tool.collect(root)
    assert list(soups) == ["a", "b", "c", "d"]
    aps = [soups[n]["real"]["ap"] for n in soups]
    assert aps == sorted(aps) and len(set(aps)) == 4
    assert soups["c"]["synthetic"]["plateval900"] == pytest.approx(0.35)   # pooled figure of the earlier session
    assert soups["a"]["synthetic"]["pv_mr_ho"] == pytest.approx(0.805)     # mean over the composites
    res = tool.agreement(soups, samples=200)
    assert res["plateval900"]["ap"]["rho"] == pytest.approx(-1.0)
    assert res["pv_mr_ho"]["ap"]["rho"] == pytest.approx(1.0)
    assert res["acceptance_recall"]["ap"]["rho"] < -0.7
    assert res["plateval900"]["ap"]["n"] == 4
    lo, hi = res["pv_mr_ho"]["ap"]["interval"]
    assert -1.0 <= lo <= hi <= 1.0
    out = tmp = root / "out.json"
    assert tool.main(["--root", str(root), "--samples", "50", "--json", str(tmp)]) == 0
    printed = capsys.readouterr().out
    assert "| plateval900 | 4 | -1.00" in printed
    assert json.loads(out.read_text())["agreement"]["plateval900"]["ap"]["rho"] == pytest.approx(-1.0)


def test_a_soup_measured_twice_counts_once(root):
    _session(root, "s92", {"a": (8, 0.1, 1.0)}, {"a": 0.1})      # a again, later: the first real check stays
    soups = _tool().collect(root)
    assert len(soups) == 4 and soups["a"]["session"] == "s90"


def test_bad_sessions_and_too_few_soups_are_refused(root, capsys):
    tool = _tool()
    assert tool.main(["--root", str(root), "--sessions", "s90,s99"]) == 2
    assert "no session folder s99" in capsys.readouterr().err
    assert tool.main(["--root", str(root), "--sessions", "s90"]) == 2
    assert "at least 3" in capsys.readouterr().err


def test_committed_reports_are_readable():
    soups = _tool().collect(REPO / "docs" / "accuracy" / "real_world", ["s42"])
    assert {"soup_af", "soup_ag"} <= set(soups)
    assert soups["soup_af"]["synthetic"]["plateval900"] == pytest.approx(0.369, abs=1e-3)
    assert soups["soup_af"]["real"]["ap"] == pytest.approx(0.724, abs=1e-3)
