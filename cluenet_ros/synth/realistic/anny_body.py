"""anny bodies (PyPI ``anny``: Apache-2.0 code, CC0 MakeHuman data) for the realistic world.

``anny`` and ``torch`` are imported when :class:`AnnyBodies` is made. The first
model creation on a machine builds anny's cache (about 790 MB, minutes); it is
kept under the project's data folder (``data/cache/anny``, or ``$CLUENET_ANNY_CACHE``)
so that this happens once per machine, and by one process: the rendering workers of
``cluenet synth --workers N`` (or two commands started together) would otherwise all
build it at once, writing the same 790 MB files over each other.

anny's frame is z up, facing -y, left towards +x; the person frame of
``poses.py`` is y up, facing +z, left towards +x. Poses are applied as world
orientations of anny's bones ("world-orient"): a bone of segment s gets
``G_s C_s R_rest`` where ``G_s`` is the pose's rotation of s, ``R_rest`` the bone's rest
orientation and ``C_s`` turns anny's rest stance (an A-pose) into the canonical
rest stance (arms hanging); bones of no segment (clavicles, hands, toes, neck)
follow their parent.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.synth.realistic import poses as P
from cluenet_ros.synth.realistic.bodies import REGION, Body, rest_on_ground, sample_phenotype, sample_pose

# anny frame -> person frame
A = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

SEGMENT_BONES = {
    "pelvis": ("root", "pelvis.L", "pelvis.R", "spine05", "spine04"),
    "chest": ("spine03", "spine02", "spine01"),
    "head": ("head",),
    **{f"thigh_{s}": (f"upperleg01.{S}", f"upperleg02.{S}") for s, S in (("l", "L"), ("r", "R"))},
    **{f"shin_{s}": (f"lowerleg01.{S}", f"lowerleg02.{S}") for s, S in (("l", "L"), ("r", "R"))},
    **{f"foot_{s}": (f"foot.{S}",) for s, S in (("l", "L"), ("r", "R"))},
    **{f"upperarm_{s}": (f"upperarm01.{S}", f"upperarm02.{S}") for s, S in (("l", "L"), ("r", "R"))},
    **{f"forearm_{s}": (f"lowerarm01.{S}", f"lowerarm02.{S}") for s, S in (("l", "L"), ("r", "R"))},
}
# rest direction of each limb segment in anny (from bone head to bone head) and the
# canonical direction it is turned to: hanging, a little away from the body
_LIMB_ENDS = {"upperarm": ("upperarm01", "lowerarm01", 0.07), "forearm": ("lowerarm01", "wrist", 0.07),
              "thigh": ("upperleg01", "lowerleg01", 0.0), "shin": ("lowerleg01", "foot", 0.0)}


def default_cache_dir() -> Path:
    env = os.environ.get("CLUENET_ANNY_CACHE")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "data" / "cache" / "anny"


def cache_ready(cache_dir: Path | None = None) -> bool:
    """Whether anny's model cache has been built in ``cache_dir``."""
    d = cache_dir or default_cache_dir()
    return any(d.glob("v*/build_compact_model_data_*.safetensors"))


