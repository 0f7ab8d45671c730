"""Re-estimating stage 1's batch-norm running statistics for the weights as they are.

A weight soup (``tools/weight_soup.py``) averages every tensor, running statistics included.
The mean of several models' statistics is not the statistics of the averaged model: each
layer's inputs depend on the averaged weights before it, so the stored mean and variance
are estimates for networks that no longer exist. Stochastic weight averaging has the same
gap and closes it by passing training data through the averaged network once with the
statistics reset (Izmailov et al. 2018, ``torch.optim.swa_utils.update_bn``). That helper
runs the whole model in training mode, which a detector refuses without targets, so the
pass here runs the model in inference mode with only the batch norms in training mode.

The images are a run's own batches (``stage1.batch_maker``): the very samples, augmentations
and pasted plates that training of the given config draws, so the statistics describe the
distribution the weights were trained on. Only the batch norms that such a run updates are
re-estimated (a frozen trunk stage, or ``unfreeze.norm_statistics: frozen``, keeps its own).
Every other tensor is left bit for bit.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from cluenet_ros.models.checkpoint import build_model, read_checkpoint, save_checkpoint
from cluenet_training.config import load_stage1
from cluenet_training.datasets import DatasetError
from cluenet_training.schedules import frozen_stages


def trained_norms(model, cfg) -> list[tuple[str, nn.Module]]:
    """The batch norms that a run of ``cfg`` updates at its last iteration, by name."""
    u = cfg.unfreeze
    model.freeze_trunk_stages(frozen_stages(max(0, cfg.run.iterations - 1), u.frozen_iterations, u.interval,
                                            u.keep_frozen))
    model.keep_norm_statistics(u.norm_statistics == "frozen")
    model.train()
    norms = [(n, m) for n, m in model.named_modules()
             if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.training and m.track_running_stats]
    model.eval()
    return norms


@torch.no_grad()
def update_norm_statistics(weights: str | Path, config: str | Path, out: str | Path, batches: int = 100,
                           device: str = "cpu") -> dict:
    """Write ``out``: ``weights`` with the statistics of its trained batch norms re-estimated
    as the plain average over ``batches`` of the run's batches (iterations 0, 1, ...)."""
    if batches < 1:
        raise ValueError(f"batches must be at least 1, got {batches}")
    from cluenet_training.stage1 import batch_maker

    cfg = load_stage1(config)
    ckpt = read_checkpoint(weights)
    if "stage1" not in ckpt["models"]:
        raise DatasetError(f"{weights}: no stage1 in the checkpoint (it holds {', '.join(ckpt['models'])})")
    model = build_model(weights, "stage1", ckpt["models"]["stage1"]).to(device)
    if cfg.model.trunk != model.config.trunk:
        raise ValueError(f"{config} trains a {cfg.model.trunk} trunk; {weights} holds a {model.config.trunk}")
    norms = trained_norms(model, cfg)
    if not norms:
        raise ValueError(f"a run of {config} updates no batch-norm statistics; nothing to re-estimate")
    before = {n: (m.running_mean.clone(), m.running_var.clone()) for n, m in norms}
    momenta = {n: m.momentum for n, m in norms}
    for _, m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: every batch counts the same
        m.train()
    make_batch = batch_maker(cfg)
    images = 0
    for it in range(batches):
        batch = make_batch(it)
        model([b[0].to(device) for b in batch])
        images += len(batch)
    for n, m in norms:
        m.momentum = momenta[n]
    model.eval()
    moved = sum(float((m.running_mean - before[n][0]).abs().sum() + (m.running_var - before[n][1]).abs().sum())
                for n, m in norms)
    size = sum(float(before[n][0].abs().sum() + before[n][1].abs().sum()) for n, _ in norms)
    models = {"stage1": model.cpu()}
    for name, entry in ckpt["models"].items():
        if name != "stage1":
            models[name] = build_model(weights, name, entry)
    half = any(v.dtype == torch.float16 for v in ckpt["models"]["stage1"]["state_dict"].values())
    report = {"config": str(config), "batches": batches, "images": images, "norm_layers": len(norms),
              "relative_change": moved / max(size, 1e-12), "source": str(weights)}
    provenance = dict(ckpt.get("provenance") or {}, norm_update=report)
    if "train_config" in ckpt:
        provenance["train_config"] = ckpt["train_config"]
        provenance["iteration"] = ckpt.get("training", {}).get("iteration")
    save_checkpoint(out, models, half=half, provenance=provenance)
    return report
