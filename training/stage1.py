"""Stage-1 training: detection + segmentation with gradual unfreezing."""
from __future__ import annotations

import math
import operator
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from cluenet_ros.evaluation import detection as det_eval
from cluenet_ros.evaluation.segmentation import MaskIoU
from cluenet_ros.models.stage1 import ClueNetStage1
from cluenet_training import engine
from cluenet_training.config import Stage1TrainConfig
from cluenet_training.datasets import IGNORE, SplitStage1, batch_source, build_stage1_dataset
from cluenet_training.schedules import frozen_stages, lr_factor
from cluenet_training.plates import PlateBank
from cluenet_training.transforms import stage1_sample


def make_optimizer(model, cfg: Stage1TrainConfig):
    o = cfg.optim
    opt = engine.make_optimizer(model.parameters(), o)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_factor(o, cfg.run.iterations))
    return opt, sched


@torch.inference_mode()
def validate(model: ClueNetStage1, data: SplitStage1, limit: int, device) -> dict:
    model.eval()
    dets, iou = [], MaskIoU()
    images = data.split.images[:limit]
    for i, img in enumerate(images):
        rec = data[i]
        x = torch.from_numpy(rec.image).permute(2, 0, 1).float().div(255).to(device)
        out = model([x])[0]
        for b, s in zip(out["boxes"].tolist(), out["scores"].tolist()):
            dets.append({"image_id": img["id"], "category_id": 1, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "score": s})
        iou.add((out["mask"] > 0.5).cpu().numpy(), rec.mask == 1, rec.mask == IGNORE)
    gt_json = dict(data.split.citypersons, images=images)
    ids = {i["id"] for i in images}
    gt_json["annotations"] = [a for a in gt_json["annotations"] if a["image_id"] in ids]
    gt = det_eval.load_ground_truth(gt_json)
    mr = det_eval.evaluate_detections(gt, det_eval.load_detections(dets, gt))
    model.train()
    return {"mr_reasonable": mr["reasonable"], "mr_heavy": mr["heavy"], "mr_all": mr["all"], "mask_iou": iou.iou}


def score_of(metrics: dict) -> float:
    """Lower is better: MR^-2 (Reasonable), or 1 - IoU where MR is undefined."""
    mr = metrics.get("mr_reasonable", float("nan"))
    return mr if not math.isnan(mr) else 1.0 - metrics.get("mask_iou", 0.0)


def batch_maker(cfg: Stage1TrainConfig, dataset=None, rank: int = 0):
    """``make_batch(it)``: iteration ``it``'s samples of a run of ``cfg``, seeded by the iteration
    alone, so that anything else reading a run's batches (the norm update) sees the very images,
    augmentations and pasted plates that training saw."""
    run = cfg.run
    dataset = build_stage1_dataset(cfg.train) if dataset is None else dataset
    plates = PlateBank(cfg.augment.background_plate_dirs) if cfg.augment.background_plate else None
    # each folder with its scale range: a mix folder's own factor times the augmentation's range
    mixes = [(build_stage1_dataset(m.data), tuple(m.scale * s for s in cfg.augment.scale)) for m in cfg.train_mix]
    mix_edges = np.cumsum([m.share for m in cfg.train_mix])

    def make_batch(it: int):
        rng = engine.iteration_rng(run.seed, it, rank)
        source, scale_range = batch_source(rng, (dataset, cfg.augment.scale), mixes, mix_edges)
        idx = rng.integers(len(source), size=run.batch_size)
        return [stage1_sample(source[int(i)], rng, scale_range, cfg.augment.hflip, None, cfg.augment, plates)
                for i in idx]

    return make_batch


def train(cfg: Stage1TrainConfig, resume: bool = False) -> Path:
    proc = engine.setup_process(cfg.run.device)
    out = Path(cfg.run.out_dir)
    run, u = cfg.run, cfg.unfreeze
    dataset = build_stage1_dataset(cfg.train)
    val = build_stage1_dataset(cfg.val) if cfg.val is not None else None
    torch.manual_seed(run.seed)  # identical initial weights on every process
    model = ClueNetStage1(cfg.model).to(proc.device)
    if cfg.model.trunk_norm == "sync" and proc.world > 1:  # same parameters and state_dict keys
        model.trunk = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model.trunk)
    opt, sched = make_optimizer(model, cfg)
    cuda_amp = run.amp and proc.device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=cuda_amp)
    start, best = 0, math.inf
    state = engine.resume_state(out, resume, proc, cfg)
    if state is not None:
        model.load_state_dict(state["models"]["stage1"]["state_dict"])
        t = state["training"]
        opt.load_state_dict(t["optimizer"])
        sched.load_state_dict(t["scheduler"])
        scaler.load_state_dict(t["scaler"])
        start, best = t["iteration"], t["best"]
    elif run.init:
        engine.init_from(model, run.init, "stage1")
    model.keep_norm_statistics(u.norm_statistics == "frozen")

    make_batch = batch_maker(cfg, dataset, proc.rank)

    def wrapped():
        return DDP(model, find_unused_parameters=False) if proc.world > 1 else model

    model.freeze_trunk_stages(frozen_stages(start, u.frozen_iterations, u.interval, u.keep_frozen))
    net = wrapped()
    model.train()
    logger = engine.Logger(proc, out, start, run.iterations, resume and start > 0)

    def save(path: Path, it: int, best: float) -> None:
        engine.save_training_checkpoint(path, {"stage1": model}, cfg, {
            "iteration": it, "best": best, "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "scaler": scaler.state_dict(), "rng": engine.rng_state(), "frozen_stages": model.frozen_stages,
            "world_size": proc.world})

    try:
        for it, batch in engine.batch_loader(make_batch, start, run.iterations, run.workers):
            fs = frozen_stages(it, u.frozen_iterations, u.interval, u.keep_frozen)
            if fs != model.frozen_stages:  # DDP must learn the new set of trained parameters
                model.freeze_trunk_stages(fs)
                net = wrapped()
            engine.seed_torch(run.seed, it, proc.rank)
            images = [b[0].to(proc.device, non_blocking=True) for b in batch]
            targets = [{k: v.to(proc.device, non_blocking=True) for k, v in b[1].items()} for b in batch]
            with torch.autocast("cuda", enabled=cuda_amp):
                losses = net(images, targets)
            opt.zero_grad(set_to_none=True)
            scaler.scale(losses["loss_total"]).backward()
            if cfg.optim.grad_clip > 0:
                scaler.unscale_(opt)
                torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], cfg.optim.grad_clip)
            scaler.step(opt)
            scaler.update()
            sched.step()
            done = it + 1
            values = engine.all_reduce_mean({k: v.detach() for k, v in losses.items()}, proc)
            values.update(lr=opt.param_groups[0]["lr"], frozen_stages=fs)
            logger.step(done, values, done % run.log_every == 0)
            best, _ = engine.validate_and_checkpoint(
                done, run, proc, logger, out,
                None if val is None else lambda: validate(model, val, run.val_images, proc.device),
                score_of, operator.lt, best, save)
    finally:
        logger.close()
        engine.teardown(proc)
    return out / engine.LAST
