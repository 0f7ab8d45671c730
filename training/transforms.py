"""Augmentation and sample preparation: random scale and horizontal flip (both
stages), photometric jitter (off unless configured), segmented crops with Mask and
Predict's patches (stage 2).

All randomness comes from the numpy Generator passed in, which the trainer derives
from (seed, iteration, rank): a batch is a pure function of those.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align
from torchvision.transforms.v2 import functional as TF

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.geometry import crop_boxes, image_to_crop
from cluenet_ros.occlusion import random_patches


def photometric(img: torch.Tensor, rng: np.random.Generator, aug) -> torch.Tensor:
    """Colour, exposure and sharpness jitter of a (3, H, W) float image in [0, 1], as
    torchvision's ColorJitter / RandomGrayscale / GaussianBlur do, but with every draw
    taken from ``rng`` so that a batch stays a function of (seed, iteration, rank).

    ``aug`` is an AugmentConfig. Nothing is drawn when its photometric part is off, so
    configs without it give exactly the batches they gave before it existed."""
    if not aug.photometric:
        return img
    jitters = []
    if aug.brightness:
        jitters.append((TF.adjust_brightness, 1.0 + rng.uniform(-aug.brightness, aug.brightness)))
    if aug.contrast:
        jitters.append((TF.adjust_contrast, 1.0 + rng.uniform(-aug.contrast, aug.contrast)))
    if aug.saturation:
        jitters.append((TF.adjust_saturation, 1.0 + rng.uniform(-aug.saturation, aug.saturation)))
    if aug.hue:
        jitters.append((TF.adjust_hue, rng.uniform(-aug.hue, aug.hue)))
    for k in rng.permutation(len(jitters)):  # ColorJitter's random order
        fn, factor = jitters[k]
        img = fn(img, float(factor))
    if aug.grayscale and rng.random() < aug.grayscale:
        img = TF.rgb_to_grayscale(img, num_output_channels=3)
    if aug.blur and rng.random() < aug.blur:
        sigma = float(rng.uniform(*aug.blur_sigma))
        k = 2 * int(np.ceil(3 * sigma)) + 1
        img = TF.gaussian_blur(img, kernel_size=[k, k], sigma=[sigma, sigma])
    if aug.random_conv and rng.random() < aug.random_conv:
        img = random_convolution(img.clamp(0.0, 1.0), rng, aug.random_conv_kernels)
    return img.clamp(0.0, 1.0)


def random_convolution(img: torch.Tensor, rng: np.random.Generator, kernels) -> torch.Tensor:
    """RandConv (Xu et al., ICLR 2021) for a (3, H, W) image in [0, 1]: a 3->3 convolution
    with weights drawn afresh (He-scaled normal, kernel size drawn from ``kernels``),
    blended with the image by a weight drawn uniformly in [0, 1].

    Rendered surfaces differ from photographed ones in local texture and colour far more
    than in shape; a random linear filter scrambles the former and keeps the latter, so
    a detector trained through it has to rank people by shape. Each output channel is
    rescaled to the mean and spread of the image's own channel, so the exposure range
    the detector sees stays that of a photograph (an unscaled random filter gives values
    far outside [0, 1]). Reflect padding keeps the border from turning into an edge."""
    k = int(rng.choice(np.asarray(kernels)))
    weight = rng.normal(0.0, 1.0 / np.sqrt(3 * k * k), size=(3, 3, k, k))
    x = img[None]
    if k > 1:
        x = F.pad(x, (k // 2,) * 4, mode="reflect")
    out = F.conv2d(x, torch.as_tensor(weight, dtype=img.dtype, device=img.device))[0]
    dims = (1, 2)
    out = (out - out.mean(dims, keepdim=True)) / out.std(dims, keepdim=True).clamp_min(1e-6)
    out = out * img.std(dims, keepdim=True) + img.mean(dims, keepdim=True)
    alpha = float(rng.uniform(0.0, 1.0))
    return alpha * img + (1.0 - alpha) * out


def stage1_sample(rec, rng: np.random.Generator, scale_range, hflip: float, keypoints: np.ndarray | None = None,
                  aug=None, plates=None):
    """(image (3, H, W) float in [0, 1], {'boxes', 'mask'}) after scale, flip, (with
    ``plates``, a PlateBank, and ``aug.background_plate``) a real background photograph
    behind the people, and (with ``aug``, an AugmentConfig) photometric jitter, which
    then acts on person and photograph alike.

    With ``keypoints`` (N, 13, 3, one row per box) the target also holds them, moved
    with the image (a flip swaps left and right), and box-less rows are dropped alike.
    """
    img = torch.from_numpy(np.ascontiguousarray(rec.image)).permute(2, 0, 1).float().div_(255)
    mask = torch.from_numpy(rec.mask)
    boxes = torch.from_numpy(rec.boxes).float().reshape(-1, 4)
    ignore = getattr(rec, "ignore_boxes", None)
    n_boxes = len(boxes)
    if ignore is not None:  # moved with the boxes, split off again below
        boxes = torch.cat([boxes, torch.from_numpy(ignore).float().reshape(-1, 4)])
    kps = None if keypoints is None else torch.from_numpy(keypoints).float().reshape(-1, kp.NUM_KEYPOINTS, 3).clone()
    s = float(rng.uniform(*scale_range)) if scale_range[0] != scale_range[1] else scale_range[0]
    if s != 1.0:
        h, w = img.shape[1:]
        nh, nw = max(8, round(h * s)), max(8, round(w * s))
        img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", align_corners=False)[0]
        mask = F.interpolate(mask[None, None].float(), size=(nh, nw), mode="nearest")[0, 0].to(torch.uint8)
        boxes = boxes * torch.tensor([nw / w, nh / h, nw / w, nh / h])
        if kps is not None:
            kps[..., :2] *= torch.tensor([nw / w, nh / h])
    if rng.random() < hflip:
        w = img.shape[2]
        img, mask = img.flip(-1), mask.flip(-1)
        boxes = torch.stack([w - boxes[:, 2], boxes[:, 1], w - boxes[:, 0], boxes[:, 3]], dim=1)
        if kps is not None:
            kps[..., 0] = w - kps[..., 0]
            kps = kps[:, kp.flip_permutation()]
    if plates is not None and aug is not None and aug.background_plate and rng.random() < aug.background_plate:
        img = plates.composite(img, mask, rng)
    if aug is not None:
        img = photometric(img, rng, aug)
    boxes, ignore_boxes = boxes[:n_boxes], boxes[n_boxes:]
    keep = (boxes[:, 2] - boxes[:, 0] >= 2) & (boxes[:, 3] - boxes[:, 1] >= 2)
    target = {"boxes": boxes[keep], "mask": mask}
    if ignore is not None:
        target["ignore_boxes"] = ignore_boxes
    if kps is not None:
        target["keypoints"] = kps[keep]
    return img, target


def keypoint_image_sample(rec, rng: np.random.Generator, scale_range, hflip: float, aug=None):
    """(image, {'boxes', 'labels', 'keypoints'}) for torchvision's Keypoint R-CNN
    from a KeypointImageRecord; keypoint flags become torchvision's (1 labelled)."""
    img, target = stage1_sample(rec, rng, scale_range, hflip, rec.keypoints, aug)
    kps = target["keypoints"]
    kps[..., 2] = (kps[..., 2] > 0).float()
    return img, {"boxes": target["boxes"], "labels": torch.ones(len(kps), dtype=torch.int64), "keypoints": kps}


