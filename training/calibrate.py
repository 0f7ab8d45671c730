"""Bias-only calibration of stage 1's segmentation logit on validation data.

Every consumer of the mask (the pipeline's crop masking, the node's mask topic, mask
IoU) cuts the probability at 0.5. A short or imbalanced training run (pedestrians are
a few percent of the pixels) can leave a mask that separates people from background
well but never reaches 0.5. Shifting the last layer's bias by the IoU-optimal logit
threshold t* makes 0.5 that threshold without touching anything else: the ranking of
pixels, and so the mask's quality as a score map, is unchanged.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from cluenet_ros.models.checkpoint import read_checkpoint, build_model, save_checkpoint
from cluenet_training.datasets import IGNORE, DatasetError, SplitStage1


def best_logit_threshold(logits: np.ndarray, target: np.ndarray) -> tuple[float, float]:
    """(threshold, IoU): the logit cut maximising foreground IoU over all pixels.

    Sorting once gives the IoU of every possible cut: predicting the k highest
    pixels positive has intersection cumsum(target)[k] and union k + |target| - that.
    """
    order = np.argsort(-logits, kind="stable")
    hits = np.cumsum(target[order].astype(np.int64))
    k = np.arange(1, len(order) + 1)
    iou = hits / (k + int(target.sum()) - hits)
    best = int(np.argmax(iou))
    nxt = logits[order[best + 1]] if best + 1 < len(order) else logits[order[best]] - 1.0
    return float((logits[order[best]] + nxt) / 2), float(iou[best])


@torch.inference_mode()
def calibrate_mask(weights: str | Path, data: str | Path, out: str | Path, max_images: int = 100,
                   device: str = "cpu") -> dict:
    ckpt = read_checkpoint(weights)
    if "stage1" not in ckpt["models"]:
        raise DatasetError(f"{weights}: no stage1 in the checkpoint (it holds {', '.join(ckpt['models'])})")
    model = build_model(weights, "stage1", ckpt["models"]["stage1"]).eval().to(device)
    split = SplitStage1(data)
    logits, target = [], []
    for i in range(min(max_images, len(split))):
        rec = split[i]
        x = torch.from_numpy(rec.image).permute(2, 0, 1).float().div(255).to(device)
        p = model([x])[0]["mask"].double().clamp(1e-7, 1 - 1e-7).cpu().numpy()
        keep = rec.mask != IGNORE
        logits.append(np.log(p / (1 - p))[keep].astype(np.float32))
        target.append(rec.mask[keep] == 1)
    logits, target = np.concatenate(logits), np.concatenate(target)
    if not target.any():
        raise DatasetError(f"{data}: no pedestrian pixel in the first {max_images} images; cannot calibrate")
    before = float((target & (logits > 0)).sum() / max(1, (target | (logits > 0)).sum()))
    shift, after = best_logit_threshold(logits, target)
    if not math.isfinite(shift):
        raise DatasetError(f"{weights}: the mask logits are not finite; cannot calibrate")
    last = model.seg_decoder.body[-1]
    last.bias -= shift
    models = {"stage1": model.cpu()}
    for name, entry in ckpt["models"].items():
        if name != "stage1":
            models[name] = build_model(weights, name, entry)
    half = any(v.dtype == torch.float16 for v in ckpt["models"]["stage1"]["state_dict"].values())
    report = {"logit_shift": shift, "val_iou_at_0.5_before": before, "val_iou_at_0.5_after": after,
              "data": str(data), "images": min(max_images, len(split)), "source": str(weights)}
    provenance = dict(ckpt.get("provenance") or {}, mask_calibration=report)
    if "train_config" in ckpt:  # keep what the training checkpoint knew of its run
        provenance["train_config"] = ckpt["train_config"]
        provenance["iteration"] = ckpt.get("training", {}).get("iteration")
    save_checkpoint(out, models, half=half, provenance=provenance)
    return report
