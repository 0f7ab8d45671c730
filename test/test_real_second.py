"""The second real-image set: its committed labels, its builder (from stand-in
folders and stand-in packages the tests make themselves: no network), its
refusal by the training configuration, and `--set second` on the command line."""
from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest

from cluenet_ros.data import real_images as R
from cluenet_ros.data.real_images import LABELS, LABELS_SECOND, build, default_dir, labels_path, load_labels
from cluenet_ros.errors import FileInputError

def _sha(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- the committed label file --------------------------------------------------------------------------

def test_second_labels_hold_at_least_twenty_people():
    # the checks every set kept apart must pass are in test_real_sets.py
    assert sum(im.num_people for im in load_labels(LABELS_SECOND)[1]) >= 20


def test_first_set_is_unchanged_by_the_second():
    header, images = load_labels(labels_path("first"))
    assert header["package"]["name"] == "opencv-doc" and len(images) == 14
    assert labels_path("second") == LABELS_SECOND and labels_path() == LABELS
    with pytest.raises(ValueError, match="unknown real-image set"):
        labels_path("fourth")                            # the third set is registered since


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("licence"), "lacks licence"),
    (lambda s: s.update(kind="rpm"), "kind must be one of deb, pypi"),
    (lambda s: s.update(sha256="abc"), "sha256 must be 64"),
])
def test_a_source_without_its_record_is_refused(tmp_path, change, message):
    src = {"kind": "deb", "name": "p", "version": "1", "member": "a.png", "sha256": "0" * 64, "licence": "MIT"}
    change(src)
    labels = _labels(tmp_path, {"a.png": src},
                     [{"file": "a.png", "source": "a.png", "people": [{"box": [0, 0, 4, 9]}]}])
    with pytest.raises(FileInputError, match=message):
        load_labels(labels)


def test_an_image_of_an_unknown_source_is_refused(tmp_path):
    src = {"kind": "deb", "name": "p", "version": "1", "member": "a.png", "sha256": "0" * 64, "licence": "MIT"}
    labels = _labels(tmp_path, {"a.png": src}, [{"file": "b.png", "source": "b.png", "people": []}])
    with pytest.raises(FileInputError, match="'b.png' is not one of the sources"):
        load_labels(labels)


# --- the builder ------------------------------------------------------------------------------------

def _labels(tmp_path, sources: dict, images: list) -> Path:
    path = tmp_path / "second.json"
    path.write_text(json.dumps({"about": "stand-in", "sources": sources, "images": images}))
    return path


def _stand_ins(tmp_path) -> dict[str, bytes]:
    """Three tiny pictures (PNG and JPEG) as a package would hold them."""
    out = {}
    for name, level, ext in (("street.png", 30, ".png"), ("beach.jpg", 90, ".jpg"), ("bus.jpg", 200, ".jpg")):
        ok, buf = cv2.imencode(ext, np.full((24, 16, 3), level, np.uint8))
        assert ok
        out[name] = buf.tobytes()
    return out


def _source(kind, name, member, data: bytes, **extra) -> dict:
    return {"kind": kind, "name": name, "version": "1.0", "member": member,
            "sha256": hashlib.sha256(data).hexdigest(), "licence": "MIT", **extra}


def _images(keys) -> list:
    return [{"file": f"out_{k}", "source": k, "people": [{"box": [1, 1, 9, 20]}]} for k in keys]


