"""The README picture of the debug image: a rendered synthetic sequence run through
the model and the tracker, the last frame drawn by cluenet_ros.overlay (what the
node publishes on debug_image).

    .venv/bin/python tools/features_picture.py --out docs/features/debug_image.png
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cluenet_ros.inference import ClueNetPipeline, PipelineConfig  # noqa: E402
from cluenet_ros.overlay import draw_overlay  # noqa: E402
from cluenet_ros.synth.render import SceneRenderer  # noqa: E402
from cluenet_ros.synth.sequence import make_sequence  # noqa: E402
from cluenet_ros.tracking import PedestrianTracker, TrackerConfig  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="docs/features/debug_image.png")
    ap.add_argument("--weights", default="models/cluenet_demo.pt")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--first", type=int, default=40, help="first frame of the sequence")
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--score", type=float, default=0.9, help="score_threshold (the tracker's high threshold)")
    ap.add_argument("--nms", type=float, default=0.3, help="nms_iou (the demo model's boxes come in loose "
                    "overlapping pairs; 0.3 keeps one)")
    args = ap.parse_args(argv)
    pipe = ClueNetPipeline.from_checkpoint(args.weights, PipelineConfig(device="auto", score_threshold=0.1,
                                                                                nms_iou=args.nms))
    tracker = PedestrianTracker(TrackerConfig(high_threshold=args.score, new_track_threshold=args.score))
    seq = make_sequence(args.seed, frames=args.first + args.frames, people=5, size=(512, 256), depth_range=(5.0, 14.0))
    renderer = SceneRenderer(512, 256, max_people=5)
    try:
        for k in range(args.first, args.first + args.frames):
            scene = renderer.render_frame(**seq.render_arguments(k))
            tracked = tracker(pipe(scene.image))
    finally:
        renderer.close()
    # drawn at twice the size for a legible picture: the image upscaled, the results scaled with it
    big = cv2.resize(scene.image, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
    tracked.boxes, tracked.visible_boxes = tracked.boxes * 2, tracked.visible_boxes * 2
    tracked.keypoints = tracked.keypoints.copy()
    tracked.keypoints[..., :2] *= 2
    tracked.mask = cv2.resize(tracked.mask, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
    img = draw_overlay(big, tracked)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(args.out, img[..., ::-1])
    print(f"{args.out}: frame {k}, {len(tracked)} tracked pedestrian(s), ids {tracked.ids}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
