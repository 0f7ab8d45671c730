"""ClueNet stage 1: one network that segments pedestrians and detects their
full-body boxes (section 3.1 of the paper).

Encoder: ResNet trunk -> two vertical Inception blocks -> channel attention (eq. 1).
Heads on the attended features F_att: a segmentation decoder (BCE loss) and a
Faster R-CNN detector assembled from torchvision's RPN and RoI heads.
Loss (eq. 2): loss_total = loss_seg + lambda * loss_det.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field, replace

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.roi_heads import RoIHeads
from torchvision.models.detection.rpn import RegionProposalNetwork, RPNHead
from torchvision.models.detection.transform import GeneralizedRCNNTransform, resize_boxes
from torchvision.ops import MultiScaleRoIAlign

from cluenet_ros.box_ops import box_ioa
from cluenet_ros.config import spec
from cluenet_ros.models.blocks import (ChannelAttention, SegmentationDecoder, VerticalInception,
                                       trunc_normal_init)
from cluenet_ros.models.trunk import STAGES, TRUNK_NORMS, TRUNKS, Trunk

IGNORE = 255  # mask value excluded from the segmentation loss (padding, ignore regions)


def scaled_size(h, w, scale) -> tuple:
    """(round(h * scale), round(w * scale)), each at least 1, rounded half to even as
    Python's round(). Under tracing (the standalone export) the frame size, and there
    the scale too, are tensors: the same rounding in tensor operations."""
    if torch.jit.is_tracing():
        return tuple(torch.clamp(torch.round(torch.as_tensor(d) * scale), min=1).long() for d in (h, w))
    return (max(1, round(h * float(scale))), max(1, round(w * float(scale))))


class ScaledDetectionTransform(GeneralizedRCNNTransform):
    """torchvision's detection transform (normalise, batch, zero-pad to
    ``size_divisible``, boxes back to input sizes) with ClueNet's resize: one fixed
    factor (``input_scale``) instead of a min/max side, applied to the image, the
    boxes and the segmentation target ``mask`` (H, W; nearest, so 255 stays 255)."""

    def __init__(self, scale: float, size_divisible: int, mean, std):
        super().__init__(min_size=1, max_size=1, image_mean=list(mean), image_std=list(std),
                         size_divisible=size_divisible)
        self.scale = scale

    def resize(self, image: torch.Tensor, target: dict | None = None):
        if self.scale == 1.0:
            return image, target
        h, w = image.shape[-2:]
        size = scaled_size(h, w, self.scale)
        image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
        if target is not None:
            for key in ("boxes", "ignore_boxes"):
                if key in target:
                    target[key] = resize_boxes(target[key], (h, w), size)
            if "mask" in target:
                target["mask"] = F.interpolate(target["mask"][None, None].float(), size=size,
                                               mode="nearest")[0, 0].to(torch.uint8)
        return image, target


def ignore_covered(labels: torch.Tensor, boxes: torch.Tensor, ignore: torch.Tensor | None,
                   threshold: float) -> torch.Tensor:
    """Training labels with every non-positive box (anchor or proposal) that an
    ignore region covers by more than ``threshold`` of its own area set to -1, which
    torchvision's samplers draw neither as positive nor as negative (CityPersons'
    protocol; Pedestron/mmdetection's ``ignore_iof_thr``)."""
    if ignore is None or len(ignore) == 0 or len(boxes) == 0:
        return labels
    covered = box_ioa(boxes, ignore.to(boxes.dtype)).amax(dim=1) > threshold
    return torch.where(covered & (labels < 1), torch.full_like(labels, -1), labels)


class IgnoringRPN(RegionProposalNetwork):
    """torchvision's RPN whose targets may hold ``ignore_boxes`` (ignore regions,
    riders, sitting people, groups): anchors on them are not sampled."""

    ignore_overlap = 0.5

    def assign_targets_to_anchors(self, anchors, targets):
        labels, matched = super().assign_targets_to_anchors(anchors, targets)
        labels = [ignore_covered(lab, a, t.get("ignore_boxes"), self.ignore_overlap)
                  for lab, a, t in zip(labels, anchors, targets)]
        return labels, matched


