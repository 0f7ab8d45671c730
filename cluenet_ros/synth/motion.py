"""Motion-capture clips shipped with pybullet (DeepMimic format) and how a frame
drives the humanoid's joints."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# DeepMimic frame layout after the duration: root position (3), root rotation (4,
# w x y z), then per joint a quaternion (spherical) or an angle (revolute).
JOINT_LAYOUT: tuple[tuple[str, int], ...] = (
    ("chest", 4), ("neck", 4),
    ("right_hip", 4), ("right_knee", 1), ("right_ankle", 4), ("right_shoulder", 4), ("right_elbow", 1),
    ("left_hip", 4), ("left_knee", 1), ("left_ankle", 4), ("left_shoulder", 4), ("left_elbow", 1),
)
CLIPS = ("walk", "run", "jump", "spin", "dance_a", "dance_b", "punch", "kick")
# walking and running dominate a street; the rest add pose variety
CLIP_WEIGHTS = (0.4, 0.2, 0.08, 0.08, 0.06, 0.06, 0.06, 0.06)


@dataclass(frozen=True)
class Pose:
    root_height: float
    root_rotation: tuple[float, float, float, float]  # x y z w (pybullet order)
    joints: dict  # name -> quaternion (x y z w) or (angle,)


def wxyz_to_xyzw(q) -> tuple[float, float, float, float]:
    return (float(q[1]), float(q[2]), float(q[3]), float(q[0]))


class MotionLibrary:
    def __init__(self, data_dir: str | Path):
        self.clips: dict[str, np.ndarray] = {}
        for name in CLIPS:
            path = Path(data_dir) / "data" / "motions" / f"humanoid3d_{name}.txt"
            frames = np.asarray(json.loads(path.read_text())["Frames"], dtype=np.float64)
            if frames.shape[1] != 44:
                raise ValueError(f"{path}: expected 44 values per frame, got {frames.shape[1]}")
            self.clips[name] = frames

    def sample(self, rng: np.random.Generator) -> tuple[str, Pose]:
        name = CLIPS[rng.choice(len(CLIPS), p=np.asarray(CLIP_WEIGHTS) / sum(CLIP_WEIGHTS))]
        frames = self.clips[name]
        return name, self.pose(name, int(rng.integers(len(frames))))

    def pose(self, name: str, index: int) -> Pose:
        """Frame ``index`` of clip ``name`` (wrapping around: clips loop)."""
        frames = self.clips[name]
        f = frames[index % len(frames)]
        joints, i = {}, 8
        for joint, n in JOINT_LAYOUT:
            vals = f[i:i + n]
            joints[joint] = wxyz_to_xyzw(vals) if n == 4 else (float(vals[0]),)
            i += n
        return Pose(root_height=float(f[2]), root_rotation=wxyz_to_xyzw(f[4:8]), joints=joints)
