"""ClueNet stage 1: one network that segments pedestrians and detects their
full-body boxes (section 3.1 of the paper).

Encoder: ResNet trunk -> two vertical Inception blocks -> channel attention (eq. 1).
Heads on the attended features F_att: a segmentation decoder (BCE loss) and a
Faster R-CNN detector assembled from torchvision's RPN and RoI heads.
Loss (eq. 2): loss_total = loss_seg + lambda * loss_det.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.ops import MultiScaleRoIAlign

from cluenet_ros.config import spec
from cluenet_ros.models.blocks import (ChannelAttention, SegmentationDecoder, VerticalInception,
                                       trunc_normal_init)
from cluenet_ros.models.trunk import STAGES, TRUNKS, Trunk

IGNORE = 255  # mask value excluded from the segmentation loss (padding, ignore regions)


@dataclass(frozen=True)
class RPNConfig:
    pre_nms_top_n_train: int = spec(2000, min=1)
    pre_nms_top_n_test: int = spec(1000, min=1)
    post_nms_top_n_train: int = spec(2000, min=1)
    post_nms_top_n_test: int = spec(300, min=1)
    nms_thresh: float = spec(0.7, min=0.0, max=1.0)
    fg_iou_thresh: float = spec(0.7, min=0.0, max=1.0)
    bg_iou_thresh: float = spec(0.3, min=0.0, max=1.0)
    batch_size_per_image: int = spec(256, min=1)
    positive_fraction: float = spec(0.5, min=0.0, max=1.0)


@dataclass(frozen=True)
class RoIConfig:
    pool_size: int = spec(7, min=1)
    sampling_ratio: int = spec(2, min=0)
    representation_size: int = spec(1024, min=1)
    fg_iou_thresh: float = spec(0.5, min=0.0, max=1.0)
    bg_iou_thresh: float = spec(0.5, min=0.0, max=1.0)
    batch_size_per_image: int = spec(512, min=1)
    positive_fraction: float = spec(0.25, min=0.0, max=1.0)
    score_thresh: float = spec(0.05, min=0.0, max=1.0, help="minimum detection score kept")
    nms_thresh: float = spec(0.5, min=0.0, max=1.0, help="IoU above which NMS drops a box")
    detections_per_img: int = spec(100, min=1)


@dataclass(frozen=True)
class Stage1Config:
    trunk: str = spec("resnet50", choices=TRUNKS)
    trunk_weights: str = spec("none", help="'none' (random init), 'imagenet' (torchvision download) "
                                           "or a local .pth file")
    output_stride: int = spec(16, choices=(16, 32))
    inception_channels: int = spec(640, min=10)
    attention: bool = spec(True, help="channel attention of eq. 1 (off for the ablation)")
    seg_width: int = spec(256, min=8)
    init_std: float = spec(0.1, min=0.0, help="std of the truncated normal init of new layers")
    frozen_stages: int = spec(0, min=0, max=len(STAGES),
                              help="number of trunk stages (stem, layer1..4) frozen, from the first")
    input_scale: float = spec(1.0, min=0.05, max=4.0,
                              help="images are resized by this factor before the network; "
                                   "outputs are mapped back to the input size")
    size_divisible: int = spec(32, min=1)
    pixel_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    pixel_std: tuple[float, float, float] = (0.229, 0.224, 0.225)
    anchor_sizes: tuple[int, ...] = spec((32, 64, 128, 256, 512), min=1,
                                         help="anchor heights' square-root areas, pixels")
    anchor_aspect_wh: tuple[float, ...] = spec((0.41,), min=0.01,
                                               help="anchor width/height; CityPersons uses 0.41")
    loss_lambda: float = spec(1.0, min=0.0, help="weight of the detection loss (eq. 2)")
    rpn: RPNConfig = field(default_factory=RPNConfig)
    roi: RoIConfig = field(default_factory=RoIConfig)

    def validate(self) -> None:
        if self.output_stride == 16 and self.trunk not in ("resnet50", "mobilenet_v3_large"):
            raise ValueError("output_stride 16 (dilated conv5) needs trunk resnet50 or mobilenet_v3_large")
        if self.size_divisible % self.output_stride:
            raise ValueError(f"size_divisible {self.size_divisible} must be a multiple of "
                             f"output_stride {self.output_stride}")


class ClueNetStage1(nn.Module):
    """Multi-task pedestrian segmentation and full-body detection.

    Input: a list of float images (3, H, W) in [0, 1], any sizes. Training also takes
    targets: per image ``boxes`` (N, 4, xyxy, full body, input pixels) and ``mask``
    (H, W, uint8: 1 pedestrian, 0 background, 255 ignored). Training returns the loss
    dict; evaluation returns per image ``boxes``, ``scores`` and ``mask`` (pedestrian
    probability, H x W at the input size).
    """

    def __init__(self, config: Stage1Config | None = None):
        super().__init__()
        cfg = config or Stage1Config()
        self.config = cfg
        self.trunk = Trunk(cfg.trunk, cfg.trunk_weights, cfg.output_stride)
        c = cfg.inception_channels
        self.inception = nn.Sequential(VerticalInception(self.trunk.out_channels, c), VerticalInception(c, c))
        self.attention = ChannelAttention(c) if cfg.attention else nn.Identity()
        self.seg_decoder = SegmentationDecoder(c, cfg.output_stride, width=cfg.seg_width)
        for new in (self.inception, self.attention, self.seg_decoder):
            trunc_normal_init(new, cfg.init_std)

        aspect_hw = tuple(1.0 / a for a in cfg.anchor_aspect_wh)  # torchvision uses height / width
        anchors = AnchorGenerator(sizes=(cfg.anchor_sizes,), aspect_ratios=(aspect_hw,))
        r = cfg.rpn
        self.rpn = RegionProposalNetwork(
            anchors, RPNHead(c, anchors.num_anchors_per_location()[0]),
            r.fg_iou_thresh, r.bg_iou_thresh, r.batch_size_per_image, r.positive_fraction,
            pre_nms_top_n={"training": r.pre_nms_top_n_train, "testing": r.pre_nms_top_n_test},
            post_nms_top_n={"training": r.post_nms_top_n_train, "testing": r.post_nms_top_n_test},
            nms_thresh=r.nms_thresh,
        )
        o = cfg.roi
        self.roi_heads = RoIHeads(
            MultiScaleRoIAlign(["0"], output_size=o.pool_size, sampling_ratio=o.sampling_ratio),
            TwoMLPHead(c * o.pool_size ** 2, o.representation_size),
            FastRCNNPredictor(o.representation_size, num_classes=2),
            o.fg_iou_thresh, o.bg_iou_thresh, o.batch_size_per_image, o.positive_fraction,
            bbox_reg_weights=None, score_thresh=o.score_thresh, nms_thresh=o.nms_thresh,
            detections_per_img=o.detections_per_img,
        )
        self.register_buffer("pixel_mean", torch.tensor(cfg.pixel_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(cfg.pixel_std).view(1, 3, 1, 1), persistent=False)
        self.frozen_stages = 0
        self.freeze_trunk_stages(cfg.frozen_stages)

    # -- gradual unfreezing -------------------------------------------------------
    def freeze_trunk_stages(self, count: int) -> None:
        """Freeze the first ``count`` trunk stages and unfreeze the rest.

        Gradual unfreezing (section 4.2) starts at 5 (whole trunk frozen) and counts
        down, so stages thaw from the last (layer4) to the first (stem). Frozen
        stages also keep their batch-norm statistics fixed.
        """
        if not 0 <= count <= len(STAGES):
            raise ValueError(f"frozen stages must be within 0..{len(STAGES)}, got {count}")
        self.frozen_stages = count
        for i, name in enumerate(STAGES):
            for p in self.trunk.stage(name).parameters():
                p.requires_grad_(i >= count)
        self._apply_frozen_bn()

    def _apply_frozen_bn(self) -> None:
        """Frozen stages' BN keeps its statistics (eval mode); a stage that thaws
        must get the model's mode back, or its BN would keep normalising with the
        statistics it had when frozen (for a random trunk: none at all)."""
        for i, name in enumerate(STAGES):
            for m in self.trunk.stage(name).modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.train(self.training and i >= self.frozen_stages)

    def train(self, mode: bool = True) -> "ClueNetStage1":
        super().train(mode)
        if mode:
            self._apply_frozen_bn()
        return self

    # -- thresholds that may change at run time -----------------------------------
    def set_thresholds(self, score: float | None = None, nms_iou: float | None = None,
                       max_detections: int | None = None) -> None:
        if score is not None:
            self.roi_heads.score_thresh = float(score)
        if nms_iou is not None:
            self.roi_heads.nms_thresh = float(nms_iou)
        if max_detections is not None:
            self.roi_heads.detections_per_img = int(max_detections)

    # -- forward --------------------------------------------------------------------
    def features(self, x: torch.Tensor) -> torch.Tensor:
        """F_att for a normalised, padded batch."""
        return self.attention(self.inception(self.trunk(x)))

    def _prepare(self, images: list[torch.Tensor], targets: list[dict] | None):
        scale = self.config.input_scale
        sizes, scaled, new_targets = [], [], []
        for i, img in enumerate(images):
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(f"image {i}: expected a (3, H, W) tensor, got {tuple(img.shape)}")
            h, w = img.shape[-2:]
            if scale != 1.0:
                nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
                img = F.interpolate(img[None], size=(nh, nw), mode="bilinear", align_corners=False)[0]
            sizes.append((int(img.shape[-2]), int(img.shape[-1])))
            scaled.append(img)
            if targets is not None:
                t = dict(targets[i])
                if scale != 1.0:
                    t["boxes"] = t["boxes"] * torch.tensor(
                        [sizes[-1][1] / w, sizes[-1][0] / h] * 2, device=t["boxes"].device)
                    t["mask"] = F.interpolate(t["mask"][None, None].float(), size=sizes[-1],
                                              mode="nearest")[0, 0].to(torch.uint8)
                t.setdefault("labels", torch.ones(len(t["boxes"]), dtype=torch.int64,
                                                  device=t["boxes"].device))
                new_targets.append(t)
        d = self.config.size_divisible
        ph = int(math.ceil(max(s[0] for s in sizes) / d) * d)
        pw = int(math.ceil(max(s[1] for s in sizes) / d) * d)
        batch = scaled[0].new_zeros((len(scaled), 3, ph, pw))
        for b, img in zip(batch, scaled):
            b[:, : img.shape[1], : img.shape[2]].copy_(img)
        batch = (batch - self.pixel_mean) / self.pixel_std
        # padding is zero after normalisation, like torchvision's detection transform
        for b, (h, w) in zip(batch, sizes):
            b[:, h:, :] = 0
            b[:, :, w:] = 0
        return ImageList(batch, sizes), (new_targets if targets is not None else None)

    def forward(self, images: list[torch.Tensor] | torch.Tensor, targets: list[dict] | None = None):
        images = list(images)
        if self.training and targets is None:
            raise ValueError("training forward needs targets")
        original_sizes = [(int(i.shape[-2]), int(i.shape[-1])) for i in images]
        image_list, targets = self._prepare(images, targets if self.training else None)
        feats = self.features(image_list.tensors)
        seg_logits = self.seg_decoder(feats, tuple(image_list.tensors.shape[-2:]))
        fmap = OrderedDict([("0", feats)])
        proposals, rpn_losses = self.rpn(image_list, fmap, targets)
        detections, det_losses = self.roi_heads(fmap, proposals, image_list.image_sizes, targets)
        if self.training:
            losses = {**rpn_losses, **det_losses}
            losses["loss_seg"] = self._seg_loss(seg_logits[:, 0], targets)
            losses["loss_det"] = sum(v for k, v in losses.items() if k != "loss_seg")
            losses["loss_total"] = losses["loss_seg"] + self.config.loss_lambda * losses["loss_det"]
            return losses
        return self._postprocess(detections, seg_logits, image_list.image_sizes, original_sizes)

    @staticmethod
    def _seg_loss(logits: torch.Tensor, targets: list[dict]) -> torch.Tensor:
        target = torch.full_like(logits, float(IGNORE))
        for t, tm in zip(target, targets):
            m = tm["mask"]
            t[: m.shape[0], : m.shape[1]] = m.to(t.dtype)
        valid = target != IGNORE
        if not valid.any():
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits[valid], target[valid])

    @staticmethod
    def _postprocess(detections, seg_logits, sizes, original_sizes):
        out = []
        for det, logits, (h, w), (oh, ow) in zip(detections, seg_logits, sizes, original_sizes):
            prob = torch.sigmoid(logits[:, :h, :w].float())
            boxes = det["boxes"]
            if (h, w) != (oh, ow):
                prob = F.interpolate(prob[None], size=(oh, ow), mode="bilinear", align_corners=False)[0]
                boxes = boxes * torch.tensor([ow / w, oh / h, ow / w, oh / h], device=boxes.device)
            out.append({"boxes": boxes, "scores": det["scores"], "mask": prob[0]})
        return out