class IgnoringRoIHeads(RoIHeads):
    """torchvision's RoI heads with the same rule for proposals on ``ignore_boxes``,
    and optional online hard-negative mining.

    ``hard_negative_fraction`` > 0: that share of each image's negative quota is
    filled with the background proposals the current head scores highest as
    pedestrians, the rest at random as torchvision does. Random sampling draws a
    few dozen of about two thousand background proposals per image, so the rare
    street objects that look like people (the false positives that cost the demo
    its real-image AP) are seldom in the loss; mining puts them there every step.
    Positives and the quota sizes are torchvision's own sampler's."""

    ignore_overlap = 0.5
    hard_negative_fraction = 0.0
    _ignore: list | None = None
    _mining: tuple | None = None      # (features, image_shapes) of the training forward
    _proposals: list | None = None    # proposals with the ground truth added

    def forward(self, features, proposals, image_shapes, targets=None):
        mine = self.training and targets is not None and self.hard_negative_fraction > 0
        self._mining = (features, image_shapes) if mine else None
        try:
            return super().forward(features, proposals, image_shapes, targets)
        finally:
            self._mining = self._proposals = None

    def select_training_samples(self, proposals, targets):
        self._ignore = [t.get("ignore_boxes") for t in targets]
        try:
            return super().select_training_samples(proposals, targets)
        finally:
            self._ignore = None

    def assign_targets_to_proposals(self, proposals, gt_boxes, gt_labels):
        matched, labels = super().assign_targets_to_proposals(proposals, gt_boxes, gt_labels)
        if self._ignore is not None:
            labels = [ignore_covered(lab, p, ign, self.ignore_overlap)
                      for lab, p, ign in zip(labels, proposals, self._ignore)]
        if self._mining is not None:
            self._proposals = proposals
        return matched, labels

    def subsample(self, labels):
        pos, neg = self.fg_bg_sampler(labels)
        if self._mining is not None and self._proposals is not None:
            neg = self._mine_negatives(labels, neg)
        return [torch.where(p | n)[0] for p, n in zip(pos, neg)]

    @torch.no_grad()
    def _mine_negatives(self, labels, random_neg):
        """Each image's negative mask with its quota (the random sampler's count) made
        of the hardest negatives first, then random ones."""
        features, image_shapes = self._mining
        candidates = [torch.where(lab == 0)[0] for lab in labels]
        boxes = [p[c] for p, c in zip(self._proposals, candidates)]
        logits, _ = self.box_predictor(self.box_head(self.box_roi_pool(features, boxes, image_shapes)))
        person = torch.softmax(logits.float(), dim=-1)[:, 1].split([len(c) for c in candidates])
        out = []
        for lab, cand, score, rand in zip(labels, candidates, person, random_neg):
            quota = int(rand.sum())
            hard = min(quota, int(round(self.hard_negative_fraction * quota)))
            ranked = cand[torch.argsort(score, descending=True)]
            rest = ranked[hard:]
            chosen = torch.cat([ranked[:hard], rest[torch.randperm(len(rest), device=rest.device)[:quota - hard]]])
            mask = torch.zeros_like(rand)
            mask[chosen] = True
            out.append(mask)
        return out


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
    hard_negative_fraction: float = spec(0.0, min=0.0, max=1.0,
                                         help="share of each image's sampled background proposals taken "
                                              "as those the head scores highest (online hard-negative "
                                              "mining); 0: all at random, torchvision's sampling")


