"""Stage 1's flip test: the frame and its mirror image through stage 1, their
detections merged (union + NMS, or weighted box fusion) and their masks averaged
(pipeline option ``detection_flip_test``, node parameter of the same name,
``cluenet eval real/full --detection-flip-test``)."""
from __future__ import annotations


import numpy as np
import pytest
import torch

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference.detection_flip import (VIEW_SCORE_FLOOR, fuse_boxes, merge_flip, merge_views,
                                                  mirror_boxes, view_detections)
from conftest import tiny_stage1_config, tiny_stage2_config


def test_mirroring_maps_pixel_edges_and_is_its_own_inverse():
    b = np.array([[0.0, 5.0, 10.0, 40.0], [90.0, 0.0, 100.0, 20.0]])
    m = mirror_boxes(b, 100)
    np.testing.assert_allclose(m, [[90.0, 5.0, 100.0, 40.0], [0.0, 0.0, 10.0, 20.0]])
    np.testing.assert_allclose(mirror_boxes(m, 100), b)


def test_fusion_averages_agreeing_boxes_and_halves_boxes_one_view_alone_finds():
    a = (np.array([[10.0, 10.0, 30.0, 70.0], [200.0, 10.0, 220.0, 60.0]]), np.array([0.9, 0.8]))
    b = (np.array([[12.0, 10.0, 32.0, 70.0]]), np.array([0.3]))
    boxes, scores, members = fuse_boxes([a, b], iou_threshold=0.55)
    # by fused score: the agreeing pair, (0.9 + 0.3) / 2, its box weighted by score ...
    assert list(members) == [2, 1]
    np.testing.assert_allclose(scores, [0.6, 0.4])
    np.testing.assert_allclose(boxes[0], (0.9 * a[0][0] + 0.3 * b[0][0]) / 1.2)
    # ... then the box found in one view of two, at half its score
    np.testing.assert_allclose(boxes[1], a[0][1])
    # below the IoU threshold nothing fuses
    far = (np.array([[40.0, 10.0, 60.0, 70.0]]), np.array([0.5]))
    _, s, m = fuse_boxes([a, far], iou_threshold=0.55)
    assert list(m) == [1, 1, 1] and sorted(s) == pytest.approx([0.25, 0.4, 0.45])
    # one view: fusion changes nothing but duplicate merging
    bx, sc, _ = fuse_boxes([a])
    np.testing.assert_allclose(bx, a[0])
    np.testing.assert_allclose(sc, a[1])
    with pytest.raises(ValueError, match="at least one view"):
        fuse_boxes([])
    with pytest.raises(ValueError, match="iou_threshold"):
        fuse_boxes([a], iou_threshold=1.5)


def test_merge_by_nms_keeps_the_higher_score_then_thresholds_and_caps():
    width = 100.0
    plain = (np.array([[10.0, 0.0, 30.0, 50.0], [60.0, 0.0, 70.0, 20.0]]), np.array([0.55, 0.45]))
    # the mirror sees the first person (mirrored pixels) at 0.8, and a new box at 0.3
    mirrored = (mirror_boxes(np.array([[11.0, 0.0, 31.0, 50.0], [40.0, 0.0, 50.0, 30.0]]), width),
                np.array([0.8, 0.3]))
    boxes, scores = merge_flip(plain, mirrored, width, score_threshold=0.2, nms_iou=0.5, max_detections=10)
    np.testing.assert_allclose(scores, [0.8, 0.45, 0.3], atol=1e-6)
    np.testing.assert_allclose(boxes[0], [11.0, 0.0, 31.0, 50.0], atol=1e-5)
    assert boxes.dtype == scores.dtype == np.float32
    # the operating threshold applies after the merge, strictly; the cap after that
    _, s = merge_flip(plain, mirrored, width, score_threshold=0.45, nms_iou=0.5, max_detections=10)
    np.testing.assert_allclose(s, [0.8], atol=1e-6)
    _, s = merge_flip(plain, mirrored, width, score_threshold=0.0, nms_iou=0.5, max_detections=2)
    assert len(s) == 2
    # fusion instead: the pair agrees at (0.55 + 0.8) / 2, the lone boxes keep half
    _, s = merge_flip(plain, mirrored, width, score_threshold=0.0, nms_iou=0.5, max_detections=10, merge="fusion")
    np.testing.assert_allclose(s, [0.675, 0.225, 0.15], atol=1e-6)
    with pytest.raises(ValueError, match="detection_flip_merge must be one of nms, fusion"):
        merge_flip(plain, mirrored, width, 0.0, 0.5, 10, merge="mean")


