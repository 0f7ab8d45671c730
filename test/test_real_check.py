"""The real-image check set: its labels, how it is rebuilt, and the figures
`cluenet eval real` reports (on tiny stand-ins the tests make themselves)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from cluenet_ros.data.real_images import LABELS, build, load_labels
from cluenet_ros.errors import FileInputError
from cluenet_ros.evaluation.real_check import (DetectorRun, average_precision, hog_boxes, hog_detector, run_check,
                                                score)


def test_packaged_labels_hold_at_least_60_people_with_sane_boxes():
    header, images = load_labels(LABELS)
    assert sum(im.num_people for im in images) >= 60
    assert header["package"]["name"] == "opencv-doc" and set(header["sources"]) >= {"vtest.avi"}
    for im in images:
        size = (576, 768) if im.source == "vtest.avi" else None
        b = im.boxes
        assert (b[:, 2] > b[:, 0]).all() and (b[:, 3] > b[:, 1]).all()
        if size:
            assert (b[:, :2] >= 0).all() and (b[:, 2] <= size[1]).all() and (b[:, 3] <= size[0]).all()
    files = [im.file for im in images]
    assert len(files) == len(set(files))


def _write_labels(tmp_path, sources: dict, images: list) -> str:
    path = tmp_path / "labels.json"
    path.write_text(json.dumps({"package": {"name": "opencv-doc", "version": "0", "root": "x"},
                                "sources": sources, "images": images}))
    return str(path)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def source_dir(tmp_path):
    """A 12-frame video whose frame i is filled with grey level 20 * i, and one still."""
    src = tmp_path / "src"
    src.mkdir()
    writer = cv2.VideoWriter(str(src / "walk.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(12):
        writer.write(np.full((48, 64, 3), 20 * i, np.uint8))
    writer.release()
    cv2.imwrite(str(src / "still.png"), np.full((32, 32, 3), 7, np.uint8))
    return src


def test_build_takes_the_labelled_frames_and_checks_the_source_hash(tmp_path, source_dir):
    images = [{"file": "walk_0003.png", "source": "walk.avi", "frame": 3, "people": [{"box": [1, 1, 9, 20]}]},
              {"file": "walk_0010.png", "source": "walk.avi", "frame": 10, "people": []},
              {"file": "still.png", "source": "still.png", "people": [{"box": [2, 2, 8, 30]}]}]
    labels = _write_labels(tmp_path, {"walk.avi": _sha(source_dir / "walk.avi"),
                                      "still.png": _sha(source_dir / "still.png")}, images)
    out = build(tmp_path / "out", source_dir, labels, log=lambda *_: None)
    f3, f10 = cv2.imread(str(out / "walk_0003.png")), cv2.imread(str(out / "walk_0010.png"))
    assert abs(float(f3.mean()) - 60) < 4 and abs(float(f10.mean()) - 200) < 4
    assert (cv2.imread(str(out / "still.png")) == 7).all()
    # a source that is not the one the labels were drawn on is refused, by name
    (source_dir / "still.png").write_bytes(b"not the same file")
    with pytest.raises(FileInputError, match="still.png.*differs from the file the labels were drawn on"):
        build(tmp_path / "out2", source_dir, labels, log=lambda *_: None)


def test_build_reports_a_video_shorter_than_the_labels(tmp_path, source_dir):
    labels = _write_labels(tmp_path, {"walk.avi": _sha(source_dir / "walk.avi")},
                           [{"file": "w.png", "source": "walk.avi", "frame": 40, "people": []}])
    with pytest.raises(FileInputError, match=r"ends before frame\(s\) \[40\]"):
        build(tmp_path / "out", source_dir, labels, log=lambda *_: None)


def test_bad_label_box_is_named(tmp_path):
    labels = _write_labels(tmp_path, {}, [{"file": "a.png", "people": [{"box": [5, 5, 2, 9]}]}])
    with pytest.raises(FileInputError, match=r"images\[0\].people\[0\].box"):
        load_labels(labels)


def _set(tmp_path):
    labels = _write_labels(tmp_path, {}, [
        {"file": "a.png", "scene": "street", "people": [{"box": [10, 10, 30, 70]}, {"box": [50, 10, 70, 70]},
                                                       {"box": [80, 0, 100, 30], "ignore": True}]},
        {"file": "b.png", "scene": "indoor", "people": [{"box": [0, 0, 40, 90]}]}])
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), np.zeros((100, 120, 3), np.uint8))
    return labels


def test_figures_by_hand(tmp_path):
    labels = _set(tmp_path)
    _, images = load_labels(labels)
    dets = [
        # a: person 1 hit (0.9), a false positive (0.8), the ignore region (0.7: neither), a duplicate of
        # person 1 (0.4: a false positive below the operating point), person 2 hit at 0.3
        (np.array([[11, 10, 31, 70], [0, 80, 20, 99], [80, 0, 100, 30], [10, 12, 30, 72], [50, 11, 70, 70]]),
         np.array([0.9, 0.8, 0.7, 0.4, 0.3])),
        (np.zeros((0, 4)), np.zeros(0)),  # b: missed
    ]
    fig = score(images, dets, threshold=0.5)
    assert fig["people"] == 3 and fig["images"] == 2
    assert fig["recall"] == pytest.approx(1 / 3)           # only person 1 at >= 0.5
    assert fig["fp_per_image"] == pytest.approx(1 / 2)     # the 0.8 one; the ignore hit does not count
    assert fig["max_recall"] == pytest.approx(2 / 3)
    # ranked hits: 0.9 hit, 0.8 miss, 0.4 miss, 0.3 hit -> precision 1 at recall 1/3, 2/4 at 2/3
    assert fig["ap"] == pytest.approx(1 / 3 * 1.0 + 1 / 3 * 0.5)


def test_average_precision_edges():
    assert average_precision(np.zeros(0), np.zeros(0, bool), 4) == 0.0
    assert average_precision(np.array([0.9, 0.5]), np.array([True, True]), 2) == pytest.approx(1.0)
    assert np.isnan(average_precision(np.array([0.9]), np.array([False]), 0))


def test_run_check_per_scene_and_overlays(tmp_path):
    labels = _set(tmp_path)
    perfect = {0: (np.array([[10, 10, 30, 70], [50, 10, 70, 70]]), np.array([0.9, 0.8]))}
    calls = iter(range(2))

    def detect(_image):
        return perfect.get(next(calls), (np.zeros((0, 4)), np.zeros(0)))

    report = run_check([DetectorRun("oracle-a", detect, 0.5)], tmp_path, labels, tmp_path / "ovl",
                       log=lambda *_: None)
    e = report["detectors"]["oracle-a"]
    assert e["by_scene"]["street"]["recall"] == 1.0 and e["by_scene"]["indoor"]["recall"] == 0.0
    assert e["recall"] == pytest.approx(2 / 3)
    assert sorted(p.name for p in (tmp_path / "ovl").iterdir()) == ["a.jpg", "b.jpg"]


def test_missing_image_says_how_to_build(tmp_path):
    labels = _write_labels(tmp_path, {}, [{"file": "nothere.png", "people": []}])
    with pytest.raises(FileInputError, match="cluenet data real-images"):
        run_check([DetectorRun("x", lambda im: (np.zeros((0, 4)), np.zeros(0)), 0.5)], tmp_path, labels)


def test_hog_windows_back_to_input_pixels_and_shrunk():
    # a 64x128 window at (20, 40) on the image upscaled 2x: 32x64 in the input at (10, 20),
    # then 15% of the width and 5% of the height off each side
    boxes = hog_boxes([[20, 40, 64, 128]], upscale=2.0)
    assert boxes == pytest.approx(np.array([[10 + 4.8, 20 + 3.2, 42 - 4.8, 84 - 3.2]]))
    assert hog_boxes([[20, 40, 64, 128]], upscale=2.0, shrink=False) == pytest.approx(np.array([[10, 20, 42, 84]]))
    assert hog_boxes([], upscale=2.0).shape == (0, 4)
    for size in ((200, 100), (96, 80)):  # flat grey: nobody; smaller than HOG's window: no crash either
        boxes, scores = hog_detector(upscale=1.0)(np.full((*size, 3), 128, np.uint8))
        assert boxes.shape == (0, 4) and scores.shape == (0,)


def test_cli_data_real_images_from_a_source_folder(tmp_path, source_dir):
    images = [{"file": "still.png", "source": "still.png", "people": [{"box": [2, 2, 8, 30]}]}]
    labels = _write_labels(tmp_path, {"still.png": _sha(source_dir / "still.png")}, images)
    # the CLI always uses the packaged labels; here the packaged set's sources are absent, so it must fail clearly
    out = subprocess.run([sys.executable, "-m", "cluenet_ros.cli", "data", "real-images", "--out",
                          str(tmp_path / "o"), "--source-dir", str(source_dir)], capture_output=True, text=True)
    assert out.returncode == 2
    assert "missing from the source folder" in out.stderr and "Traceback" not in out.stderr
    assert build(tmp_path / "o", source_dir, labels, log=lambda *_: None).joinpath("still.png").is_file()


def test_training_configs_refuse_the_check_set(tmp_path, monkeypatch):
    """The set only measures: a training or validation data path inside it is refused
    when the configuration is loaded."""
    from cluenet_ros.config import from_dict
    from cluenet_training.config import Stage1TrainConfig

    check = tmp_path / "real"
    (check / "sub").mkdir(parents=True)
    monkeypatch.setenv("CLUENET_REAL_IMAGES", str(check))
    for root in (check, check / "sub"):
        with pytest.raises(ValueError, match="real-image check set"):
            from_dict(Stage1TrainConfig, {"train": {"format": "split", "root": str(root)}})
    ok = from_dict(Stage1TrainConfig, {"train": {"format": "split", "root": str(tmp_path / "synth")}})
    assert ok.train.root == str(tmp_path / "synth")


def test_false_positive_breakdown_overlap():
    """tools/real_fp_breakdown.py's overlap: IoU and the share of a detection inside
    a label box, by hand for boxes that nest, touch and are apart."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "tools" / "real_fp_breakdown.py"
    spec = importlib.util.spec_from_file_location("real_fp_breakdown", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    gt = np.array([[0, 0, 10, 20]], float)
    det = np.array([[0, 0, 10, 10],      # the upper half of the person: IoU 0.5, all inside
                    [5, 0, 15, 20],      # shifted by half a width: IoU 100/300, half inside
                    [20, 0, 30, 20],     # beside it: nothing
                    [-10, -10, 20, 30]], float)  # a loose box around it: IoU 200/1200, 1/6 inside
    iou, inside = mod.overlap(det, gt)
    np.testing.assert_allclose(iou[:, 0], [0.5, 1 / 3, 0.0, 1 / 6])
    np.testing.assert_allclose(inside[:, 0], [1.0, 0.5, 0.0, 1 / 6])
    assert mod.overlap(det, np.zeros((0, 4)))[0].shape == (4, 0)
