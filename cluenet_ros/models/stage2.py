"""ClueNet stage 2: pose of (possibly occluded) pedestrians from segmented crops
(section 3.2 of the paper).

E (encoder) turns a crop into dense features, D (decoder) turns them into one
heatmap per keypoint, and C (domain classifier) tells source-domain features
(pose dataset) from target-domain ones (pedestrian dataset). <E, D> learn the
pose with the L2 loss of eq. 4; <E, C> play the adversarial game of eq. 3.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cluenet_ros import keypoints as kp
from cluenet_ros.config import spec
from cluenet_ros.models.blocks import trunc_normal_init
from cluenet_ros.models.heatmaps import decode_heatmaps
from cluenet_ros.models.trunk import TRUNKS, Trunk


@dataclass(frozen=True)
class Stage2Config:
    encoder: str = spec("resnet50", choices=TRUNKS)
    encoder_weights: str = spec("none")
    input_size: tuple[int, int] = spec((256, 192), min=32, length=2,
                                       help="crop height, width; the default 4:3 leaves room for "
                                            "spread arms around a 0.41 pedestrian box")
    deconv_layers: int = spec(3, min=1, max=4, help="stride-2 upsampling steps in D")
    deconv_channels: int = spec(256, min=8)
    heatmap_sigma: float = spec(2.0, min=0.5, help="Gaussian std of targets, heatmap cells")
    domain_channels: int = spec(256, min=8)
    init_std: float = spec(0.1, min=0.0, help="std of the truncated normal init of new layers (the paper's 0.1)")
    output_init_std: float = spec(0.1, min=0.0,
                                  help="the same for the final 1x1 heatmap layer. Default 0.1, the paper's: 0.001 "
                                       "(near zero, as SimpleBaseline and HRNet) led at 1200 iterations but fell "
                                       "behind and decayed in 2400-4800-iteration runs (docs/init/README.md)")
    pixel_mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    pixel_std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def validate(self) -> None:
        stride = 32 // 2 ** self.deconv_layers
        for s in self.input_size:
            if s % 32:
                raise ValueError(f"input_size {self.input_size} must be multiples of 32")
        if stride < 1:
            raise ValueError("too many deconv_layers")

    @property
    def heatmap_stride(self) -> int:
        return 32 // 2 ** self.deconv_layers

    @property
    def heatmap_size(self) -> tuple[int, int]:
        return (self.input_size[0] // self.heatmap_stride, self.input_size[1] // self.heatmap_stride)


class PoseDecoder(nn.Module):
    """D: transposed convolutions up from stride 32, then a 1x1 to K heatmaps."""

    def __init__(self, in_channels: int, layers: int, channels: int, num_keypoints: int):
        super().__init__()
        mods: list[nn.Module] = []
        c = in_channels
        for _ in range(layers):
            mods += [nn.ConvTranspose2d(c, channels, 4, stride=2, padding=1, bias=False),
                     nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            c = channels
        mods.append(nn.Conv2d(c, num_keypoints, kernel_size=1))
        self.body = nn.Sequential(*mods)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.body(feats)


class DomainClassifier(nn.Module):
    """C: probability (as a logit) that features come from the source domain."""

    def __init__(self, in_channels: int, channels: int):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(channels, channels, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 1),
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.body(feats).squeeze(-1)


class ClueNetStage2(nn.Module):
    def __init__(self, config: Stage2Config | None = None):
        super().__init__()
        cfg = config or Stage2Config()
        self.config = cfg
        self.encoder = Trunk(cfg.encoder, cfg.encoder_weights, output_stride=32)
        self.decoder = PoseDecoder(self.encoder.out_channels, cfg.deconv_layers, cfg.deconv_channels,
                                   kp.NUM_KEYPOINTS)
        self.domain_classifier = DomainClassifier(self.encoder.out_channels, cfg.domain_channels)
        trunc_normal_init(self.decoder, cfg.init_std)
        if cfg.output_init_std != cfg.init_std:
            trunc_normal_init(self.decoder.body[-1], cfg.output_init_std)
        # The domain classifier has no normalisation: a small init keeps its logits
        # near zero at the start so neither side of the game begins saturated.
        trunc_normal_init(self.domain_classifier, min(cfg.init_std, 0.01))
        self.register_buffer("pixel_mean", torch.tensor(cfg.pixel_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(cfg.pixel_std).view(1, 3, 1, 1), persistent=False)

    def normalize(self, crops: torch.Tensor) -> torch.Tensor:
        return (crops - self.pixel_mean) / self.pixel_std

    def encode(self, crops: torch.Tensor) -> torch.Tensor:
        """E: crops (N, 3, H, W) in [0, 1] (already segmented) to features."""
        return self.encoder(self.normalize(crops))

    def forward(self, crops: torch.Tensor) -> torch.Tensor:
        """Heatmaps (N, K, H/stride, W/stride)."""
        return self.decoder(self.encode(crops))

    def predict(self, crops: torch.Tensor) -> torch.Tensor:
        """Keypoints (N, K, 3): x, y in crop pixels and confidence."""
        return decode_heatmaps(self(crops), self.config.heatmap_stride)


def pose_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """Equation 4: squared L2 between predicted and target heatmaps, per pixel mean,
    over labelled keypoints only (weight 0 drops a keypoint entirely)."""
    per_kp = ((pred.float() - target) ** 2).mean(dim=(-2, -1))
    denom = weight.sum().clamp_min(1.0)
    return (per_kp * weight).sum() / denom


def domain_classifier_loss(logit_source: torch.Tensor, logit_target: torch.Tensor) -> torch.Tensor:
    """L_advC of eq. 3: -E[log C(E(x_PE))] - E[log(1 - C(E(x_PD)))]; C is trained
    to output 1 for source (pose dataset) and 0 for target (pedestrian) features."""
    return (F.binary_cross_entropy_with_logits(logit_source, torch.ones_like(logit_source))
            + F.binary_cross_entropy_with_logits(logit_target, torch.zeros_like(logit_target)))


def encoder_adversarial_loss(logit_target: torch.Tensor) -> torch.Tensor:
    """L_advE of eq. 3: -E[log C(E(x_PD))]; E learns to make target features pass
    as source."""
    return F.binary_cross_entropy_with_logits(logit_target, torch.ones_like(logit_target))