@dataclass(frozen=True)
class Stage1Config:
    trunk: str = spec("resnet50", choices=TRUNKS)
    trunk_weights: str = spec("none", help="'none' (random init), 'imagenet' (torchvision download) "
                                           "or a local .pth file")
    trunk_norm: str = spec("frozen", choices=TRUNK_NORMS,
                           help="frozen: torchvision's FrozenBatchNorm2d (pre-trained statistics, the default "
                                "at 2 images per GPU); batch: trainable BatchNorm2d (trunks trained from "
                                "scratch); sync: BatchNorm2d made SyncBatchNorm under DDP")
    output_stride: int = spec(16, choices=(16, 32))
    inception_channels: int = spec(640, min=10)
    attention: bool = spec(True, help="channel attention of eq. 1 (off for the ablation)")
    seg_width: int = spec(256, min=8)
    init_std: float = spec(0.1, min=0.0, help="std of the truncated normal init of new layers")
    output_init_std: float = spec(0.1, min=0.0,
                                  help="the same for the final segmentation-logit layer: 0.1 is the paper's "
                                       "(all new layers alike); 0.001 starts the logits near zero")
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
    ignore_overlap: float = spec(0.5, min=0.0, max=1.0,
                                 help="anchors and proposals covered by more than this share of their area "
                                      "by an ignore box are sampled neither as positive nor as negative")
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
    (H, W, uint8: 1 pedestrian, 0 background, 255 ignored), and optionally
    ``ignore_boxes`` (M, 4, xyxy: ignore regions, riders, sitting people, groups),
    which the RPN and RoI heads neither learn as pedestrians nor as background. Training returns the loss
    dict; evaluation returns per image ``boxes``, ``scores`` and ``mask`` (pedestrian
    probability, H x W at the input size).
    """

    # an inference backend's compiled dense part (normalised, padded batch ->
    # (mask logits, F_att)); None: the eager modules (see inference/backends.py)
    dense_runner = None

    def __init__(self, config: Stage1Config | None = None):
        super().__init__()
        cfg = config or Stage1Config()
        self.config = cfg
        self.trunk = Trunk(cfg.trunk, cfg.trunk_weights, cfg.output_stride, cfg.trunk_norm)
        c = cfg.inception_channels
        self.inception = nn.Sequential(VerticalInception(self.trunk.out_channels, c), VerticalInception(c, c))
        self.attention = ChannelAttention(c) if cfg.attention else nn.Identity()
        self.seg_decoder = SegmentationDecoder(c, cfg.output_stride, width=cfg.seg_width)
        for new in (self.inception, self.attention, self.seg_decoder):
            trunc_normal_init(new, cfg.init_std)
        if cfg.output_init_std != cfg.init_std:
            trunc_normal_init(self.seg_decoder.body[-1], cfg.output_init_std)

        aspect_hw = tuple(1.0 / a for a in cfg.anchor_aspect_wh)  # torchvision uses height / width
        anchors = AnchorGenerator(sizes=(cfg.anchor_sizes,), aspect_ratios=(aspect_hw,))
        r = cfg.rpn
        self.rpn = IgnoringRPN(
            anchors, RPNHead(c, anchors.num_anchors_per_location()[0]),
            r.fg_iou_thresh, r.bg_iou_thresh, r.batch_size_per_image, r.positive_fraction,
            pre_nms_top_n={"training": r.pre_nms_top_n_train, "testing": r.pre_nms_top_n_test},
            post_nms_top_n={"training": r.post_nms_top_n_train, "testing": r.post_nms_top_n_test},
            nms_thresh=r.nms_thresh,
        )
        o = cfg.roi
        self.roi_heads = IgnoringRoIHeads(
            MultiScaleRoIAlign(["0"], output_size=o.pool_size, sampling_ratio=o.sampling_ratio),
            TwoMLPHead(c * o.pool_size ** 2, o.representation_size),
            FastRCNNPredictor(o.representation_size, num_classes=2),
            o.fg_iou_thresh, o.bg_iou_thresh, o.batch_size_per_image, o.positive_fraction,
            bbox_reg_weights=None, score_thresh=o.score_thresh, nms_thresh=o.nms_thresh,
            detections_per_img=o.detections_per_img,
        )
        self.rpn.ignore_overlap = self.roi_heads.ignore_overlap = cfg.ignore_overlap
        self.roi_heads.hard_negative_fraction = o.hard_negative_fraction
        self.transform = ScaledDetectionTransform(cfg.input_scale, cfg.size_divisible, cfg.pixel_mean,
                                                  cfg.pixel_std)
        self.frozen_stages = 0
        self.norm_statistics_kept = False
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
                    m.train(self.training and i >= self.frozen_stages and not self.norm_statistics_kept)

    def keep_norm_statistics(self, keep: bool) -> None:
        """With ``keep`` every trunk batch norm normalises with its stored running statistics
        in training too, and never updates them; scale and shift still learn. A fine-tune
        on images unlike the weights' own (another size, other content) then cannot shift
        the statistics that inference relies on."""
        self.norm_statistics_kept = bool(keep)
        self._apply_frozen_bn()

    def train(self, mode: bool = True) -> "ClueNetStage1":
        super().train(mode)
        if mode:
            self._apply_frozen_bn()
        return self

    # -- thresholds that may change at run time -----------------------------------
    def set_input_scale(self, scale: float) -> None:
        """Resize factor for frames before the network; the detection transform
        holds it, so the config alone would not change what the model does."""
        if not 0.05 <= scale <= 4.0:
            raise ValueError(f"input scale must be within [0.05, 4], got {scale}")
        self.config = replace(self.config, input_scale=float(scale))
        self.transform.scale = float(scale)

    def set_thresholds(self, score: float | None = None, nms_iou: float | None = None,
                       max_detections: int | None = None) -> None:
        if score is not None:
            self.roi_heads.score_thresh = float(score)
        if nms_iou is not None:
            self.roi_heads.nms_thresh = float(nms_iou)
        if max_detections is not None:
            self.roi_heads.detections_per_img = int(max_detections)

    # -- forward --------------------------------------------------------------------
    def normalize(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) or (3, H, W) images in [0, 1] to the network's input range."""
        return self.transform.normalize(images)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """F_att for a normalised, padded batch."""
        return self.attention(self.inception(self.trunk(x)))

    def _prepare(self, images: list[torch.Tensor], targets: list[dict] | None):
        for i, img in enumerate(images):
            if img.dim() != 3 or img.shape[0] != 3:
                raise ValueError(f"image {i}: expected a (3, H, W) tensor, got {tuple(img.shape)}")
        if targets is not None:
            targets = [dict(t) for t in targets]
            for t in targets:
                t.setdefault("labels", torch.ones(len(t["boxes"]), dtype=torch.int64, device=t["boxes"].device))
        return self.transform(images, targets)

    def forward(self, images: list[torch.Tensor] | torch.Tensor, targets: list[dict] | None = None):
        images = list(images)
        if self.training and targets is None:
            raise ValueError("training forward needs targets")
        # shapes, not ints: under tracing (the standalone export) the sizes stay dynamic
        original_sizes = [(i.shape[-2], i.shape[-1]) for i in images]
        image_list, targets = self._prepare(images, targets if self.training else None)
        seg_logits, feats = self.dense(image_list.tensors)
        if not self.training:
            return self.detect(image_list, seg_logits, feats, original_sizes)
        fmap = OrderedDict([("0", feats)])
        proposals, rpn_losses = self.rpn(image_list, fmap, targets)
        _, det_losses = self.roi_heads(fmap, proposals, image_list.image_sizes, targets)
        losses = {**rpn_losses, **det_losses}
        losses["loss_seg"] = self._seg_loss(seg_logits[:, 0], targets)
        losses["loss_det"] = sum(v for k, v in losses.items() if k != "loss_seg")
        losses["loss_total"] = losses["loss_seg"] + self.config.loss_lambda * losses["loss_det"]
        return losses

    def dense(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mask logits, F_att) of a normalised, padded batch: the convolutional part,
        which a compiled backend (``dense_runner``) replaces at inference."""
        if self.dense_runner is not None and not self.training:
            return self.dense_runner(x)
        feats = self.features(x)
        return self.seg_decoder(feats, tuple(x.shape[-2:])), feats

    def detect(self, image_list, seg_logits: torch.Tensor, feats: torch.Tensor, original_sizes) -> list[dict]:
        """Inference after :meth:`dense`: proposals, RoI heads, boxes back to the input
        sizes, the probability map. Only the shape of ``image_list.tensors`` is read
        (the anchors' grid), so the standalone export can run this part alone."""
        fmap = OrderedDict([("0", feats)])
        proposals, _ = self.rpn(image_list, fmap)
        detections, _ = self.roi_heads(fmap, proposals, image_list.image_sizes)
        detections = self.transform.postprocess(detections, image_list.image_sizes, original_sizes)
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
            if (h, w) != (oh, ow):
                prob = F.interpolate(prob[None], size=(oh, ow), mode="bilinear", align_corners=False)[0]
            out.append({"boxes": det["boxes"], "scores": det["scores"], "mask": prob[0]})
        return out
