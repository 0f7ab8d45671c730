"""Schedules that are pure functions of the iteration, so a resumed run follows
exactly the same course as one that never stopped."""
from __future__ import annotations

import math

from cluenet_ros.models.trunk import STAGES


def frozen_stages(iteration: int, frozen_iterations: int, interval: int, keep_frozen: int = 0) -> int:
    """Gradual unfreezing (section 4.2): the whole trunk is frozen for
    ``frozen_iterations``; then one more stage thaws every ``interval`` iterations,
    from the last stage (layer4) towards the stem, down to ``keep_frozen``."""
    total = len(STAGES)
    if iteration < frozen_iterations:
        return total
    thawed = 1 + (iteration - frozen_iterations) // interval
    return max(keep_frozen, total - thawed)


def occlusion_fraction(iteration: int, total_iterations: int, max_fraction: float) -> float:
    """Curriculum of Mask and Predict: the largest hidden share of the person grows
    linearly from 0 at the start to ``max_fraction`` at ``total_iterations``."""
    if total_iterations <= 0:
        return max_fraction
    return max_fraction * min(1.0, iteration / total_iterations)


def learning_rate(iteration: int, base: float, step: int, gamma: float, warmup: int) -> float:
    """Step decay (divided by 1/gamma every ``step`` iterations) after a linear
    warm-up from base/10."""
    lr = base * gamma ** (iteration // step)
    if warmup and iteration < warmup:
        lr *= 0.1 + 0.9 * iteration / warmup
    return lr


def adversarial_weight(iteration: int, weight: float, ramp_iterations: int) -> float:
    """Weight of the encoder's adversarial loss (eq. 3). With ``ramp_iterations`` > 0 it
    rises as in DANN (Ganin & Lempitsky, 2015), weight x (2 / (1 + exp(-10 p)) - 1)
    with p = iteration / ramp_iterations capped at 1, so an untrained classifier's
    noisy gradients do not reach the encoder before the pose is learnt; 0 keeps the
    weight constant from the first iteration."""
    if ramp_iterations <= 0:
        return weight
    p = min(1.0, iteration / ramp_iterations)
    return weight * (2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)