def test_view_detections_follow_the_roi_heads_order():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 0, 60, 10], [80, 0, 90, 10]], dtype=np.float64)
    scores = np.array([0.9, 0.8, 0.04, 0.7])
    b, s = view_detections(boxes, scores, VIEW_SCORE_FLOOR, nms_iou=0.5, max_detections=5)
    np.testing.assert_allclose(s, [0.9, 0.7])  # the duplicate suppressed, the box under the floor dropped
    _, s = view_detections(boxes, scores, 0.0, nms_iou=0.5, max_detections=2)
    np.testing.assert_allclose(s, [0.9, 0.7])


@pytest.fixture(scope="module")
def pipe():
    torch.manual_seed(0)
    assert PipelineConfig().detection_flip_test is True  # the default since session 31
    # session 43: 1.25 adopted by its rule, then set back (demo stream); session 44: half scale, tall boxes only
    assert PipelineConfig().detection_extra_scale == 0.5 and PipelineConfig().detection_extra_scale_min_height == 200.0
    cfg = PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=0.5, max_detections=20, detection_flip_test=False,
                         detection_extra_scale=0.0)
    return ClueNetPipeline.random(cfg, tiny_stage1_config(), tiny_stage2_config())


def image(seed=1, h=96, w=128):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_pipeline_flip_test_is_the_merge_of_stage_1_on_both_views(pipe):
    img = image()
    pipe.set_thresholds(score=0.3)
    try:
        plain = pipe(img)
        pipe.set_detection_flip_test(True)
        # stage 1 now keeps every box above the floor in each view
        assert pipe.stage1.roi_heads.score_thresh == pytest.approx(VIEW_SCORE_FLOOR)
        flipped = pipe(img)
        with torch.inference_mode():
            t = pipe._to_tensor(img)
            own, mirrored = pipe.stage1([t, t.flip(-1)])
        want_boxes, want_scores = merge_flip((own["boxes"].numpy(), own["scores"].numpy()),
                                             (mirrored["boxes"].numpy(), mirrored["scores"].numpy()),
                                             img.shape[1], 0.3, 0.5, 20)
        assert len(flipped) == len(want_scores) >= 1
        np.testing.assert_allclose(flipped.boxes, want_boxes, atol=1e-4)
        np.testing.assert_allclose(flipped.scores, want_scores, atol=1e-6)
        assert (flipped.scores > 0.3).all()
        # the mask is the mean of both views' probabilities, mirrored back
        prob = ((own["mask"] + mirrored["mask"].flip(-1)) / 2 > pipe.config.mask_threshold).numpy()
        np.testing.assert_array_equal(flipped.mask > 0, prob)
        # stage 2 ran on the merged boxes (keypoints for every one of them)
        assert flipped.keypoints.shape == (len(flipped), 13, 3)
        assert len(flipped) != len(plain) or not np.allclose(flipped.boxes, plain.boxes)
    finally:
        pipe.set_detection_flip_test(False)
        pipe.set_thresholds(score=0.0)
    assert pipe.stage1.roi_heads.score_thresh == 0.0
    pipe.set_thresholds(score=0.3)
    np.testing.assert_array_equal(pipe(img).boxes, plain.boxes)  # switched back
    pipe.set_thresholds(score=0.0)


def test_flip_tested_detections_of_a_mirrored_frame_are_the_mirrored_detections(pipe):
    """With the union merge the flip test sees the same two views whichever way the
    frame comes in: its detections are mirror-symmetric, which one view's are not."""
    img = image(seed=4)
    w = img.shape[1]

    def boxes_of(frame):
        r = pipe(np.ascontiguousarray(frame))
        return r.boxes[r.scores > 0.05], r.scores[r.scores > 0.05]

    def same(a, b):
        (ba, sa), (bb, sb) = a, b
        if len(sa) != len(sb):
            return False
        ka, kb = np.lexsort(np.c_[ba, sa].T), np.lexsort(np.c_[bb, sb].T)
        return np.allclose(ba[ka], bb[kb], atol=1e-2) and np.allclose(sa[ka], sb[kb], atol=1e-4)

    plain, plain_m = boxes_of(img), boxes_of(img[:, ::-1])
    assert not same(plain, (mirror_boxes(plain_m[0], w), plain_m[1]))
    pipe.set_detection_flip_test(True)
    try:
        a, m = boxes_of(img), boxes_of(img[:, ::-1])
    finally:
        pipe.set_detection_flip_test(False)
    assert len(a[1]) >= 1
    assert same(a, (mirror_boxes(m[0], w).astype(np.float32), m[1]))


