"""The backend cache's entries, and ``cluenet cache list/prune``: what is recognised,
what a prune removes (stale formats, interrupted exports, old or all entries) and what
it never touches (folders it does not know, exports that may be in progress, a
symlink's target)."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cluenet_ros.inference import cache as C
from cluenet_ros.inference import standalone as S
from cluenet_ros.inference.interface import PipelineConfig

NOW = time.time()
DAY = 86400.0


def _folder(root: Path, name: str, files: dict[str, bytes | str], age_s: float = 0.0) -> Path:
    path = root / name
    path.mkdir(parents=True)
    for rel, data in files.items():
        f = path / rel
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.utime(path, (NOW - age_s, NOW - age_s))
    return path


def _manifest(fmt: int, stage1_only: bool = False) -> str:
    return json.dumps({"format": fmt, "weights": "/models/w.pt", "stage1_only": stage1_only})


@pytest.fixture
def cache_dir(tmp_path):
    root = tmp_path / "cache"
    k = "0123456789abcdef01234567"
    _folder(root, f"standalone-{k}", {"manifest.json": _manifest(S.FORMAT), "stage1_dense.onnx": b"x" * 1000})
    _folder(root, f"standalone-{'1' * 24}", {"manifest.json": _manifest(S.FORMAT - 1), "poses.onnx": b"x" * 700})
    _folder(root, f"standalone-{'2' * 24}", {"manifest.json": _manifest(S.FORMAT, True)}, age_s=40 * DAY)
    _folder(root, f"standalone-{'3' * 24}.part-abc", {"stage1_dense.onnx": b"x" * 50}, age_s=2 * 3600)
    _folder(root, f"standalone-{'4' * 24}.part-def", {"stage1_dense.onnx": b"x" * 60})  # may be running
    _folder(root, "5" * 24, {"stage1_dense.onnx": b"x" * 300, "stage2.onnx": b"x" * 200,
                             "openvino_cache/blob": b"x" * 100}, age_s=10 * DAY)
    _folder(root, "6" * 24, {"stage1_dense.onnx.part": b"x" * 30}, age_s=3 * 3600)
    _folder(root, "my_photos", {"a.jpg": b"x" * 5000}, age_s=100 * DAY)
    (root / "notes.txt").write_text("mine")
    outside = _folder(tmp_path, "outside", {"keep.onnx": b"x"})
    (root / "link").symlink_to(outside)
    return root


def _by_name(entries):
    return {e.path.name: e for e in entries}


def test_scan_recognises_each_kind(cache_dir):
    entries = C.scan(cache_dir, now=NOW)
    got = _by_name(entries)
    assert len(entries) == 10
    current = got["standalone-0123456789abcdef01234567"]
    assert (current.kind, current.format, current.stale, current.weights) == ("standalone", S.FORMAT, None,
                                                                            "/models/w.pt")
    assert current.size == 1000 + len(_manifest(S.FORMAT))
    old = got[f"standalone-{'1' * 24}"]
    assert old.kind == "standalone" and f"format {S.FORMAT - 1}" in old.stale
    assert got[f"standalone-{'2' * 24}"].kind == "standalone stage 1" and got[f"standalone-{'2' * 24}"].stale is None
    assert got[f"standalone-{'3' * 24}.part-abc"].kind == "unfinished export"
    assert got[f"standalone-{'3' * 24}.part-abc"].stale is not None
    assert got[f"standalone-{'4' * 24}.part-def"].stale is None  # young: perhaps still being written
    assert got["5" * 24].kind == "compiled" and got["5" * 24].size == 600
    assert got["6" * 24].kind == "unfinished export" and got["6" * 24].stale is not None
    for name in ("my_photos", "notes.txt", "link"):
        assert got[name].kind == "unknown" and not got[name].removable
    assert [e.size for e in entries] == sorted((e.size for e in entries), reverse=True)
    assert C.scan(cache_dir / "absent") == []


def test_select_default_age_and_all(cache_dir):
    entries = C.scan(cache_dir, now=NOW)
    default = {e.path.name for e in C.select(entries, now=NOW)}
    assert default == {f"standalone-{'1' * 24}", f"standalone-{'3' * 24}.part-abc", "6" * 24}
    aged = {e.path.name for e in C.select(entries, older_than_days=30, now=NOW)}
    assert aged == default | {f"standalone-{'2' * 24}"}
    aged = {e.path.name for e in C.select(entries, older_than_days=5, now=NOW)}
    assert aged == default | {f"standalone-{'2' * 24}", "5" * 24}
    everything = {e.path.name for e in C.select(entries, everything=True, now=NOW)}
    assert everything == aged | {"standalone-0123456789abcdef01234567"}  # not the young .part, nor unknowns
    with pytest.raises(ValueError, match="older-than"):
        C.select(entries, older_than_days=-1)


def test_remove_deletes_only_the_chosen(cache_dir, tmp_path):
    entries = C.scan(cache_dir, now=NOW)
    chosen = C.select(entries, everything=True, now=NOW)
    freed = C.remove(chosen)
    assert freed == sum(e.size for e in chosen)
    left = sorted(p.name for p in cache_dir.iterdir())
    assert left == sorted(["link", "my_photos", "notes.txt", f"standalone-{'4' * 24}.part-def"])
    assert (tmp_path / "outside" / "keep.onnx").is_file()
    with pytest.raises(ValueError, match="left alone"):
        C.remove([e for e in entries if e.kind == "unknown"][:1])


def test_compiled_graphs_of_another_torch_are_stale(tmp_path):
    """The compiled graphs' key holds the torch version, so after an upgrade no start
    reads the old folders again; a folder without the record is kept (not known)."""
    import importlib.metadata

    installed = importlib.metadata.version("torch")
    files = {"stage1_dense.onnx": b"x", "stage2.onnx": b"x"}
    _folder(tmp_path, "a" * 24, {**files, C.EXPORT_INFO: json.dumps({"torch": "1.0.0+cpu"})})
    _folder(tmp_path, "b" * 24, {**files, C.EXPORT_INFO: json.dumps({"torch": installed + "+cu999"})})
    _folder(tmp_path, "c" * 24, files)
    got = _by_name(C.scan(tmp_path, now=NOW))
    assert got["a" * 24].stale == f"exported with torch 1.0.0+cpu; torch {installed} is installed"
    assert got["b" * 24].stale is None and got["c" * 24].stale is None
    assert [e.path.name for e in C.select(list(got.values()), now=NOW)] == ["a" * 24]


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "cluenet_ros.cli", "cache", *args], capture_output=True, text=True)


def test_cli_list_dry_run_and_prune(cache_dir):
    before = sorted(p.name for p in cache_dir.iterdir())
    proc = _cli("--dir", str(cache_dir), "list", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    flagged = {e["name"] for e in report["entries"] if e["pruned_by_default"]}
    assert flagged == {f"standalone-{'1' * 24}", f"standalone-{'3' * 24}.part-abc", "6" * 24}
    proc = _cli("--dir", str(cache_dir), "list")
    assert proc.returncode == 0 and "`cluenet cache prune` removes 3 of them" in proc.stdout
    proc = _cli("--dir", str(cache_dir), "prune", "--dry-run", "--older-than", "5")
    assert proc.returncode == 0 and "5 entries" in proc.stdout and "nothing removed" in proc.stdout
    assert sorted(p.name for p in cache_dir.iterdir()) == before
    proc = _cli("--dir", str(cache_dir), "prune")
    assert proc.returncode == 0 and "removed 3 entries" in proc.stdout, proc.stdout
    assert sorted(p.name for p in cache_dir.iterdir()) == sorted(set(before) - flagged)
    probe = ("import sys; from cluenet_ros.cli import main; main(['cache', '--dir', sys.argv[1], 'list']); "
             "assert 'torch' not in sys.modules, 'cluenet cache list imported torch'")
    proc = subprocess.run([sys.executable, "-c", probe, str(cache_dir)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    proc = _cli("--dir", str(cache_dir), "prune", "--older-than", "-2")
    assert proc.returncode == 2 and "older-than must be 0 or more" in proc.stderr


def test_a_start_marks_its_folder_used_and_an_export_names_stale_entries(tmp_path, monkeypatch, caplog):
    weights = tmp_path / "w.pt"
    weights.write_bytes(b"not read: the export is faked")
    settings = S.baked_settings(PipelineConfig())
    root = tmp_path / "cache"
    _folder(root, f"standalone-{'1' * 24}", {"manifest.json": _manifest(S.FORMAT - 1), "poses.onnx": b"x" * 700})

    def fake_export(cmd, **kwargs):  # what the child process leaves: the folder, complete
        out = Path(cmd[cmd.index("--out") + 1])
        _folder(out.parent, out.name, {"manifest.json": _manifest(S.FORMAT)})
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(S.subprocess, "run", fake_export)
    with caplog.at_level(logging.INFO, logger=S.LOG.name):
        folder = S.ensure_exported(weights, settings, root)
    assert "1 entries (0 MB) that this version no longer reads" in caplog.text
    os.utime(folder, (NOW - 50 * DAY, NOW - 50 * DAY))
    assert S.ensure_exported(weights, settings, root) == folder  # from the cache: no export
    assert time.time() - folder.stat().st_mtime < 60
