"""The third real-image set: its committed labels, kept apart from the first two sets
(no file of theirs, nothing made from vtest.avi, basketball1.png or messi5.jpg), its
builder through the registry of sets (from stand-in packages the tests make
themselves: no network), its refusal by the training configuration, and `--set
third` on the command line."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import subprocess
import sys
from argparse import Namespace
from pathlib import Path

import cv2
import numpy as np
import pytest

from cluenet_ros.data import real_images as R
from cluenet_ros.data.real_images import (LABELS, LABELS_SECOND, LABELS_THIRD, REAL_SETS, SETS, build, default_dir,
                                          labels_path, load_labels, refuse_check_set)
from cluenet_ros.errors import FileInputError

# --- the committed label file --------------------------------------------------------------------------

def test_third_labels_hold_at_least_twenty_five_people_and_say_the_montage():
    # the checks every set kept apart must pass are in test_real_sets.py
    header, images = load_labels(LABELS_THIRD)
    assert sum(im.num_people for im in images) >= 25
    assert "montage" in header["about"] and "same person" in header["about"]   # the montage is said


def test_the_registry_holds_three_sets_apart():
    assert SETS == ("first", "second", "third")
    assert [labels_path(s) for s in SETS] == [LABELS, LABELS_SECOND, LABELS_THIRD]
    assert len({s.env for s in REAL_SETS.values()}) == len({s.folder for s in REAL_SETS.values()}) == 3
    assert REAL_SETS["third"].env == "CLUENET_REAL_IMAGES_THIRD" and REAL_SETS["third"].folder == "real_images_third"
    assert R.set_of_labels(LABELS_THIRD) == "third" and R.set_of_labels(LABELS) == "first"
    assert R.set_of_labels("elsewhere.json") is None
    with pytest.raises(ValueError, match="unknown real-image set 'fourth'; one of first, second, third"):
        labels_path("fourth")


# --- the builder ------------------------------------------------------------------------------------

def _png(level: int) -> bytes:
    ok, buf = cv2.imencode(".png", np.full((30, 20, 3), level, np.uint8))
    assert ok
    return buf.tobytes()


def _deb(tmp_path: Path, name: str, files: dict) -> Path:
    root = tmp_path / f"root_{name}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(f"Package: {name}\nVersion: 1.0\nArchitecture: all\n"
                                             "Maintainer: t <t@example.org>\nDescription: stand-in\n")
    for member, data in files.items():
        (root / member).parent.mkdir(parents=True, exist_ok=True)
        (root / member).write_bytes(data)
    deb = tmp_path / f"{name}_1.0_all.deb"
    subprocess.run(["dpkg-deb", "--build", "--root-owner-group", str(root), str(deb)], check=True,
                   capture_output=True)
    return deb


@pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="needs dpkg-deb to make the stand-in packages")
def test_cli_builds_the_third_set_from_stand_in_packages_into_its_own_folder(tmp_path, monkeypatch):
    from cluenet_ros.data import cli as data_cli

    files = {"a": _png(40), "b": _png(120), "c": _png(220)}
    store = tmp_path / "store"
    store.mkdir()
    debs = {"docpkg": _deb(store, "docpkg", {"usr/share/doc/docpkg/html/a.jpg": files["a"],
                                              "usr/share/doc/docpkg/html/c.png": files["c"]}),
            "helppkg": _deb(store, "helppkg", {"usr/share/helppkg/images/b.jpg": files["b"]})}

    def src(pkg, member, key):
        return {"kind": "deb", "name": pkg, "version": "1.0", "member": member,
                "sha256": hashlib.sha256(files[key]).hexdigest(), "licence": "GPL-3+"}

    drawn_on = {"doc_a.jpg": "a", "doc_c.png": "c", "help_b.jpg": "b"}
    sources = {"doc_a.jpg": src("docpkg", "usr/share/doc/docpkg/html/a.jpg", "a"),
               "doc_c.png": src("docpkg", "usr/share/doc/docpkg/html/c.png", "c"),
               "help_b.jpg": src("helppkg", "usr/share/helppkg/images/b.jpg", "b")}
    labels = tmp_path / "third.json"
    labels.write_text(json.dumps({"about": "stand-in", "sources": sources, "images": [
        {"file": k, "source": k, "size": [20, 30], "people": [{"box": [1, 1, 19, 29]}]} for k in sources]}))
    monkeypatch.setitem(R.REAL_SETS, "third", dataclasses.replace(R.REAL_SETS["third"], labels=labels))
    monkeypatch.setenv("CLUENET_REAL_IMAGES_THIRD", str(tmp_path / "third"))
    monkeypatch.setenv("CLUENET_REAL_IMAGES_SECOND", str(tmp_path / "second"))
    fetched = []

    def fetch(s, into):
        fetched.append(s["name"])
        return Path(shutil.copy(debs[s["name"]], into))

    monkeypatch.setattr(R, "fetch_package", fetch)
    data_cli.run_real_images(Namespace(real_set="third", out=None, source_dir=None, force=False))
    assert sorted(fetched) == ["docpkg", "helppkg"]                       # one download per package
    for key in sources:
        assert (tmp_path / "third" / key).read_bytes() == files[drawn_on[key]]  # byte for byte as packaged
    assert not (tmp_path / "second").exists()
    # the builder itself, given the label file alone, writes into the third set's folder too
    shutil.rmtree(tmp_path / "third")
    R.build_sources(None, None, labels, log=lambda *_: None)
    assert sorted(p.name for p in (tmp_path / "third").iterdir()) == sorted(sources)
    # a package that brings another file than the one labelled is refused, by name
    (store / "other").mkdir()
    debs["helppkg"] = _deb(store / "other", "helppkg", {"usr/share/helppkg/images/b.jpg": files["c"]})
    with pytest.raises(FileInputError, match=r"differs from the file the labels were drawn on.*deb helppkg 1.0"):
        data_cli.run_real_images(Namespace(real_set="third", out=None, source_dir=None, force=True))


def test_cli_third_set_from_an_empty_source_folder_fails_clearly(tmp_path):
    (tmp_path / "empty").mkdir()
    out = subprocess.run([sys.executable, "-m", "cluenet_ros.cli", "data", "real-images", "--set", "third",
                          "--out", str(tmp_path / "o"), "--source-dir", str(tmp_path / "empty")],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "missing from the source folder" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


# --- kept apart from training ---------------------------------------------------------------------------

def test_training_configs_and_plates_refuse_the_third_set(tmp_path, monkeypatch):
    from cluenet_ros.config import from_dict
    from cluenet_ros.data.plates import refuse_check_set_overlap
    from cluenet_training.config import Stage1TrainConfig

    third = tmp_path / "data" / "real_images_third"
    (third / "sub").mkdir(parents=True)
    monkeypatch.setenv("CLUENET_REAL_IMAGES_THIRD", str(third))
    assert default_dir("third") == third
    for root in (third, third / "sub"):
        with pytest.raises(ValueError, match=r"third real-image set .*`cluenet eval real --set third`"):
            refuse_check_set(root)
        with pytest.raises(ValueError, match="third real-image set"):
            from_dict(Stage1TrainConfig, {"train": {"format": "split", "root": str(root)}})
    with pytest.raises(ValueError, match="holds the third real-image set"):
        refuse_check_set_overlap(tmp_path / "data")
    refuse_check_set(tmp_path / "data" / "synth", "")                      # beside it: fine
    ok = from_dict(Stage1TrainConfig, {"train": {"format": "split", "root": str(tmp_path / "synth")}})
    assert ok.train.root == str(tmp_path / "synth")


def test_every_registered_set_is_refused_by_its_own_name(tmp_path, monkeypatch):
    for s in REAL_SETS.values():
        monkeypatch.setenv(s.env, str(tmp_path / s.folder))
    for s in REAL_SETS.values():
        with pytest.raises(ValueError, match=f"is {s.title} "):
            refuse_check_set(tmp_path / s.folder / "x.jpg")


def test_default_folder_of_the_third_set(monkeypatch):
    for s in REAL_SETS.values():
        monkeypatch.delenv(s.env, raising=False)
    assert default_dir("third") == default_dir("first").with_name("real_images_third")
    assert default_dir("third").parent.name == "data"
