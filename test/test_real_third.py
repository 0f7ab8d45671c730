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

# files of opencv-doc that are the first set's pictures or made from them: vtest.avi's frames and
# its background-subtraction and optical-flow figures (frame 200 and its masks), basketball1's next
# frame, messi5's crops and pyramid; none may be a source of a set kept apart from the check
FIRST_SET_DERIVED = {"vtest.avi", "basketball1.png", "messi5.jpg", "basketball2.png",
                     "Background_Subtraction_Tutorial_frame.jpg", "resframe.jpg", "resmog.jpg", "resgmg.jpg",
                     "demo.jpg", "opticalfb.jpg", "backproject_opencv.jpg", "roi.jpg", "messipyr.jpg"}
# files of the second set's packages that are the same photograph as one of its images, or a copy
# of another in this set (bus.jpg ships in yolov5 too; the GIMP picture's flipped copies)
SAME_PHOTOGRAPH = {"bus.jpg", "quickie-flip-example-result.jpg", "quickie-flip-example-menu.jpg"}


# --- the committed label file --------------------------------------------------------------------------

def test_third_labels_every_image_has_people_and_sane_boxes():
    header, images = load_labels(LABELS_THIRD)
    assert "package" not in header                       # each source names its own package
    assert sum(im.num_people for im in images) >= 25
    assert len({im.file for im in images}) == len(images)
    for im in images:
        assert im.num_people >= 1, im.file
        w, h = im.extra["size"]
        b = im.boxes
        assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
        assert (b[:, :2] >= 0).all() and (b[:, 2] <= w).all() and (b[:, 3] <= h).all(), im.file
        tall = b[~im.ignore, 3] - b[~im.ignore, 1]
        assert (tall >= 25).all(), im.file               # smaller people are ignore regions
        assert not (im.occluded & im.ignore).any(), im.file
    assert "montage" in header["about"] and "same person" in header["about"]   # the montage is said


def test_third_sources_are_recorded_and_apart_from_the_other_sets():
    header, images = load_labels(LABELS_THIRD)
    sources = header["sources"]
    assert {im.source for im in images} == set(sources)  # no unused source, none missing
    first_header, first_images = load_labels(LABELS)
    second_header, second_images = load_labels(LABELS_SECOND)
    other_digests = set(first_header["sources"].values()) | {s["sha256"] for s in second_header["sources"].values()}
    other_members = {(s["name"], R._member_name(s["member"])) for s in second_header["sources"].values()}
    for key, src in sources.items():
        assert src["kind"] in ("deb", "pypi") and src["name"] and src["version"] and src["member"]
        assert len(src["sha256"]) == 64 and int(src["sha256"], 16) >= 0
        assert src["licence"].strip()
        if src["kind"] == "pypi":
            assert src["archive"].startswith(src["name"]) and src["version"] in src["archive"]
        name = Path(src["member"]).name
        assert name not in FIRST_SET_DERIVED and name not in SAME_PHOTOGRAPH, key
        assert src["sha256"] not in other_digests, key
        assert (src["name"], R._member_name(src["member"])) not in other_members, key
    assert not {im.file for im in images} & ({im.file for im in first_images} | {im.file for im in second_images})
    assert len({s["sha256"] for s in sources.values()}) == len(sources)


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


# --- the command line -------------------------------------------------------------------------------------

def test_set_third_on_the_command_line(tmp_path, monkeypatch):
    from cluenet_ros.cli import build_parser
    from cluenet_ros.evaluation.cli import real_set_paths

    monkeypatch.setenv("CLUENET_REAL_IMAGES_THIRD", str(tmp_path / "third"))
    parser = build_parser()
    a = parser.parse_args(["eval", "real", "--set", "third"])
    assert a.real_set == "third" and real_set_paths(a) == (LABELS_THIRD, tmp_path / "third")
    a = parser.parse_args(["eval", "real", "--set", "third", "--labels", "l.json", "--images", "imgs"])
    assert real_set_paths(a) == (Path("l.json"), Path("imgs"))            # the explicit options win
    a = parser.parse_args(["data", "real-images", "--set", "third"])
    assert a.real_set == "third" and a.out is None
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "real", "--set", "fourth"])


def test_cli_builds_the_third_set_into_its_own_folder(tmp_path, monkeypatch):
    from cluenet_ros.data import cli as data_cli

    seen = {}
    monkeypatch.setattr(R, "build", lambda out, src, labels, force: seen.update(out=out, labels=labels))
    monkeypatch.setenv("CLUENET_REAL_IMAGES_THIRD", str(tmp_path / "third"))
    data_cli.run_real_images(Namespace(real_set="third", out=None, source_dir=None, force=False))
    assert seen == {"out": tmp_path / "third", "labels": LABELS_THIRD}
