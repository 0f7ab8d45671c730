"""Stage-2 training: pose with Mask and Predict (curriculum of black patches) and
adversarial domain adaptation (eq. 3), alternating discriminator (C) and generator
(<E, D>) steps on one encoder pass per iteration (see ``train_step``)."""
from __future__ import annotations

import itertools
import math
import operator
import time
from pathlib import Path

import numpy as np
import torch
from torch.func import functional_call
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data import DataLoader, Dataset, DistributedSampler

from cluenet_ros import keypoints as kp
from cluenet_ros.evaluation.pose import keypoint_ap
from cluenet_ros.inference.geometry import crop_boxes, crop_to_image
from cluenet_ros.models.checkpoint import load_models, save_checkpoint
from cluenet_ros.models.heatmaps import decode_heatmaps, flip_test_average, gaussian_targets
from cluenet_ros.models.stage2 import ClueNetStage2, domain_classifier_loss, encoder_adversarial_loss, pose_loss
from cluenet_training import engine
from cluenet_training.config import DataSpec, Stage2TrainConfig, Stage2ValidationConfig, ap_key
from cluenet_training.datasets import CityPersonsCrops, CocoPersons, DatasetError, PedestrianCrops, batch_source
from cluenet_training.schedules import adversarial_weight, lr_factor, occlusion_fraction
from cluenet_training.transforms import person_crop


COMBINED = "cluenet.pt"


def source_dataset(spec: DataSpec) -> CocoPersons:
    if spec.format == "coco":
        return CocoPersons(spec.annotations, spec.root or None, visibility=spec.visibility)
    if spec.format == "split":
        return CocoPersons(Path(spec.root) / "coco_keypoints.json", spec.root, visibility=spec.visibility)
    raise DatasetError(f"stage-2 source data must be 'coco' or 'split', not {spec.format!r}")


def target_dataset(spec: DataSpec):
    if spec.format == "split":
        return PedestrianCrops(spec.root)
    if spec.format == "citypersons":
        return CityPersonsCrops(spec.root, spec.annotations, spec.split)
    raise DatasetError(f"stage-2 target data must be 'split' or 'citypersons', not {spec.format!r}")


# --------------------------------------------------------------------------- samples
def hide_fraction(schedule: str, cap: float, rng: np.random.Generator) -> float:
    """The share of one crop that Mask and Predict hides, given the curriculum's
    current share ``cap``: the paper's schedule hides exactly ``cap``; "uniform"
    draws it from U(0, cap)."""
    if cap <= 0:
        return 0.0
    return cap if schedule == "linear" else float(rng.uniform(0.0, cap))


class Stage2Samples(Dataset):
    """Sample ``g`` of a run is the ``g``-th crop (pair) over all iterations and
    processes: iteration ``g // (world * batch)``, prepared from a generator seeded
    with (seed, g) alone. A DistributedSampler hands process r the samples g = r mod
    world, so its batch of an iteration is B consecutive indices it owns; one process
    with a world x B batch sees exactly the samples of all processes together.

    Source and target crops are prepared identically (segmentation by the image's
    person mask, augmentation, Mask-and-Predict patches at the same share); they
    differ only in their labels (keypoints for the source). ``mixes`` are the people of
    ``cfg.source_mix``, one dataset per entry: each source crop comes from one of them
    for its share, from ``source`` otherwise."""

    def __init__(self, source, target, cfg: Stage2TrainConfig, world: int, start: int, stop: int,
                 mixes: tuple = ()):
        self.source, self.target, self.cfg, self.world = source, target, cfg, world
        if len(mixes) != len(cfg.source_mix):
            raise ValueError(f"{len(mixes)} mix datasets for {len(cfg.source_mix)} source_mix entries")
        self.mixes, self.mix_edges = list(mixes), np.cumsum([m.share for m in cfg.source_mix])
        self.per_iteration = world * cfg.run.batch_size
        self.offset = start * self.per_iteration
        self.count = max(0, stop - start) * self.per_iteration
        mp = cfg.mask_and_predict
        self.curriculum = mp.curriculum_iterations or cfg.run.iterations

    def __len__(self) -> int:
        return self.count

    def occlusion_max(self, iteration: int) -> float:
        mp = self.cfg.mask_and_predict
        return occlusion_fraction(iteration, self.curriculum, mp.max_fraction) if mp.enabled else 0.0

    def _crop(self, data, rng: np.random.Generator, cap: float):
        cfg = self.cfg
        rec = data[int(rng.integers(len(data)))]
        hide = hide_fraction(cfg.mask_and_predict.schedule, cap, rng)
        return person_crop(rec, tuple(cfg.model.input_size), cfg.crop_padding, rng, cfg.augment.scale,
                           cfg.augment.hflip, hide, cfg.augment, cfg.augment.box_shift)

    def __getitem__(self, k: int) -> dict:
        g = self.offset + k
        it = g // self.per_iteration
        rng = np.random.default_rng([self.cfg.run.seed, g])
        cap = self.occlusion_max(it)
        source = batch_source(rng, self.source, self.mixes, self.mix_edges)
        crop, kps, _, _ = self._crop(source, rng, cap)
        sample = {"iteration": it, "source": crop, "keypoints": kps}
        if self.target is not None:
            sample["target"] = self._crop(self.target, rng, cap)[0]
        return sample