def person_crop(rec, crop_hw: tuple[int, int], padding: float, rng: np.random.Generator | None,
                scale_range=(1.0, 1.0), hflip: float = 0.0, hide_fraction: float = 0.0, aug=None,
                box_shift: float = 0.0):
    """A segmented crop as stage 2 sees it at inference (same geometry and soft
    segmentation as the pipeline: roi_align of image x mask), with keypoints in crop
    pixels and Mask and Predict's black patches.

    Only the window of the image that roi_align samples (the crop region plus one
    pixel) is converted to float, not the whole image.

    Returns crop (3, h, w) float, keypoints (13, 3) crop x, y, v, the crop's person
    mask (h, w) bool (after patches) and the patches (h, w) bool. ``box_shift`` moves the
    box off the person (draws nothing when 0, so runs without it repeat). Photometric jitter
    (``aug``) applies to the image window before the mask multiplies it, so the crop
    stays black outside the person."""
    box = torch.from_numpy(rec.box).float()[None]
    if rng is not None and box_shift > 0:
        # the box, not the person, moves: the keypoint targets stay where the person is
        size = (box[0, 2:] - box[0, :2]).clamp(min=1.0)
        box = box + (torch.from_numpy(rng.uniform(-box_shift, box_shift, 2)).float() * size).repeat(2)[None]
    if rng is not None and scale_range[0] != scale_range[1]:
        # a larger scale shows the person larger: shrink the crop region around it
        s = float(rng.uniform(*scale_range))
        region = crop_boxes(box, crop_hw, padding / s)
    else:
        region = crop_boxes(box, crop_hw, padding)
    h, w = rec.image.shape[:2]
    r = region[0].tolist()
    x0 = min(max(int(np.floor(r[0])) - 1, 0), w - 1)
    y0 = min(max(int(np.floor(r[1])) - 1, 0), h - 1)
    x1 = max(min(int(np.ceil(r[2])) + 2, w), x0 + 1)
    y1 = max(min(int(np.ceil(r[3])) + 2, h), y0 + 1)
    img = torch.from_numpy(np.ascontiguousarray(rec.image[y0:y1, x0:x1])).permute(2, 0, 1).float().div_(255)
    if rng is not None and aug is not None:
        img = photometric(img, rng, aug)
    m = torch.from_numpy(np.ascontiguousarray(rec.mask[y0:y1, x0:x1]).astype(np.float32))[None]
    # outside the image roi_align reads zeros (beyond one pixel) or the edge pixel, as on the
    # whole image, because the window only stops short of the image where nothing is sampled
    local = region - torch.tensor([x0, y0, x0, y0], dtype=region.dtype)
    stacked = torch.cat([img * m, m])[None]
    out = roi_align(stacked, [local], output_size=crop_hw, sampling_ratio=2, aligned=True)[0]
    crop, cmask = out[:3], out[3] > 0.5
    kps = torch.from_numpy(rec.keypoints).float()[None].clone()
    kps[..., :2] = image_to_crop(kps[..., :2], region, crop_hw)
    kps = kps[0]
    if rng is not None and rng.random() < hflip:
        crop, cmask = crop.flip(-1), cmask.flip(-1)
        kps[:, 0] = crop_hw[1] - kps[:, 0]
        kps = kps[kp.flip_permutation()]
    patches = torch.zeros_like(cmask)
    if rng is not None and hide_fraction > 0:
        patches = torch.from_numpy(random_patches(cmask.numpy(), hide_fraction, rng))
        crop = crop * (~patches).float()
        cmask = cmask & ~patches
    return crop, kps, cmask, patches
