"""Session 52 part C diagnosis: part A's last.pt scored on gen2 val (0 and 50% hidden) with its
running batch-norm statistics and with them re-estimated over 40 batches of the run's own crops
(iterations 1800-1839). Run once from /tmp before it was committed here; output in bn_diagnosis.txt.

    .venv/bin/python docs/accuracy/real_world/s52/bn_diagnosis.py runs/s52/stage2_anny/last.pt
"""
import sys, copy, numpy as np, torch
from cluenet_ros.models.checkpoint import load_models
from cluenet_training.config import load_stage2, Stage2ValidationConfig
from cluenet_training.datasets import CocoPersons
from cluenet_training.stage2 import validate, Stage2Samples, source_dataset
torch.set_num_threads(2)
cfg = load_stage2('docs/accuracy/real_world/s52/stage2_anny.yaml')
val = CocoPersons('data/s38/gen2_scenes/val/coco_keypoints.json', 'data/s38/gen2_scenes/val', visibility='unoccluded')
v = Stage2ValidationConfig(hidden_fractions=(0.0, 0.5))
def score(m, tag):
    r = validate(m, val, 200, 1.1, 'cpu', v); print(tag, {k: round(100*x, 1) for k, x in r.items()}, flush=True)
for path in sys.argv[1:]:
    m = load_models(path, ('stage2',))['stage2'].float()
    score(m, f'{path} eval-mode running stats')
    # the same network with BN statistics re-estimated: a cumulative average over 40 batches of
    # training crops (the run's own samples, at the end of the curriculum), no weight touched
    m2 = copy.deepcopy(m)
    for mod in m2.modules():
        if isinstance(mod, torch.nn.modules.batchnorm._BatchNorm):
            mod.reset_running_stats(); mod.momentum = None
    samples = Stage2Samples(source_dataset(cfg.source), None, cfg, 1, 1800, 1840)
    m2.train()
    with torch.no_grad():
        for b in range(40):
            x = torch.stack([samples[b * 16 + i]['source'] for i in range(16)])
            m2(x)
    score(m2, f'{path} statistics re-estimated')
    # how far the running statistics moved
    d = []
    for (n, a), (_, b) in zip(m.named_buffers(), m2.named_buffers()):
        if n.endswith('running_var'):
            d.append(float(((a - b).abs().sum() / b.abs().sum())))
    print('running_var relative change, median / max', round(float(np.median(d)), 3), round(float(np.max(d)), 3), flush=True)
