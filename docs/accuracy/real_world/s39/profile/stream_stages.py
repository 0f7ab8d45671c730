"""Session 39: per-stage pipeline time (median ms over the frames) on the demo stream's frames,
for several weights, to see whether more boxes explain the demo stream's latency.
    FLIP=0|1 BACKEND=torch|auto python stream_stages.py FRAMES_DIR NAME=WEIGHTS ...
writes FRAMES_DIR/../../../stage_times_flip<FLIP>_<BACKEND>.json (auto chose openvino here)."""
import os, sys, json, glob, statistics
import numpy as np, torch
from PIL import Image
from cluenet_ros.inference.pipeline import ClueNetPipeline
from cluenet_ros.inference.interface import PipelineConfig
torch.set_num_threads(2)
frames = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(glob.glob(sys.argv[1] + "/*"))]
out = {}
for spec in sys.argv[2:]:
    name, path = spec.split("=")
    pipe = ClueNetPipeline.from_checkpoint(path, PipelineConfig(device="cpu", backend=os.environ.get("BACKEND", "torch"), detection_flip_test=os.environ.get("FLIP", "1") == "1", score_threshold=float(os.environ.get("SCORE", "0.5"))))
    pipe(frames[0])
    rows = []
    for f in frames:
        t = {}
        r = pipe.process_batch([f], timings=t)[0]
        t["boxes"] = len(r.boxes)
        rows.append(t)
    keys = rows[0].keys()
    out[name] = {k: statistics.median(r[k] for r in rows) for k in keys}
    out[name]["boxes_mean"] = sum(r["boxes"] for r in rows) / len(rows)
    print(name, {k: round(v, 1) for k, v in out[name].items()}, flush=True)
json.dump(out, open(sys.argv[1] + "/../../../stage_times_flip%s_%s_score%s.json" % (os.environ.get("FLIP", "1"), os.environ.get("BACKEND", "torch"), os.environ.get("SCORE", "0.5")), "w"), indent=1)
