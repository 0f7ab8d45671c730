#!/usr/bin/env python3
"""Stage-2 data loading throughput (issue 17, item 8): crops per second that the
trainer's loader delivers (source + target crops of a batch), without the network.

    python tools/bench_stage2_loading.py --data data/synth/train --batch 16 --workers 2 --iterations 20
"""
from __future__ import annotations

import argparse
import time

from cluenet_training import engine
from cluenet_training.config import DataSpec, RunConfig, Stage2TrainConfig
from cluenet_training.stage2 import Stage2Samples, sample_loader, source_dataset, target_dataset
from cluenet_ros.models.factory import load_model_configs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="a split folder (source and target)")
    ap.add_argument("--model-config", default="config/model_small.yaml")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=2, help="batches not timed (worker start-up)")
    a = ap.parse_args()
    _, s2 = load_model_configs(a.model_config)
    spec = DataSpec(format="split", root=a.data)
    cfg = Stage2TrainConfig(model=s2, source=spec, target=spec,
                            run=RunConfig(iterations=a.iterations + a.warmup, batch_size=a.batch, workers=a.workers))
    samples = Stage2Samples(source_dataset(spec), target_dataset(spec), cfg, 1, 0, cfg.run.iterations)
    crops, t0 = 0, None
    for it, batch in sample_loader(samples, a.batch, engine.Process(0, 1, "cpu"), a.workers):
        if it == a.warmup:
            t0 = time.perf_counter()
        if it >= a.warmup:
            crops += len(batch["source"]) + len(batch["target"])
    dt = time.perf_counter() - t0
    print(f"{crops / dt:.1f} crops/s ({crops} crops in {dt:.1f} s; batch {a.batch}, workers {a.workers}, "
          f"input {tuple(s2.input_size)})")


if __name__ == "__main__":
    main()
