"""The realistic street world: anny bodies (or the stand-in figure) in clothes, in a
street of textured facades, road and paving, with cars, poles, bins and vegetation,
seen by a car- or pole-mounted camera, rendered with pyrender over EGL.

Truth is read off the render, never guessed:

* visible instance masks: a segmentation pass in which every person is drawn in
  its own id and everything else in a background id (multisampling is off in
  that pass, so every pixel holds exactly one id);
* full (amodal) boxes: every vertex of the person projected with the camera,
  rounded the way the rasteriser fills pixels (a pixel is filled when its centre
  is covered), so the box is the bounding box of the mask the person alone would
  have, and always contains the visible one;
* keypoints: the 13 of the schema (keypoints.py's mapping of COCO's 17) projected
  with the same camera. A keypoint is visible when it is inside the image, the
  scene's depth at its pixel is not in front of it by more than the body's own
  thickness there (the depth test; the thickness is the distance from the
  keypoint to the nearest vertex of its body, plus ``DEPTH_SLACK_M``), and the
  person's own mask is within ``KEYPOINT_TOLERANCE_PX`` of it. The head, the mean
  of COCO's five face points, is visible when one of them is and its own pixel
  passes the same test (as deep as the nearest face point, as thick as the thickest).

World frame: y up, ground at y = 0, the camera at x = z = 0 looking along -z.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.synth.realistic import effects as fx
from cluenet_ros.synth.realistic import photo_textures as photo
from cluenet_ros.synth.realistic import textures as tex
from cluenet_ros.synth.realistic.bodies import REGION, Body, FigureBodies
from cluenet_ros.synth.realistic.gl import import_pyrender, ordered_scene
from cluenet_ros.synth.scene import RenderedPerson, RenderedScene

KEYPOINT_TOLERANCE_PX = 2
DEPTH_SLACK_M = 0.03
THICKNESS_FACTOR = 1.25
BODIES = ("anny", "figure")
MOUNTS = ("car", "pole")
REFERENCE_HEIGHT_PX = 1024
SKY_DEPTH_M = 380.0           # the sky quad, just inside the far plane (400 m)  # person_px is given for a 2048x1024 frame, as CityPersons


@dataclass(frozen=True)
class WorldOptions:
    body: str = "anny"
    effects: tuple[str, ...] = fx.EFFECTS
    mounts: tuple[tuple[str, float], ...] = (("car", 0.65), ("pole", 0.35))
    person_px: tuple[float, float] = (30.0, 400.0)      # full-body height range at 1024 rows
    poses: tuple[tuple[str, float], ...] = (("walk", 0.5), ("stand", 0.3), ("mocap", 0.2))
    fov_deg: tuple[float, float] = (40.0, 75.0)           # horizontal field of view
    antialias: bool = True   # 4x multisampling in the colour pass (off: about 30% less CPU per image)
    textures: str = "auto"   # photo (data/textures, see photo_textures.py), procedural, or auto: photo when built
    texture_dir: str | None = None  # the photo texture folder (None: data/textures or $CLUENET_TEXTURES)
    carried: float = 0.3     # per-person probability of a handbag, backpack or suitcase
    clutter: int = 0         # up to this many street objects anywhere in view (hard negatives), 0: none
    clutter_kinds: str = "street"  # which objects: street (CLUTTER_KINDS) or wide (CLUTTER_SETS)

    def validate(self) -> "WorldOptions":
        if self.body not in BODIES:
            raise ValueError(f"body {self.body!r}: choose one of {', '.join(BODIES)}")
        bad = set(self.effects) - set(fx.EFFECTS)
        if bad:
            raise ValueError(f"effects {sorted(bad)}: choose from {', '.join(fx.EFFECTS)}")
        for name, w in self.mounts:
            if name not in MOUNTS or w < 0:
                raise ValueError(f"camera mount {name}={w}: choose from {', '.join(MOUNTS)} with a weight >= 0")
        if sum(w for _, w in self.mounts) <= 0:
            raise ValueError("camera mounts: at least one needs a positive weight")
        lo, hi = self.person_px
        if not 4 <= lo <= hi:
            raise ValueError(f"person_px {self.person_px}: expected 4 <= MIN <= MAX")
        from cluenet_ros.synth.realistic.poses import POSE_KINDS

        for name, w in self.poses:
            if name not in POSE_KINDS or w < 0:
                raise ValueError(f"pose {name}={w}: choose from {', '.join(POSE_KINDS)} with a weight >= 0")
        if sum(w for _, w in self.poses) <= 0:
            raise ValueError("poses: at least one needs a positive weight")
        if self.textures not in photo.TEXTURE_MODES:
            raise ValueError(f"textures {self.textures!r}: choose one of {', '.join(photo.TEXTURE_MODES)}")
        if not 0.0 <= self.carried <= 1.0:
            raise ValueError(f"carried {self.carried}: expected a probability in [0, 1]")
        if not 0 <= self.clutter <= 100:
            raise ValueError(f"clutter {self.clutter}: expected 0-100 objects")
        if self.clutter_kinds not in CLUTTER_SETS:
            raise ValueError(f"clutter_kinds {self.clutter_kinds!r}: choose one of {', '.join(CLUTTER_SETS)}")
        if not 10 <= self.fov_deg[0] <= self.fov_deg[1] <= 120:
            raise ValueError(f"fov_deg {self.fov_deg}: expected 10 <= MIN <= MAX <= 120")
        return self


@dataclass
class Camera:
    fx: float
    fy: float
    cx: float
    cy: float
    pose: np.ndarray          # (4, 4) world-from-camera (camera looks down its -z, y up)
    mount: str

    @classmethod
    def make(cls, width: int, height: int, fov_deg: float, height_m: float, pitch_deg: float = 0.0,
             roll_deg: float = 0.0, mount: str = "car") -> "Camera":
        """A camera at (0, height_m, 0) looking along -z, pitched (negative: down) and rolled."""
        f = width / 2 / math.tan(math.radians(fov_deg) / 2)
        pose = np.eye(4)
        pose[:3, :3] = _rot_x(math.radians(pitch_deg)) @ _rot_z(math.radians(roll_deg))
        pose[:3, 3] = (0, height_m, 0)
        return cls(f, f, width / 2, height / 2, pose, mount)

    def to_camera(self, points: np.ndarray) -> np.ndarray:
        R, t = self.pose[:3, :3], self.pose[:3, 3]
        return (np.asarray(points, float) - t) @ R

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pixel coordinates (u right, v down; pixel (c, r) covers [c, c+1) x [r, r+1))
        and depth along the optical axis."""
        pc = self.to_camera(points)
        z = -pc[:, 2]
        with np.errstate(divide="ignore", invalid="ignore"):
            u = self.cx + self.fx * pc[:, 0] / z
            v = self.cy - self.fy * pc[:, 1] / z
        return np.stack([u, v], axis=1), z


@dataclass
class RealisticPerson(RenderedPerson):
    keypoint_depth: np.ndarray | None = None     # (13,) metres along the optical axis
    scene_depth: np.ndarray | None = None        # (13,) the depth buffer at each keypoint's pixel
    thickness: np.ndarray | None = None          # (13,) depth allowance of each keypoint
    instance_id: int = 0
    coco17: np.ndarray | None = None             # (17, 2) COCO keypoints in pixels
    coco17_visible: np.ndarray | None = None     # (17,) their depth-test visibility
    coco17_depth: np.ndarray | None = None       # (17,) their depth
    coco17_thickness: np.ndarray | None = None   # (17,) their depth allowance


@dataclass
class Layout:
    """What a scene holds before it is drawn: tests build one by hand."""
    camera: Camera
    persons: list            # (Body, ground position (3,), heading in radians about y)
    occluders: list          # (kind, spec): see RealisticRenderer._add_occluder
    street: bool = True      # ground, facades (behind and beside the people)


