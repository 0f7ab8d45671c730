"""Every run-time setting of the inference pipeline changes its output as it says.

Random weights, so the checks are properties that hold for any weights (scores
above the threshold, no pair of boxes overlapping beyond the NMS IoU, ...), each
paired with the opposite setting to show the property is not there by chance.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.models.stage1 import ClueNetStage1
from conftest import tiny_stage1_config, tiny_stage2_config


def make_pipeline(**cfg) -> ClueNetPipeline:
    torch.manual_seed(0)
    base = dict(device="cpu", score_threshold=0.0, nms_iou=1.0, max_detections=100)
    base.update(cfg)
    return ClueNetPipeline.random(PipelineConfig(**base), tiny_stage1_config(), tiny_stage2_config())


@pytest.fixture(scope="module")
def pipeline():
    return make_pipeline()


def image(seed=0, h=96, w=128):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def max_pairwise_iou(boxes: np.ndarray) -> float:
    if len(boxes) < 2:
        return 0.0
    iou = box_iou(torch.from_numpy(boxes), torch.from_numpy(boxes))
    iou.fill_diagonal_(0)
    return float(iou.max())


def test_nms_iou_bounds_the_overlap_of_reported_boxes(pipeline):
    try:
        pipeline.set_thresholds(nms_iou=1.0)
        loose = pipeline(image())
        pipeline.set_thresholds(nms_iou=0.15)
        tight = pipeline(image())
    finally:
        pipeline.set_thresholds(nms_iou=1.0)
    # (the RPN's own NMS at 0.7 already thinned the proposals)
    assert max_pairwise_iou(loose.boxes) > 0.3  # the setting has something to suppress
    assert 1 <= len(tight) < len(loose)
    assert max_pairwise_iou(tight.boxes) <= 0.15 + 1e-6
    # NMS keeps the highest-scoring box of each cluster
    assert tight.scores[0] == pytest.approx(loose.scores[0])


def test_nms_iou_from_the_start_configuration():
    res = make_pipeline(nms_iou=0.15)(image())
    assert len(res) >= 1 and max_pairwise_iou(res.boxes) <= 0.15 + 1e-6


def test_score_threshold_and_max_detections(pipeline):
    everything = pipeline(image(1))
    assert len(everything) > 5
    cut = float(np.median(everything.scores))
    try:
        pipeline.set_thresholds(score=cut)
        above = pipeline(image(1))
        pipeline.set_thresholds(score=0.0, max_detections=3)
        top3 = pipeline(image(1))
    finally:
        pipeline.set_thresholds(score=0.0, max_detections=100)
    assert len(above) == int((everything.scores > cut).sum())
    assert (above.scores > cut).all()
    assert len(top3) == 3 and np.allclose(top3.scores, everything.scores[:3])
    res = make_pipeline(score_threshold=cut, max_detections=2)(image(1))
    assert len(res) == 2 and (res.scores > cut).all()


@pytest.mark.parametrize("quantile", [0.3, 0.7])
def test_mask_threshold_cuts_the_stage1_probability(pipeline, quantile):
    img = image(2)
    with torch.inference_mode():
        prob = pipeline.stage1([torch.from_numpy(img).permute(2, 0, 1).float() / 255])[0]["mask"].numpy()
    # random weights put every probability near 0.5: cut at a quantile of them
    threshold = float(np.quantile(prob, quantile))
    # stage 1 alone (the flip test and the second scale average several views' probabilities:
    # test_detection_flip.py)
    res = make_pipeline(mask_threshold=threshold, detection_flip_test=False, detection_extra_scale=0.0)(img)
    expected = np.where(prob > threshold, 255, 0).astype(np.uint8)
    assert 0.2 < (expected > 0).mean() < 0.8
    assert np.array_equal(res.mask, expected)


def test_bgr_input_is_swapped(pipeline):
    img = image(3)
    a = pipeline(img)
    b = pipeline(np.ascontiguousarray(img[..., ::-1]), bgr=True)
    assert np.allclose(a.boxes, b.boxes) and np.array_equal(a.mask, b.mask)
    c = pipeline(np.ascontiguousarray(img[..., ::-1]))
    assert not np.array_equal(a.mask, c.mask) or not np.allclose(a.scores, c.scores)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_input_scale_results_stay_in_input_pixels(scale):
    """Stage 1 at ``input_scale`` s on an image equals stage 1 at scale 1 on the
    image resized by s, with boxes and mask mapped back by 1/s."""
    torch.manual_seed(0)
    scaled = ClueNetStage1(tiny_stage1_config(input_scale=scale)).eval()
    plain = ClueNetStage1(tiny_stage1_config()).eval()
    plain.load_state_dict(scaled.state_dict())
    for m in (scaled, plain):
        m.set_thresholds(score=0.0, nms_iou=1.0, max_detections=100)
    img = torch.rand(3, 128, 192, generator=torch.Generator().manual_seed(4))
    small = F.interpolate(img[None], scale_factor=scale, mode="bilinear", align_corners=False)[0]
    with torch.inference_mode():
        out = scaled([img])[0]
        ref = plain([small])[0]
    assert out["mask"].shape == (128, 192)
    assert len(out["boxes"]) == len(ref["boxes"]) > 0
    assert torch.allclose(out["boxes"], ref["boxes"] / scale, atol=1e-3)
    ref_mask = F.interpolate(ref["mask"][None, None], size=(128, 192), mode="bilinear", align_corners=False)[0, 0]
    assert torch.allclose(out["mask"], ref_mask, atol=1e-5)


def test_input_scale_set_at_run_time_reaches_the_model(pipeline):
    img = image(5, 128, 192)
    try:
        pipeline.set_input_scale(0.5)
        half = pipeline(img)
    finally:
        pipeline.set_input_scale(1.0)
    full = pipeline(img)
    assert half.mask.shape == full.mask.shape == (128, 192)
    # boxes cover the same image: neither shrunk into the top-left quarter nor cut off
    assert half.boxes[:, 2].max() > 96 or half.boxes[:, 3].max() > 64
    assert not np.allclose(half.boxes[:3], full.boxes[:3])
    with pytest.raises(ValueError, match="input scale"):
        pipeline.set_input_scale(0.0)


def test_stage2_crops_are_the_image_times_the_stage1_mask(pipeline):
    """What stage 2 sees: the pedestrian's crop with everything off the mask black."""
    img = torch.rand(3, 96, 128, generator=torch.Generator().manual_seed(6)) + 0.1  # no black pixel
    mask = torch.zeros(96, 128, dtype=torch.bool)
    mask[:, :64] = True                                   # the left half is 'pedestrian'
    boxes = torch.tensor([[40.0, 10.0, 90.0, 90.0]])      # straddles the mask's edge
    crops, crop_masks, _ = pipeline._crop([img], [mask], [boxes])
    off, on = crop_masks[0] == 0, crop_masks[0] == 1
    assert off.any() and on.any()
    assert crops[0][:, off].abs().max() == 0
    assert (crops[0][:, on] > 0.05).all()


