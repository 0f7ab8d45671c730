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


def learning_rate(iteration: int, base: float, step: int, gamma: float, warmup: int,
                  schedule: str = "step", total: int = 0, final: float = 0.0) -> float:
    """Learning rate at ``iteration`` after a linear warm-up from base/10.

    ``step`` divides it by 1/gamma every ``step`` iterations (the paper's). ``cosine``
    lowers it along half a cosine from ``base`` to ``final`` x base at ``total``
    iterations: a short fine-tune then ends at a small step instead of wherever a
    constant rate left it, which is where the weights are kept (issue 18, session 34)."""
    if schedule == "cosine":
        if total <= 0:
            raise ValueError("a cosine learning-rate schedule needs the run's total iterations")
        progress = min(1.0, iteration / total)
        lr = base * (final + (1.0 - final) * 0.5 * (1.0 + math.cos(math.pi * progress)))
    elif schedule == "step":
        lr = base * gamma ** (iteration // step)
    else:
        raise ValueError(f"unknown learning-rate schedule {schedule!r}")
    if warmup and iteration < warmup:
        lr *= 0.1 + 0.9 * iteration / warmup
    return lr


def lr_factor(optim, total: int):
    """The LambdaLR factor of an ``OptimConfig`` for a run of ``total`` iterations."""
    return lambda it: learning_rate(it, 1.0, optim.lr_step, optim.lr_gamma, optim.warmup_iterations,
                                    optim.lr_schedule, total, optim.lr_final)


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
