#!/usr/bin/env python3
"""Training throughput of both stages at the paper's sizes (issue 22: what a
CityPersons / COCO run costs on a GPU), and the largest batch that fits.

It times the trainers' own steps: stage 1 is ``model(images, targets)`` under
autocast with a GradScaler and SGD, as training/stage1.py runs it (once with the
trunk frozen, as for the paper's first 10k iterations, once with it thawed);
stage 2 is training/stage2.train_step (the alternating adversarial step, source
and target crops in one encoder pass) in fp32, as the trainer runs it, and under
bf16 autocast, which the trainer does not use yet. Data loading is left out: the
inputs are synthetic tensors already on the device (pedestrian boxes of
CityPersons-like sizes with their masks; crops with visible keypoints), so the
figures are the GPU's rate, the ceiling a data loader has to feed.

    python tools/train_throughput.py --device cuda --json out/train_throughput.json
    python tools/train_throughput.py --device cpu --tiny     # a smoke run of the script
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _stage1_batch(n: int, hw: tuple[int, int], people: int, device, gen: torch.Generator):
    h, w = hw
    images, targets = [], []
    for _ in range(n):
        images.append(torch.rand(3, h, w, generator=gen).to(device))
        ph = torch.randint(max(8, h // 25), max(9, h // 3), (people,), generator=gen).float()
        pw = ph * 0.41
        x0 = torch.rand(people, generator=gen) * (w - pw - 1)
        y0 = torch.rand(people, generator=gen) * (h - ph - 1)
        boxes = torch.stack([x0, y0, x0 + pw, y0 + ph], 1)
        mask = torch.zeros(h, w, dtype=torch.uint8)
        for b in boxes.round().long().tolist():
            mask[b[1]:b[3], b[0]:b[2]] = 1
        targets.append({"boxes": boxes.to(device), "mask": mask.to(device)})
    return images, targets


def stage1_rate(cfg, batch: int, hw, people: int, frozen: bool, steps: int, warmup: int, device) -> dict:
    from cluenet_ros.models.stage1 import ClueNetStage1
    from cluenet_training.stage1 import make_optimizer

    torch.manual_seed(0)
    model = ClueNetStage1(cfg.model).to(device)
    model.freeze_trunk_stages(5 if frozen else 0)
    model.train()
    opt, _ = make_optimizer(model, cfg)
    amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    gen = torch.Generator().manual_seed(1)
    data = [_stage1_batch(batch, hw, people, device, gen) for _ in range(2)]
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    for i in range(warmup + steps):
        images, targets = data[i % 2]
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, enabled=amp):
            losses = model(images, targets)
        opt.zero_grad(set_to_none=True)
        scaler.scale(losses["loss_total"]).backward()
        scaler.step(opt)
        scaler.update()
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    out = {"batch": batch, "trunk": "frozen" if frozen else "thawed", "step_s_median": med,
           "images_per_s": batch / med, "loss_total_last": float(losses["loss_total"].detach())}
    if device.type == "cuda":
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    del model, opt, data
    return out


def stage2_rate(cfg, batch: int, steps: int, warmup: int, device, precision: str) -> dict:
    from cluenet_ros import keypoints as kp
    from cluenet_ros.models.stage2 import ClueNetStage2
    from cluenet_training.stage2 import make_optimizers, train_step

    torch.manual_seed(0)
    model = ClueNetStage2(cfg.model).to(device)
    model.train()
    opt_model, opt_cls = make_optimizers(model, cfg)
    nets = (model.encoder, model.decoder, model.domain_classifier)
    h, w = cfg.model.input_size
    gen = torch.Generator().manual_seed(2)
    kps = torch.rand(batch, kp.NUM_KEYPOINTS, 3, generator=gen)
    kps[..., 0] *= w
    kps[..., 1] *= h
    kps[..., 2] = 2.0
    data = {"source": torch.rand(batch, 3, h, w, generator=gen).to(device),
            "target": torch.rand(batch, 3, h, w, generator=gen).to(device), "keypoints": kps.to(device)}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    times = []
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
    for i in range(warmup + steps):
        _sync(device)
        t0 = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype or torch.float32, enabled=dtype is not None):
            values = train_step(model, nets, opt_model, opt_cls, data, cfg, device, iteration=i)
        _sync(device)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    times.sort()
    med = times[len(times) // 2]
    out = {"batch": batch, "precision": precision, "step_s_median": med,
           "source_crops_per_s": batch / med, "crops_per_s_both_domains": 2 * batch / med,
           "loss_pose_last": float(values["loss_pose"])}
    if device.type == "cuda":
        out["peak_mem_gib"] = torch.cuda.max_memory_allocated(device) / 2**30
    del model, opt_model, opt_cls, data
    return out


def _largest(fn, batches, deadline: float, rows: list, save) -> int | None:
    """Rates at growing batches (appended to ``rows``, ``save()`` after each, so that a
    run stopped from outside keeps what it measured) until one does not fit (CUDA out of
    memory) or time runs out."""
    largest = None
    for b in batches:
        if largest is not None and time.time() > deadline:  # the first (paper) batch always runs
            rows.append({"batch": b, "skipped": "time budget spent"})
            break
        try:
            r = fn(b)
        except torch.OutOfMemoryError as e:
            rows.append({"batch": b, "out_of_memory": str(e).splitlines()[0][:200]})
            break
        finally:
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        rows.append(r)
        largest = b
        save()
        print(json.dumps(r), flush=True)
    return largest


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="small sizes, for a CPU smoke run")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--budget-s", type=float, default=240, help="stop growing batches after this long")
    p.add_argument("--json", required=True)
    a = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from cluenet_training.config import load_stage1, load_stage2

    device = torch.device(a.device)
    s1 = load_stage1(ROOT / "training/configs/stage1_paper.yaml")
    s1 = dataclasses.replace(s1, model=dataclasses.replace(s1.model, trunk_weights="none"))
    s2 = load_stage2(ROOT / "training/configs/stage2_paper.yaml")
    s2 = dataclasses.replace(s2, model=dataclasses.replace(s2.model, encoder_weights="none"))
    hw, people = ((128, 256), 3) if a.tiny else ((1024, 2048), 10)
    b1 = [1, 2] if a.tiny else [2, 4, 8, 16, 32, 64]
    b2 = [2, 4] if a.tiny else [32, 64, 128, 256, 512, 1024]
    if a.tiny:
        s2 = dataclasses.replace(s2, model=dataclasses.replace(s2.model, encoder="resnet18"))
    t0 = time.time()
    per = a.budget_s / 4
    res = {"device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "torch": torch.__version__, "stage1_resolution": f"{hw[1]}x{hw[0]}", "stage1_people": people,
           "stage1_precision": "fp16 autocast + GradScaler" if device.type == "cuda" else "fp32",
           "stage2_input": list(s2.model.input_size), "steps": a.steps, "warmup": a.warmup,
           "paper_batch": {"stage1": s1.run.batch_size, "stage2": s2.run.batch_size}}
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)

    def save() -> None:
        res["wall_s"] = time.time() - t0
        Path(a.json).write_text(json.dumps(res, indent=2) + "\n")

    for frozen in (True, False):
        key = "stage1_trunk_frozen" if frozen else "stage1_trunk_thawed"
        res[key] = {"rows": []}
        res[key]["largest_batch_fitting"] = _largest(
            lambda b: stage1_rate(s1, b, hw, people, frozen, a.steps, a.warmup, device), b1,
            t0 + per * (1 if frozen else 2), res[key]["rows"], save)
    for prec in ("fp32", "bf16"):
        key = f"stage2_{prec}"
        res[key] = {"rows": []}
        res[key]["largest_batch_fitting"] = _largest(
            lambda b: stage2_rate(s2, b, a.steps, a.warmup, device, prec), b2,
            t0 + per * (3 if prec == "fp32" else 4), res[key]["rows"], save)
    save()
    print(f"wrote {a.json} in {res['wall_s']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