def test_extra_scale_merges_the_views_at_both_scales(pipe):
    img = image(seed=7)
    pipe.set_thresholds(score=0.2)
    try:
        pipe.set_detection_flip_test(True)
        flip_only = pipe(img)
        pipe.set_detection_extra_scale(1.5, min_height=0.0)   # every box of the extra views
        both = pipe(img)
        with torch.inference_mode():
            t = pipe._to_tensor(img)
            at1 = pipe.stage1([t, t.flip(-1)])
            pipe.stage1.set_input_scale(1.5)
            at15 = pipe.stage1([t, t.flip(-1)])
            pipe.stage1.set_input_scale(1.0)
        w = img.shape[1]
        views = [(o["boxes"].numpy(), o["scores"].numpy()) for o in (at1[0], at15[0])]
        views += [(mirror_boxes(o["boxes"].numpy(), w), o["scores"].numpy()) for o in (at1[1], at15[1])]
        want_boxes, want_scores = merge_views(views, 0.2, 0.5, 20)
        assert len(both) == len(want_scores) >= 1
        np.testing.assert_allclose(both.scores, want_scores, atol=1e-6)
        np.testing.assert_allclose(both.boxes, want_boxes, atol=1e-4)
        assert len(both) != len(flip_only) or not np.allclose(both.boxes, flip_only.boxes)
        # all four masks averaged, each in frame pixels
        mean = torch.stack([at1[0]["mask"], at15[0]["mask"], at1[1]["mask"].flip(-1), at15[1]["mask"].flip(-1)]).mean(0)
        np.testing.assert_array_equal(both.mask > 0, (mean > pipe.config.mask_threshold).numpy())
        assert pipe.stage1.config.input_scale == 1.0  # the extra scale does not stick
        # without the flip test: the frame at both scales only
        pipe.set_detection_flip_test(False)
        assert pipe.stage1.roi_heads.score_thresh == pytest.approx(VIEW_SCORE_FLOOR)
        two = pipe(img)
        want = merge_views([views[0], views[1]], 0.2, 0.5, 20)
        np.testing.assert_allclose(two.scores, want[1], atol=1e-6)
    finally:
        pipe.set_detection_extra_scale(0.0)
        pipe.set_detection_flip_test(False)
        pipe.set_thresholds(score=0.0)
    assert pipe.stage1.roi_heads.score_thresh == 0.0


def test_extra_scale_is_checked_and_refused_where_it_cannot_run(pipe):
    for bad in (-0.5, 4.5):
        with pytest.raises(ValueError, match="detection_extra_scale"):
            pipe.set_detection_extra_scale(bad)
    pipe.set_input_scale(2.0)
    try:
        with pytest.raises(ValueError, match="leaves"):
            pipe.set_detection_extra_scale(3.0)  # 6x the frame
    finally:
        pipe.set_input_scale(1.0)
    pipe.set_detection_extra_scale(3.0)
    try:
        with pytest.raises(ValueError, match="leaves"):
            pipe.set_input_scale(2.0)
    finally:
        pipe.set_detection_extra_scale(0.0)
    assert pipe.config.detection_extra_scale == 0.0 and pipe.stage1.config.input_scale == 1.0


def test_input_scale_set_during_the_extra_scale_pass_is_kept(pipe, monkeypatch):
    """The node sets parameters from its executor thread while the worker runs a frame.
    A new input scale set during the extra-scale pass waits for the pass to end; before
    the lock, the pass's switch back to its own base undid it."""
    import threading

    real_forward = type(pipe.stage1).forward
    setter: list[threading.Thread] = []

    def forward(self, images, *args, **kwargs):
        if self.config.input_scale != 1.0 and not setter:  # the extra-scale pass
            t = threading.Thread(target=pipe.set_input_scale, args=(0.5,))
            setter.append(t)
            t.start()
            t.join(0.3)
            assert t.is_alive()  # it waits for the pass
        return real_forward(self, images, *args, **kwargs)

    monkeypatch.setattr(type(pipe.stage1), "forward", forward)
    pipe.set_detection_extra_scale(1.5)
    try:
        pipe(image(seed=3))
        setter[0].join(10)
        assert not setter[0].is_alive() and pipe.stage1.config.input_scale == 0.5
    finally:
        monkeypatch.undo()
        pipe.set_detection_extra_scale(0.0)
        pipe.set_input_scale(1.0)
    assert pipe.stage1.config.input_scale == 1.0


