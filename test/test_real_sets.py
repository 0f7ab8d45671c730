"""Every real-image set kept apart from the check, through the command line: `--set NAME`
picks its labels and its folder (moved by its environment variable), explicit paths win,
and `cluenet data real-images --set NAME` builds into that folder. Parametrised over the
registry, so a set added there is covered here without another copy of these tests."""
from __future__ import annotations

from argparse import Namespace
from pathlib import Path

import pytest

from cluenet_ros.data import real_images as R
from cluenet_ros.data.real_images import LABELS, REAL_SETS, default_dir, load_labels

KEPT_APART = [name for name in REAL_SETS if name != "first"]
# files of opencv-doc that are the first set's pictures or made from them: vtest.avi's frames and
# its background-subtraction and optical-flow figures (frame 200 and its masks), basketball1's next
# frame, messi5's crops and pyramid; none may be a source of a set kept apart from the check
FIRST_SET_DERIVED = {"vtest.avi", "basketball1.png", "messi5.jpg", "basketball2.png",
                     "Background_Subtraction_Tutorial_frame.jpg", "resframe.jpg", "resmog.jpg", "resgmg.jpg",
                     "demo.jpg", "opticalfb.jpg", "backproject_opencv.jpg", "roi.jpg", "messipyr.jpg"}
# (package, file) pairs that are another copy of a photograph a set holds: yolov5 ships
# ultralytics' bus.jpg, and GIMP's manual the soldiers picture flipped
SAME_PHOTOGRAPH = {("yolov5", "bus.jpg"), ("gimp-help-en", "quickie-flip-example-result.jpg"),
                   ("gimp-help-en", "quickie-flip-example-menu.jpg")}


@pytest.mark.parametrize("name", KEPT_APART)
def test_labels_every_image_has_people_and_sane_boxes(name):
    header, images = load_labels(REAL_SETS[name].labels)
    assert "package" not in header                       # each source names its own package
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


@pytest.mark.parametrize("name", KEPT_APART)
def test_sources_are_recorded_and_apart_from_every_other_set(name):
    header, images = load_labels(REAL_SETS[name].labels)
    sources = header["sources"]
    assert {im.source for im in images} == set(sources)  # no unused source, none missing
    others = [load_labels(s.labels) for s in REAL_SETS.values() if s.name != name]
    other_digests, other_members, other_files = set(), set(), set()
    for other_header, other_images in others:
        recorded = other_header.get("sources", {})
        other_digests |= {v if isinstance(v, str) else v["sha256"] for v in recorded.values()}
        other_members |= {(v["name"], R._member_name(v["member"])) for v in recorded.values() if isinstance(v, dict)}
        other_files |= {im.file for im in other_images}
    for key, src in sources.items():
        assert src["kind"] in ("deb", "pypi") and src["name"] and src["version"] and src["member"]
        assert len(src["sha256"]) == 64 and int(src["sha256"], 16) >= 0
        assert src["licence"].strip()
        if src["kind"] == "pypi":
            assert src["archive"].startswith(src["name"]) and src["version"] in src["archive"]
        member = Path(src["member"]).name
        assert member not in FIRST_SET_DERIVED, key
        assert (src["name"], member) not in SAME_PHOTOGRAPH, key
        assert src["sha256"] not in other_digests, key
        assert (src["name"], R._member_name(src["member"])) not in other_members, key
    assert not {im.file for im in images} & other_files
    assert len({s["sha256"] for s in sources.values()}) == len(sources)


def test_the_registry_holds_the_check_and_the_sets_kept_apart():
    assert list(REAL_SETS)[0] == "first" and {"second", "third"} <= set(KEPT_APART)


@pytest.mark.parametrize("name", KEPT_APART)
def test_set_on_the_command_line(name, tmp_path, monkeypatch):
    from cluenet_ros.cli import build_parser
    from cluenet_ros.evaluation.cli import real_set_paths

    s = REAL_SETS[name]
    monkeypatch.setenv(s.env, str(tmp_path / name))
    parser = build_parser()
    a = parser.parse_args(["eval", "real", "--set", name])
    assert a.real_set == name and real_set_paths(a) == (s.labels, tmp_path / name)
    a = parser.parse_args(["eval", "real"])
    assert a.real_set == "first" and real_set_paths(a) == (LABELS, default_dir("first"))
    a = parser.parse_args(["eval", "real", "--set", name, "--labels", "l.json", "--images", "imgs"])
    assert real_set_paths(a) == (Path("l.json"), Path("imgs"))            # the explicit options win
    a = parser.parse_args(["data", "real-images", "--set", name])
    assert a.real_set == name and a.out is None
    with pytest.raises(SystemExit):
        parser.parse_args(["eval", "real", "--set", "no_such_set"])


@pytest.mark.parametrize("name", KEPT_APART)
def test_cli_builds_the_set_into_its_own_folder(name, tmp_path, monkeypatch):
    from cluenet_ros.data import cli as data_cli

    seen = {}
    monkeypatch.setattr(R, "build", lambda out, src, labels, force: seen.update(out=out, labels=labels))
    monkeypatch.setenv(REAL_SETS[name].env, str(tmp_path / name))
    data_cli.run_real_images(Namespace(real_set=name, out=None, source_dir=None, force=False))
    assert seen == {"out": tmp_path / name, "labels": REAL_SETS[name].labels}


def test_cli_builds_the_check_where_out_says(tmp_path, monkeypatch):
    from cluenet_ros.data import cli as data_cli

    seen = {}
    monkeypatch.setattr(R, "build", lambda out, src, labels, force: seen.update(out=out, labels=labels))
    data_cli.run_real_images(Namespace(real_set="first", out=str(tmp_path / "o"), source_dir=None, force=False))
    assert seen == {"out": tmp_path / "o", "labels": LABELS}
