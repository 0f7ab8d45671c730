"""Training the Keypoint R-CNN baseline with the same engine, data, augmentation,
schedule and budget accounting as ClueNet's stages, so the comparison differs
only in the model."""
from __future__ import annotations

import math
import operator
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from cluenet_ros.data.split import SplitFolder
from cluenet_ros.models.baseline import KeypointRCNNBaseline
from cluenet_training import engine
from cluenet_training.config import BaselineTrainConfig
from cluenet_training.datasets import SplitKeypointImages
from cluenet_training.schedules import lr_factor
from cluenet_training.transforms import keypoint_image_sample


def validate(model: KeypointRCNNBaseline, root: str, limit: int, device) -> dict:
    """MR^-2 and keypoint AP on the first ``limit`` validation images."""
    from cluenet_ros.evaluation import detection as det_eval
    from cluenet_ros.evaluation.pose import keypoint_ap
    from cluenet_ros.inference.baseline import KeypointRCNNPredictor

    data = SplitFolder.open(root)
    images = data.images[:limit]
    predictor = KeypointRCNNPredictor(model, str(device))
    dets, kps = [], []
    for img in images:
        res = predictor(data.read_rgb(img))
        for b, s, k in zip(res.boxes.tolist(), res.scores.tolist(), res.keypoints):
            dets.append({"image_id": img["id"], "category_id": 1, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
                         "score": s})
            kps.append({"image_id": img["id"], "category_id": 1, "score": s,
                        "keypoints": [v for x, y, _ in k.tolist() for v in (x, y, 1.0)]})
    ids = {i["id"] for i in images}
    cp = dict(data.citypersons, images=images, annotations=[a for a in data.citypersons["annotations"]
                                                            if a["image_id"] in ids])
    gt = det_eval.load_ground_truth(cp)
    mr = det_eval.evaluate_detections(gt, det_eval.load_detections(dets, gt))
    coco = dict(data.coco, images=images, annotations=[a for a in data.coco["annotations"] if a["image_id"] in ids])
    model.train()
    return {"mr_reasonable": mr["reasonable"], "ap": keypoint_ap(coco, kps)["AP"]}


def selection_score(metrics: dict) -> tuple[float, float]:
    """Keypoint AP first; MR^-2 Reasonable breaks ties. Short runs often sit at AP 0 at
    every validation, and then the better detector is the fairer pick (stage 1 of
    ClueNet is selected by MR^-2)."""
    return (metrics["ap"], -metrics["mr_reasonable"])


def _as_score(stored) -> tuple[float, float]:
    # checkpoints written before the tie-break stored the AP alone
    return (float(stored), -math.inf) if isinstance(stored, (int, float)) else tuple(stored)


def train(cfg: BaselineTrainConfig, resume: bool = False) -> Path:
    proc = engine.setup_process(cfg.run.device)
    out = Path(cfg.run.out_dir)
    run = cfg.run
    dataset = SplitKeypointImages(cfg.train.root)
    torch.manual_seed(run.seed)
    model = KeypointRCNNBaseline(cfg.model).to(proc.device)
    o = cfg.optim
    opt = engine.make_optimizer(model.parameters(), o)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lr_factor(o, run.iterations))
    start, best = 0, (-math.inf, -math.inf)
    state = engine.resume_state(out, resume, proc, cfg)
    if state is not None:
        model.load_state_dict(state["models"]["keypointrcnn"]["state_dict"])
        t = state["training"]
        opt.load_state_dict(t["optimizer"])
        sched.load_state_dict(t["scheduler"])
        start, best = t["iteration"], _as_score(t["best"])

    def make_batch(it: int):
        rng = engine.iteration_rng(run.seed, it, proc.rank)
        idx = rng.integers(len(dataset), size=run.batch_size)
        return [keypoint_image_sample(dataset[int(i)], rng, cfg.augment.scale, cfg.augment.hflip,
                                      cfg.augment) for i in idx]

    net = DDP(model) if proc.world > 1 else model
    model.train()
    logger = engine.Logger(proc, out, start, run.iterations, resume and start > 0)

    def save(path: Path, it: int, best: tuple[float, float]) -> None:
        engine.save_training_checkpoint(path, {"keypointrcnn": model}, cfg, {
            "iteration": it, "best": list(best), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
            "rng": engine.rng_state(), "world_size": proc.world})

    try:
        for it, batch in engine.batch_loader(make_batch, start, run.iterations, run.workers):
            engine.seed_torch(run.seed, it, proc.rank)
            images = [b[0].to(proc.device) for b in batch]
            targets = [{k: v.to(proc.device) for k, v in b[1].items()} for b in batch]
            losses = net(images, targets)
            total = sum(losses.values())
            opt.zero_grad(set_to_none=True)
            total.backward()
            if o.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), o.grad_clip)
            opt.step()
            sched.step()
            done = it + 1
            values = engine.all_reduce_mean({**{k: v.detach() for k, v in losses.items()},
                                             "loss_total": total.detach()}, proc)
            values["lr"] = opt.param_groups[0]["lr"]
            logger.step(done, values, done % run.log_every == 0)
            best, _ = engine.validate_and_checkpoint(
                done, run, proc, logger, out,
                None if cfg.val is None else lambda: validate(model, cfg.val.root, run.val_images, proc.device),
                selection_score, operator.gt, best, save)
    finally:
        logger.close()
        engine.teardown(proc)
    return out / engine.LAST
