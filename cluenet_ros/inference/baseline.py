"""The Keypoint R-CNN baseline behind the same numpy interface as ClueNetPipeline,
so the accuracy study scores both with one evaluation. It has no segmentation, so
its frames carry no mask and no visibility."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.pipeline import FrameResult, check_image, resolve_device
from cluenet_ros.models.baseline import KeypointRCNNBaseline
from cluenet_ros.models.checkpoint import load_models
from cluenet_ros.occlusion import random_patches


class KeypointRCNNPredictor:
    def __init__(self, model: KeypointRCNNBaseline, device: str = "auto", score_threshold: float = 0.05):
        self.device = resolve_device(device)
        self.model = model.eval().to(self.device)
        self.model.detector.roi_heads.score_thresh = score_threshold

    @classmethod
    def from_checkpoint(cls, path: str | Path, device: str = "auto",
                        score_threshold: float = 0.05) -> "KeypointRCNNPredictor":
        return cls(load_models(path, ("keypointrcnn",))["keypointrcnn"], device, score_threshold)

    def _tensor(self, rgb: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device).permute(2, 0, 1).float().div_(255)

    @torch.inference_mode()
    def __call__(self, image: np.ndarray) -> FrameResult:
        check_image(image)
        out = self.model([self._tensor(image)])[0]
        boxes = out["boxes"].cpu().numpy().astype(np.float32)
        kps = out["keypoints"].cpu().numpy().astype(np.float32)
        if len(kps):
            kps[..., 2] = out["keypoints_scores"].sigmoid().cpu().numpy()  # logits -> confidence
        n = len(boxes)
        return FrameResult(boxes=boxes, scores=out["scores"].cpu().numpy(), visible_boxes=boxes.copy(),
                           visibility=np.full(n, np.nan, np.float32), keypoints=kps.reshape(n, kp.NUM_KEYPOINTS, 3),
                           occluded=np.zeros((n, kp.NUM_KEYPOINTS), bool), mask=None)

    def occlusion_probe(self, samples: Sequence[tuple[np.ndarray, np.ndarray, dict]]):
        """The occlusion study's probe: black patches over ``level`` of the person in
        the whole image, then the keypoint branch on the ground-truth full box."""
        def probe(level: float, rng: np.random.Generator) -> np.ndarray:
            out = []
            with torch.inference_mode():
                for rgb, mask, ann in samples:
                    hidden = random_patches(mask, level, rng)
                    x, y, w, h = ann.get("full_bbox", ann["bbox"])
                    box = torch.tensor([[x, y, x + w, y + h]], dtype=torch.float32, device=self.device)
                    k = self.model.keypoints_in_boxes([self._tensor(rgb * ~hidden[..., None])], [box])
                    k[..., 2] = k[..., 2].sigmoid()
                    out.append(k.cpu().numpy())
            return np.concatenate(out) if out else np.zeros((0, 13, 3), np.float32)
        return probe
