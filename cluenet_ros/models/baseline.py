"""The peer baseline of the accuracy study: torchvision's Keypoint R-CNN on the same
trunk as the ClueNet model it is compared with, predicting the 13 keypoints of the
project's schema.

Everything is torchvision's (backbone with FPN, RPN, RoI heads, keypoint head); the
config only chooses the trunk, the anchors and the size of the keypoint head, and
pins the internal resize to the data's size so that both models see the same pixels.
The keypoint head is configurable because torchvision's default (eight 512-channel
convolutions on 14x14 RoIs) costs more than the whole compact ClueNet on a CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torchvision.models.detection import KeypointRCNN
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.backbone_utils import mobilenet_backbone, resnet_fpn_backbone
from torchvision.models.detection.keypoint_rcnn import KeypointRCNNHeads, KeypointRCNNPredictor
from torchvision.models.detection.roi_heads import keypointrcnn_inference

from cluenet_ros import keypoints as kp
from cluenet_ros.config import spec


@dataclass(frozen=True)
class KeypointRCNNConfig:
    trunk: str = spec("mobilenet_v3_large", choices=("mobilenet_v3_large", "resnet50"))
    trunk_weights: str = spec("none", choices=("none", "from_checkpoint"),
                              help="random initialisation (as the ClueNet it is compared with)")
    min_size: int = spec(256, min=32, help="torchvision's resize: set to the data's short side")
    max_size: int = spec(512, min=32, help="torchvision's resize: set to the data's long side")
    anchor_sizes: tuple[int, ...] = spec((24, 48, 96, 192, 384), min=1)
    anchor_aspect_wh: tuple[float, ...] = spec((0.41,), min=0.01, help="width/height, as ClueNet's")
    rpn_batch_size_per_image: int = spec(128, min=1)
    box_batch_size_per_image: int = spec(64, min=1)
    box_score_thresh: float = spec(0.05, min=0.0, max=1.0)
    box_detections_per_img: int = spec(100, min=1)
    keypoint_head_layers: int = spec(8, min=1, help="torchvision's default: 8")
    keypoint_head_channels: int = spec(512, min=8, help="torchvision's default: 512")


class KeypointRCNNBaseline(nn.Module):
    """torchvision's KeypointRCNN; inputs and outputs are torchvision's (lists of
    images in [0, 1]; targets with ``boxes``, ``labels``, ``keypoints``)."""

    def __init__(self, config: KeypointRCNNConfig = KeypointRCNNConfig()):
        super().__init__()
        self.config = config
        if config.trunk == "mobilenet_v3_large":
            # trainable BN: with random weights, torchvision's frozen BN would be identity
            backbone = mobilenet_backbone(backbone_name="mobilenet_v3_large", weights=None, fpn=True,
                                          trainable_layers=6, norm_layer=nn.BatchNorm2d)
            levels = 3  # two feature maps and the pooled one
        else:
            backbone = resnet_fpn_backbone(backbone_name="resnet50", weights=None, trainable_layers=5,
                                           norm_layer=nn.BatchNorm2d)
            levels = 5
        # torchvision's aspect ratios are height / width
        ratios = tuple(1.0 / a for a in config.anchor_aspect_wh)
        if levels == 3:
            sizes = (tuple(config.anchor_sizes),) * levels
        else:
            sizes = tuple((s,) for s in config.anchor_sizes[:levels])
            sizes += ((config.anchor_sizes[-1] * 2,),) * (levels - len(sizes))
        anchors = AnchorGenerator(sizes, (ratios,) * levels)
        head = KeypointRCNNHeads(backbone.out_channels,
                                 tuple([config.keypoint_head_channels] * config.keypoint_head_layers))
        self.detector = KeypointRCNN(
            backbone, num_classes=2, min_size=config.min_size,
            max_size=config.max_size, rpn_anchor_generator=anchors, keypoint_head=head,
            keypoint_predictor=KeypointRCNNPredictor(config.keypoint_head_channels, kp.NUM_KEYPOINTS),
            rpn_batch_size_per_image=config.rpn_batch_size_per_image,
            box_batch_size_per_image=config.box_batch_size_per_image, box_score_thresh=config.box_score_thresh,
            box_detections_per_img=config.box_detections_per_img)

    def forward(self, images, targets=None):
        return self.detector(images, targets)

    @torch.no_grad()
    def keypoints_in_boxes(self, images: list[torch.Tensor], boxes: list[torch.Tensor]) -> torch.Tensor:
        """Keypoints (N, 13, 3: x, y, score) for given boxes (image pixels), through
        the keypoint branch alone: the analogue of running ClueNet's stage 2 on a
        ground-truth crop in the occlusion study."""
        det = self.detector
        sizes = [tuple(i.shape[-2:]) for i in images]
        batch, _ = det.transform(images)
        scale = [torch.tensor([b[1] / s[1], b[0] / s[0]] * 2, device=bx.device)
                 for s, b, bx in zip(sizes, batch.image_sizes, boxes)]
        scaled = [bx * sc for bx, sc in zip(boxes, scale)]
        features = det.backbone(batch.tensors)
        heads = det.roi_heads
        x = heads.keypoint_roi_pool(features, scaled, batch.image_sizes)
        logits = heads.keypoint_predictor(heads.keypoint_head(x))
        points, scores = keypointrcnn_inference(logits, scaled)
        out = []
        for p, s, sc in zip(points, scores, scale):
            p = p.clone()
            p[..., :2] /= sc[:2]
            p[..., 2] = s
            out.append(p)
        return torch.cat(out)