def test_bad_merge_is_refused_and_leaves_the_pipeline_as_it_was(pipe):
    with pytest.raises(ValueError, match="detection_flip_merge"):
        pipe.set_detection_flip_test(True, "average")
    assert pipe.config.detection_flip_test is False and pipe.config.detection_flip_merge == "nms"
    pipe.set_detection_flip_test(False, "fusion")
    assert pipe.config.detection_flip_merge == "fusion"
    pipe.set_detection_flip_test(False, "nms")


def test_eval_real_and_full_run_the_flip_test_and_record_it(tmp_path):
    import json

    import cv2

    from cluenet_ros.cli import main as cluenet
    from cluenet_ros.data.real_images import load_labels, read_image
    from cluenet_ros.evaluation.real_check import score
    from cluenet_ros.models import ClueNetStage1, ClueNetStage2
    from cluenet_ros.models.checkpoint import save_checkpoint

    torch.manual_seed(0)
    weights = tmp_path / "tiny.pt"
    save_checkpoint(weights, {"stage1": ClueNetStage1(tiny_stage1_config()),
                              "stage2": ClueNetStage2(tiny_stage2_config())})
    rows = []
    for i in range(2):
        cv2.imwrite(str(tmp_path / f"{i}.png"), image(seed=10 + i))
        rows.append({"file": f"{i}.png", "scene": "street", "people": [{"box": [20, 10, 50, 90]}]})
    labels = tmp_path / "labels.json"
    labels.write_text(json.dumps({"package": {"name": "opencv-doc", "version": "0", "root": "x"},
                                  "sources": {}, "images": rows}))
    args = ["eval", "real", "--weights", str(weights), "--images", str(tmp_path), "--labels", str(labels),
            "--no-hog", "--device", "cpu", "--score-threshold", "0.1"]
    assert cluenet(args + ["--detection-flip-merge", "fusion", "--json", str(tmp_path / "flip.json")]) == 0
    got = json.loads((tmp_path / "flip.json").read_text())["detectors"]["cluenet"]
    # as the node runs: the flip test and PipelineConfig's half-scale view with its height floor (session 44)
    assert "detection flip test (fusion), extra scale 0.5 (boxes >= 200 px)" in got["note"], got["note"]
    assert cluenet(args + ["--detection-extra-scale", "1.25", "--json", str(tmp_path / "x.json")]) == 0
    assert "extra scale 1.25" in json.loads((tmp_path / "x.json").read_text())["detectors"]["cluenet"]["note"]
    # the figures are those of the pipeline with the flip test (and PipelineConfig's default second
    # scale), read at the operating point
    pipe = ClueNetPipeline.from_checkpoint(weights, PipelineConfig(device="cpu", score_threshold=0.05,
                                                                   detection_flip_test=True,
                                                                   detection_flip_merge="fusion"))
    _, images = load_labels(str(labels))
    dets = []
    for im in images:
        r = pipe(read_image(tmp_path, im), bgr=True)
        dets.append((r.boxes.astype(np.float64), r.scores.astype(np.float64)))
    want = score(images, dets, 0.1)
    assert want["fp_per_image"] > 0 and got["fp_per_image"] == pytest.approx(want["fp_per_image"])
    assert got["ap"] == pytest.approx(want["ap"], nan_ok=True)
    assert cluenet(args + ["--no-detection-flip-test", "--json", str(tmp_path / "plain.json")]) == 0
    plain = json.loads((tmp_path / "plain.json").read_text())["detectors"]["cluenet"]
    assert "no detection flip test" in plain["note"]
    pipe.set_detection_flip_test(False, merge="nms")   # eval real's default merge joins the two scales
    dets = [(r.boxes.astype(np.float64), r.scores.astype(np.float64))
            for r in (pipe(read_image(tmp_path, im), bgr=True) for im in images)]
    assert plain["fp_per_image"] == pytest.approx(score(images, dets, 0.1)["fp_per_image"])
    with pytest.raises(SystemExit):
        cluenet(args + ["--detection-flip-merge", "mean"])


