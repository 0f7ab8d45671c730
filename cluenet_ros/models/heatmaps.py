"""Gaussian heatmap targets and their sub-pixel decoding.

Coordinates are continuous pixel coordinates of the network input: pixel (i, j)
covers [j, j+1) x [i, i+1), so its centre is (j + 0.5, i + 0.5). A heatmap of
stride s has cell k centred at input coordinate (k + 0.5) * s.
"""
from __future__ import annotations

import torch

from cluenet_ros import keypoints as kp


def to_heatmap_coords(xy: torch.Tensor, stride: int) -> torch.Tensor:
    return xy / stride - 0.5


def from_heatmap_coords(uv: torch.Tensor, stride: int) -> torch.Tensor:
    return (uv + 0.5) * stride


def gaussian_targets(keypoints: torch.Tensor, size: tuple[int, int], stride: int,
                     sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Targets of equation 4: one Gaussian peak of height 1 per labelled keypoint.

    keypoints: (N, K, 3) x, y in input pixels and a label flag (> 0 labelled).
    Returns heatmaps (N, K, H, W) and weights (N, K): 0 for unlabelled keypoints or
    ones whose peak falls outside the heatmap, so the loss ignores them.
    """
    h, w = size
    uv = to_heatmap_coords(keypoints[..., :2], stride)
    ys = torch.arange(h, dtype=uv.dtype, device=uv.device).view(1, 1, h, 1)
    xs = torch.arange(w, dtype=uv.dtype, device=uv.device).view(1, 1, 1, w)
    dx2 = (xs - uv[..., 0, None, None]) ** 2
    dy2 = (ys - uv[..., 1, None, None]) ** 2
    heat = torch.exp(-(dx2 + dy2) / (2 * sigma ** 2))
    inside = (uv[..., 0] > -0.5) & (uv[..., 0] < w - 0.5) & (uv[..., 1] > -0.5) & (uv[..., 1] < h - 0.5)
    weight = ((keypoints[..., 2] > 0) & inside).to(heat.dtype)
    return heat * weight[..., None, None], weight


def decode_heatmaps(heatmaps: torch.Tensor, stride: int) -> torch.Tensor:
    """Keypoints (N, K, 3) as x, y (input pixels) and confidence from heatmaps.

    The arg-max cell is refined by fitting a parabola to the logarithm of the peak
    and its two neighbours along each axis. A Gaussian's logarithm is a parabola,
    so the fit recovers the peak of an ideal Gaussian exactly; on real network
    output it is a well-behaved quadratic interpolation. The confidence is the peak
    value.
    """
    h, w = heatmaps.shape[-2:]
    flat = heatmaps.flatten(2).float()  # not reshape(n, k, -1): n must stay dynamic when traced
    conf, idx = flat.max(dim=-1)
    py, px = idx // w, idx % w
    logh = torch.log(flat.clamp_min(1e-10))

    def at(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        y = y.clamp(0, h - 1)
        x = x.clamp(0, w - 1)
        return logh.gather(-1, (y * w + x).unsqueeze(-1)).squeeze(-1)

    def offset(lo: torch.Tensor, mid: torch.Tensor, hi: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        curv = lo - 2 * mid + hi
        ok = valid & (curv < -1e-6)
        one, zero = curv.new_ones(()), curv.new_zeros(())  # 0-d, broadcast: no batch size frozen when traced
        off = torch.where(ok, 0.5 * (lo - hi) / torch.where(ok, curv, one), zero)
        return off.clamp(-0.5, 0.5)

    c = at(py, px)
    dx = offset(at(py, px - 1), c, at(py, px + 1), (px > 0) & (px < w - 1))
    dy = offset(at(py - 1, px), c, at(py + 1, px), (py > 0) & (py < h - 1))
    uv = torch.stack([px.float() + dx, py.float() + dy], dim=-1)
    return torch.cat([from_heatmap_coords(uv, stride), conf.unsqueeze(-1)], dim=-1)


def flip_test_average(heatmaps: torch.Tensor, flipped: torch.Tensor) -> torch.Tensor:
    """Flip-test fusion (as SimpleBaseline, HRNet and mmpose test): the mean of the
    heatmaps of a crop and of its mirror image, the latter mirrored back with left
    and right swapped.

    No one-cell shift is needed: with cell k centred at (k + 0.5) * stride (see the
    module's convention), mirroring the input maps cell k onto cell W - 1 - k
    exactly, so mirroring the heatmap array is the inverse of mirroring the crop."""
    if flipped.shape != heatmaps.shape:
        raise ValueError(f"flip test: heatmaps {tuple(heatmaps.shape)} and mirrored {tuple(flipped.shape)} differ")
    back = flipped.flip(-1)[:, kp.flip_permutation()]
    return (heatmaps + back) * 0.5
