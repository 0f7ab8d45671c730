"""Photometric augmentation (training/transforms.photometric): off by default with no
random draws, deterministic from the rng, each jitter doing what its name says, and
stage 2's crops staying black outside the person."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cluenet_training.config import AugmentConfig, load_stage1
from cluenet_training.transforms import person_crop, photometric, random_convolution, stage1_sample


def _image(seed: int = 0, h: int = 48, w: int = 64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, h, w, generator=g) * 0.8 + 0.1


def _record(h: int = 96, w: int = 64):
    rng = np.random.default_rng(3)
    image = rng.integers(30, 220, size=(h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), np.uint8)
    mask[20:80, 20:44] = 1
    return SimpleNamespace(image=image, mask=mask, box=np.array([20.0, 20.0, 44.0, 80.0]),
                           boxes=np.array([[20.0, 20.0, 44.0, 80.0]]),
                           keypoints=np.zeros((13, 3), np.float32))


def test_off_by_default_draws_nothing_and_changes_nothing():
    aug = AugmentConfig()
    assert not aug.photometric
    img, rng = _image(), np.random.default_rng(5)
    out = photometric(img, rng, aug)
    assert torch.equal(out, img)
    assert rng.random() == np.random.default_rng(5).random()  # the stream was not advanced
    # a stage-1 sample with the default config equals one without the argument
    rec = _record()
    a, ta = stage1_sample(rec, np.random.default_rng(1), (0.8, 1.2), 0.5, None, aug)
    b, tb = stage1_sample(rec, np.random.default_rng(1), (0.8, 1.2), 0.5)
    assert torch.equal(a, b) and torch.equal(ta["boxes"], tb["boxes"])


def test_same_rng_same_result_and_jitter_changes_the_image():
    aug = AugmentConfig(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1, blur=0.5)
    img = _image()
    a = photometric(img.clone(), np.random.default_rng(7), aug)
    b = photometric(img.clone(), np.random.default_rng(7), aug)
    c = photometric(img.clone(), np.random.default_rng(8), aug)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert (a - img).abs().mean() > 1e-3
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_brightness_scales_the_image_by_the_drawn_factor():
    aug = AugmentConfig(brightness=0.5)
    img = _image() * 0.5  # no clipping at 1.5x
    factor = 1.0 + np.random.default_rng(11).uniform(-0.5, 0.5)
    out = photometric(img.clone(), np.random.default_rng(11), aug)
    torch.testing.assert_close(out, (img * factor).clamp(0, 1))


def test_grayscale_gives_three_equal_channels_with_the_luma():
    out = photometric(_image(), np.random.default_rng(0), AugmentConfig(grayscale=1.0))
    assert torch.equal(out[0], out[1]) and torch.equal(out[1], out[2])
    img = _image()
    luma = 0.299 * img[0] + 0.587 * img[1] + 0.114 * img[2]
    torch.testing.assert_close(out[0], luma, atol=1e-4, rtol=1e-4)


def test_blur_smooths():
    img = _image()
    out = photometric(img.clone(), np.random.default_rng(0), AugmentConfig(blur=1.0, blur_sigma=(1.0, 1.5)))
    # neighbouring pixels of uniform noise differ much less after a Gaussian blur
    assert out.diff(dim=-1).abs().mean() < 0.5 * img.diff(dim=-1).abs().mean()
    # mean brightness is kept (reflect padding, normalised kernel)
    assert float(out.mean()) == pytest.approx(float(img.mean()), abs=0.01)


def test_stage2_crop_stays_black_outside_the_person_under_jitter():
    rec = _record()
    aug = AugmentConfig(brightness=0.5, contrast=0.5, saturation=0.5, hue=0.2)
    plain, _, person, _ = person_crop(rec, (64, 48), 1.1, np.random.default_rng(2))
    crop, _, person2, _ = person_crop(rec, (64, 48), 1.1, np.random.default_rng(2), aug=aug)
    assert torch.equal(person, person2)
    outside = plain.abs().amax(dim=0) == 0
    assert outside.any()
    assert float(crop[:, outside].abs().max()) == 0.0
    assert (crop[:, person] - plain[:, person]).abs().mean() > 1e-3


def test_config_ranges_are_checked_on_load(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train: {format: split, root: x}\naugment: {hue: 0.7}\n")
    with pytest.raises(ValueError, match="hue"):
        load_stage1(p)
    p.write_text("train: {format: split, root: x}\naugment: {blur: 0.5, blur_sigma: [2.0, 1.0]}\n")
    with pytest.raises(ValueError, match="blur_sigma"):
        load_stage1(p)
    p.write_text("train: {format: split, root: x}\naugment: {brightness: 0.3, grayscale: 0.1}\n")
    aug = load_stage1(p).augment
    assert aug.photometric and aug.brightness == 0.3 and aug.grayscale == 0.1


def _pixelwise_affine_residual(img: torch.Tensor, out: torch.Tensor) -> float:
    """How far ``out`` is from an affine function of each pixel's own colour (least squares)."""
    x = torch.cat([img.reshape(3, -1), torch.ones(1, img[0].numel(), dtype=img.dtype)]).T.double()
    y = out.reshape(3, -1).T.double()
    coef = torch.linalg.lstsq(x, y).solution
    return float((x @ coef - y).abs().max())


def test_random_convolution_keeps_channel_means_and_a_1x1_kernel_maps_colours_only():
    img = _image(seed=4)
    out = random_convolution(img, np.random.default_rng(3), (1,))
    torch.testing.assert_close(out.mean(dim=(1, 2)), img.mean(dim=(1, 2)), atol=1e-5, rtol=0)
    assert (out - img).abs().mean() > 1e-3
    # a 1x1 kernel is a colour mapping: every output pixel depends on its own colour only
    assert _pixelwise_affine_residual(img, out) < 1e-4
    # a 5x5 kernel mixes neighbours, which no colour mapping can give
    wide = random_convolution(img, np.random.default_rng(3), (5,))
    assert _pixelwise_affine_residual(img, wide) > 1e-2


def test_random_convolution_is_drawn_from_the_rng_and_stays_in_range():
    aug = AugmentConfig(random_conv=1.0)
    assert aug.photometric
    img = _image(seed=5)
    a = photometric(img.clone(), np.random.default_rng(9), aug)
    b = photometric(img.clone(), np.random.default_rng(9), aug)
    c = photometric(img.clone(), np.random.default_rng(10), aug)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == img.shape and float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    # probability 0 of the convolution with another jitter on: the convolution draws nothing
    jitter_only = AugmentConfig(brightness=0.3)
    torch.testing.assert_close(photometric(img.clone(), np.random.default_rng(9), jitter_only),
                               photometric(img.clone(), np.random.default_rng(9),
                                           AugmentConfig(brightness=0.3, random_conv=0.0)))


def test_random_convolution_kernels_are_checked_on_load(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("train: {format: split, root: x}\naugment: {random_conv: 0.5, random_conv_kernels: [1, 4]}\n")
    with pytest.raises(ValueError, match="random_conv_kernels"):
        load_stage1(p)
    p.write_text("train: {format: split, root: x}\naugment: {random_conv: 1.5}\n")
    with pytest.raises(ValueError, match="random_conv"):
        load_stage1(p)
    p.write_text("train: {format: split, root: x}\naugment: {random_conv: 0.5, random_conv_kernels: [3]}\n")
    aug = load_stage1(p).augment
    assert aug.random_conv == 0.5 and aug.random_conv_kernels == (3,)
