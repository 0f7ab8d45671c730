"""tools/ablation_arms_table.py: deliverable 4's table is read from the folders
tools/real_world_eval.sh wrote. Checked on session 22's committed measurements, whose
figures the docs quote, and on a missing folder (a clear error, not a traceback)."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO

TOOL = REPO / "tools" / "ablation_arms_table.py"


def _run(*args):
    return subprocess.run([sys.executable, str(TOOL), *args], capture_output=True, text=True, cwd=REPO)


def test_session22_table_and_start_row(tmp_path):
    out = tmp_path / "t.json"
    r = _run("1200", "--samples", "200", "--start", "s22_abl_base_600", "--json", str(out))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[2].startswith("| start: the common start | 1.3% | 0.8% ")  # session 22's base arm at 600
    assert lines[3].startswith("| base: anny bodies, photo textures, sensor effects | 0.0% | 0.0% ")
    assert lines[4].startswith("| figure: capsule-figure bodies | 45.3% | 10.1% ")
    data = json.loads(out.read_text())
    assert list(data["arms"]) == ["start", "base", "figure", "noeffects", "flat"]
    assert data["arms"]["start"]["versus_base"] is None and data["arms"]["base"]["versus_base"] is None
    fig = data["arms"]["figure"]["versus_base"]["ap"]
    assert abs(fig["difference"] - 0.101) < 0.002 and fig["interval"][0] > 0  # the paired gain excludes zero
    assert abs(data["arms"]["flat"]["synthetic_base_val"]["mr_reasonable"] - 0.761) < 0.001


def test_missing_folder_is_a_clear_error():
    r = _run("999", "--samples", "10")
    assert r.returncode != 0
    assert "s22_abl_base_999/real.json: not found" in r.stderr and "Traceback" not in r.stderr