def sample_loader(samples: Stage2Samples, batch_size: int, proc: engine.Process, workers: int):
    """Batches of this process, in iteration order. Workers prepare single samples
    in parallel (a batch is spread over all of them), and the samples are grouped
    into batches here, so batch contents do not depend on the number of workers."""
    sampler = DistributedSampler(samples, num_replicas=proc.world, rank=proc.rank, shuffle=False, drop_last=True)
    loader = DataLoader(samples, batch_size=None, sampler=sampler, num_workers=workers,
                        prefetch_factor=2 * batch_size if workers else None, persistent_workers=False)
    it = iter(loader)
    while True:
        group = list(itertools.islice(it, batch_size))
        if not group:
            return
        iters = {s["iteration"] for s in group}
        assert len(group) == batch_size and len(iters) == 1, "samples of one batch span iterations"
        batch = {k: torch.stack([s[k] for s in group]) for k in group[0] if k != "iteration"}
        yield iters.pop(), batch


# --------------------------------------------------------------------------- one step
def train_step(model: ClueNetStage2, nets, opt_model: torch.optim.Optimizer, opt_cls: torch.optim.Optimizer | None,
               batch: dict, cfg: Stage2TrainConfig, device, iteration: int = 0) -> dict:
    """One iteration of eq. 3 and 4, alternating the two players.

    BatchNorm policy: the encoder runs ONCE, in training mode, on source and target
    crops together, so its batch statistics (and running averages, updated once per
    iteration) are those of both domains, as at inference on either. Both players
    use these features:

    1. discriminator step: C learns to tell source (1) from target (0) on the
       features detached from E (L_advC); only C's optimizer steps;
    2. generator step: <E, D> minimise the pose loss (eq. 4) on the source plus
       ``weight`` x L_advE on the target (the weight ramped by
       ``ramp_iterations``, training/schedules.adversarial_weight; with
       ``balance: paper`` divided by keypoints x heatmap pixels, because eq. 4
       sums the squared errors that ``pose_loss`` averages), scored by the just-updated C through a
       copy of its parameters that takes no gradient; only the E+D optimizer steps.

    Every parameter belongs to exactly one optimizer (E and D: ``opt_model``; C:
    ``opt_cls``), so momentum and weight decay apply once per step. ``nets`` are
    the (possibly DDP-wrapped) E, D, C."""
    E_, D_, C_ = nets
    o, da = cfg.optim, cfg.domain_adaptation
    xs = model.normalize(batch["source"].to(device))
    heat_t, weight = gaussian_targets(batch["keypoints"].to(device), cfg.model.heatmap_size,
                                      cfg.model.heatmap_stride, cfg.model.heatmap_sigma)
    adversarial = opt_cls is not None and "target" in batch
    x = torch.cat([xs, model.normalize(batch["target"].to(device))]) if adversarial else xs
    feats = E_(x)
    n = len(xs)
    values = {}
    if adversarial:
        logits = C_(feats.detach())
        loss_c = domain_classifier_loss(logits[:n], logits[n:])
        opt_cls.zero_grad(set_to_none=True)
        loss_c.backward()
        opt_cls.step()
        frozen_c = {k: v.detach() for k, v in model.domain_classifier.named_parameters()}
        loss_e = encoder_adversarial_loss(functional_call(model.domain_classifier, frozen_c, (feats[n:],)))
        values.update(loss_domain_c=loss_c.detach(), loss_domain_e=loss_e.detach())
    loss_pose = pose_loss(D_(feats[:n]), heat_t, weight)
    if adversarial:
        adv_weight = adversarial_weight(iteration, da.weight, da.ramp_iterations)
        values["adversarial_weight"] = torch.tensor(adv_weight)
        if da.balance == "paper":
            adv_weight /= heat_t.shape[1] * heat_t.shape[2] * heat_t.shape[3]
    total = loss_pose + adv_weight * loss_e if adversarial else loss_pose
    opt_model.zero_grad(set_to_none=True)
    total.backward()
    if o.grad_clip > 0:
        torch.nn.utils.clip_grad_norm_(opt_model.param_groups[0]["params"], o.grad_clip)
    opt_model.step()
    values["loss_pose"] = loss_pose.detach()
    return values


