"""The stage-2 flip test: heatmaps of a crop averaged with those of its mirror
image, mirrored back with left and right swapped (pipeline option ``flip_test``,
node parameter ``flip_test``, ``cluenet eval full --flip-test``, stage-2 validation)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from cluenet_ros import keypoints as kp
from cluenet_ros.inference import ClueNetPipeline, PipelineConfig
from cluenet_ros.inference.geometry import crop_boxes, crop_to_image
from cluenet_ros.models.heatmaps import decode_heatmaps, flip_test_average, gaussian_targets
from conftest import tiny_stage1_config, tiny_stage2_config

H, W, STRIDE = 64, 48, 4


def keypoints(seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    xy = rng.uniform([4, 4], [W - 4, H - 4], size=(2, kp.NUM_KEYPOINTS, 2))
    return torch.from_numpy(np.concatenate([xy, np.ones((2, kp.NUM_KEYPOINTS, 1))], -1)).float()


def mirrored(kps: torch.Tensor) -> torch.Tensor:
    """The same people in the mirrored crop: x -> W - x (pixel-edge coordinates),
    and each keypoint now looks like its left/right partner."""
    out = kps.clone()
    out[..., 0] = W - kps[..., 0]
    return out[:, kp.flip_permutation()]


def targets(kps: torch.Tensor) -> torch.Tensor:
    return gaussian_targets(kps, (H // STRIDE, W // STRIDE), STRIDE, 2.0)[0]


def test_mirrored_heatmaps_map_back_exactly_without_a_shift():
    """A network that is exactly right on the crop and on its mirror gives, after the
    fusion, the crop's own heatmaps: same peaks, no half-cell shift, sides swapped."""
    kps = keypoints(0)
    fused = flip_test_average(targets(kps), targets(mirrored(kps)))
    torch.testing.assert_close(fused, targets(kps), atol=1e-6, rtol=0)
    decoded = decode_heatmaps(fused, STRIDE)
    assert (decoded[..., :2] - kps[..., :2]).abs().max() < 0.05
    # forgetting the left/right swap, or mirroring without the inverse, is caught
    wrong_sides = (targets(mirrored(kps))[:, kp.flip_permutation()].flip(-1)[:, kp.flip_permutation()]
                   + targets(kps)) / 2
    assert (wrong_sides - targets(kps)).abs().max() > 0.1
    assert (flip_test_average(targets(kps), targets(kps)) - targets(kps)).abs().max() > 0.1
    with pytest.raises(ValueError, match="flip test"):
        flip_test_average(targets(kps), targets(kps)[:1])


class _Recording(torch.nn.Module):
    """Stage 2 wrapped to keep the batches it was given."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config, self.batches = inner, inner.config, []

    def forward(self, x):
        self.batches.append(x.clone())
        return self.inner(x)


def test_pipeline_runs_stage2_on_crops_and_mirrors_and_decodes_the_fused_heatmaps():
    torch.manual_seed(0)
    cfg = PipelineConfig(device="cpu", score_threshold=0.0, nms_iou=1.0, max_detections=4)
    pipe = ClueNetPipeline.random(cfg, tiny_stage1_config(), tiny_stage2_config())
    image = np.random.default_rng(1).integers(0, 256, (96, 128, 3), dtype=np.uint8)
    plain = pipe(image)
    assert len(plain) >= 1
    stage2 = pipe.stage2
    pipe.stage2 = _Recording(stage2)
    pipe.set_flip_test(True)
    flipped = pipe(image)
    (batch,) = pipe.stage2.batches
    n = len(plain)
    assert len(batch) == 2 * n and torch.equal(batch[n:], batch[:n].flip(-1))
    np.testing.assert_array_equal(flipped.boxes, plain.boxes)  # stage 1 is untouched
    with torch.no_grad():
        fused = flip_test_average(stage2(batch[:n]), stage2(batch[n:]))
    # the keypoints are the fused heatmaps' peaks, mapped to the image like the plain ones
    regions = crop_boxes(torch.from_numpy(plain.boxes), pipe.crop_hw, cfg.crop_padding)
    stride = stage2.config.heatmap_stride
    with torch.no_grad():
        plain_img = crop_to_image(decode_heatmaps(stage2(batch[:n]), stride), regions, pipe.crop_hw)
    fused_img = crop_to_image(decode_heatmaps(fused, stride), regions, pipe.crop_hw)
    np.testing.assert_allclose(plain.keypoints[..., :2], plain_img[..., :2].numpy(), atol=1e-3)
    np.testing.assert_allclose(flipped.keypoints[..., :2], fused_img[..., :2].numpy(), atol=1e-3)
    np.testing.assert_allclose(flipped.keypoints[..., 2], fused_img[..., 2].clamp(0, 1).numpy(), atol=1e-5)
    assert not np.allclose(flipped.keypoints, plain.keypoints)
    pipe.set_flip_test(False)
    np.testing.assert_array_equal(pipe(image).keypoints, plain.keypoints)
    assert len(pipe.stage2.batches) == 2 and len(pipe.stage2.batches[1]) == n
