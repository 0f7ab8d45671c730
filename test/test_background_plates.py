"""Background plates (issue 18, session 35): real photographs behind the rendered people
in stage-1 training (training/plates.py), and `cluenet data plates`' folder.

The plates here are images the test draws itself; no package is downloaded."""
from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch

from cluenet_ros.config import from_dict
from cluenet_ros.data import plates as P
from cluenet_ros.errors import FileInputError
from cluenet_training.config import AugmentConfig, Stage1TrainConfig, load_stage1
from cluenet_training.plates import PlateBank
from cluenet_training.transforms import stage1_sample


def _plate_dir(tmp_path, colours=((250, 10, 10), (10, 250, 10)), size=(120, 200)):
    """One-colour plates (RGB), so that every pasted pixel tells which plate it came from."""
    d = tmp_path / "plates"
    (d / "sub").mkdir(parents=True)
    for i, c in enumerate(colours):
        img = np.zeros((*size, 3), np.uint8)
        img[:] = c
        assert cv2.imwrite(str(d / ("sub" if i else "") / f"p{i}.png"), img[..., ::-1])
    return d


def _record(h=64, w=96):
    rng = np.random.default_rng(3)
    image = rng.integers(30, 220, size=(h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[10:50, 20:40] = 1        # a person
    mask[5:25, 70:90] = 255       # an ignore region
    return SimpleNamespace(image=image, mask=mask, boxes=np.array([[20.0, 10.0, 40.0, 50.0]], np.float32))


def test_composite_keeps_people_and_ignore_regions_and_pastes_the_plate_elsewhere(tmp_path):
    bank = PlateBank([_plate_dir(tmp_path)])
    assert len(bank) == 2
    rec = _record()
    img = torch.from_numpy(rec.image).permute(2, 0, 1).float() / 255
    mask = torch.from_numpy(rec.mask)
    out = bank.composite(img, mask, np.random.default_rng(0))
    assert out.shape == img.shape
    inner = torch.zeros_like(mask, dtype=torch.bool)
    inner[11:49, 21:39] = True     # the person without its one-pixel rim
    inner[6:24, 71:89] = True      # the ignore region likewise
    assert torch.equal(out[:, inner], img[:, inner])
    far = cv2.dilate(rec.mask.astype(np.uint8).clip(0, 1), np.ones((3, 3), np.uint8)) == 0
    pasted = out[:, torch.from_numpy(far)]
    colours = {tuple(c) for c in (pasted.T * 255).round().int().tolist()}
    assert len(colours) == 1 and colours <= {(250, 10, 10), (10, 250, 10)}   # one whole plate
    rim = out[:, 10, 30]           # the person's top row: blended, between the two
    assert not torch.equal(rim, img[:, 10, 30])


def test_crops_are_drawn_from_the_rng_and_vary(tmp_path):
    d = tmp_path / "grad"
    d.mkdir()
    g = np.zeros((100, 300, 3), np.uint8)
    g[..., 0] = np.linspace(0, 255, 300)[None]
    g[..., 1] = np.linspace(0, 255, 100)[:, None]
    cv2.imwrite(str(d / "g.png"), g[..., ::-1])
    bank = PlateBank([d])
    a = bank.crop(32, 48, np.random.default_rng(7))
    b = bank.crop(32, 48, np.random.default_rng(7))
    c = bank.crop(32, 48, np.random.default_rng(8))
    assert a.shape == (3, 32, 48) and torch.equal(a, b) and not torch.equal(a, c)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0


def test_stage1_sample_pastes_only_when_drawn_and_draws_nothing_when_off(tmp_path):
    bank = PlateBank([_plate_dir(tmp_path)])
    rec = _record()
    off = AugmentConfig()
    a, ta = stage1_sample(rec, np.random.default_rng(1), (1.0, 1.0), 0.0, None, off, bank)
    b, tb = stage1_sample(rec, np.random.default_rng(1), (1.0, 1.0), 0.0, None, off)
    assert torch.equal(a, b) and torch.equal(ta["boxes"], tb["boxes"])
    on = AugmentConfig(background_plate=1.0)
    c, tc = stage1_sample(rec, np.random.default_rng(1), (1.0, 1.0), 0.0, None, on, bank)
    assert torch.equal(tc["boxes"], ta["boxes"]) and torch.equal(tc["mask"], ta["mask"])
    assert torch.equal(c[:, 20, 30], a[:, 20, 30])          # the person is kept
    assert not torch.equal(c[:, 60, 5], a[:, 60, 5])        # the background is not
    d, _ = stage1_sample(rec, np.random.default_rng(1), (1.0, 1.0), 0.0, None, on, None)
    assert torch.equal(d, a)                                # no bank: nothing pasted


def test_plate_files_reads_an_index_or_every_photograph(tmp_path):
    d = _plate_dir(tmp_path)
    assert [p.name for p in P.plate_files([d])] == ["p0.png", "p1.png"]
    (d / "index.json").write_text(json.dumps({"categories": {"plate": [{"file": "sub/p1.png"}],
                                                             "licence": [{"file": "x.txt"}]}}))
    assert [p.name for p in P.plate_files([d])] == ["p1.png"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileInputError, match="no plate photographs"):
        P.plate_files([empty])
    with pytest.raises(FileInputError, match="no such plate folder"):
        P.plate_files([tmp_path / "missing"])


def test_missing_default_folder_says_how_to_build(tmp_path, monkeypatch):
    monkeypatch.setenv("CLUENET_PLATES", str(tmp_path / "nothing"))
    with pytest.raises(FileInputError, match="cluenet data plates"):
        PlateBank([P.default_dir()])


def test_config_checks_plates_and_refuses_the_check_set(tmp_path, monkeypatch):
    check = tmp_path / "data" / "real_images"
    check.mkdir(parents=True)
    monkeypatch.setenv("CLUENET_REAL_IMAGES", str(check))
    base = {"train": {"format": "split", "root": str(tmp_path / "synth")}}
    for folder in (check, check / "x", tmp_path / "data"):        # is, lies in, or holds the check set
        with pytest.raises(ValueError, match="real-image check set"):
            from_dict(Stage1TrainConfig, dict(base, augment={"background_plate": 0.5,
                                                              "background_plate_dirs": [str(folder)]}))
    with pytest.raises(ValueError, match="background_plate_dirs"):
        from_dict(Stage1TrainConfig, dict(base, augment={"background_plate": 0.5, "background_plate_dirs": []}))
    with pytest.raises(ValueError, match="background_plate"):
        from_dict(Stage1TrainConfig, dict(base, augment={"background_plate": 1.5}))
    p = tmp_path / "c.yaml"
    p.write_text(f"train: {{format: split, root: {tmp_path / 'synth'}}}\n"
                 f"augment: {{background_plate: 0.25, background_plate_dirs: [{tmp_path / 'plates'}]}}\n")
    aug = load_stage1(p).augment
    assert aug.background_plate == 0.25 and aug.background_plate_dirs == (str(tmp_path / "plates"),)
    assert AugmentConfig().background_plate == 0.0       # off by default


def test_repository_plate_manifest_is_consistent():
    from cluenet_ros.data.textures import load_manifest

    data = load_manifest(P.MANIFEST)
    plates = [f for f in data["files"] if f["category"] == "plate"]
    assert len(plates) >= 30
    assert {f["category"] for f in data["files"]} == {"plate", "licence"}
    assert len({f["name"] for f in plates}) == len(plates)
    assert all(len(f["sha256"]) == 64 for f in data["files"])
    assert not any("opencv" in f["package"] for f in data["files"])   # never the check set's package
    for package in data["packages"]:                                  # every package's copyright file kept
        assert any(f["category"] == "licence" and f["package"] == package for f in data["files"])


def test_plate_sources_are_titled_for_plates():
    from cluenet_ros.data.textures import _sources

    text = _sources({"packages": {"pkg": {"version": "1", "licences": {"CC0-1.0": "all"}}}},
                    {"plate": [{"file": "plate/a.png", "package": "pkg", "version": "1", "member": "usr/a.jpg",
                                "licence": "CC0-1.0"}]}, {"pkg": "1"}, "plates")
    assert text.startswith("# Sources of these plates") and "`cluenet data plates`" in text
    assert "| plate/a.png | pkg | 1 | /usr/a.jpg | CC0-1.0 |" in text


@pytest.fixture(scope="module")
def synth_split(tmp_path_factory):
    from cluenet_ros.cli import main as cluenet

    root = tmp_path_factory.mktemp("replate_src")
    assert cluenet(["synth", "--out", str(root), "--images", "2", "--seed", "4", "--size", "128x64",
                    "--split", "v", "--people", "2-3"]) == 0
    return root / "v"


def _split_pixels(folder):
    cp = json.loads((folder / "citypersons.json").read_text())
    imgs = [cv2.imread(str(folder / i["file_name"]))[..., ::-1] for i in cp["images"]]
    sems = [cv2.imread(str(folder / i["semantic_mask"]), cv2.IMREAD_UNCHANGED) for i in cp["images"]]
    return cp, imgs, sems


def test_replate_keeps_people_truth_and_masks_and_pastes_a_plate_behind(synth_split, tmp_path):
    from cluenet_ros.cli import main as cluenet

    plates = _plate_dir(tmp_path)
    out = tmp_path / "replated"
    assert cluenet(["train", "replate", "--data", str(synth_split), "--plates", str(plates),
                    "--out", str(out), "--seed", "5"]) == 0
    cp0, imgs0, sems0 = _split_pixels(synth_split)
    cp1, imgs1, sems1 = _split_pixels(out)
    assert cp1 == cp0                                    # boxes, flags and paths: unchanged
    assert (out / "coco_keypoints.json").read_bytes() == (synth_split / "coco_keypoints.json").read_bytes()
    for a, b, s0, s1 in zip(imgs0, imgs1, sems0, sems1):
        assert np.array_equal(s0, s1)
        people = cv2.erode((s0 != 0).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert people.any() and np.array_equal(a[people], b[people])     # the rendered people stay
        far = cv2.dilate((s0 != 0).astype(np.uint8), np.ones((3, 3), np.uint8)) == 0
        colours = {tuple(c) for c in b[far].tolist()}
        assert len(colours) == 1 and colours <= {(250, 10, 10), (10, 250, 10)}   # one plate, nothing rendered
    record = json.loads((out / "replate.json").read_text())
    assert record["seed"] == 5 and record["images"] == 2 and len(record["plates"]) == 2
    again = tmp_path / "again"
    assert cluenet(["train", "replate", "--data", str(synth_split), "--plates", str(plates),
                    "--out", str(again), "--seed", "5"]) == 0
    assert all(np.array_equal(x, y) for x, y in zip(imgs1, _split_pixels(again)[1]))   # a function of the seed


def test_replate_refuses_to_overwrite_or_to_write_inside_the_source(synth_split, tmp_path, capsys):
    from cluenet_ros.cli import main as cluenet

    plates = _plate_dir(tmp_path)
    used = tmp_path / "used"
    used.mkdir()
    (used / "mine.txt").write_text("keep")
    assert cluenet(["train", "replate", "--data", str(synth_split), "--plates", str(plates), "--out", str(used)]) == 2
    assert "not an empty folder" in capsys.readouterr().err and (used / "mine.txt").read_text() == "keep"
    assert cluenet(["train", "replate", "--data", str(synth_split), "--plates", str(plates),
                    "--out", str(synth_split / "inner")]) == 2
    assert "outside the source split" in capsys.readouterr().err and not (synth_split / "inner").exists()
    assert cluenet(["train", "replate", "--data", str(tmp_path / "nowhere"), "--plates", str(plates),
                    "--out", str(tmp_path / "o")]) == 2
    assert "citypersons.json" in capsys.readouterr().err
