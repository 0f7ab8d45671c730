"""Trunks from torchvision, split into the five stages that gradual unfreezing
walks through (stem, layer1 ... layer4; the last three end at strides 8, 16, 32).

ResNets are the paper's choice; MobileNetV3-Large is the option for small devices
and for checkpoints that must stay small (about 3 M trunk parameters instead of 23.5 M).
"""
from __future__ import annotations

import functools
import logging
from pathlib import Path

import torch
from torch import nn
from torchvision.models import mobilenetv3, resnet
from torchvision.ops import FrozenBatchNorm2d

LOG = logging.getLogger(__name__)

STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")
_BUILDERS = {
    "resnet18": (resnet.resnet18, resnet.ResNet18_Weights.IMAGENET1K_V1, 512),
    "resnet34": (resnet.resnet34, resnet.ResNet34_Weights.IMAGENET1K_V1, 512),
    "resnet50": (resnet.resnet50, resnet.ResNet50_Weights.IMAGENET1K_V2, 2048),
}
# MobileNetV3-Large `features` indices of each stage (by output stride)
_MOBILENET_STAGES = {"stem": (0, 2), "layer1": (2, 4), "layer2": (4, 7), "layer3": (7, 13), "layer4": (13, 17)}
TRUNKS = tuple(_BUILDERS) + ("mobilenet_v3_large",)
# How the trunk normalises: "frozen" (torchvision's FrozenBatchNorm2d, fixed
# pre-trained statistics and affine, as torchvision's detection models use at a few
# images per GPU), "batch" (trainable BatchNorm2d, for trunks trained from scratch)
# or "sync" (BatchNorm2d that the trainer turns into SyncBatchNorm under DDP).
TRUNK_NORMS = ("frozen", "batch", "sync")


class Trunk(nn.Module):
    """ResNet up to conv5 (layer4), no pooling or classifier.

    ``output_stride`` 16 dilates layer4 instead of striding it, which keeps
    pedestrians of 30-50 px (CityPersons' small end) several feature cells tall.
    """

    def __init__(self, name: str, weights: str = "none", output_stride: int = 32, norm: str = "batch"):
        super().__init__()
        if name not in TRUNKS:
            raise ValueError(f"unknown trunk {name!r}; choose one of {', '.join(TRUNKS)}")
        if norm not in TRUNK_NORMS:
            raise ValueError(f"unknown trunk norm {norm!r}; choose one of {', '.join(TRUNK_NORMS)}")
        if norm == "frozen" and weights == "none":
            LOG.warning("%s trunk: frozen BatchNorm with random weights keeps identity statistics for "
                        "good; use trunk_norm 'batch' to train a trunk from scratch", name)
        self.norm = norm
        self.out_channels = 960 if name.startswith("mobilenet") else _BUILDERS[name][2]
        self.stride = output_stride
        if name == "mobilenet_v3_large":
            # torchvision's `dilated` keeps the last stage at stride 16
            norm_layer = functools.partial(FrozenBatchNorm2d if norm == "frozen" else nn.BatchNorm2d, eps=0.001)
            net = mobilenetv3.mobilenet_v3_large(weights=None, dilated=output_stride == 16, norm_layer=norm_layer)
            _load_trunk_weights(net, name, weights, mobilenetv3.MobileNet_V3_Large_Weights.IMAGENET1K_V2,
                                prefix="features.")
            # torchvision's BN momentum of 0.01 suits its long ImageNet schedule; in runs of a
            # few thousand steps from scratch the running statistics then lag the weights so far
            # that eval-mode outputs are flat while train-mode ones are sharp. 0.1 is PyTorch's
            # default and follows the weights (the statistics are not part of the state_dict).
            for m in net.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.momentum = 0.1
            for stage, (a, b) in _MOBILENET_STAGES.items():
                setattr(self, stage, nn.Sequential(*net.features[a:b]))
            return
        build, enum, channels = _BUILDERS[name]
        dilate = output_stride == 16
        if dilate and name != "resnet50":
            # BasicBlock ResNets do not support dilation in torchvision.
            raise ValueError(f"output_stride 16 needs a bottleneck trunk (resnet50), not {name}")
        kwargs = {"replace_stride_with_dilation": [False, False, True]} if dilate else {}
        if norm == "frozen":
            kwargs["norm_layer"] = FrozenBatchNorm2d
        net = build(weights=None, **kwargs)
        _load_trunk_weights(net, name, weights, enum)
        self.stem = nn.Sequential(net.conv1, net.bn1, net.relu, net.maxpool)
        self.layer1, self.layer2, self.layer3, self.layer4 = net.layer1, net.layer2, net.layer3, net.layer4

    def stage(self, name: str) -> nn.Module:
        return getattr(self, name)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in STAGES:
            x = getattr(self, name)(x)
        return x


def _load_trunk_weights(net: nn.Module, name: str, weights: str, enum, prefix: str = "") -> None:
    if weights == "from_checkpoint":  # a checkpoint load overwrites every weight next
        return
    if weights == "none":
        LOG.warning("%s trunk starts from random initialisation (trunk_weights: none); "
                    "pass a local weights file or 'imagenet' for pre-trained features", name)
        return
    if weights == "imagenet":
        try:
            state = enum.get_state_dict(progress=False)
        except Exception as exc:  # network errors come in many types
            raise RuntimeError(
                f"could not fetch ImageNet weights for {name} through torchvision ({exc}); "
                "download them where the network allows and pass the file path as trunk_weights"
            ) from None
    else:
        path = Path(weights)
        if not path.is_file():
            raise FileNotFoundError(f"trunk weights file not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise RuntimeError(f"{path}: not a readable PyTorch weights file ({exc})") from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
    # only the trunk: classifier layers (fc., classifier.) are not used
    state = {k: v for k, v in state.items() if k.startswith(prefix) and not k.startswith(("fc.", "classifier."))}
    missing, unexpected = net.load_state_dict(state, strict=False)
    missing = [k for k in missing if k.startswith(prefix) and not k.startswith(("fc.", "classifier."))]
    if missing or unexpected:
        raise RuntimeError(f"trunk weights {weights} do not fit {name}: missing {missing[:5]}, "
                           f"unexpected {unexpected[:5]}")
    LOG.info("loaded %s trunk weights from %s", name, weights)