def test_build_from_a_source_folder_copies_the_bytes_and_checks_them(tmp_path):
    files = _stand_ins(tmp_path)
    src = tmp_path / "src"
    (src / "usr/share/doc/a").mkdir(parents=True)
    (src / "usr/share/doc/a/street.png").write_bytes(files["street.png"])   # at its member path
    (src / "beach.jpg").write_bytes(files["beach.jpg"])                     # under its base name
    sources = {"street.png": _source("deb", "a", "usr/share/doc/a/street.png", files["street.png"]),
               "beach.jpg": _source("pypi", "b", "b-1.0/img/beach.jpg", files["beach.jpg"], archive="b-1.0.tar.gz")}
    labels = _labels(tmp_path, sources, _images(sources))
    logs = []
    out = build(tmp_path / "out", src, labels, log=logs.append)
    for key in sources:
        assert (out / f"out_{key}").read_bytes() == files[key]     # stored as in the package
    assert (cv2.imread(str(out / "out_street.png")) == 30).all()
    # idempotent: nothing is read again while every image is there ...
    shutil.rmtree(src)
    build(tmp_path / "out", None, labels, log=logs.append)
    assert "all 2 present" in logs[-1]
    # ... and a rebuild from a file that is not the one labelled is refused, by name
    (src / "usr/share/doc/a").mkdir(parents=True)
    (src / "usr/share/doc/a/street.png").write_bytes(files["street.png"])
    (src / "beach.jpg").write_bytes(files["bus.jpg"])
    with pytest.raises(FileInputError, match=r"beach.jpg: differs from the file the labels were drawn on.*pypi b"):
        build(tmp_path / "out", src, labels, force=True, log=logs.append)
    (src / "beach.jpg").unlink()
    with pytest.raises(FileInputError, match="missing from the source folder"):
        build(tmp_path / "out", src, labels, force=True, log=logs.append)


def _wheel(path: Path, files: dict) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


def _sdist(path: Path, files: dict) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def _deb(tmp_path: Path, files: dict) -> Path:
    root = tmp_path / "debroot"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text("Package: standin\nVersion: 1.0\nArchitecture: all\n"
                                             "Maintainer: t <t@example.org>\nDescription: stand-in\n")
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    deb = tmp_path / "standin_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


def test_build_from_stand_in_packages_fetches_each_package_once(tmp_path, monkeypatch):
    files = _stand_ins(tmp_path)
    store = tmp_path / "store"
    store.mkdir()
    archives = {("pypi", "wheelpkg"): _wheel(store / "wheelpkg-1.0-py3-none-any.whl",
                                             {"wheelpkg/assets/bus.jpg": files["bus.jpg"]}),
                ("pypi", "sdistpkg"): _sdist(store / "sdistpkg-1.0.tar.gz",
                                             {"sdistpkg-1.0/examples/beach.jpg": files["beach.jpg"]})}
    sources = {"bus.jpg": _source("pypi", "wheelpkg", "wheelpkg/assets/bus.jpg", files["bus.jpg"],
                                  archive="wheelpkg-1.0-py3-none-any.whl"),
               "beach.jpg": _source("pypi", "sdistpkg", "sdistpkg-1.0/examples/beach.jpg", files["beach.jpg"],
                                    archive="sdistpkg-1.0.tar.gz")}
    if shutil.which("dpkg-deb"):
        archives[("deb", "standin")] = _deb(tmp_path, {"usr/share/standin/street.png": files["street.png"],
                                                       "usr/share/standin/other.png": files["bus.jpg"]})
        sources["street.png"] = _source("deb", "standin", "usr/share/standin/street.png", files["street.png"])
        sources["other.png"] = _source("deb", "standin", "./usr/share/standin/other.png", files["bus.jpg"])
    fetched = []

    def fetch(src, into):
        fetched.append((src["kind"], src["name"]))
        return Path(shutil.copy(archives[(src["kind"], src["name"])], into))

    monkeypatch.setattr(R, "fetch_package", fetch)
    labels = _labels(tmp_path, sources, _images(sources))
    out = build(tmp_path / "out", None, labels, log=lambda *_: None)
    assert sorted(fetched) == sorted(set(fetched))          # one download per package
    for key, src in sources.items():
        assert R.sha256(out / f"out_{key}") == src["sha256"]
    # a member the package lacks is named with the package's file
    sources["bus.jpg"]["member"] = "wheelpkg/assets/nothere.jpg"
    labels = _labels(tmp_path, sources, _images(sources))
    with pytest.raises(FileInputError, match=r"py3-none-any.whl: lacks \['wheelpkg/assets/nothere.jpg'\]"):
        build(tmp_path / "out2", None, labels, log=lambda *_: None)


