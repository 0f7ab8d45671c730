"""Motion-capture poses for any body: the capsule world's clips (synth/motion.py),
retargeted by reading each humanoid segment's rotation off pybullet's forward
kinematics.

The humanoid's rest pose (all joints at zero) is the canonical rest stance of
``poses.py`` (upright, arms hanging), its links' rest orientations are the
identity, and it faces +x with its left towards -z; so a segment's rotation from
rest is its link's world orientation, turned into the person frame. The clip's
heading is removed (the world draws its own).
"""
from __future__ import annotations

import math
import os

import numpy as np

from cluenet_ros.synth.realistic.poses import Pose, rot_y

# humanoid frame -> person frame (facing +z, left +x): x_h -> z, y -> y, z_h -> -x
_C = np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
_LINK_OF = {"pelvis": -1, "chest": 1, "head": 2, "thigh_r": 3, "shin_r": 4, "foot_r": 5, "upperarm_r": 6,
            "forearm_r": 7, "thigh_l": 9, "shin_l": 10, "foot_l": 11, "upperarm_l": 12, "forearm_l": 13}


def _matrix(q) -> np.ndarray:
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


class MocapPoses:
    """Samples a frame of a clip (clip weights as in motion.py) as a :class:`Pose`."""

    def __init__(self):
        import pybullet as pb
        import pybullet_data

        from cluenet_ros.synth.motion import MotionLibrary
        from cluenet_ros.synth.render import _JOINT_INDEX, _quiet_stdout

        self._pb, self._joint_index = pb, _JOINT_INDEX
        data = pybullet_data.getDataPath()
        self.motions = MotionLibrary(data)
        self.client = pb.connect(pb.DIRECT)
        with _quiet_stdout():
            self.body = pb.loadURDF(os.path.join(data, "humanoid", "humanoid.urdf"), useFixedBase=True,
                                    flags=pb.URDF_MAINTAIN_LINK_ORDER, physicsClientId=self.client)

    def sample(self, rng: np.random.Generator) -> Pose:
        clip, pose = self.motions.sample(rng)
        return self.retarget(clip, pose)

    def retarget(self, clip: str, pose) -> Pose:
        pb, c = self._pb, self.client
        pb.resetBasePositionAndOrientation(self.body, [0, 0, 0], list(pose.root_rotation), physicsClientId=c)
        for name, value in pose.joints.items():
            j = self._joint_index[name]
            target = list(value) if len(value) == 4 else [value[0]]
            pb.resetJointStateMultiDof(self.body, j, targetValue=target, physicsClientId=c)
        states = pb.getLinkStates(self.body, list(range(15)), computeForwardKinematics=True, physicsClientId=c)
        rot = {}
        for seg, link in _LINK_OF.items():
            q = pose.root_rotation if link < 0 else states[link][5]
            rot[seg] = _C @ _matrix(q) @ _C.T
        facing = rot["pelvis"] @ np.array([0.0, 0.0, 1.0])
        unturn = rot_y(-math.atan2(facing[0], facing[2]))
        rot = {k: unturn @ v for k, v in rot.items()}
        return Pose(f"mocap:{clip}", rot, {})

    def close(self):
        if self._pb.isConnected(self.client):
            self._pb.disconnect(self.client)
