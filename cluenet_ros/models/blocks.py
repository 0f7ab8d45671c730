"""Building blocks of the stage-1 encoder: vertical Inception blocks, channel
attention and the segmentation decoder (section 3.1 of the paper)."""
from __future__ import annotations

import math

import torch
from torch import nn


def trunc_normal_init(module: nn.Module, std: float) -> None:
    """The paper's initialisation for layers that are not pre-trained.

    Weights of convolutions and linear layers are drawn from N(0, std) truncated at
    two standard deviations, biases start at zero; normalisation layers keep their
    identity start.
    """
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, mean=0.0, std=std, a=-2 * std, b=2 * std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def conv_bn_relu(cin: int, cout: int, kernel: tuple[int, int] = (1, 1)) -> nn.Sequential:
    padding = (kernel[0] // 2, kernel[1] // 2)
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, padding=padding, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class VerticalInception(nn.Module):
    """Inception-v3-style block whose spatial kernels are tall and one pixel wide.

    Pedestrians are about 2.4 times taller than wide, so the block gathers context
    along the vertical only. Branch layout (each conv is conv + BN + ReLU, all
    padded to keep the feature size):

    ====== ============================== ======================
    branch layers                          vertical receptive field
    ====== ============================== ======================
    b1     1x1                             1
    b3     1x1 reduce -> 3x1               3
    b5     1x1 reduce -> 5x1               5
    b7     1x1 reduce -> 7x1 -> 7x1        13
    pool   3x1 max-pool -> 1x1             3
    ====== ============================== ======================

    (``k x 1`` is height x width.) The five outputs are concatenated; each branch
    gets ``out_channels / 5`` channels, the remainder going to b1. Two blocks in a
    row reach 26 pixels of the feature map vertically while staying 1 wide.
    """

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        width = out_channels // 5
        b1 = out_channels - 4 * width
        reduce = max(width // 2, 8)
        self.b1 = conv_bn_relu(in_channels, b1)
        self.b3 = nn.Sequential(conv_bn_relu(in_channels, reduce), conv_bn_relu(reduce, width, (3, 1)))
        self.b5 = nn.Sequential(conv_bn_relu(in_channels, reduce), conv_bn_relu(reduce, width, (5, 1)))
        self.b7 = nn.Sequential(conv_bn_relu(in_channels, reduce), conv_bn_relu(reduce, width, (7, 1)),
                                conv_bn_relu(width, width, (7, 1)))
        self.pool = nn.Sequential(nn.MaxPool2d((3, 1), stride=1, padding=(1, 0)),
                                  conv_bn_relu(in_channels, width))
        self.out_channels = out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b3(x), self.b5(x), self.b7(x), self.pool(x)], dim=1)


class ChannelAttention(nn.Module):
    """Equation 1 of the paper: F_att = F * sigmoid(conv1x1(F)).

    The gate has the same size and channels as F, so it can attenuate background
    per channel and per position.
    """

    def __init__(self, channels: int):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size=1)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        return f * torch.sigmoid(self.conv(f))


class SegmentationDecoder(nn.Module):
    """Stacked convolutions and stride-2 transposed convolutions from F_att back to
    the input resolution, ending in one pedestrian-vs-background logit per pixel.

    ``log2(stride)`` upsampling steps are used; channels halve at each step down to
    ``min_channels``. The logit map is finally resized to the exact padded input
    size (inputs need not be multiples of the stride).
    """

    def __init__(self, in_channels: int, stride: int, width: int = 256, min_channels: int = 16):
        super().__init__()
        steps = int(round(math.log2(stride)))
        if 2 ** steps != stride:
            raise ValueError(f"feature stride {stride} is not a power of two")
        layers: list[nn.Module] = [conv_bn_relu(in_channels, width, (3, 3))]
        c = width
        for _ in range(steps):
            nxt = max(c // 2, min_channels)
            layers += [
                nn.ConvTranspose2d(c, nxt, kernel_size=4, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(nxt),
                nn.ReLU(inplace=True),
                conv_bn_relu(nxt, nxt, (3, 3)),
            ]
            c = nxt
        layers.append(nn.Conv2d(c, 1, kernel_size=1))
        self.body = nn.Sequential(*layers)

    def forward(self, f: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        logits = self.body(f)
        if logits.shape[-2:] != torch.Size(size):
            logits = nn.functional.interpolate(logits, size=size, mode="bilinear", align_corners=False)
        return logits