@dataclass
class RealisticScene(RenderedScene):
    depth: np.ndarray | None = None              # (H, W) float32 metres along the optical axis
    instance_ids: np.ndarray | None = None       # (H, W) int32, person index + 1, 0 elsewhere
    camera: Camera | None = None


def pixel_box(uv: np.ndarray) -> tuple[float, float, float, float]:
    """Bounding box (x1, y1, x2, y2) of the pixels whose centres a shape spanning the
    points ``uv`` can cover: the box of its rasterised mask."""
    u, v = uv[:, 0], uv[:, 1]
    return (float(np.ceil(u.min() - 0.5)), float(np.ceil(v.min() - 0.5)),
            float(np.floor(u.max() + 0.5)), float(np.floor(v.max() + 0.5)))


def keypoint_visibility(uv: np.ndarray, kp_depth: np.ndarray, thickness: np.ndarray, depth: np.ndarray,
                        own_mask: np.ndarray, tolerance: int = KEYPOINT_TOLERANCE_PX):
    """The depth test (see the module's doc). Returns (visible, depth at each keypoint's
    pixel, in_image)."""
    h, w = depth.shape
    visible = np.zeros(len(uv), bool)
    scene = np.full(len(uv), np.nan)
    inside = np.zeros(len(uv), bool)
    for i, ((x, y), z) in enumerate(zip(uv, kp_depth)):
        if not (np.isfinite(x) and np.isfinite(y) and z > 0 and 0 <= x < w and 0 <= y < h):
            continue
        inside[i] = True
        c, r = int(x), int(y)
        d = float(depth[r, c])
        scene[i] = d
        in_front = 0 < d < z - thickness[i]
        near_body = own_mask[max(r - tolerance, 0):r + tolerance + 1, max(c - tolerance, 0):c + tolerance + 1].any()
        visible[i] = (not in_front) and bool(near_body)
    return visible, scene, inside