def test_perspective_rescoring_keeps_the_boxes_on_the_frames_height_line(pipeline):
    """With every box an anchor (random weights give few confident ones), the published
    boxes are the plain ones rescored by the frame's height line, those left above the
    threshold, best first; switched off again, the plain output comes back."""
    from cluenet_ros.inference.perspective import PerspectiveSettings, rescore_detections

    img = image(seed=3)
    plain = pipeline(img)
    try:
        pipeline.set_perspective(True, anchor_score=0.01, tolerance=0.1, sigma=0.05)
        rescored = pipeline(img)
        with pytest.raises(ValueError, match="sigma"):
            pipeline.set_perspective(True, sigma=0.0)
    finally:
        pipeline.set_perspective(False)
    rows, scores = rescore_detections(plain.boxes, plain.scores, img.shape[0], PerspectiveSettings(0.01, 0.1, 0.05),
                                      pipeline.config.score_threshold)
    assert len(plain) >= 3 and (len(rows) < len(plain) or not np.allclose(scores, plain.scores))
    np.testing.assert_allclose(rescored.boxes, plain.boxes[rows], atol=1e-5)
    np.testing.assert_allclose(rescored.scores, scores, atol=1e-6)
    again = pipeline(img)
    np.testing.assert_allclose(again.scores, plain.scores, atol=1e-6)


def test_extra_scale_min_height_keeps_only_its_tall_boxes():
    """Boxes of the extra scale's views shorter than detection_extra_scale_min_height never
    reach the merge: at the largest height the boxes are the main views' alone; at a middle
    one, every box the main views did not give is at least that tall."""
    pipe = make_pipeline(detection_flip_test=True, detection_extra_scale=0.0)
    img = image(seed=5, h=128, w=192)
    main = pipe(img)
    pipe.set_detection_extra_scale(0.5, min_height=0.0)
    both = pipe(img)
    pipe.set_detection_extra_scale(0.5, min_height=4096.0)
    none = pipe(img)
    cut = float(np.median(both.boxes[:, 3] - both.boxes[:, 1]))
    pipe.set_detection_extra_scale(0.5, min_height=cut)
    tall = pipe(img)
    with pytest.raises(ValueError, match="min_height"):
        pipe.set_detection_extra_scale(0.5, min_height=-1.0)
    assert pipe.config.detection_extra_scale_min_height == cut
    np.testing.assert_allclose(none.boxes, main.boxes, atol=1e-4)
    np.testing.assert_allclose(none.scores, main.scores, atol=1e-6)
    assert len(both) != len(main) or not np.allclose(both.boxes, main.boxes, atol=1e-3)
    added = [b for b in tall.boxes if np.abs(main.boxes - b).max(axis=1).min() > 1e-3]
    assert added and all(b[3] - b[1] >= cut - 1e-3 for b in added)
