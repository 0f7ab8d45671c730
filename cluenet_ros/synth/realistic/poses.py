"""Body poses as global rotations of body segments, shared by every body model.

A pose says, for each segment, how it is rotated away from the canonical rest
stance (standing upright, legs straight, arms hanging at the sides), in the
person's frame: y up, facing +z, the person's left towards +x. Body models
(the anny body, the stand-in figure) apply the same rotations to their own
bones, so one pose drives any of them.

Poses come from two sources:

* ``walk`` and ``stand``: a parametric gait cycle and relaxed standing stances,
  with every joint angle drawn within anatomical bounds (``JOINT_LIMITS_DEG``);
* ``mocap:<clip>``: a frame of the motion-capture clips the capsule world uses
  (``synth/motion.py``), retargeted by reading each humanoid segment's rotation
  off pybullet's forward kinematics.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

SEGMENTS = ("pelvis", "chest", "head",
            "thigh_l", "shin_l", "foot_l", "thigh_r", "shin_r", "foot_r",
            "upperarm_l", "forearm_l", "upperarm_r", "forearm_r")

# Bounds (degrees) of the parametric poses; flexion is forward-positive.
JOINT_LIMITS_DEG = {
    "hip_flex": (-30.0, 45.0), "knee_flex": (0.0, 70.0), "hip_abd": (-5.0, 15.0),
    "shoulder_flex": (-40.0, 60.0), "shoulder_abd": (3.0, 35.0), "elbow_flex": (0.0, 110.0),
    "torso_lean": (-5.0, 15.0), "head_yaw": (-50.0, 50.0), "head_pitch": (-20.0, 20.0),
}
POSE_KINDS = ("walk", "stand", "mocap")


def rot_x(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_y(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rot_z(a: float) -> np.ndarray:
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def flex(deg: float) -> np.ndarray:
    """Forward flexion of a downward-pointing segment (towards +z)."""
    return rot_x(-math.radians(deg))


def abduct(deg: float, side: str) -> np.ndarray:
    """Sideways lift of a left (+x) or right (-x) limb away from the body."""
    return rot_z(math.radians(deg) if side == "l" else -math.radians(deg))


@dataclass(frozen=True)
class Pose:
    kind: str                   # "walk", "stand" or "mocap:<clip>"
    rotations: dict             # segment -> (3, 3) rotation, person frame
    angles: dict                # the joint angles drawn (degrees), for checks and records


def _clip(name: str, value: float) -> float:
    lo, hi = JOINT_LIMITS_DEG[name]
    return float(min(max(value, lo), hi))


def from_angles(kind: str, a: dict) -> Pose:
    """Segment rotations from per-side joint angles (degrees)."""
    lean = flex(-a["torso_lean"])  # a forward lean turns the upward torso forward
    rot = {"pelvis": np.eye(3), "chest": lean,
           "head": lean @ rot_y(math.radians(a["head_yaw"])) @ rot_x(math.radians(a["head_pitch"]))}
    for s in "lr":
        thigh = flex(a[f"hip_flex_{s}"]) @ abduct(a[f"hip_abd_{s}"], s)
        shin = thigh @ flex(-a[f"knee_flex_{s}"])
        rot[f"thigh_{s}"], rot[f"shin_{s}"], rot[f"foot_{s}"] = thigh, shin, shin
        upper = lean @ flex(a[f"shoulder_flex_{s}"]) @ abduct(a[f"shoulder_abd_{s}"], s)
        rot[f"upperarm_{s}"], rot[f"forearm_{s}"] = upper, upper @ flex(a[f"elbow_flex_{s}"])
    return Pose(kind, rot, dict(a))


def sample_walk(rng: np.random.Generator) -> Pose:
    """One instant of a gait cycle: legs and arms swing in anti-phase."""
    phase = rng.uniform(0, 2 * math.pi)
    stride = rng.uniform(15, 32)
    knee_amp = rng.uniform(30, 60)
    arm = rng.uniform(8, 30)
    a = {"torso_lean": _clip("torso_lean", rng.normal(4, 3)),
         "head_yaw": _clip("head_yaw", rng.normal(0, 12)), "head_pitch": _clip("head_pitch", rng.normal(3, 6))}
    for s, off in (("l", 0.0), ("r", math.pi)):
        ph = phase + off
        a[f"hip_flex_{s}"] = _clip("hip_flex", stride * math.sin(ph))
        a[f"knee_flex_{s}"] = _clip("knee_flex", 4 + knee_amp * max(0.0, math.cos(ph)) ** 1.5)
        a[f"hip_abd_{s}"] = _clip("hip_abd", rng.uniform(0, 5))
        a[f"shoulder_flex_{s}"] = _clip("shoulder_flex", -arm * math.sin(ph))
        a[f"shoulder_abd_{s}"] = _clip("shoulder_abd", rng.uniform(5, 12))
        a[f"elbow_flex_{s}"] = _clip("elbow_flex", rng.uniform(8, 35) + 10 * max(0.0, -math.sin(ph)))
    return from_angles("walk", a)


def sample_stand(rng: np.random.Generator) -> Pose:
    """Relaxed standing: weight on one leg, arms hanging, folded or holding something."""
    a = {"torso_lean": _clip("torso_lean", rng.normal(1, 3)),
         "head_yaw": _clip("head_yaw", rng.normal(0, 20)), "head_pitch": _clip("head_pitch", rng.normal(-5, 8))}
    relaxed = "lr"[int(rng.integers(2))]
    for s in "lr":
        a[f"hip_flex_{s}"] = _clip("hip_flex", rng.normal(3 if s == relaxed else 0, 4))
        a[f"knee_flex_{s}"] = _clip("knee_flex", rng.uniform(5, 18) if s == relaxed else rng.uniform(0, 5))
        a[f"hip_abd_{s}"] = _clip("hip_abd", rng.uniform(0, 8))
        style = rng.random()
        if style < 0.5:   # hanging
            a[f"shoulder_flex_{s}"], a[f"elbow_flex_{s}"] = rng.normal(0, 6), rng.uniform(5, 25)
        elif style < 0.8:  # holding a phone or a bag in front
            a[f"shoulder_flex_{s}"], a[f"elbow_flex_{s}"] = rng.uniform(10, 35), rng.uniform(60, 105)
        else:              # hand on the hip / in a pocket
            a[f"shoulder_flex_{s}"], a[f"elbow_flex_{s}"] = rng.uniform(-25, -5), rng.uniform(40, 80)
        a[f"shoulder_flex_{s}"] = _clip("shoulder_flex", a[f"shoulder_flex_{s}"])
        a[f"elbow_flex_{s}"] = _clip("elbow_flex", a[f"elbow_flex_{s}"])
        a[f"shoulder_abd_{s}"] = _clip("shoulder_abd", rng.uniform(4, 20))
    return from_angles("stand", a)
