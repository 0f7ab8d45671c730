"""Stage-2 training: pose with Mask and Predict (curriculum of black patches) and
adversarial domain adaptation (eq. 3), alternating <E, D> and <E, C> updates."""
from __future__ import annotations

import math
import operator
from pathlib import Path

import torch
from torch.nn.parallel import DistributedDataParallel as DDP

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.pose import keypoint_ap
from cluenet_ros.inference.geometry import crop_boxes, crop_to_image
from cluenet_ros.models.checkpoint import load_models, save_checkpoint
from cluenet_ros.models.heatmaps import decode_heatmaps, gaussian_targets
from cluenet_ros.models.stage2 import ClueNetStage2, domain_classifier_loss, encoder_adversarial_loss, pose_loss
from cluenet_training import engine
from cluenet_training.config import DataSpec, Stage2TrainConfig
from cluenet_training.datasets import CityPersonsCrops, CocoPersons, DatasetError, PedestrianCrops
from cluenet_training.schedules import learning_rate, occlusion_fraction
from cluenet_training.transforms import person_crop


COMBINED = "cluenet.pt"


def source_dataset(spec: DataSpec) -> CocoPersons:
    if spec.format == "coco":
        return CocoPersons(spec.annotations, spec.root or None)
    if spec.format == "split":
        return CocoPersons(Path(spec.root) / "coco_keypoints.json", spec.root)
    raise DatasetError(f"stage-2 source data must be 'coco' or 'split', not {spec.format!r}")


def target_dataset(spec: DataSpec):
    if spec.format == "split":
        return PedestrianCrops(spec.root)
    if spec.format == "citypersons":
        return CityPersonsCrops(spec.root, spec.annotations, spec.split)
    raise DatasetError(f"stage-2 target data must be 'split' or 'citypersons', not {spec.format!r}")


@torch.inference_mode()
def validate(model: ClueNetStage2, data: CocoPersons, limit: int, padding: float, device) -> dict:
    model.eval()
    hw = tuple(model.config.input_size)
    anns = data.anns[:limit]
    results = []
    for i, ann in enumerate(anns):
        rec = data[i]
        crop, _, _ = person_crop(rec, hw, padding, None)
        region = crop_boxes(torch.from_numpy(rec.box)[None].float(), hw, padding)
        kps = decode_heatmaps(model(crop[None].to(device)).float(), model.config.heatmap_stride).cpu()
        kps = crop_to_image(kps, region, hw)[0]
        flat = torch.cat([kps[:, :2], torch.ones(len(kps), 1)], 1).flatten().tolist()
        results.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": flat,
                        "score": float(kps[:, 2].clamp(0, 1).mean())})
    gt = dict(data.coco.dataset)
    ids = {a["id"] for a in anns}
    gt["annotations"] = [a for a in gt["annotations"] if a["id"] in ids]
    mapped = [data._keypoints(a) for a in gt["annotations"]]  # COCO-17 files -> the 13-keypoint schema
    gt["annotations"] = [dict(a, keypoints=k.ravel().tolist(), num_keypoints=int((k[:, 2] > 0).sum()))
                         for a, k in zip(gt["annotations"], mapped)]
    gt["categories"] = [kp.coco_category()]
    model.train()
    return {"ap": keypoint_ap(gt, results)["AP"]}