def _vertex_normals(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals."""
    fn = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    idx = f.ravel()
    n = np.stack([np.bincount(idx, np.repeat(fn[:, k], 3), minlength=len(v)) for k in range(3)], axis=1)
    return n / np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)


SKIN_TONES = np.array([[0.95, 0.80, 0.69], [0.89, 0.70, 0.57], [0.78, 0.57, 0.44], [0.62, 0.44, 0.32],
                       [0.46, 0.32, 0.23], [0.33, 0.22, 0.16]], np.float32)
HAIR = np.array([[0.08, 0.06, 0.05], [0.22, 0.14, 0.08], [0.45, 0.30, 0.16], [0.70, 0.58, 0.38],
                 [0.55, 0.55, 0.55], [0.15, 0.12, 0.10]], np.float32)
CLOTH = np.array([[0.1, 0.1, 0.12], [0.9, 0.9, 0.88], [0.15, 0.2, 0.4], [0.5, 0.1, 0.1], [0.2, 0.35, 0.2],
                  [0.55, 0.45, 0.35], [0.35, 0.35, 0.38], [0.8, 0.7, 0.3], [0.25, 0.3, 0.5], [0.6, 0.3, 0.45]],
                 np.float32)


def dress(body: Body, rng: np.random.Generator) -> np.ndarray:
    """Per-vertex colours (V, 3) in [0, 1]: skin tone, hair, shirt with sleeves, trousers
    and shoes, with weave noise and sometimes stripes or a check."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.92, 1.05)
    colours = {"skin": skin, "hair": HAIR[rng.integers(len(HAIR))] * rng.uniform(0.8, 1.2)}

    def cloth():
        base = CLOTH[rng.integers(len(CLOTH))] if rng.random() < 0.7 else rng.uniform(0.05, 0.9, 3)
        return np.clip(base * rng.uniform(0.75, 1.15), 0, 1).astype(np.float32)

    colours["shirt"] = cloth()
    colours["sleeve"] = colours["shirt"] if rng.random() < 0.6 else skin
    colours["trousers"] = cloth() if rng.random() < 0.8 else colours["shirt"] * 0.6
    if rng.random() < 0.25:  # shorts or a skirt: bare lower legs
        colours["trousers_low"] = skin
    colours["shoes"] = np.clip(rng.choice(np.array([[0.05, 0.05, 0.05], [0.2, 0.2, 0.22], [0.9, 0.9, 0.9],
                                                    [0.25, 0.14, 0.07], [0.1, 0.15, 0.35]], np.float32))
                               * rng.uniform(0.8, 1.2), 0, 1)
    out = np.empty((len(body.vertices), 3), np.float32)
    for name, i in REGION.items():
        out[body.regions == i] = colours[name]
    y = body.vertices[:, 1] / max(body.height_m, 1e-3)
    if "trousers_low" in colours:
        knee = (body.regions == REGION["trousers"]) & (y < 0.28)
        out[knee] = colours["trousers_low"]
    shirt = body.regions == REGION["shirt"]
    pattern = rng.random()
    if pattern < 0.2:    # horizontal stripes
        out[shirt] *= (0.75 + 0.25 * (np.sin(y[shirt] * rng.uniform(90, 200)) > 0))[:, None]
    elif pattern < 0.3:  # check
        xz = body.vertices[shirt, 0] + body.vertices[shirt, 2]
        out[shirt] *= (0.8 + 0.2 * ((np.sin(y[shirt] * 120) > 0) ^ (np.sin(xz * 120) > 0)))[:, None]
    out *= (0.9 + 0.2 * rng.random(len(out)))[:, None].astype(np.float32)  # weave
    return np.clip(out, 0, 1)


class RealisticRenderer:
    """Renders :class:`RealisticScene`s; one OpenGL context per instance."""

    def __init__(self, width: int, height: int, max_people: int, options: WorldOptions | None = None,
                 bodies=None, texture_seed: int = 12345):
        self.options = (options or WorldOptions()).validate()
        self.width, self.height = width, height
        self.max_people = max_people
        self.pyrender = import_pyrender()
        mocap = None
        if dict(self.options.poses).get("mocap", 0) > 0:
            from cluenet_ros.synth.realistic.retarget import MocapPoses

            mocap = MocapPoses()
        pose_weights = dict(self.options.poses)
        if bodies is None:
            if self.options.body == "anny":
                from cluenet_ros.synth.realistic.anny_body import AnnyBodies

                bodies = AnnyBodies(pose_weights=pose_weights, mocap=mocap)
            else:
                bodies = FigureBodies(pose_weights=pose_weights, mocap=mocap)
        self.bodies = bodies
        trng = np.random.default_rng(texture_seed)
        pr = self.pyrender
        self._tex = {
            "facade": [self._texture(tex.facade(trng)) for _ in range(12)],
            "asphalt": [self._texture(tex.asphalt(trng)) for _ in range(3)],
            "paving": [self._texture(tex.paving(trng)) for _ in range(3)],
        }
        # photo textures: decoded once per process, uploaded once per renderer (the GPU textures
        # are kept here and reused every frame)
        self.texture_mode, folder = photo.resolve(self.options.textures, self.options.texture_dir)
        self.photo = None
        self._ptex, self._side = {}, None
        if self.texture_mode == "photo":
            self.photo = photo.load(folder)
            self._ptex = {cat: [(t, self._texture(t.image)) for t in self.photo.get(cat)]
                          for cat in ("asphalt", "pavement", "grass", "facade", "brick", "metal", "concrete")}
            self._ptex["wall"] = self._ptex["facade"] + self._ptex["brick"]
            for textures in self._ptex.values():
                for _, texture in textures:
                    _keep_on_gpu(texture)
        self.renderer = pr.OffscreenRenderer(width, height)
        if not self.options.antialias:
            _single_sample(self.renderer._renderer)

    # -- assets ----------------------------------------------------------------------
    def _texture(self, img: np.ndarray):
        pr = self.pyrender
        return pr.Texture(source=img, source_channels="RGB",
                          sampler=pr.Sampler(magFilter=pr.constants.GLTF.LINEAR,
                                             minFilter=pr.constants.GLTF.LINEAR_MIPMAP_LINEAR))

    def _material(self, texture=None, colour=(1, 1, 1), rough=0.85, metal=0.0):
        pr = self.pyrender
        return pr.MetallicRoughnessMaterial(baseColorFactor=[*map(float, colour), 1.0], baseColorTexture=texture,
                                            metallicFactor=metal, roughnessFactor=rough, doubleSided=True)

    def _quad(self, corners: np.ndarray, texture, repeat: tuple[float, float], colour=(1, 1, 1)):
        """A textured quad; corners in order (0,0), (1,0), (1,1), (0,1) of the texture."""
        pr = self.pyrender
        c = np.asarray(corners, np.float32)
        n = np.cross(c[1] - c[0], c[3] - c[0])
        n = np.tile(n / np.linalg.norm(n), (4, 1)).astype(np.float32)
        uv = np.array([[0, 0], [repeat[0], 0], [repeat[0], repeat[1]], [0, repeat[1]]], np.float32)
        prim = pr.Primitive(positions=c, normals=n, texcoord_0=uv, indices=np.array([[0, 1, 2], [0, 2, 3]]),
                            material=self._material(texture, colour))
        return pr.Mesh([prim])

    def _quads(self, quads, texture):
        """Textured quads sharing one texture as one primitive; each is (corners, repeat, tint)."""
        pr = self.pyrender
        pos, nrm, uvs, cols, idx = [], [], [], [], []
        for k, (corners, repeat, tint) in enumerate(quads):
            c = np.asarray(corners, np.float32)
            n = np.cross(c[1] - c[0], c[3] - c[0])
            pos.append(c)
            nrm.append(np.tile(n / np.linalg.norm(n), (4, 1)))
            uvs.append(np.array([[0, 0], [repeat[0], 0], [repeat[0], repeat[1]], [0, repeat[1]]]))
            cols.append(np.tile(np.r_[tint, 1.0], (4, 1)))
            idx.append(np.array([[0, 1, 2], [0, 2, 3]]) + 4 * k)
        prim = pr.Primitive(positions=np.concatenate(pos).astype(np.float32),
                            normals=np.concatenate(nrm).astype(np.float32),
                            texcoord_0=np.concatenate(uvs).astype(np.float32),
                            color_0=np.concatenate(cols).astype(np.float32), indices=np.concatenate(idx),
                            material=self._material(texture))
        return pr.Mesh([prim])

    def _solid(self, vertices, faces, colours, rough=0.8, metal=0.0):
        pr = self.pyrender
        v = np.asarray(vertices, np.float32)
        f = np.asarray(faces, np.int32)
        col = np.asarray(colours, np.float32)
        if col.ndim == 1:
            col = np.tile(col, (len(v), 1))
        prim = pr.Primitive(positions=v, normals=_vertex_normals(v, f).astype(np.float32), indices=f,
                            color_0=np.c_[col, np.ones(len(v), np.float32)],
                            material=self._material(None, (1, 1, 1), rough, metal))
        return pr.Mesh([prim])

    # -- camera --------------------------------------------------------------------
    def _camera(self, rng: np.random.Generator) -> Camera:
        names = [n for n, _ in self.options.mounts]
        w = np.array([w for _, w in self.options.mounts], float)
        mount = names[int(rng.choice(len(names), p=w / w.sum()))]
        fov = math.radians(rng.uniform(*self.options.fov_deg))
        f = self.width / 2 / math.tan(fov / 2)
        if mount == "car":
            height, pitch = rng.uniform(1.0, 2.0), math.radians(rng.uniform(-6, 3))
        else:  # a pole looks down at the street: the optical axis meets the ground 10-40 m away
            height = rng.uniform(3.0, 8.0)
            pitch = -math.atan2(height, rng.uniform(10, 40))
        roll = math.radians(rng.normal(0, 1.5))
        R = _rot_x(pitch) @ _rot_z(roll)
        pose = np.eye(4)
        pose[:3, :3] = R
        pose[:3, 3] = (0, height, 0)
        cx = self.width / 2 + rng.normal(0, 0.01 * self.width)
        cy = self.height / 2 + rng.normal(0, 0.01 * self.height)
        return Camera(f, f, cx, cy, pose, mount)

    # -- scene ------------------------------------------------------------------------
    def render(self, rng: np.random.Generator, people: int, occluders: dict[str, float]) -> RealisticScene:
        """A random street scene with ``people`` people (fewer when no free spot is
        found) and occluders drawn with the per-kind probabilities ``occluders``."""
        cam = self._camera(rng)
        persons = self._place_people(rng, cam, people)
        planned = self._plan_occluders(rng, cam, persons, occluders)
        # carried objects come from a stream of their own: with or without them, a seed
        # gives the same camera, people, occluders and lighting
        planned += plan_carried(photo.side_rng(rng, "carried"), persons, self.options.carried)
        planned += plan_clutter(photo.side_rng(rng, "clutter"), cam, persons, self.options.clutter, planned,
                                CLUTTER_SETS[self.options.clutter_kinds])
        return self.draw(Layout(cam, persons, planned), rng)

    def draw(self, layout: "Layout", rng: np.random.Generator) -> RealisticScene:
        """Render a layout and read its truth off the render."""
        pr = self.pyrender
        cam, persons = layout.camera, layout.persons
        # photo mode: its choices come from a side generator, so rng's draws (and with them
        # the geometry and truth) are the same as with procedural textures
        self._side = photo.side_rng(rng) if self.photo is not None else None
        sky = yaw = None
        if self._side is not None:
            sky = self.photo.skies[int(self._side.integers(len(self.photo.skies)))]
            yaw = float(self._side.uniform(-math.pi, math.pi))
        ambient = rng.uniform(0.25, 0.55)
        ambient_rgb = [ambient] * 3 if sky is None else list(ambient * (0.4 + 0.6 * sky.ambient))
        scene = ordered_scene(pr, bg_color=[0, 0, 0, 0], ambient_light=ambient_rgb)
        background_nodes = self._street(scene, rng, persons) if layout.street else []
        person_nodes, world_verts = [], []
        for body, position, heading in persons:
            verts = body.vertices @ _rot_y(heading).T + position
            world_verts.append(verts)
            person_nodes.append(scene.add(self._solid(verts, body.faces, dress(body, rng), rough=0.9)))
        self._solids = []
        self._textured = {}   # photo mode: poles, bollards and boxes by texture, (vertices, faces, uv, tint)
        for kind, spec in layout.occluders:
            self._add_occluder(kind, spec)
        if self._solids:  # all occluders in one draw call: far fewer OpenGL calls per frame
            v = [x[0] for x in self._solids]
            offsets = np.cumsum([0] + [len(x) for x in v[:-1]])
            faces = np.concatenate([x[1] + o for x, o in zip(self._solids, offsets)])
            cols = np.concatenate([np.broadcast_to(np.asarray(x[2], np.float32), (len(x[0]), 3)) for x in self._solids])
            background_nodes.append(scene.add(self._solid(np.concatenate(v), faces, cols, rough=0.6, metal=0.1)))
        for texture, parts in self._textured.items():  # one draw call per texture
            background_nodes.append(scene.add(self._textured_solid(parts, texture)))
        sun_dir = _unit(np.array([rng.uniform(-1, 1), -rng.uniform(0.4, 1.2), rng.uniform(-1, 0.6)]))
        sun_colour = np.array([1.0, rng.uniform(0.92, 1.0), rng.uniform(0.82, 1.0)])
        sun_intensity = rng.uniform(2.0, 4.5)
        if sky is not None:  # the HDR's sun: its direction (turned with the panorama), colour, share of light
            sun_dir = -photo.sun_direction(sky, yaw)
            sun_colour = 0.5 + 0.5 * sky.sun_colour
            sun_intensity *= float(np.clip(0.6 + sky.sun_strength, 0.6, 1.3))
        scene.add(pr.DirectionalLight(color=sun_colour, intensity=sun_intensity), pose=_look_along(sun_dir))
        scene.add(pr.DirectionalLight(color=np.ones(3), intensity=rng.uniform(0.5, 1.2)),
                  pose=_look_along(_unit(np.array([0.0, -0.3, -1.0]))))
        scene.add(pr.IntrinsicsCamera(cam.fx, cam.fy, cam.cx, cam.cy, znear=0.2, zfar=400.0), pose=cam.pose)
        background_nodes.append(self._sky(scene, cam, rng, sky, yaw))

        seg_map = {n: [0, 0, 255] for n in background_nodes}
        seg_map.update({n: [i + 1, 0, 0] for i, n in enumerate(person_nodes)})
        seg, depth = self.renderer.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg_map)
        ids = np.where(seg[..., 2] == 0, seg[..., 0].astype(np.int32), 0)
        colour, _ = self.renderer.render(scene)
        image = self._finish(colour, rng)

        out = RealisticScene(image=image, depth=depth.astype(np.float32), instance_ids=ids, camera=cam)
        for i, ((body, position, heading), verts) in enumerate(zip(persons, world_verts)):
            mask = ids == i + 1
            full_box = pixel_box(cam.project(verts)[0])
            coco = body.coco17 @ _rot_y(heading).T + position
            uv17, z17 = cam.project(coco)
            # how deep each keypoint lies under its own body's surface (nearest vertex), plus slack
            near = np.sqrt(((coco[:, None, :] - verts[None, ::2, :]) ** 2).sum(-1)).min(1)
            thick17 = THICKNESS_FACTOR * near + DEPTH_SLACK_M
            vis17, at17, _ = keypoint_visibility(uv17, z17, thick17, depth, mask)
            # the 13 of the schema, exactly as keypoints.py maps COCO's 17 (the head: the
            # mean of the face points, visible when any of them is)
            k13 = kp.from_coco17(np.c_[uv17, np.where(vis17, 2.0, 1.0)])
            per13 = [kp.coco17_points_to_schema(a[:, None])[:, 0] for a in (z17, at17, thick17)]
            # ... and it must pass the depth test at its own pixel too (as deep as the nearest
            # face point, as thick as the thickest): an ear can show beside a person who
            # stands in front of the face, where the head point is drawn
            head, face = kp.INDEX["head"], list(kp.COCO_FACE)
            if k13[head, 2] == 2 and not keypoint_visibility(
                    k13[None, head, :2], z17[face].min(keepdims=True), thick17[face].max(keepdims=True),
                    depth, mask)[0][0]:
                k13[head, 2] = 1.0
            in_image = (k13[:, 0] >= 0) & (k13[:, 0] < self.width) & (k13[:, 1] >= 0) & (k13[:, 1] < self.height)
            k13[~in_image, 2] = 1.0  # a head whose face points straddle the border
            dist = float(np.hypot(*(position - cam.pose[:3, 3])[[0, 2]]))
            out.people.append(RealisticPerson(body.pose, dist, mask, full_box, k13[:, :2].astype(np.float32),
                                              k13[:, 2] == 2, keypoint_depth=per13[0], scene_depth=per13[1],
                                              thickness=per13[2], instance_id=i + 1, coco17=uv17,
                                              coco17_visible=vis17, coco17_depth=z17,
                                              coco17_thickness=thick17))
        return out

    def _sky(self, scene, cam: Camera, rng, sky=None, yaw=0.0):
        """The sky: a self-lit quad filling the view just inside the far plane, so that
        anti-aliased edges blend with it as with the rest of the scene. With a photo
        sky, the view of its panorama (turned by ``yaw``) through this camera."""
        pitch = math.atan2(cam.pose[2, 1], cam.pose[1, 1])
        horizon = cam.cy + cam.fy * math.tan(pitch)
        # pyrender uploads a texture's last row first: the quad's top edge (v = 0) shows
        # the image's bottom row, so either sky goes in upside down
        if sky is None:
            image = np.ascontiguousarray(tex.sky(rng, self.width, self.height, horizon)[::-1])
        else:
            tex.sky_draws(rng, self.width, self.height)  # the procedural sky's draws: rng stays in step
            image = np.ascontiguousarray(photo.sky_view(sky, self.width, self.height, cam.fx, cam.fy, cam.cx,
                                                        cam.cy, cam.pose[:3, :3], yaw)[::-1])
        D = SKY_DEPTH_M
        x0, x1 = -cam.cx / cam.fx * D, (self.width - cam.cx) / cam.fx * D
        y0, y1 = cam.cy / cam.fy * D, (cam.cy - self.height) / cam.fy * D
        corners = np.array([(x0, y0, -D), (x1, y0, -D), (x1, y1, -D), (x0, y1, -D)])  # top-left first
        world = corners @ cam.pose[:3, :3].T + cam.pose[:3, 3]
        pr = self.pyrender
        material = pr.MetallicRoughnessMaterial(baseColorFactor=[0, 0, 0, 1], metallicFactor=0.0, roughnessFactor=1.0,
                                                emissiveTexture=self._texture(image), emissiveFactor=np.ones(3, np.float32),
                                                doubleSided=True)
        n = np.tile(_unit(cam.pose[:3, 2]), (4, 1)).astype(np.float32)
        prim = pr.Primitive(positions=world.astype(np.float32), normals=n,
                            texcoord_0=np.array([[0, 0], [1, 0], [1, 1], [0, 1]], np.float32),
                            indices=np.array([[0, 1, 2], [0, 2, 3]]), material=material)
        return scene.add(pr.Mesh([prim]))

    def _finish(self, colour: np.ndarray, rng) -> np.ndarray:
        img = colour
        if self.options.effects:
            img = cv2.GaussianBlur(img, (0, 0), 0.5)  # optics: a real lens is never pixel-sharp
        return fx.apply(img, rng, tuple(self.options.effects))

    def _street(self, scene, rng, persons) -> list:
        """Ground (paving, a road across), a row of facades behind everyone and rows
        along both sides, outside the people."""
        nodes = []
        zs = [-p[2] for _, p, _ in persons] or [10.0]
        xs = [abs(p[0]) for _, p, _ in persons] or [0.0]
        road_near = rng.uniform(4, 25)
        road_w = rng.uniform(6, 12)
        far, side = 300.0, 150.0
        T = self._tex
        pav, asp = T["paving"][rng.integers(3)], T["asphalt"][rng.integers(3)]
        grounds = [(pav, (2.0, 2.0)), (asp, (6.0, 6.0)), (pav, (2.0, 2.0))]
        if self._side is not None:  # photo: pavement (or grass) before and behind a road
            side_rng, P = self._side, self._ptex

            def pick(cat):
                t, texture = P[cat][int(side_rng.integers(len(P[cat])))]
                return texture, t.size_m

            near_g = pick("pavement")
            far_g = pick("grass") if P["grass"] and side_rng.random() < 0.3 else pick("pavement")
            grounds = [near_g, pick("asphalt"), far_g]
            self._facade_map = side_rng.integers(len(P["wall"]), size=len(T["facade"]))
        for (z0, z1), (t, s) in zip(((0.5, -road_near), (-road_near, -road_near - road_w),
                                     (-road_near - road_w, -far)), grounds):
            corners = [(-side, 0, z0), (side, 0, z0), (side, 0, z1), (-side, 0, z1)]
            nodes.append(scene.add(self._quad(corners, t, (2 * side / s[0], abs(z1 - z0) / s[1]))))
        zb = max(road_near + road_w + rng.uniform(2, 8), max(zs) + rng.uniform(3, 10))
        self._facades = {}
        x = -side
        while x < side:
            w = rng.uniform(8, 25)
            self._building(scene, nodes, rng, (x, -zb), (x + w, -zb), rng.uniform(8, 30))
            x += w
        for sgn in (-1, 1):
            if rng.random() < 0.7:
                xside = sgn * max(rng.uniform(6, 14), max(xs) + 1.5)
                z = 2.0
                while z > -zb:
                    d = rng.uniform(8, 20)
                    a, b = ((xside, z), (xside, z - d)) if sgn < 0 else ((xside, z - d), (xside, z))
                    self._building(scene, nodes, rng, a, b, rng.uniform(8, 25))
                    z -= d
        for t, quads in self._facades.items():  # one draw call per facade texture
            texture = self._tex["facade"][t] if self._side is None else self._ptex["wall"][t][1]
            nodes.append(scene.add(self._quads(quads, texture)))
        return nodes

    def _building(self, scene, nodes, rng, a, b, height):
        """A facade quad from ground point a to b (facing the street) and its roof line."""
        storeys = max(1, round(height / 3.2))
        bays = max(1, round(np.hypot(b[0] - a[0], b[1] - a[1]) / 4.0))
        t = int(rng.integers(len(self._tex["facade"])))
        corners = [(a[0], 0, a[1]), (b[0], 0, b[1]), (b[0], height, b[1]), (a[0], height, a[1])]
        # the texture holds 2-4 windows a side: repeat it to about one window per bay and storey
        repeat = (bays / 3.0, storeys / 3.0)
        tint = np.clip(rng.uniform(0.8, 1.1, 3), 0, 1)
        if self._side is not None:  # a photo at its metric size, its bottom row on the ground
            t = int(self._facade_map[t])
            size_w, size_h = self._ptex["wall"][t][0].size_m
            repeat = (np.hypot(b[0] - a[0], b[1] - a[1]) / size_w, height / size_h)
            tint = 0.85 + 0.15 * tint  # photos carry their own colour: a lighter tint
        self._facades.setdefault(t, []).append((corners, repeat, tint))

    def _place_people(self, rng, cam: Camera, count: int):
        """Bodies on the ground at depths that give CityPersons-like pixel heights."""
        scale = self.height / REFERENCE_HEIGHT_PX
        lo, hi = self.options.person_px
        placed: list[tuple[Body, np.ndarray, float]] = []
        many = getattr(self.bodies, "sample_many", None)  # anny: one batched evaluation per image
        bodies = many(rng, count) if many else [self.bodies.sample(rng) for _ in range(count)]
        for body in bodies:
            for _attempt in range(20):
                px = math.exp(rng.uniform(math.log(lo * scale), math.log(hi * scale)))
                zc = cam.fy * body.height_m / px
                u = rng.uniform(-0.05, 1.05) * self.width
                ground = _ground_point(cam, u, zc)
                if ground is None:
                    continue
                if any(np.hypot(*(ground - p)[[0, 2]]) < 0.6 for _, p, _ in placed):
                    continue  # two people never stand inside each other
                heading = rng.uniform(0, 2 * math.pi)
                verts = body.vertices @ _rot_y(heading).T + ground
                uv, z = cam.project(verts)
                if (z <= 0.3).any():
                    continue
                x1, y1, x2, y2 = pixel_box(uv)
                if x2 <= 0 or y2 <= 0 or x1 >= self.width or y1 >= self.height or y2 - y1 < 4:
                    continue
                placed.append((body, ground, heading))
                break
        return placed

    def _plan_occluders(self, rng, cam: Camera, persons, weights) -> list:
        """Cars, poles, bollards, bins and vegetation between the camera and the people,
        clear of them (a person never stands inside an occluder)."""
        specs: list = []
        if not persons:
            return specs
        cam_xz = cam.pose[[0, 2], 3]

        def in_front(clearance: float):
            _, p, _ = persons[rng.integers(len(persons))]
            d = np.hypot(*(p[[0, 2]] - cam_xz))
            if d < 2 * clearance + 2.5:  # no room between the camera and the person
                return None
            back = rng.uniform(clearance, min(clearance + 5.0, d - clearance - 2.0))
            q = cam_xz + (p[[0, 2]] - cam_xz) * (d - back) / d
            q = np.array([q[0] + rng.normal(0, 0.4), 0.0, q[1]])
            if any(np.hypot(*(q - o)[[0, 2]]) < clearance for _, o, _ in persons):
                return None
            return q

        def add(kind, clearance, **spec):
            p = in_front(clearance)
            if p is not None:
                specs.append((kind, dict(spec, position=p)))

        if rng.random() < weights.get("car", 0):
            for _ in range(int(rng.integers(1, 4))):
                yaw = float(rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.15))
                length, width = rng.uniform(3.8, 4.8), rng.uniform(1.7, 1.95)
                paint = rng.uniform(0.05, 0.9, 3) if rng.random() < 0.6 else rng.uniform(0.05, 0.9) * np.ones(3)
                add("car", length / 2 + 0.5, yaw=yaw, length=length, width=width, paint=paint)
        if rng.random() < weights.get("pole", 0):
            for _ in range(int(rng.integers(1, 4))):
                kind = rng.random()
                if kind < 0.6:    # lamp post / sign pole
                    add("cylinder", 0.5, radius=rng.uniform(0.05, 0.14), height=rng.uniform(2.5, 6.5),
                        colour=rng.uniform(0.2, 0.5) * np.ones(3), metal=0.6)
                elif kind < 0.8:  # bollard
                    add("cylinder", 0.5, radius=rng.uniform(0.08, 0.15), height=rng.uniform(0.7, 1.1),
                        colour=rng.uniform(0.1, 0.6, 3), metal=0.0)
                else:             # bin / crate / electrical box
                    add("box", 1.2, size=(rng.uniform(0.4, 1.0), rng.uniform(0.6, 1.3), rng.uniform(0.4, 1.0)),
                        colour=rng.uniform(0.1, 0.7, 3), yaw=rng.uniform(0, math.pi))
        if rng.random() < weights.get("vegetation", 0):
            for _ in range(int(rng.integers(1, 4))):
                if rng.random() < 0.6:
                    r = rng.uniform(0.4, 1.1)
                    add("bush", r + 0.5, radius=r, seed=int(rng.integers(1 << 31)))
                else:
                    length = rng.uniform(1.5, 4)
                    add("hedge", length / 2 + 0.5, size=(length, rng.uniform(0.6, 1.3), rng.uniform(0.5, 0.9)),
                        yaw=rng.normal(0, 0.2), seed=int(rng.integers(1 << 31)))
        return specs

    def _add_occluder(self, kind: str, spec: dict) -> None:
        """Adds one occluder's meshes to the frame's solids. Kinds and their spec keys (besides ``position``, a
        ground point): car (yaw, length, width, paint), cylinder (radius, height,
        colour, metal), box (size, colour, yaw), bush (radius, seed), hedge (size, yaw, seed),
        cone (radius, height, colour, yaw), sign (height, plate, round, colour, yaw),
        van (length, width, height, paint, yaw), tree (height, radius, crown, seed),
        tripod (height, spread, leg, head, colour, yaw), litter (size, colour, yaw, seed),
        carried (size, yaw, colour; ``position`` is the bottom centre, at any height)."""
        import trimesh

        p = np.asarray(spec["position"], float)
        if kind == "car":
            L, Wd, yaw = spec["length"], spec["width"], spec["yaw"]
            parts = [((L, 0.75, Wd), (0, 0.3, 0), spec["paint"], 0.4),
                     ((L * 0.55, 0.55, Wd * 0.9), (-0.1 * L, 1.05, 0), (0.08, 0.1, 0.12), 0.2)]
            for size, off, col, metal in parts:
                m = trimesh.creation.box(extents=size)
                m.apply_transform(_homog(np.eye(3), (off[0], off[1] + size[1] / 2, off[2])))
                self._mesh_node(m, p, yaw, col)
            for sx in (-0.35 * L, 0.33 * L):
                for sz in (-Wd / 2, Wd / 2):
                    m = trimesh.creation.cylinder(radius=0.32, height=0.22, sections=14)
                    m.apply_transform(_homog(np.eye(3), (sx, 0.32, sz)))
                    self._mesh_node(m, p, yaw, (0.04, 0.04, 0.04))
            return
        if kind == "cylinder":
            r, h = spec["radius"], spec["height"]
            m = trimesh.creation.cylinder(radius=r, height=h, sections=16)
            m.apply_transform(_homog(_rot_x(-math.pi / 2), (0, h / 2, 0)))
            return self._mesh_node(m, p, 0.0, spec["colour"], surface="metal" if spec["metal"] > 0 else "concrete")
        if kind in ("box", "hedge"):
            sx, sy, sz = spec["size"]
            m = trimesh.creation.box(extents=(sx, sy, sz))
            if kind == "hedge":  # leafy: subdivided, jittered, mottled green
                m = m.subdivide().subdivide().subdivide()
            m.apply_transform(_homog(np.eye(3), (0, sy / 2, 0)))
            colours = None
            if kind == "hedge":
                g = np.random.default_rng(spec["seed"])
                v = np.asarray(m.vertices)
                m.vertices = v + g.normal(0, 0.03, v.shape) * np.array([1, 0, 1])
                colours = self._leaves(g, len(v))
            return self._mesh_node(m, p, spec["yaw"], spec.get("colour", (0.2, 0.4, 0.12)), colours=colours,
                                   surface="concrete" if kind == "box" else None)
        if kind == "bush":
            g = np.random.default_rng(spec["seed"])
            r = spec["radius"]
            m = trimesh.creation.icosphere(subdivisions=3, radius=r)
            v = np.asarray(m.vertices)
            m.vertices = v * (1 + 0.18 * (g.random(len(v)) - 0.5))[:, None] * np.array([1.0, g.uniform(0.6, 1.0), 1.0]) \
                + np.array([0, r * 0.7, 0])
            return self._mesh_node(m, p, 0.0, None, colours=self._leaves(g, len(v)))
        if kind == "cone":  # a traffic cone on its square foot
            r, h = spec["radius"], spec["height"]
            foot = trimesh.creation.box(extents=(2.2 * r, 0.04, 2.2 * r))
            foot.apply_transform(_homog(np.eye(3), (0, 0.02, 0)))
            self._mesh_node(foot, p, spec["yaw"], spec["colour"])
            m = trimesh.creation.cone(radius=r, height=h, sections=16)
            m.apply_transform(_homog(_rot_x(-math.pi / 2), (0, 0.04, 0)))
            return self._mesh_node(m, p, 0.0, spec["colour"])
        if kind == "sign":  # a plate (square, or a thin disc) on a thin pole
            h, w = spec["height"], spec["plate"]
            pole = trimesh.creation.cylinder(radius=0.035, height=h, sections=10)
            pole.apply_transform(_homog(_rot_x(-math.pi / 2), (0, h / 2, 0)))
            self._mesh_node(pole, p, 0.0, (0.55, 0.55, 0.55), surface="metal")
            if spec["round"]:
                plate = trimesh.creation.cylinder(radius=w / 2, height=0.03, sections=20)
            else:
                plate = trimesh.creation.box(extents=(w, w, 0.03))
            plate.apply_transform(_homog(np.eye(3), (0, h - w / 2, 0.05)))
            return self._mesh_node(plate, p, spec["yaw"], spec["colour"])
        if kind == "van":  # a tall one-box vehicle on four wheels
            L, Wd, H, yaw = spec["length"], spec["width"], spec["height"], spec["yaw"]
            m = trimesh.creation.box(extents=(L, H - 0.3, Wd))
            m.apply_transform(_homog(np.eye(3), (0, 0.3 + (H - 0.3) / 2, 0)))
            self._mesh_node(m, p, yaw, spec["paint"], surface="metal")
            glass = trimesh.creation.box(extents=(0.05, 0.5, Wd * 0.9))
            glass.apply_transform(_homog(np.eye(3), (L / 2, H - 0.55, 0)))
            self._mesh_node(glass, p, yaw, (0.06, 0.08, 0.1))
            for sx in (-0.35 * L, 0.35 * L):
                for sz in (-Wd / 2, Wd / 2):
                    w = trimesh.creation.cylinder(radius=0.34, height=0.22, sections=14)
                    w.apply_transform(_homog(np.eye(3), (sx, 0.34, sz)))
                    self._mesh_node(w, p, yaw, (0.04, 0.04, 0.04))
            return
        if kind == "tree":  # a trunk and a leafy crown: upright, person-like in width at the bottom
            g = np.random.default_rng(spec["seed"])
            h, r, cr = spec["height"], spec["radius"], spec["crown"]
            trunk = trimesh.creation.cylinder(radius=r, height=h, sections=12)
            trunk.apply_transform(_homog(_rot_x(-math.pi / 2), (0, h / 2, 0)))
            self._mesh_node(trunk, p, 0.0, (0.30, 0.22, 0.15))
            m = trimesh.creation.icosphere(subdivisions=3, radius=cr)
            v = np.asarray(m.vertices)
            m.vertices = v * (1 + 0.2 * (g.random(len(v)) - 0.5))[:, None] + np.array([0, h + 0.6 * cr, 0])
            return self._mesh_node(m, p, 0.0, None, colours=self._leaves(g, len(v)))
        if kind == "tripod":  # three legs from the feet to a top just under the head
            h, spread, yaw = spec["height"], spec["spread"], spec["yaw"]
            top = np.array([0.0, h, 0.0])
            for k in range(3):
                a = 2 * math.pi * k / 3
                foot = np.array([spread * math.cos(a), 0.0, spread * math.sin(a)])
                axis = top - foot
                leg = trimesh.creation.cylinder(radius=spec["leg"], height=float(np.linalg.norm(axis)), sections=8)
                leg.apply_transform(_homog(_look_along(axis)[:3, :3], (foot + top) / 2))  # its axis along the leg
                self._mesh_node(leg, p, yaw, spec["colour"], surface="metal")
            sx, sy, sz = spec["head"]
            head = trimesh.creation.box(extents=(sx, sy, sz))
            head.apply_transform(_homog(np.eye(3), (0, h + sy / 2, 0)))
            return self._mesh_node(head, p, yaw, spec["colour"])
        if kind == "litter":  # a thin, crumpled box flat on the ground
            g = np.random.default_rng(spec["seed"])
            sx, sy, sz = spec["size"]
            m = trimesh.creation.box(extents=(sx, sy, sz)).subdivide().subdivide()
            v = np.asarray(m.vertices)
            m.vertices = v + g.normal(0, 0.012, v.shape) * np.array([1.0, 0.5, 1.0]) + np.array([0, sy / 2 + 0.01, 0])
            return self._mesh_node(m, p, spec["yaw"], spec["colour"])
        if kind == "carried":  # a bag, backpack or suitcase: a box at any height, plain colour
            m = trimesh.creation.box(extents=spec["size"])
            m.apply_transform(_homog(np.eye(3), (0, spec["size"][1] / 2, 0)))
            return self._mesh_node(m, p, spec["yaw"], spec["colour"])
        raise ValueError(f"occluder kind {kind!r}: choose car, cylinder, box, bush, hedge, cone, sign, van, "
                         "tree, tripod, litter or carried")

    def _leaves(self, g: np.random.Generator, n: int) -> np.ndarray:
        """Leaf colours of a bush or hedge: from a foliage photo in photo mode."""
        if self.photo is not None and self.photo.get("foliage"):
            return photo.leaf_colours(self.photo.get("foliage"), g, n)
        return _leaf_colours(g, n)

    def _mesh_node(self, mesh, position, yaw, colour, colours=None, surface=None) -> None:
        v = np.asarray(mesh.vertices) @ _rot_y(yaw).T + position
        options = self._ptex.get(surface) if self._side is not None and surface else None
        if options:  # photo mode: a metal or concrete photo, tinted with the object's colour
            t, texture = options[int(self._side.integers(len(options)))]
            f = np.asarray(mesh.faces)
            v = v[f.reshape(-1)]                       # faces of their own: a projection per face
            uv = _box_uv(v, t.size_m)
            tint = np.clip(np.asarray(colour, np.float32) * 1.6, 0.2, 1.0)
            self._textured.setdefault(texture, []).append((v, np.arange(len(v)).reshape(-1, 3), uv, tint))
            return
        self._solids.append((v, np.asarray(mesh.faces), colours if colours is not None else colour))

    def _textured_solid(self, parts, texture):
        pr = self.pyrender
        offsets = np.cumsum([0] + [len(p[0]) for p in parts[:-1]])
        v = np.concatenate([p[0] for p in parts]).astype(np.float32)
        f = np.concatenate([p[1] + o for p, o in zip(parts, offsets)])
        uv = np.concatenate([p[2] for p in parts]).astype(np.float32)
        col = np.concatenate([np.tile(np.r_[p[3], 1.0], (len(p[0]), 1)) for p in parts]).astype(np.float32)
        prim = pr.Primitive(positions=v, normals=_vertex_normals(v, f).astype(np.float32), texcoord_0=uv,
                            color_0=col, indices=f, material=self._material(texture, (1, 1, 1), 0.6, 0.1))
        return pr.Mesh([prim])

    def close(self):
        """Free this renderer's OpenGL context. The EGL display is shared by every
        renderer of the process, so it is not terminated (pyrender's own delete would,
        leaving the other renderers without a display)."""
        mocap = getattr(getattr(self, "bodies", None), "mocap", None)
        if mocap is not None:
            mocap.close()
        r = getattr(self, "renderer", None)
        if r is None:
            return
        self.renderer = None
        platform = r._platform
        platform.make_current()
        r._renderer.delete()
        if getattr(platform, "_egl_context", None) is not None:
            from OpenGL.EGL import eglDestroyContext

            eglDestroyContext(platform._egl_display, platform._egl_context)
            platform._egl_context = None
            platform._egl_display = None  # so that pyrender's __del__ does not terminate it
        else:
            platform.delete_context()


