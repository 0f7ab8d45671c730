"""anny's 790 MB cache is built by one process: rendering workers started together
wait for the first one's build and then read it (cache_lock)."""
from __future__ import annotations

import multiprocessing as mp
import time
from pathlib import Path

from cluenet_ros.synth.realistic.anny_body import cache_lock


def _make_model(cache: str, log: str) -> None:
    """What AnnyBodies does under the lock, with a marker file for anny's cache."""
    cache_dir = Path(cache)
    with cache_lock(cache_dir):
        ready = (cache_dir / "model.bin").exists()
        if not ready:
            time.sleep(0.5)  # a slow build: every other process is inside it without the lock
            (cache_dir / "model.bin").write_bytes(b"x" * 1000)
        with open(log, "a") as f:
            f.write("read\n" if ready else "built\n")


def test_workers_started_together_build_the_cache_once(tmp_path):
    ctx = mp.get_context("spawn")
    log = tmp_path / "log.txt"
    procs = [ctx.Process(target=_make_model, args=(str(tmp_path / "cache"), str(log))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sorted(log.read_text().split()) == ["built", "read", "read"]
    assert (tmp_path / "cache" / "model.bin").stat().st_size == 1000


def test_the_lock_is_released_when_its_holder_fails(tmp_path):
    try:
        with cache_lock(tmp_path):
            raise RuntimeError("build failed")
    except RuntimeError:
        pass
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=_make_model, args=(str(tmp_path), str(tmp_path / "log.txt")))
    p.start()
    p.join(30)
    assert p.exitcode == 0 and (tmp_path / "log.txt").read_text() == "built\n"