def train(cfg: Stage2TrainConfig, resume: bool = False) -> Path:
    proc = engine.setup_process(cfg.run.device)
    out = Path(cfg.run.out_dir)
    run, mp, da = cfg.run, cfg.mask_and_predict, cfg.domain_adaptation
    source = source_dataset(cfg.source)
    target = target_dataset(cfg.target) if da.enabled else None
    val = source_dataset(cfg.val) if cfg.val is not None else None
    torch.manual_seed(run.seed)
    model = ClueNetStage2(cfg.model).to(proc.device)
    hw = tuple(cfg.model.input_size)
    o = cfg.optim
    E, D, C = model.encoder, model.decoder, model.domain_classifier
    opt_pose = engine.make_optimizer(list(E.parameters()) + list(D.parameters()), o)
    opt_adv = engine.make_optimizer(E.parameters(), o)
    opt_cls = engine.make_optimizer(C.parameters(), o, lr=da.classifier_lr)
    lam = lambda it: learning_rate(it, 1.0, o.lr_step, o.lr_gamma, o.warmup_iterations)  # noqa: E731
    scheds = [torch.optim.lr_scheduler.LambdaLR(opt, lam) for opt in (opt_pose, opt_adv, opt_cls)]
    curriculum = mp.curriculum_iterations or run.iterations
    start, best = 0, -math.inf
    state = engine.resume_state(out, resume, proc)
    if state is not None:
        model.load_state_dict(state["models"]["stage2"]["state_dict"])
        t = state["training"]
        for opt, s in zip((opt_pose, opt_adv, opt_cls), t["optimizers"]):
            opt.load_state_dict(s)
        for sch, s in zip(scheds, t["schedulers"]):
            sch.load_state_dict(s)
        start, best = t["iteration"], t["best"]

    def make_batch(it: int):
        rng = engine.iteration_rng(run.seed, it, proc.rank)
        top = occlusion_fraction(it, curriculum, mp.max_fraction) if mp.enabled else 0.0
        crops, kps = [], []
        for i in rng.integers(len(source), size=run.batch_size):
            hide = float(rng.uniform(0.0, top)) if top > 0 else 0.0
            c, k, _ = person_crop(source[int(i)], hw, cfg.crop_padding, rng, cfg.augment.scale,
                                  cfg.augment.hflip, hide)
            crops.append(c)
            kps.append(k)
        batch = {"source": torch.stack(crops), "keypoints": torch.stack(kps), "occlusion_max": top}
        if target is not None:
            batch["target"] = torch.stack([
                person_crop(target[int(i)], hw, cfg.crop_padding, rng, cfg.augment.scale, cfg.augment.hflip)[0]
                for i in rng.integers(len(target), size=run.batch_size)])
        return batch

    wrap = (lambda m: DDP(m)) if proc.world > 1 else (lambda m: m)
    E_, D_, C_ = wrap(E), wrap(D), wrap(C)
    model.train()
    logger = engine.Logger(proc, out, start, run.iterations, resume and start > 0)

    def save(path: Path, it: int, best: float) -> None:
        engine.save_training_checkpoint(path, {"stage2": model}, cfg, {
            "iteration": it, "best": best, "optimizers": [x.state_dict() for x in (opt_pose, opt_adv, opt_cls)],
            "schedulers": [s.state_dict() for s in scheds], "rng": engine.rng_state(),
            "occlusion_max": occlusion_fraction(it, curriculum, mp.max_fraction) if mp.enabled else 0.0,
            "world_size": proc.world})

    try:
        for it, batch in engine.batch_loader(make_batch, start, run.iterations, run.workers):
            engine.seed_torch(run.seed, it, proc.rank)
            xs = model.normalize(batch["source"].to(proc.device))
            heat_t, weight = gaussian_targets(batch["keypoints"].to(proc.device), cfg.model.heatmap_size,
                                              cfg.model.heatmap_stride, cfg.model.heatmap_sigma)
            # <E, D>: the pose loss of eq. 4 on the source domain
            loss_pose = pose_loss(D_(E_(xs)), heat_t, weight)
            opt_pose.zero_grad(set_to_none=True)
            loss_pose.backward()
            if o.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(opt_pose.param_groups[0]["params"], o.grad_clip)
            opt_pose.step()
            values = {"loss_pose": loss_pose.detach()}
            if target is not None:
                xt = model.normalize(batch["target"].to(proc.device))
                # C: tell source (1) from target (0) features; E is not updated here
                with torch.no_grad():
                    feats = E_(torch.cat([xs, xt]))
                logits = C_(feats)
                loss_c = domain_classifier_loss(logits[: len(xs)], logits[len(xs):])
                opt_cls.zero_grad(set_to_none=True)
                loss_c.backward()
                opt_cls.step()
                # E: make target features pass as source (C is not updated here)
                loss_e = encoder_adversarial_loss(C_(E_(xt)))
                opt_adv.zero_grad(set_to_none=True)
                (da.weight * loss_e).backward()
                if o.grad_clip > 0:
                    torch.nn.utils.clip_grad_norm_(list(E.parameters()), o.grad_clip)
                opt_adv.step()
                opt_cls.zero_grad(set_to_none=True)
                values.update(loss_domain_c=loss_c.detach(), loss_domain_e=loss_e.detach())
            for s in scheds:
                s.step()
            done = it + 1
            values = engine.all_reduce_mean(values, proc)
            values.update(lr=opt_pose.param_groups[0]["lr"], occlusion_max=batch["occlusion_max"])
            logger.step(done, values, done % run.log_every == 0)
            best, written = engine.validate_and_checkpoint(
                done, run, proc, logger, out,
                None if val is None else lambda: validate(model, val, run.val_images, cfg.crop_padding, proc.device),
                lambda m: m["ap"], operator.gt, best, save)
            # the pipeline-ready file follows best.pt, or last.pt without validation
            if engine.BEST in written or (val is None and engine.LAST in written):
                write_combined(cfg, model, out)
    finally:
        logger.close()
        engine.teardown(proc)
    return out / engine.LAST


def write_combined(cfg: Stage2TrainConfig, model: ClueNetStage2, out: Path) -> None:
    """The pipeline-ready checkpoint (stage 1 + this stage 2) when stage 1 is known."""
    if not cfg.stage1_checkpoint:
        return
    if not Path(cfg.stage1_checkpoint).is_file():
        # Stage 1 may still be training beside this run: keep training, combine later.
        engine.LOG.warning("stage1_checkpoint %s does not exist (yet): no %s written; combine later with "
                           "`cluenet train combine --stage1 %s --stage2 %s --out %s`", cfg.stage1_checkpoint,
                           COMBINED, cfg.stage1_checkpoint, out / engine.BEST, out / COMBINED)
        return
    stage1 = load_models(cfg.stage1_checkpoint, ("stage1",))["stage1"]
    save_checkpoint(out / COMBINED, {"stage1": stage1, "stage2": model},
                    provenance={"stage1": str(cfg.stage1_checkpoint), "stage2_run": str(out)})