def _keep_on_gpu(texture) -> None:
    """Keep a pyrender texture in the OpenGL context once uploaded. pyrender deletes the
    textures a frame does not use and uploads them again (with mipmaps) when a later
    frame does; the photo set is large enough for that to cost. Its memory goes with
    the renderer's context (close)."""
    add = texture._add_to_context

    def add_once():
        if texture._texid is None:
            add()

    texture._add_to_context = add_once
    texture.delete = lambda: None


def _single_sample(renderer) -> None:
    """Make this pyrender renderer's main framebuffer single-sampled. pyrender always
    allocates 4x multisampled buffers; while this renderer configures them, its
    allocation call stores single-sampled ones (other renderers are unaffected)."""
    import pyrender.renderer as prr
    from OpenGL.GL import glRenderbufferStorage

    configure = renderer._configure_main_framebuffer

    def single_sampled():
        multisample = prr.glRenderbufferStorageMultisample
        prr.glRenderbufferStorageMultisample = lambda target, samples, fmt, w, h: glRenderbufferStorage(
            target, fmt, w, h)
        try:
            configure()
        finally:
            prr.glRenderbufferStorageMultisample = multisample

    renderer._configure_main_framebuffer = single_sampled


def _box_uv(v: np.ndarray, size_m) -> np.ndarray:
    """Texture coordinates of unshared triangles (3 rows per face): each face projected
    along its normal's largest axis, at ``size_m`` (width, height) metres per image."""
    tri = v.reshape(-1, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    axis = np.abs(n).argmax(1)
    u_axis = np.where(axis == 0, 2, 0)                  # x-facing faces use z, others x
    v_axis = np.where(axis == 1, 2, 1)                  # y-facing faces use z, others y
    rows = np.arange(len(tri))[:, None]
    u = tri[rows, np.arange(3)[None, :], u_axis[:, None]] / size_m[0]
    w = tri[rows, np.arange(3)[None, :], v_axis[:, None]] / size_m[1]
    return np.stack([u.reshape(-1), w.reshape(-1)], axis=1)


def _leaf_colours(g: np.random.Generator, n: int) -> np.ndarray:
    green = np.array([g.uniform(0.07, 0.2), g.uniform(0.17, 0.33), g.uniform(0.04, 0.1)], np.float32)
    return np.clip(green * (0.4 + 1.0 * g.random(n))[:, None].astype(np.float32), 0, 1)


CARRIED_KINDS = (("bag", 0.5), ("backpack", 0.35), ("suitcase", 0.15))
CARRIED_COLOURS = np.array([[0.05, 0.05, 0.05], [0.16, 0.1, 0.06], [0.35, 0.2, 0.1], [0.1, 0.12, 0.25],
                            [0.45, 0.05, 0.05], [0.5, 0.45, 0.4], [0.12, 0.25, 0.12]], np.float32)


def plan_carried(g: np.random.Generator, persons, probability: float) -> list:
    """("carried", spec) occluders: for each person, with ``probability``, a handbag
    hanging from a wrist, a backpack behind the shoulders or a suitcase standing by a
    hand. Placed from the body's own keypoints (COCO order, person frame), so they
    follow its pose and facing. They are scene objects, not the person: they hide
    what they cover in the mask and in the keypoints' depth test, and the full-body
    box stays the body's."""
    specs = []
    if probability <= 0:
        return specs
    names = [k for k, _ in CARRIED_KINDS]
    weights = np.array([w for _, w in CARRIED_KINDS])
    for body, position, heading in persons:
        if g.random() >= probability:
            continue
        c = np.asarray(body.coco17, float)
        # the torso's facing: square to the shoulder and hip lines (the head may look
        # elsewhere), on the side the nose is
        across = (c[5] - c[6]) + (c[11] - c[12])
        fwd = np.cross(across, [0.0, 1.0, 0.0])
        fwd[1] = 0.0
        fwd = fwd / np.linalg.norm(fwd) if np.linalg.norm(fwd) > 1e-6 else np.array([0.0, 0.0, 1.0])
        if float(fwd @ (c[0] - (c[3] + c[4]) / 2)) < 0:
            fwd = -fwd
        face_yaw = math.atan2(fwd[0], fwd[2])
        kind = names[int(g.choice(len(names), p=weights / weights.sum()))]
        colour = np.clip(CARRIED_COLOURS[g.integers(len(CARRIED_COLOURS))] * g.uniform(0.8, 1.25), 0, 1)
        hips = (c[11] + c[12]) / 2
        if kind == "backpack":
            w, h, d = g.uniform(0.28, 0.34), g.uniform(0.35, 0.45), g.uniform(0.12, 0.2)
            top = (c[5][1] + c[6][1]) / 2 - 0.02
            spine = (c[5] + c[6] + c[11] + c[12]) / 4
            local = spine - fwd * (0.13 + d / 2)
            local[1] = top - h
            size = (w, h, d)
        else:
            wrist = c[9 + int(g.integers(2))]          # left or right wrist
            out = wrist - hips
            out[1] = 0.0
            out -= fwd * float(out @ fwd)              # sideways, away from the body
            out = out / np.linalg.norm(out) if np.linalg.norm(out) > 1e-6 else np.cross([0.0, 1.0, 0.0], fwd)
            if kind == "bag":
                t, h, w = g.uniform(0.08, 0.14), g.uniform(0.22, 0.38), g.uniform(0.25, 0.4)
                local = wrist + out * (t / 2 + 0.03)
                local[1] = wrist[1] - 0.04 - h
            else:
                t, h, w = g.uniform(0.2, 0.25), g.uniform(0.55, 0.7), g.uniform(0.38, 0.45)
                local = wrist + out * (t / 2 + 0.08)
                local[1] = 0.0
            size = (t, h, w)                           # thin side towards the body, wide along the walk
        world = local @ _rot_y(heading).T + np.asarray(position, float)
        specs.append(("carried", {"position": world, "size": tuple(float(v) for v in size),
                                  "yaw": float(heading + face_yaw), "colour": colour, "kind": kind}))
    return specs


# street objects a detector trained on people mistakes for them on real streets (issue
# 18's false positives fell on vans, bollards, cones, signs, a bag, lamp posts, trees)
CLUTTER_KINDS = (("cone", 0.18), ("sign", 0.18), ("bollard", 0.14), ("lamp", 0.1), ("bin", 0.1),
                 ("van", 0.1), ("tree", 0.1), ("sack", 0.1))
# session 40's look at the real courtyard frames: the false boxes scoring 0.9 and more fell
# on a camera tripod and bright litter on the grass too, which the street set does not hold
CLUTTER_SETS = {"street": CLUTTER_KINDS,
                "wide": CLUTTER_KINDS + (("tripod", 0.12), ("litter", 0.12))}
CLUTTER_NEAREST_M = {"van": 8.0, "tree": 6.0}   # else 3 m: a van or a crown nearer fills the frame
CLUTTER_COLOURS = np.array([(0.95, 0.4, 0.05), (0.85, 0.1, 0.08), (0.95, 0.8, 0.1), (0.1, 0.25, 0.7),
                            (0.9, 0.9, 0.9), (0.15, 0.5, 0.2), (0.2, 0.2, 0.2), (0.55, 0.4, 0.3)])


def plan_clutter(g: np.random.Generator, cam: Camera, persons, most: int, occluders=(),
                 kinds=CLUTTER_KINDS) -> list:
    """Up to ``most`` street objects on the visible ground, 3-60 m ahead (vans 8, trees 6), anywhere in
    the frame's width (not only between camera and people, as occluders are), each
    clear of every person, of the ``occluders`` already planned and of each other: the
    upright, person-sized things a detector must learn are not people. They are scene:
    they hide what they cover, and add no truth. ``kinds``: (name, weight) pairs, one of
    CLUTTER_SETS."""
    specs: list = []
    if most <= 0:
        return specs
    names = [k for k, _ in kinds]
    weights = np.array([w for _, w in kinds])
    width = 2 * cam.cx
    for _ in range(int(g.integers(0, most + 1))):
        kind = names[int(g.choice(len(names), p=weights / weights.sum()))]
        near = CLUTTER_NEAREST_M.get(kind, 3.0)
        p = _ground_point(cam, float(g.uniform(0, width)), float(np.exp(g.uniform(np.log(near), np.log(60.0)))))
        colour = np.clip(CLUTTER_COLOURS[g.integers(len(CLUTTER_COLOURS))] * g.uniform(0.7, 1.15), 0, 1)
        yaw = float(g.uniform(0, 2 * math.pi))
        if kind == "cone":
            spec, clear = dict(radius=g.uniform(0.13, 0.2), height=g.uniform(0.45, 0.9), colour=colour, yaw=yaw), 0.3
        elif kind == "sign":
            spec, clear = dict(height=g.uniform(1.9, 3.0), plate=g.uniform(0.4, 0.8), round=bool(g.random() < 0.4),
                               colour=colour, yaw=yaw), 0.5
        elif kind == "bollard":
            kind, clear = "cylinder", 0.3
            spec = dict(radius=g.uniform(0.08, 0.16), height=g.uniform(0.6, 1.2), colour=colour, metal=0.0)
        elif kind == "lamp":
            kind, clear = "cylinder", 0.3
            spec = dict(radius=g.uniform(0.06, 0.14), height=g.uniform(3.0, 7.0),
                        colour=g.uniform(0.15, 0.5) * np.ones(3), metal=0.6)
        elif kind == "bin":
            kind, clear = "box", 0.8
            spec = dict(size=(g.uniform(0.4, 0.8), g.uniform(0.8, 1.5), g.uniform(0.4, 0.8)), colour=colour, yaw=yaw)
        elif kind == "van":
            length, clear = g.uniform(4.5, 5.8), 3.2
            spec = dict(length=length, width=g.uniform(1.9, 2.1), height=g.uniform(1.9, 2.6),
                        paint=colour if g.random() < 0.5 else g.uniform(0.6, 0.95) * np.ones(3), yaw=yaw)
        elif kind == "tree":
            spec, clear = dict(height=g.uniform(1.8, 3.0), radius=g.uniform(0.1, 0.25), crown=g.uniform(0.8, 2.0),
                               seed=int(g.integers(1 << 31))), 1.5
        elif kind == "tripod":  # a camera or light stand: three thin legs, something on top
            spec, clear = dict(height=g.uniform(1.1, 1.9), spread=g.uniform(0.25, 0.5), leg=g.uniform(0.012, 0.025),
                               head=(g.uniform(0.1, 0.3), g.uniform(0.08, 0.25), g.uniform(0.08, 0.2)),
                               colour=g.uniform(0.03, 0.35) * np.ones(3) if g.random() < 0.7 else colour,
                               yaw=yaw), 0.5
        elif kind == "litter":  # paper, a flattened box or a wrapper lying on the ground
            light = g.random() < 0.6
            spec, clear = dict(size=(g.uniform(0.1, 0.6), g.uniform(0.005, 0.06), g.uniform(0.1, 0.45)),
                               colour=g.uniform(0.8, 1.0, 3) if light else colour, yaw=yaw,
                               seed=int(g.integers(1 << 31))), 0.3
        else:  # a sack, parcel or bag left on the ground
            kind, clear = "carried", 0.4
            spec = dict(size=(g.uniform(0.25, 0.6), g.uniform(0.2, 0.7), g.uniform(0.2, 0.5)), colour=colour, yaw=yaw)
        if p is None or any(np.hypot(*(p - np.asarray(o, float))[[0, 2]]) < clear + 0.5 for _, o, _ in persons):
            continue
        # other objects: a car or van needs about 3 m around its centre, the rest their own clearance
        if any(np.hypot(*(p - np.asarray(s["position"], float))[[0, 2]]) < clear + (3.0 if k in ("car", "van") else 0.5)
               for k, s in (*occluders, *specs) if k != "carried" or s["position"][1] == 0.0):
            continue
        specs.append((kind, dict(spec, position=p)))
    return specs


def _ground_point(cam: Camera, u: float, zc: float) -> np.ndarray | None:
    """The ground point (y = 0) at depth ``zc`` along the optical axis, on the
    vertical plane through image column ``u``."""
    R, t = cam.pose[:3, :3], cam.pose[:3, 3]
    xc = (u - cam.cx) / cam.fx * zc
    # world y of camera point (xc, yc, -zc): t_y + R[1,0] xc + R[1,1] yc - R[1,2] zc = 0
    if abs(R[1, 1]) < 1e-6:
        return None
    yc = -(t[1] + R[1, 0] * xc - R[1, 2] * zc) / R[1, 1]
    p = t + R @ np.array([xc, yc, -zc])
    return np.array([p[0], 0.0, p[2]])


def _rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def _rot_y(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def _homog(R, t):
    T = np.eye(4)
    T[:3, :3] = R
    T[:3, 3] = t
    return T


def _unit(v):
    return v / np.linalg.norm(v)


def _look_along(direction: np.ndarray) -> np.ndarray:
    """Pose of a directional light shining along ``direction`` (lights shine down their -z)."""
    z = -_unit(direction)
    up = np.array([0, 1.0, 0]) if abs(z[1]) < 0.95 else np.array([1.0, 0, 0])
    x = _unit(np.cross(up, z))
    y = np.cross(z, x)
    return _homog(np.stack([x, y, z], axis=1), (0, 0, 0))