# --------------------------------------------------------------------------- validation
def validation_ground_truth(data: CocoPersons, limit: int) -> dict:
    """COCO ground truth of the first ``limit`` validation persons in the 13-keypoint
    schema (COCO-17 files are mapped)."""
    anns = data.anns[:limit]
    gt = dict(data.coco.dataset)
    ids = {a["id"] for a in anns}
    gt["annotations"] = [a for a in gt["annotations"] if a["id"] in ids]
    mapped = [data.keypoints_of(a) for a in gt["annotations"]]  # COCO-17 -> 13; 'unoccluded': all 13 true
    gt["annotations"] = [dict(a, keypoints=k.ravel().tolist(), num_keypoints=int((k[:, 2] > 0).sum()))
                         for a, k in zip(gt["annotations"], mapped)]
    gt["categories"] = [kp.coco_category()]
    return gt


def runs_visibility(checkpoints) -> str:
    """The people every run validated on (its ``val.visibility``): a study scored on
    other people than its runs were selected on would mix two benchmarks."""
    seen = {torch.load(c, weights_only=True)["train_config"]["val"].get("visibility", "coco") for c in checkpoints}
    if len(seen) != 1:
        raise DatasetError(f"the runs validated on different people (val.visibility {sorted(seen)}); "
                           "score them on one set explicitly")
    return seen.pop()


@torch.inference_mode()
def crop_predictions(model: ClueNetStage2, data: CocoPersons, limit: int, padding: float, device,
                     fraction: float, validation: Stage2ValidationConfig, records=None) -> list[dict]:
    """Stage 2's COCO keypoint results, one per validation person (in ``data.anns``
    order), on true crops hidden by ``fraction`` with validation's fixed patches."""
    was_training = model.training
    model.eval()
    hw = tuple(model.config.input_size)
    anns = data.anns[:limit]
    records = records if records is not None else [data[i] for i in range(len(anns))]
    results = []
    for i, (ann, rec) in enumerate(zip(anns, records)):
        rng = np.random.default_rng([validation.seed, i, round(1000 * fraction)])
        crop, _, _, _ = person_crop(rec, hw, padding, rng, hide_fraction=fraction)
        region = crop_boxes(torch.from_numpy(rec.box)[None].float(), hw, padding)
        x = crop[None].to(device)
        heat = model(x).float()
        if validation.flip_test:
            heat = flip_test_average(heat, model(x.flip(-1)).float())
        kps = decode_heatmaps(heat, model.config.heatmap_stride).cpu()
        kps = crop_to_image(kps, region, hw)[0]
        flat = torch.cat([kps[:, :2], torch.ones(len(kps), 1)], 1).flatten().tolist()
        results.append({"image_id": ann["image_id"], "category_id": 1, "keypoints": flat,
                        "score": float(kps[:, 2].clamp(0, 1).mean())})
    model.train(was_training)
    return results


@torch.inference_mode()
def validate(model: ClueNetStage2, data: CocoPersons, limit: int, padding: float, device,
             validation: Stage2ValidationConfig) -> dict:
    """COCO keypoint AP on the first ``limit`` validation persons, once per hidden
    share of ``validation.hidden_fractions`` (the same patches at every validation),
    and their mean."""
    gt = validation_ground_truth(data, limit)
    records = [data[i] for i in range(len(data.anns[:limit]))]
    metrics = {}
    for fraction in validation.hidden_fractions:
        results = crop_predictions(model, data, limit, padding, device, fraction, validation, records)
        metrics[ap_key(fraction)] = keypoint_ap(gt, results)["AP"]
    metrics["ap_mean"] = float(np.mean(list(metrics.values())))
    model.train()
    return metrics


def selection_score(metrics: dict, validation: Stage2ValidationConfig) -> float:
    return metrics["ap_mean"] if validation.select == "mean" else metrics[validation.select]


# --------------------------------------------------------------------------- training
def make_optimizers(model: ClueNetStage2, cfg: Stage2TrainConfig):
    """E+D in one optimizer, C in another: each parameter has one optimizer state."""
    o = cfg.optim
    opt_model = engine.make_optimizer(list(model.encoder.parameters()) + list(model.decoder.parameters()), o)
    opt_cls = engine.make_optimizer(model.domain_classifier.parameters(), o,
                                    lr=cfg.domain_adaptation.classifier_lr)
    return opt_model, opt_cls