def test_download_pypi_asks_pip_for_exactly_the_recorded_archive(tmp_path, monkeypatch):
    calls = []

    def run(cmd, **kw):
        calls.append(cmd)
        Path(cmd[cmd.index("-d") + 1], "x-2.0-py3-none-any.whl").write_bytes(b"w")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(R.subprocess, "run", run)
    got = R.download_pypi("x", "2.0", tmp_path, "x-2.0-py3-none-any.whl")
    assert got.name == "x-2.0-py3-none-any.whl"
    assert calls[0][-1] == "x==2.0" and "--no-deps" in calls[0] and "--only-binary=:all:" in calls[0]
    # pip bringing another file than the recorded archive is an error naming both
    (tmp_path / "fresh").mkdir()
    with pytest.raises(R.InputError, match=r"brought \['x-2.0-py3-none-any.whl'\], not x-2.0.tar.gz"):
        R.download_pypi("x", "2.0", tmp_path / "fresh", "x-2.0.tar.gz")
    assert "--no-binary=x" in calls[-1] and "--only-binary=:all:" not in calls[-1]

    def fail(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: No matching distribution found for x==2.0")

    monkeypatch.setattr(R.subprocess, "run", fail)
    with pytest.raises(R.InputError, match="pip download x==2.0 failed: .*No matching distribution"):
        R.download_pypi("x", "2.0", tmp_path, "x-2.0-py3-none-any.whl")


# --- kept apart from training ---------------------------------------------------------------------------

def test_training_configs_and_plates_refuse_the_second_set(tmp_path, monkeypatch):
    from cluenet_ros.config import from_dict
    from cluenet_ros.data.plates import refuse_check_set_overlap
    from cluenet_ros.data.real_images import refuse_check_set
    from cluenet_training.config import Stage1TrainConfig

    second = tmp_path / "data" / "real_images_second"
    (second / "sub").mkdir(parents=True)
    monkeypatch.setenv("CLUENET_REAL_IMAGES_SECOND", str(second))
    assert default_dir("second") == second
    for root in (second, second / "sub"):
        with pytest.raises(ValueError, match="second real-image set"):
            refuse_check_set(root)
        with pytest.raises(ValueError, match="second real-image set"):
            from_dict(Stage1TrainConfig, {"train": {"format": "split", "root": str(root)}})
    with pytest.raises(ValueError, match="holds the second real-image set"):
        refuse_check_set_overlap(tmp_path / "data")
    refuse_check_set(tmp_path / "data" / "synth", "")                      # beside it: fine
    ok = from_dict(Stage1TrainConfig, {"train": {"format": "split", "root": str(tmp_path / "synth")}})
    assert ok.train.root == str(tmp_path / "synth")


def test_default_folder_of_the_second_set(monkeypatch):
    monkeypatch.delenv("CLUENET_REAL_IMAGES", raising=False)
    monkeypatch.delenv("CLUENET_REAL_IMAGES_SECOND", raising=False)
    assert default_dir("second") == default_dir("first").with_name("real_images_second")
    assert default_dir("second").parent.name == "data"


# --- the command line -------------------------------------------------------------------------------------

def test_cli_second_set_from_an_empty_source_folder_fails_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, "-m", "cluenet_ros.cli", "data", "real-images", "--set", "second",
                          "--out", str(tmp_path / "o"), "--source-dir", str(tmp_path / "empty")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "missing from the source folder" in out.stderr and "Traceback" not in out.stderr


def test_run_check_names_the_second_sets_packages(tmp_path):
    from cluenet_ros.evaluation.real_check import DetectorRun, format_table, run_check

    src = {"kind": "deb", "name": "p", "version": "1", "member": "a.png", "sha256": "0" * 64, "licence": "MIT"}
    labels = _labels(tmp_path, {"a.png": src, "b.png": dict(src, kind="pypi", name="q", version="2")},
                     [{"file": "a.png", "source": "a.png", "people": [{"box": [10, 10, 30, 70]}]},
                      {"file": "b.png", "source": "b.png", "people": [{"box": [0, 0, 40, 90]}]}])
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((100, 120, 3), np.uint8))
    report = run_check([DetectorRun("none", lambda im: (np.zeros((0, 4)), np.zeros(0)), 0.5)], tmp_path, labels,
                       log=lambda *_: None)
    assert report["set"]["package"]["name"] == "p 1, q 2" and report["set"]["people"] == 2
    assert "(p 1, q 2" in format_table(report)
