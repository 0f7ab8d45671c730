"""What both trainers share: processes (single or torchrun/DDP), deterministic
per-iteration batches, checkpoints with the full training state, and logging.

Determinism: the batch and the augmentation of iteration i on rank r come from a
generator seeded with (seed, i, r), and the torch RNG is reseeded from the same
triple before the step, so a run is a pure function of its config and the
iteration. A resumed run therefore reproduces the losses of an uninterrupted one;
the RNG states saved in checkpoints are restored as well, for code outside that
scheme.
"""
from __future__ import annotations

import json
import logging
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset

from cluenet_ros.config import differences, to_dict
from cluenet_ros.models.checkpoint import CheckpointError, atomic_save, read_checkpoint

LAST, BEST = "last.pt", "best.pt"
LOSSES, VALIDATION = "losses.jsonl", "validation.jsonl"
LOG = logging.getLogger(__name__)


@dataclass
class Process:
    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup_process(device: str) -> Process:
    """torchrun sets WORLD_SIZE/RANK/LOCAL_RANK; without them this is one process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = torch.cuda.is_available() and device in ("auto", "cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' requested but no CUDA device is available")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    dev = torch.device(f"cuda:{local}" if cuda else "cpu")
    if cuda:
        torch.cuda.set_device(dev)
    return Process(rank, world, dev)


def make_optimizer(params, optim, lr: float | None = None) -> torch.optim.Optimizer:
    """The optimizer an OptimConfig names (``lr`` overrides its learning rate)."""
    lr = optim.lr if lr is None else lr
    if optim.optimizer == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=optim.weight_decay)
    return torch.optim.SGD(params, lr=lr, momentum=optim.momentum, weight_decay=optim.weight_decay)


def teardown(proc: Process) -> None:
    if proc.world > 1 and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def iteration_rng(seed: int, iteration: int, rank: int) -> np.random.Generator:
    return np.random.default_rng([seed, iteration, rank])


def seed_torch(seed: int, iteration: int, rank: int) -> None:
    torch.manual_seed(int(np.random.SeedSequence([seed, iteration, rank, 7]).generate_state(1)[0]))


class IterationBatches(Dataset):
    """Item i is the whole batch of iteration ``start + i``: a DataLoader with
    workers then prepares batches ahead without changing what each one holds."""

    def __init__(self, make_batch: Callable[[int], object], start: int, stop: int):
        self.make_batch, self.start, self.stop = make_batch, start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __getitem__(self, i: int):
        it = self.start + i
        return it, self.make_batch(it)


def batch_loader(make_batch, start: int, stop: int, workers: int) -> DataLoader:
    return DataLoader(IterationBatches(make_batch, start, stop), batch_size=None, shuffle=False,
                      num_workers=workers, collate_fn=lambda x: x, persistent_workers=False,
                      prefetch_factor=2 if workers else None)


def rng_state() -> dict:
    """RNG states as tensors and plain lists, so checkpoints load with torch's
    safe (weights-only) loader."""
    version, keys, gauss = random.getstate()
    name, np_keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": [version, list(keys), gauss],
             "numpy": [name, torch.from_numpy(np_keys.astype(np.int64)), pos, has_gauss, cached],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    version, keys, gauss = state["python"]
    random.setstate((version, tuple(keys), gauss))
    name, np_keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, np_keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_checkpoint(path: Path, models: dict, config, training: dict) -> None:
    payload = {"format": "cluenet-checkpoint", "version": 1,
               "models": {n: {"config": to_dict(m.config), "state_dict": m.state_dict()} for n, m in models.items()},
               "train_config": to_dict(config), "training": training}
    atomic_save(payload, path)


def validate_and_checkpoint(done: int, run, proc: Process, logger: "Logger", out: Path, validate, score,
                            improves, best, save) -> tuple[object, set[str]]:
    """The end of every trainer's iteration ``done``: every ``run.val_every`` (and at
    the end) ``validate()`` on the main process, logged, with best.pt written when
    ``improves(score(metrics), best)``; every ``run.checkpoint_every`` (and at the
    end) last.pt. ``save(path, iteration, best)`` writes a checkpoint; ``validate`` is
    None without validation data. Returns the best score and the files written."""
    written = set()
    if validate is not None and (done % run.val_every == 0 or done == run.iterations):
        if proc.main:
            metrics = validate()
            logger.scalars("val", metrics, done)
            if improves(score(metrics), best):
                best = score(metrics)
                save(out / BEST, done, best)
                written.add(BEST)
        if proc.world > 1:
            torch.distributed.barrier()
    if proc.main and (done % run.checkpoint_every == 0 or done == run.iterations):
        save(out / LAST, done, best)
        written.add(LAST)
    return best, written


# What a resumed run may change without a word: the budget (resuming to train longer is
# what --resume is for) and where the run folder lives.
RESUME_FREE = ("run.iterations", "run.out_dir")


def resume_state(out_dir: Path, resume: bool, proc: Process, config=None) -> dict | None:
    """The saved state of ``out_dir/last.pt`` (RNG states already restored), or
    None to start from scratch.

    With ``config`` (the run's training config), the saved run's own is compared with
    it: another model is refused with the keys that differ (its weights cannot be loaded
    into this one, and a half-trained run of one architecture continued as another is
    neither); any other change but the budget is allowed (a later phase of a schedule,
    data moved to another disk) and logged key by key, so that a resumed run never
    silently trains on something other than what it started with."""
    path = out_dir / LAST
    if not resume:
        return None
    if not path.is_file():
        if proc.main:
            LOG.warning("--resume: no %s yet, starting from scratch", path)
        return None
    state = load_training_checkpoint(path)
    if config is not None:
        changes = {k: v for k, v in differences(state.get("train_config"), to_dict(config)).items()
                   if k not in RESUME_FREE}
        model = "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items() if k.startswith("model."))
        if model:
            raise CheckpointError(path, f"cannot resume: the config's model differs from the run's ({model}); "
                                        "give run.out_dir a new folder to train this model")
        if changes and proc.main:
            LOG.warning("resuming %s with a changed config: %s", path,
                        "; ".join(f"{k}: {a!r} -> {b!r}" for k, (a, b) in changes.items()))
    try:
        restore_rng(state["training"]["rng"])
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise CheckpointError(path, f"cannot resume: bad training state ({type(exc).__name__}: {exc})") from None
    if proc.main:
        LOG.info("resuming %s at iteration %d", path, state["training"]["iteration"])
    return state


def init_from(model: torch.nn.Module, path: str | Path, name: str) -> None:
    """Loads the ``name`` model of checkpoint ``path`` into ``model`` (fine-tuning).

    Shapes must match exactly: a checkpoint of another architecture is refused with
    the mismatching keys named, never loaded in part."""
    data = read_checkpoint(path)
    if name not in data["models"]:
        raise CheckpointError(path, f"run.init: no {name} model in it (it holds {', '.join(data['models'])})")
    state = data["models"][name]["state_dict"]
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = sorted(k for k in set(own) & set(state) if tuple(own[k].shape) != tuple(state[k].shape))
    if missing or unexpected or wrong:
        parts = [f"{label}: {', '.join(keys[:4])}{' ...' if len(keys) > 4 else ''}"
                 for label, keys in (("missing", missing), ("unexpected", unexpected), ("other shape", wrong))
                 if keys]
        raise CheckpointError(path, f"run.init: its {name} does not fit model: ({'; '.join(parts)})")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()})
    LOG.info("initialised %s from %s", name, path)


def load_training_checkpoint(path: Path) -> dict:
    data = read_checkpoint(path)
    if not isinstance(data.get("training"), dict):
        raise CheckpointError(path, "not a training checkpoint (no training state); cannot resume")
    return data


def remove_stale_temporaries(out_dir: Path) -> list[Path]:
    """Delete the ``.<name>.<random>.tmp`` files a crashed ``atomic_save`` left in
    ``out_dir`` (a killed process cannot clean up after itself)."""
    removed = []
    for tmp in out_dir.glob(".*.tmp"):
        try:
            tmp.unlink()
            removed.append(tmp)
        except OSError as exc:
            LOG.warning("cannot remove stale temporary file %s: %s", tmp, exc)
    if removed:
        LOG.info("removed %d stale temporary file(s) from an interrupted run in %s", len(removed), out_dir)
    return removed


def truncate_losses(path: Path, iteration: int) -> int:
    """Cut ``losses.jsonl`` back to the records of iterations <= ``iteration`` (the
    resumed checkpoint's), so the resumed run does not log those after it twice.
    Returns the number of records dropped."""
    if not path.is_file():
        return 0
    keep, dropped = [], 0
    for line in path.read_text().splitlines():
        try:
            it = json.loads(line)["iteration"]
        except (ValueError, KeyError, TypeError):
            dropped += 1  # a line cut short by the crash
            continue
        if isinstance(it, int) and it <= iteration:
            keep.append(line)
        else:
            dropped += 1
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text("".join(line + "\n" for line in keep))
    os.replace(tmp, path)
    return dropped


class Logger:
    """tqdm progress with the current losses, TensorBoard scalars, losses.jsonl and
    validation.jsonl."""

    def __init__(self, proc: Process, out_dir: Path, start: int, total: int, resume: bool):
        self.proc = proc
        self.bar = self.tb = self.jsonl = self.val_jsonl = None
        if proc.main:
            from torch.utils.tensorboard import SummaryWriter
            from tqdm import tqdm

            out_dir.mkdir(parents=True, exist_ok=True)
            remove_stale_temporaries(out_dir)
            self.tb = SummaryWriter(str(out_dir / "tensorboard"))
            losses, validation = out_dir / LOSSES, out_dir / VALIDATION
            if resume:
                truncate_losses(losses, start)
                truncate_losses(validation, start)
            self.jsonl = open(losses, "a" if resume else "w")
            # the validation curve as plain records too: readable without TensorBoard, and
            # kept with a run's committed state (training/checkpoints/)
            self.val_jsonl = open(validation, "a" if resume else "w")
            self.bar = tqdm(total=total, initial=start, desc="training", unit="it", dynamic_ncols=True)
        self.t0 = time.perf_counter()

    def step(self, iteration: int, values: dict, show: bool) -> None:
        if not self.proc.main:
            return
        record = {"iteration": iteration, **{k: float(v) for k, v in values.items()}}
        self.jsonl.write(json.dumps(record) + "\n")
        self.bar.update(1)
        if show:
            self.jsonl.flush()
            for k, v in values.items():
                self.tb.add_scalar(f"train/{k}", float(v), iteration)
            self.bar.set_postfix({k: f"{float(v):.3f}" for k, v in values.items() if k.startswith("loss")})

    def scalars(self, prefix: str, values: dict, iteration: int) -> None:
        if self.proc.main and prefix == "val":
            finite = {k: float(v) for k, v in values.items() if isinstance(v, (int, float)) and np.isfinite(v)}
            self.val_jsonl.write(json.dumps({"iteration": iteration, **finite}) + "\n")
            self.val_jsonl.flush()
        if self.proc.main:
            for k, v in values.items():
                if isinstance(v, (int, float)) and np.isfinite(v):
                    self.tb.add_scalar(f"{prefix}/{k}", float(v), iteration)
            self.bar.write(f"[{prefix} @ {iteration}] " + ", ".join(
                f"{k} {v:.4f}" for k, v in values.items() if isinstance(v, float)))

    def close(self) -> None:
        if self.proc.main:
            self.bar.close()
            self.tb.close()
            self.jsonl.close()
            self.val_jsonl.close()


def all_reduce_mean(values: dict, proc: Process) -> dict:
    """Average the logged losses over processes (logging only)."""
    if proc.world == 1:
        return {k: float(v) for k, v in values.items()}
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], device=proc.device)
    dist.all_reduce(t)
    return {k: float(v) / proc.world for k, v in zip(keys, t.tolist())}
