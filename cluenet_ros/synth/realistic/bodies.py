"""Posed human bodies for the realistic world.

Every body model returns a :class:`Body`: a triangle mesh in the person's frame
(y up, facing +z, left towards +x, feet on y = 0), a clothing region per vertex,
and COCO's 17 keypoints, from which the 13 of the schema are taken through
``cluenet_ros.keypoints``.

* :class:`AnnyBodies`: the anny parametric body (MakeHuman data), varied in gender,
  age, weight, muscle, height and proportions, its keypoints from anny's COCO
  keypoint regressor. ``anny`` and ``torch`` are imported on first use.
* :class:`FigureBodies`: a stand-in figure of capsules and spheres with the same
  interface, built in milliseconds; tests of the renderer and its truth use it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.synth.realistic import poses as P

REGIONS = ("skin", "hair", "shirt", "sleeve", "trousers", "shoes")
REGION = {name: i for i, name in enumerate(REGIONS)}


@dataclass
class Body:
    vertices: np.ndarray      # (V, 3) float32, person frame, metres
    faces: np.ndarray         # (F, 3) int32
    regions: np.ndarray       # (V,) uint8, index into REGIONS
    coco17: np.ndarray        # (17, 3) float64, person frame, COCO order (keypoints.COCO_NAMES)
    height_m: float           # standing height of the body
    pose: str                 # the pose's kind ("walk", "stand", "mocap:<clip>")

    def keypoints13(self) -> np.ndarray:
        """(13, 3) points of the schema, mapped as keypoints.py maps COCO's 17."""
        return kp.coco17_points_to_schema(self.coco17)


def sample_pose(rng: np.random.Generator, weights: dict[str, float], mocap=None) -> P.Pose:
    kinds = [k for k in P.POSE_KINDS if weights.get(k, 0) > 0 and (k != "mocap" or mocap is not None)]
    if not kinds:
        raise ValueError("no pose kind with a positive weight is available")
    w = np.array([weights[k] for k in kinds], float)
    kind = kinds[int(rng.choice(len(kinds), p=w / w.sum()))]
    if kind == "walk":
        return P.sample_walk(rng)
    if kind == "stand":
        return P.sample_stand(rng)
    return mocap.sample(rng)


def sample_phenotype(rng: np.random.Generator) -> dict[str, float]:
    """anny's shape sliders, and the standing height (metres) the body is scaled to:
    anny's height slider spans far more than street populations, so it varies the
    build and the stature comes from adult (or child) height distributions."""
    child = rng.random() < 0.08
    gender = float(rng.random())  # 0 female .. 1 male
    if child:
        stature = rng.uniform(1.05, 1.5)
    else:
        stature = rng.normal(1.63 + 0.13 * gender, 0.07)
    return {"gender": gender,
            "age": float(rng.uniform(0.42, 0.6) if child else rng.uniform(0.62, 1.0)),
            "muscle": float(rng.uniform(0.2, 0.8)), "weight": float(rng.uniform(0.15, 0.9)),
            "height": float(rng.uniform(0.05, 0.95)), "proportions": float(rng.uniform(0.25, 0.75)),
            "stature": float(np.clip(stature, 1.0, 2.0))}


def rest_on_ground(body: Body) -> Body:
    """Shift a body vertically so that its lowest vertex touches y = 0."""
    dy = -float(body.vertices[:, 1].min())
    body.vertices = body.vertices + np.array([0, dy, 0], np.float32)
    body.coco17 = body.coco17 + np.array([0, dy, 0])
    return body


# -- stand-in figure ---------------------------------------------------------------
# Rest joints of a 1.75 m figure (person frame), and the parts between them.
_J = {
    "root": (0, 0.95, 0), "neck": (0, 1.48, 0), "head": (0, 1.62, 0.01),
    "hip_l": (0.09, 0.92, 0), "knee_l": (0.09, 0.50, 0), "ankle_l": (0.09, 0.09, 0), "toe_l": (0.09, 0.04, 0.15),
    "shoulder_l": (0.18, 1.42, 0), "elbow_l": (0.2, 1.13, 0), "wrist_l": (0.21, 0.87, 0), "hand_l": (0.21, 0.79, 0.01),
}
for _k in [k for k in _J if k.endswith("_l")]:
    x, y, z = _J[_k]
    _J[_k[:-2] + "_r"] = (-x, y, z)
# parts of the figure: (segment that moves it, from joint, to joint, radius, clothing region)
_PARTS = (
    ("pelvis", "hip_l", "hip_r", 0.11, "trousers"),
    ("chest", "root", "neck", 0.15, "shirt"),
    ("chest", "neck", "head", 0.05, "skin"),
    ("thigh_l", "hip_l", "knee_l", 0.075, "trousers"), ("thigh_r", "hip_r", "knee_r", 0.075, "trousers"),
    ("shin_l", "knee_l", "ankle_l", 0.055, "trousers"), ("shin_r", "knee_r", "ankle_r", 0.055, "trousers"),
    ("foot_l", "ankle_l", "toe_l", 0.045, "shoes"), ("foot_r", "ankle_r", "toe_r", 0.045, "shoes"),
    ("upperarm_l", "shoulder_l", "elbow_l", 0.05, "shirt"), ("upperarm_r", "shoulder_r", "elbow_r", 0.05, "shirt"),
    ("forearm_l", "elbow_l", "wrist_l", 0.04, "sleeve"), ("forearm_r", "elbow_r", "wrist_r", 0.04, "sleeve"),
    ("forearm_l", "wrist_l", "hand_l", 0.035, "skin"), ("forearm_r", "wrist_r", "hand_r", 0.035, "skin"),
)
_PIVOT = {"pelvis": "root", "chest": "root", "head": "neck"}
_PIVOT.update({f"{s}_{side}": j for side in "lr" for s, j in
               (("thigh", f"hip_{side}"), ("shin", f"knee_{side}"), ("foot", f"ankle_{side}"),
                ("upperarm", f"shoulder_{side}"), ("forearm", f"elbow_{side}"))})
