"""tools/setup_venv.sh (``make setup``) checks the free disk before it installs: an
install that fills the disk half-way leaves a broken venv behind pip's bare "No space
left on device" (it once failed a CI run that way)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SCRIPT = REPO / "tools" / "setup_venv.sh"


def _setup(venv, min_free_gb, tmp):
    env = dict(os.environ, VENV=str(venv), SETUP_MIN_FREE_GB=str(min_free_gb), TMPDIR=str(tmp))
    return subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, env=env, cwd=REPO, timeout=60)


def test_too_little_disk_is_a_clear_error_before_anything_is_made(tmp_path):
    venv = tmp_path / "venv"
    r = _setup(venv, 10 ** 6, tmp_path)  # a million GB: no disk has that
    assert r.returncode == 1
    assert "installing the Python requirements needs about 1000000 GB" in r.stderr, r.stderr
    assert "GB free on the disk of" in r.stderr and not venv.exists()


def test_an_up_to_date_venv_is_not_held_back(tmp_path):
    """The check only guards an install: the project's own venv, already set up, passes
    even when the bar is impossible (and then nothing is installed)."""
    venv = Path(sys.prefix)
    if not (venv / ".cluenet-requirements.sha256").is_file():
        pytest.skip("the tests do not run in a venv made by tools/setup_venv.sh")
    r = _setup(venv, 10 ** 6, tmp_path)
    assert r.returncode == 0, r.stderr
    assert "[setup] Python requirements up to date" in r.stdout