def train(cfg: Stage2TrainConfig, resume: bool = False) -> Path:
    proc = engine.setup_process(cfg.run.device)
    out = Path(cfg.run.out_dir)
    run, da = cfg.run, cfg.domain_adaptation
    source = source_dataset(cfg.source)
    mixes = tuple(source_dataset(m.data) for m in cfg.source_mix)
    target = target_dataset(cfg.target) if da.enabled else None
    val = source_dataset(cfg.val) if cfg.val is not None else None
    torch.manual_seed(run.seed)
    model = ClueNetStage2(cfg.model).to(proc.device)
    o = cfg.optim
    E, D, C = model.encoder, model.decoder, model.domain_classifier
    opt_model, opt_cls = make_optimizers(model, cfg)
    optimizers = (opt_model, opt_cls)
    lam = lr_factor(o, run.iterations)
    scheds = [torch.optim.lr_scheduler.LambdaLR(opt, lam) for opt in optimizers]
    start, best, seconds = 0, -math.inf, 0.0
    state = engine.resume_state(out, resume, proc, cfg)
    if state is not None:
        model.load_state_dict(state["models"]["stage2"]["state_dict"])
        t = state["training"]
        if len(t["optimizers"]) != len(optimizers):
            raise RuntimeError(f"{out / engine.LAST}: written by the earlier stage-2 trainer (three optimizers, "
                               "the encoder in two); it cannot be resumed by this one")
        for opt, s in zip(optimizers, t["optimizers"]):
            opt.load_state_dict(s)
        for sch, s in zip(scheds, t["schedulers"]):
            sch.load_state_dict(s)
        start, best = t["iteration"], t["best"]
        seconds = float(t.get("train_seconds", 0.0))
    elif cfg.run.init:
        engine.init_from(model, cfg.run.init, "stage2")

    samples = Stage2Samples(source, target, cfg, proc.world, start, run.iterations, mixes)
    wrap = (lambda m: DDP(m)) if proc.world > 1 else (lambda m: m)
    nets = (wrap(E), wrap(D), wrap(C) if target is not None else C)
    model.train()
    logger = engine.Logger(proc, out, start, run.iterations, resume and start > 0)

    def save(path: Path, it: int, best: float) -> None:
        engine.save_training_checkpoint(path, {"stage2": model}, cfg, {
            "iteration": it, "best": best, "optimizers": [x.state_dict() for x in optimizers],
            "schedulers": [s.state_dict() for s in scheds], "rng": engine.rng_state(),
            "occlusion_max": samples.occlusion_max(it), "world_size": proc.world,
            # wall time of the whole run so far, over resumptions (studies report their cost)
            "train_seconds": seconds + time.perf_counter() - t_start})

    t_start = time.perf_counter()
    try:
        for it, batch in sample_loader(samples, run.batch_size, proc, run.workers):
            engine.seed_torch(run.seed, it, proc.rank)
            values = train_step(model, nets, opt_model, opt_cls if target is not None else None, batch, cfg,
                                proc.device, iteration=it)
            for s in scheds:
                s.step()
            done = it + 1
            values = engine.all_reduce_mean(values, proc)
            values.update(lr=opt_model.param_groups[0]["lr"], occlusion_max=samples.occlusion_max(it))
            logger.step(done, values, done % run.log_every == 0)
            best, written = engine.validate_and_checkpoint(
                done, run, proc, logger, out,
                None if val is None else lambda: validate(precise_batch_norm(model, source, cfg, done, proc, mixes),
                                                          val, run.val_images, cfg.crop_padding, proc.device,
                                                          cfg.validation),
                lambda m: selection_score(m, cfg.validation), operator.gt, best, save)
            # the pipeline-ready file follows best.pt, or last.pt without validation
            if engine.BEST in written or (val is None and engine.LAST in written):
                write_combined(cfg, model, out)
    finally:
        logger.close()
        engine.teardown(proc)
    return out / engine.LAST


def precise_batch_norm(model: ClueNetStage2, source, cfg: Stage2TrainConfig, done: int,
                       proc: engine.Process, mixes: tuple = ()) -> ClueNetStage2:
    """``model`` with its batch-norm statistics re-estimated over the source crops of the
    ``cfg.precise_bn`` iterations up to ``done`` (all processes' crops, as trained on),
    when that is set; the model as it is otherwise. Only the main process runs it (it
    validates); DDP hands its buffers to the others at their next forward."""
    if not cfg.precise_bn:
        return model
    crops = Stage2Samples(source, None, cfg, proc.world, max(0, done - cfg.precise_bn), done, mixes)
    batch = cfg.run.batch_size

    def batches():
        for b in range(0, len(crops) - batch + 1, batch):
            yield torch.stack([crops[i]["source"] for i in range(b, b + batch)])

    torch.optim.swa_utils.update_bn(batches(), model, proc.device)
    return model


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