@contextlib.contextmanager
def cache_lock(cache_dir: Path):
    """Exclusive hold on ``cache_dir`` (an advisory lock on a file in it) while anny's
    model is made there: one process builds the cache, the others wait for it and then
    read what it wrote. Released when the holder exits, even killed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    with open(cache_dir / ".build.lock", "a") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _min_rotation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking direction a to direction b."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(a @ b)
    if c < -0.999999:
        raise ValueError("opposite directions")
    K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + K + K @ K / (1 + c)


class AnnyBodies:
    """Samples clothed-ready anny bodies: random phenotype, a pose, clothing regions."""

    name = "anny"

    def __init__(self, pose_weights: dict[str, float] | None = None, mocap=None, cache_dir: Path | None = None):
        try:
            import anny
            import anny.paths
            import torch
        except ImportError as e:
            raise RuntimeError(f"the anny body needs the anny package ({e}); run `make setup`") from None
        import logging
        import warnings

        self.torch = torch
        cache = Path(cache_dir or default_cache_dir())
        anny.paths.set_anny_cache_path(cache)
        with cache_lock(cache):  # a few seconds each once built; the builder alone before
            if not cache_ready(cache):
                logging.getLogger(__name__).warning(
                    "building anny's model cache in %s (about 790 MB; minutes, once per machine)", cache)
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Fallback to lbs skinning")
                self.model = anny.Anny(pose_parameterization="world-orient")
        self.model.eval()
        self.regressor = anny.KeypointsRegressor.coco(self.model)
        self.coco_rows = [self.regressor.labels.index(n) for n in kp.COCO_NAMES]
        self.labels = list(self.model.bone_labels)
        self.parents = [int(p) for p in self.model.bone_parents]
        self.faces = self.model.faces.numpy().astype(np.int32)
        self.pose_weights = pose_weights or {"walk": 0.6, "stand": 0.4}
        self.mocap = mocap
        self.regions = self._regions()
        self._segment_of = {}
        for seg, bones in SEGMENT_BONES.items():
            for b in bones:
                self._segment_of[self.labels.index(b)] = seg

    # -- clothing regions ---------------------------------------------------------
    def _regions(self) -> np.ndarray:
        """Per-vertex clothing region from each vertex's dominant bone; the head's top
        and back are hair."""
        w = self.model.dense_vertex_bone_weights.numpy()
        dominant = [self.labels[i] for i in w.argmax(1)]
        rest = self.model.template_vertices.numpy()
        out = np.empty(len(dominant), np.uint8)
        for v, bone in enumerate(dominant):
            if bone.startswith(("foot", "toe")):
                r = "shoes"
            elif bone.startswith(("upperleg", "lowerleg", "pelvis")) or bone in ("root", "spine05", "spine04"):
                r = "trousers"
            elif bone.startswith(("lowerarm",)):
                r = "sleeve"
            elif bone.startswith(("spine", "clavicle", "shoulder", "upperarm")):
                r = "shirt"
            else:  # head, neck, eyes, hands
                r = "skin"
            out[v] = REGION[r]
        head = np.array([b in ("head",) or b.startswith("eye") for b in dominant])
        eyes_z = rest[head, 2].max() - 0.08 * (rest[head, 2].max() - rest[head, 2].min())
        top = rest[:, 2] > min(eyes_z, np.percentile(rest[head, 2], 70))
        back = rest[:, 1] > np.percentile(rest[head, 1], 55)
        out[head & (top | back)] = REGION["hair"]
        return out

    # -- sampling -------------------------------------------------------------------
    def sample_phenotype(self, rng: np.random.Generator) -> dict[str, float]:
        return sample_phenotype(rng)

    def sample(self, rng: np.random.Generator, pose: P.Pose | None = None) -> Body:
        return self.sample_many(rng, 1, [pose] if pose is not None else None)[0]

    def sample_many(self, rng: np.random.Generator, n: int, poses=None) -> list[Body]:
        """``n`` bodies in one batched anny evaluation."""
        phen = [self.sample_phenotype(rng) for _ in range(n)]
        poses = poses or [sample_pose(rng, self.pose_weights, self.mocap) for _ in range(n)]
        return self.build(phen, poses)

    def build(self, phenotypes: list[dict], poses: list[P.Pose]) -> list[Body]:
        torch = self.torch
        m = self.model
        B = len(poses)
        with torch.no_grad():
            kw = {k: torch.tensor([p[k] for p in phenotypes], dtype=m.dtype) for k in phenotypes[0]
                  if k != "stature"}
            coeffs = m.get_phenotype_blendshape_coefficients(**kw)
            rest = m.get_rest_model(coeffs)
            rest_poses = rest["rest_bone_poses"].numpy()          # (B, J, 4, 4)
            heads = rest["rest_bone_heads"].numpy()               # (B, J, 3)
            deltas = np.tile(np.eye(4), (B, len(self.labels), 1, 1))
            for b, pose in enumerate(poses):
                G = self._bone_rotations(pose, heads[b])
                for j in range(len(self.labels)):
                    deltas[b, j, :3, :3] = G[j] @ rest_poses[b, j, :3, :3]
                deltas[b, 0, :3, 3] = rest_poses[b, 0, :3, 3]
            # anny's forward() without evaluating the rest model a second time
            transforms, _ = m.get_bone_transforms(torch.as_tensor(deltas, dtype=m.dtype), rest["rest_bone_poses"],
                                                  pose_parameterization="world-orient")
            posed = m.get_skinned_vertices(bone_transforms=transforms,
                                           rest_vertices=rest["rest_vertices"].expand(B, -1, -1))
            coco = self.regressor({"vertices": posed})[:, self.coco_rows].numpy()
            verts = posed.numpy()
            rest_verts = rest["rest_vertices"].numpy()
        bodies = []
        for b in range(B):
            height = float(np.ptp(rest_verts[b, :, 2]))
            k = phenotypes[b].get("stature", height) / height
            body = Body((k * verts[b] @ A.T).astype(np.float32), self.faces, self.regions,
                        k * coco[b].astype(np.float64) @ A.T, k * height, poses[b].kind)
            bodies.append(rest_on_ground(body))
        return bodies

    def _bone_rotations(self, pose: P.Pose, heads: np.ndarray) -> list[np.ndarray]:
        """World rotation (anny frame) of every bone for ``pose``."""
        def idx(name):
            return self.labels.index(name)

        corr = {}
        for side, S in (("l", "L"), ("r", "R")):
            sign = 1.0 if side == "l" else -1.0
            for seg, (a, b, out) in _LIMB_ENDS.items():
                rest_dir = A @ (heads[idx(f"{b}.{S}")] - heads[idx(f"{a}.{S}")])
                target = np.array([sign * out, -1.0, 0.0])
                corr[f"{seg}_{side}"] = _min_rotation(rest_dir, target)
        G: list[np.ndarray] = []
        for j in range(len(self.labels)):
            seg = self._segment_of.get(j)
            if seg is None:
                G.append(G[self.parents[j]] if j > 0 else np.eye(3))
                continue
            Rp = pose.rotations[seg] @ corr.get(seg, np.eye(3))  # person frame
            G.append(A.T @ Rp @ A)
        return G