def _study_tool():
    import importlib.util

    from conftest import REPO

    spec = importlib.util.spec_from_file_location("flip_test_study", REPO / "tools" / "flip_test_study.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_study_tool_merges_the_views_each_candidate_names():
    """tools/flip_test_study.py (session 31): plain is the frame's view, nms and fusion
    merge the frame and its mirror at scale 1 only, flip+S every view."""
    tool = _study_tool()
    box = np.array([[0.0, 0.0, 10.0, 30.0]])
    views = [(box, np.array([0.9])), (box + 0.5, np.array([0.3])),     # scale 1: frame, mirror
             (box + 50, np.array([0.8])), (box + 51, np.array([0.7]))]  # scale S: frame, mirror
    assert tool.combine("plain", views)[1].tolist() == [0.9]
    assert tool.combine("nms", views)[1].tolist() == [0.9]
    np.testing.assert_allclose(tool.combine("fusion", views)[1], [0.6])
    np.testing.assert_allclose(tool.combine("flip+1.25", views)[1], [0.9, 0.8])
    with pytest.raises(ValueError):
        tool.combine("mean", views)
    s = tool.t_summary([1.0, 2.0, 3.0])
    assert s["mean"] == pytest.approx(2.0) and s["lo"] < 2.0 < s["hi"] and s["positive"] == 3
    assert s["hi"] - s["mean"] == pytest.approx(4.303 * 1.0 / 3 ** 0.5, rel=1e-3)  # t(0.975, 2) sd / sqrt(n)


def test_study_tool_soft_nms_decays_overlaps_instead_of_dropping_them():
    """Session 32's candidate: a box overlapping a kept one keeps exp(-IoU^2 / 0.5) of
    its score; a disjoint one keeps all of it; scores under the 0.05 floor go."""
    tool = _study_tool()
    a = [0.0, 0.0, 10.0, 10.0]
    half = [5.0, 0.0, 15.0, 10.0]      # IoU 1/3 with a
    same = [0.0, 0.0, 10.0, 10.0]      # IoU 1 with a
    far = [100.0, 100.0, 110.0, 110.0]
    boxes = np.array([a, half, far, same])
    b, s = tool.soft_nms(boxes, np.array([0.9, 0.8, 0.5, 0.06]))
    assert b.tolist() == [a, half, far]
    np.testing.assert_allclose(s, [0.9, 0.8 * np.exp(-(1 / 3) ** 2 / 0.5), 0.5])
    # the duplicate fell to 0.06 * exp(-2) < 0.05 and was dropped; the merge reads the first two views
    views = [(np.array([a]), np.array([0.9])), (np.array([half]), np.array([0.8])),
             (np.array([far]), np.array([0.7])), (np.array([far]), np.array([0.7]))]
    assert len(tool.combine("softnms", views)[0]) == 2
    assert len(tool.soft_nms(boxes, np.array([0.9, 0.8, 0.5, 0.06]), cap=2)[0]) == 2


def test_study_tool_match_merges_across_views_one_to_one():
    """Addendum 1's candidate: a mirrored box absorbs at most one frame box, and boxes
    of one view never suppress each other (where NMS over the union would)."""
    tool = _study_tool()
    left, right = [0.0, 0.0, 10.0, 20.0], [6.0, 0.0, 16.0, 20.0]   # two people, IoU 0.25
    wide = [2.0, 0.0, 14.0, 20.0]                                    # IoU 0.6 with both
    frame = (np.array([left, right]), np.array([0.6, 0.5]))
    mirror = (np.array([wide]), np.array([0.9]))
    b, s = tool.match_views([frame, mirror])
    # wide absorbs the better of the two (left); right stays, as it would not under NMS
    assert b.tolist() == [wide, right] and s.tolist() == [0.9, 0.5]
    assert len(tool.combine("nms", [frame, mirror])[0]) == 1
    # a box seen in both views is one box with the higher score
    b, s = tool.match_views([(np.array([left]), np.array([0.4])), (np.array([left]) + 0.5, np.array([0.7]))])
    assert len(b) == 1 and s.tolist() == [0.7]


def test_study_tool_agree_keeps_the_frames_boxes_and_raises_agreed_scores():
    """Addendum 2's candidate: no box only the mirror finds; a frame box the mirror
    agrees with takes the higher score, one mirrored box per frame box."""
    tool = _study_tool()
    a, c = [0.0, 0.0, 10.0, 20.0], [50.0, 0.0, 60.0, 20.0]
    frame = (np.array([a, c]), np.array([0.3, 0.6]))
    mirror = (np.array([[0.5, 0.0, 10.5, 20.0], [100.0, 0.0, 110.0, 20.0]]), np.array([0.8, 0.95]))
    b, s = tool.agree_views(frame, mirror)
    assert b.tolist() == [a, c] and s.tolist() == [0.8, 0.6]  # a raised to 0.8; the mirror-only box dropped
    assert tool.combine("agree", [frame, mirror])[1].tolist() == [0.8, 0.6]
    # a lower mirrored score never lowers the frame's
    b, s = tool.agree_views((np.array([a]), np.array([0.7])), (np.array([a]), np.array([0.2])))
    assert s.tolist() == [0.7]


def test_extra_weights_run_the_extra_scale_views_and_load_from_their_file(tmp_path):
    """detection_extra_weights: a second stage 1 runs the extra-scale views (at the extra scale,
    with the views' score floor), the main one the frame; the merge is the same as with one model."""
    from dataclasses import replace

    from cluenet_ros.models.checkpoint import CheckpointError, save_checkpoint

    cfg = PipelineConfig(device="cpu", score_threshold=0.2, nms_iou=0.5, max_detections=20, detection_flip_test=False,
                         detection_extra_scale=1.5, detection_extra_scale_min_height=0.0)
    main = ClueNetPipeline.random(cfg, tiny_stage1_config(), tiny_stage2_config(), seed=0)
    other = ClueNetPipeline.random(cfg, tiny_stage1_config(), tiny_stage2_config(), seed=1).stage1
    pipe = ClueNetPipeline(main.stage1, main.stage2, cfg, extra_stage1=other)
    img = image(seed=7)
    got = pipe(img)
    assert other.roi_heads.score_thresh == pytest.approx(VIEW_SCORE_FLOOR)
    assert pipe.stage1.config.input_scale == other.config.input_scale == 1.0  # neither scale sticks
    with torch.inference_mode():
        t = pipe._to_tensor(img)
        plain = pipe.stage1([t])[0]
        other.set_input_scale(1.5)
        extra = other([t])[0]
        other.set_input_scale(1.0)
        same_model = pipe.stage1.config.input_scale
        pipe.stage1.set_input_scale(1.5)
        own_extra = pipe.stage1([t])[0]
        pipe.stage1.set_input_scale(same_model)
    views = [(o["boxes"].numpy(), o["scores"].numpy()) for o in (plain, extra)]
    want_boxes, want_scores = merge_views(views, 0.2, 0.5, 20)
    assert len(got) == len(want_scores) >= 1
    np.testing.assert_allclose(got.scores, want_scores, atol=1e-6)
    np.testing.assert_allclose(got.boxes, want_boxes, atol=1e-4)
    np.testing.assert_array_equal(got.mask > 0, (torch.stack([plain["mask"], extra["mask"]]).mean(0)
                                                 > cfg.mask_threshold).numpy())
    # it is the other model's views that joined, not the main model's at the extra scale
    alone = merge_views([views[0], (own_extra["boxes"].numpy(), own_extra["scores"].numpy())], 0.2, 0.5, 20)
    assert len(alone[1]) != len(got) or not np.allclose(alone[0], got.boxes)

    # from_checkpoint loads the extra model's stage 1 from its own file
    save_checkpoint(tmp_path / "main.pt", {"stage1": main.stage1, "stage2": main.stage2})
    save_checkpoint(tmp_path / "extra.pt", {"stage1": other})
    loaded = ClueNetPipeline.from_checkpoint(tmp_path / "main.pt",
                                             replace(cfg, detection_extra_weights=str(tmp_path / "extra.pt")))
    state = loaded.extra_stage1.state_dict()
    assert all(torch.equal(v, state[k]) for k, v in other.state_dict().items())
    np.testing.assert_allclose(loaded(img).scores, got.scores, atol=1e-6)
    assert ClueNetPipeline.from_checkpoint(tmp_path / "main.pt", cfg).extra_stage1 is None
    with pytest.raises((CheckpointError, OSError), match="missing.pt"):
        ClueNetPipeline.from_checkpoint(tmp_path / "main.pt", replace(cfg, detection_extra_weights=str(tmp_path / "missing.pt")))