_PARENT = {"pelvis": None, "chest": "pelvis", "head": "chest",
           **{f"thigh_{s}": "pelvis" for s in "lr"}, **{f"shin_{s}": f"thigh_{s}" for s in "lr"},
           **{f"foot_{s}": f"shin_{s}" for s in "lr"}, **{f"upperarm_{s}": "chest" for s in "lr"},
           **{f"forearm_{s}": f"upperarm_{s}" for s in "lr"}}
# COCO keypoints: (segment, rest point)
_COCO_REST = {
    "nose": ("head", (0, 1.615, 0.105)), "left_eye": ("head", (0.035, 1.65, 0.09)),
    "right_eye": ("head", (-0.035, 1.65, 0.09)), "left_ear": ("head", (0.095, 1.625, 0.0)),
    "right_ear": ("head", (-0.095, 1.625, 0.0)),
    **{f"{side}_{j}": (seg + "_" + side[0], _J[f"{j}_{side[0]}"]) for side in ("left", "right")
       for j, seg in (("shoulder", "upperarm"), ("elbow", "forearm"), ("wrist", "forearm"),
                      ("hip", "thigh"), ("knee", "shin"), ("ankle", "foot"))},
}


def _capsule(a: np.ndarray, b: np.ndarray, radius: float, sections: int = 10):
    import trimesh

    length = float(np.linalg.norm(b - a))
    m = trimesh.creation.capsule(height=max(length, 1e-3), radius=radius, count=[sections, sections])
    # trimesh's capsule runs along z, centred on the origin
    direction = (b - a) / max(length, 1e-9)
    T = trimesh.geometry.align_vectors([0, 0, 1], direction)
    T[:3, 3] = (a + b) / 2
    m.apply_transform(T)
    return np.asarray(m.vertices), np.asarray(m.faces)


class FigureBodies:
    """A capsule-and-sphere stand-in with the interface of :class:`AnnyBodies`."""

    name = "figure"

    def __init__(self, pose_weights: dict[str, float] | None = None, mocap=None):
        self.pose_weights = pose_weights or {"walk": 0.6, "stand": 0.4}
        self.mocap = mocap

    def sample(self, rng: np.random.Generator, pose: P.Pose | None = None) -> Body:
        height = float(np.clip(rng.normal(1.72, 0.09), 1.5, 1.95))
        girth = float(rng.uniform(0.85, 1.25))
        pose = pose or sample_pose(rng, self.pose_weights, self.mocap)
        return self.build(pose, height, girth)

    def sample_many(self, rng: np.random.Generator, n: int, poses=None) -> list[Body]:
        """``n`` figures drawn from ``rng`` exactly as :meth:`AnnyBodies.sample_many`
        draws (phenotypes, then poses): a seed places the same people, at the same
        statures and in the same poses, with either body, so that a bodies ablation
        compares the same scenes. anny's weight slider sets the figure's girth."""
        phen = [sample_phenotype(rng) for _ in range(n)]
        poses = poses or [sample_pose(rng, self.pose_weights, self.mocap) for _ in range(n)]
        return [self.build(pose, p["stature"], 0.85 + 0.4 * (p["weight"] - 0.15) / 0.75)
                for p, pose in zip(phen, poses)]

    def build(self, pose: P.Pose, height: float = 1.75, girth: float = 1.0) -> Body:
        s = height / 1.75
        rest = {k: np.array(v, float) * s for k, v in _J.items()}
        R = pose.rotations
        # world position of each segment's pivot, following the chain
        pivot_at: dict[str, np.ndarray] = {}

        def place(seg: str) -> np.ndarray:
            if seg not in pivot_at:
                parent = _PARENT[seg]
                p = rest[_PIVOT[seg]]
                pivot_at[seg] = p if parent is None else place(parent) + R[parent] @ (p - rest[_PIVOT[parent]])
            return pivot_at[seg]

        def to_world(seg: str, points: np.ndarray) -> np.ndarray:
            return place(seg) + (points - rest[_PIVOT[seg]]) @ R[seg].T

        verts, faces, regions, n = [], [], [], 0
        for seg, a, b, radius, region in _PARTS:
            v, f = _capsule(rest[a], rest[b], radius * s * (girth if region != "skin" else 1.0))
            verts.append(to_world(seg, v))
            faces.append(f + n)
            regions.append(np.full(len(v), REGION[region], np.uint8))
            n += len(v)
        import trimesh

        head = trimesh.creation.icosphere(subdivisions=2, radius=0.1 * s)
        hv = np.asarray(head.vertices) + rest["head"]
        hair = (hv[:, 1] > rest["head"][1] + 0.03 * s) | (hv[:, 2] < rest["head"][2] - 0.04 * s)
        verts.append(to_world("head", hv))
        faces.append(np.asarray(head.faces) + n)
        regions.append(np.where(hair, REGION["hair"], REGION["skin"]).astype(np.uint8))
        coco = np.array([to_world(seg, np.array(p, float)[None] * s)[0]
                         for seg, p in (_COCO_REST[name] for name in kp.COCO_NAMES)])
        body = Body(np.concatenate(verts).astype(np.float32), np.concatenate(faces).astype(np.int32),
                    np.concatenate(regions), coco, height, pose.kind)
        return rest_on_ground(body)
