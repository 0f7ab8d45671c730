"""Street scenes rendered with pybullet's CPU TinyRenderer.

Pedestrians are pybullet's humanoid mannequin posed from its motion-capture clips.
Everything the annotations hold is read off renders, never guessed:

* visible instance mask: the scene's segmentation buffer;
* full-body (amodal) mask and box: a second render with only that person in the
  scene, on a canvas enlarged by a margin with the same focal length, so bodies
  running past the image border still get their true full box;
* keypoints: the humanoid's joint frames projected with the camera matrices,
  visible where the visible mask is within ``KEYPOINT_TOLERANCE_PX`` pixels.

The world is y-up (the humanoid's convention); the camera looks down -z.
"""
from __future__ import annotations

import contextlib
import math
import os

import cv2
import numpy as np
import pybullet as pb
import pybullet_data

from cluenet_ros import keypoints as kp
from cluenet_ros.synth.motion import MotionLibrary
from cluenet_ros.synth.scene import RenderedPerson, RenderedScene  # noqa: F401  (re-exported)

KEYPOINT_TOLERANCE_PX = 2
HUMAN_SCALE = 0.25  # the URDF is modelled 4x human size
FAR = -1000.0       # y coordinate that parks unused objects out of sight

# humanoid link index of each schema keypoint; the head is the head sphere's centre
_LINKS = {"head": 2, "right_hip": 3, "right_knee": 4, "right_ankle": 5, "right_shoulder": 6,
          "right_elbow": 7, "right_wrist": 8, "left_hip": 9, "left_knee": 10, "left_ankle": 11,
          "left_shoulder": 12, "left_elbow": 13, "left_wrist": 14}
KEYPOINT_LINKS = tuple(_LINKS[n] for n in kp.NAMES)
_TORSO, _HEAD = (-1, 0, 1), (2,)
_LEGS, _ARMS, _HANDS, _FEET = (3, 4, 9, 10), (6, 7, 12, 13), (8, 14), (5, 11)
_JOINT_INDEX = {"chest": 1, "neck": 2, "right_hip": 3, "right_knee": 4, "right_ankle": 5,
                "right_shoulder": 6, "right_elbow": 7, "left_hip": 9, "left_knee": 10,
                "left_ankle": 11, "left_shoulder": 12, "left_elbow": 13}

OCCLUDER_KINDS = ("car", "pole", "vegetation", "pedestrian")


@contextlib.contextmanager
def _quiet_stdout():
    """pybullet's URDF parser prints to the C-level stdout; keep the console clean."""
    fd = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            yield
    finally:
        os.dup2(fd, 1)
        os.close(fd)


DOMAINS = ("source", "target")


class SceneRenderer:
    def __init__(self, width: int, height: int, max_people: int, fov_deg: float | None = None,
                 margin: float = 0.25, domain: str = "source"):
        """``domain`` "target" renders a shifted domain for domain-adaptation studies:
        other background colours and textures, dusk lighting, a higher and steeper,
        wider camera with a colour cast, blur and more noise (people, poses and
        annotations are made the same way)."""
        if domain not in DOMAINS:
            raise ValueError(f"unknown domain {domain!r}; choose one of {', '.join(DOMAINS)}")
        self.domain = domain
        self.width, self.height = width, height
        self.fov = fov_deg if fov_deg is not None else (40.0 if domain == "source" else 52.0)
        self.margin = int(round(margin * height))
        self.client = pb.connect(pb.DIRECT)
        data = pybullet_data.getDataPath()
        self.motions = MotionLibrary(data)
        c = self.client
        with _quiet_stdout():
            self.humans = [pb.loadURDF(os.path.join(data, "humanoid", "humanoid.urdf"),
                                       globalScaling=HUMAN_SCALE, useFixedBase=True,
                                       flags=pb.URDF_MAINTAIN_LINK_ORDER, physicsClientId=c)
                           for _ in range(max_people)]
        self.ground = self._box((200, 0.05, 200), (0, -0.05, -100))
        self.sidewalk = self._box((200, 0.08, 3), (0, 0.0, -30))
        self.sky = self._box((400, 200, 0.5), (0, 0, -260))
        self.buildings = [self._box((w, h, 4), (0, FAR, 0)) for w, h in
                          ((6, 10), (9, 14), (5, 7), (12, 20), (7, 9), (10, 12))]
        self.cars = [(self._box((2.1, 0.55, 0.9), (0, FAR, 0)), self._box((1.2, 0.4, 0.85), (0, FAR, 0)))
                     for _ in range(3)]
        self.poles = [self._cylinder(r, h) for r, h in ((0.08, 3.5), (0.12, 4.5), (0.1, 6.0))]
        self.bushes = [self._sphere(r) for r in (0.45, 0.7, 0.9, 1.2)]
        self.hedges = [self._box((l, 0.5, 0.4), (0, FAR, 0)) for l in (1.5, 3.0)]
        self.occluder_ids = ([b for car in self.cars for b in car] + self.poles + self.bushes + self.hedges)
        self.static_ids = [self.ground, self.sidewalk, self.sky] + self.buildings

    # -- object pool ----------------------------------------------------------------
    def _body(self, shape_type, pos, **kw):
        c = self.client
        vis = pb.createVisualShape(shape_type, rgbaColor=[0.5, 0.5, 0.5, 1], physicsClientId=c, **kw)
        return pb.createMultiBody(0, -1, vis, basePosition=pos, physicsClientId=c)

    def _box(self, half, pos):
        return self._body(pb.GEOM_BOX, pos, halfExtents=list(half))

    def _cylinder(self, radius, height):
        # pybullet cylinders run along z; turned upright when placed
        self._pole_height = getattr(self, "_pole_height", {})
        body = self._body(pb.GEOM_CYLINDER, (0, FAR, 0), radius=radius, length=height)
        self._pole_height[body] = height
        return body

    def _sphere(self, radius):
        self._bush_radius = getattr(self, "_bush_radius", {})
        body = self._body(pb.GEOM_SPHERE, (0, FAR, 0), radius=radius)
        self._bush_radius[body] = radius
        return body

    def _place(self, body, pos, orn=(0, 0, 0, 1)):
        pb.resetBasePositionAndOrientation(body, list(pos), list(orn), physicsClientId=self.client)

    def _colour(self, body, rgb, link=-1):
        pb.changeVisualShape(body, link, rgbaColor=[*map(float, rgb), 1.0], physicsClientId=self.client)

    def _park(self, body):
        self._place(body, (0, FAR, 0))

    # -- scene --------------------------------------------------------------------------
    def render(self, rng: np.random.Generator, people: int, occluders: dict[str, float]) -> RenderedScene:
        W, H = self.width, self.height
        target_domain = self.domain == "target"
        cam_h = rng.uniform(2.2, 3.0) if target_domain else rng.uniform(1.2, 1.8)
        pitch = math.radians(rng.uniform(-9, -4) if target_domain else rng.uniform(-4, 2))
        eye = np.array([0.0, cam_h, 0.0])
        target = eye + np.array([0.0, math.sin(pitch), -math.cos(pitch)])
        view = pb.computeViewMatrix(eye.tolist(), target.tolist(), [0, 1, 0])
        proj = pb.computeProjectionMatrixFOV(self.fov, W / H, 0.1, 400.0)
        tan_h = math.tan(math.radians(self.fov) / 2)

        self._dress_background(rng)
        # pedestrians: distances log-uniform so heights spread from ~30 px to most of the frame
        near = max(2.2, 1.9 * H / (2 * tan_h * H * 0.9))
        far = 1.75 * H / (2 * tan_h * 30)
        placed = []
        for i, body in enumerate(self.humans):
            if i >= people:
                self._park(body)
                continue
            d = float(np.exp(rng.uniform(np.log(near), np.log(far))))
            lateral = rng.uniform(-0.95, 0.95) * d * tan_h * W / H
            clip, pose = self.motions.sample(rng)
            heading = rng.uniform(0, 2 * math.pi)
            self._pose_human(body, (lateral, 0.0, -d), heading, pose)
            self._dress_human(body, rng)
            placed.append((body, clip, d))
        self._place_occluders(rng, placed, occluders, tan_h)

        if target_domain:  # low, warm evening light with long shadows
            light = dict(lightDirection=[rng.uniform(-1, 1), rng.uniform(0.15, 0.5), rng.uniform(-1, 1)],
                         lightColor=[1.0, rng.uniform(0.6, 0.8), rng.uniform(0.4, 0.6)],
                         lightAmbientCoeff=rng.uniform(0.25, 0.4), lightDiffuseCoeff=rng.uniform(0.6, 0.8),
                         lightSpecularCoeff=rng.uniform(0.1, 0.3), shadow=1)
        else:
            light = dict(lightDirection=[rng.uniform(-1, 1), rng.uniform(0.5, 1.5), rng.uniform(-1, 1)],
                         lightColor=[rng.uniform(0.85, 1.0), rng.uniform(0.85, 1.0), rng.uniform(0.8, 1.0)],
                         lightAmbientCoeff=rng.uniform(0.45, 0.75), lightDiffuseCoeff=rng.uniform(0.3, 0.6),
                         lightSpecularCoeff=rng.uniform(0.0, 0.1), shadow=int(rng.random() < 0.5))
        return self._shoot(rng, placed, view, proj, tan_h, light, cam_h, pitch)

    def _shoot(self, rng, placed, view, proj, tan_h, light, cam_h, pitch) -> RenderedScene:
        W, H = self.width, self.height
        _, _, rgba, _, seg = pb.getCameraImage(W, H, view, proj, renderer=pb.ER_TINY_RENDERER,
                                               physicsClientId=self.client, **light)
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(H, W, 4)[..., :3]
        seg = np.asarray(seg, dtype=np.int64).reshape(H, W)
        image = self._camera_effects(rgb, rng)

        scene = RenderedScene(image=image, camera_height=float(cam_h), camera_pitch=float(pitch),
                              fov_deg=float(self.fov))
        for body, clip, d in placed:
            visible = seg == body
            full_box, area = self._amodal(body, view, tan_h)
            if full_box is None:
                continue
            pts = self._project(self._keypoints_3d(body), view, proj, W, H)
            vis = self._visible_points(pts, visible)
            x, _, z = pb.getBasePositionAndOrientation(body, physicsClientId=self.client)[0]
            scene.people.append(RenderedPerson(clip, d, visible, full_box, pts.astype(np.float32), vis,
                                               position=(float(x), float(z)), full_area=area))
        return scene

    def render_frame(self, camera_height: float, pitch: float, people, obstacles, scene_seed: int,
                     frame_seed: int) -> RenderedScene:
        """One frame of a sequence, everything placed by the caller: ``people`` as
        dicts with x, z (ground position), heading (radians), clip, frame (motion
        frame index) and look (a seed for the clothes, so a person keeps them);
        ``obstacles`` as dicts with kind ("car" or "pole"), x, z and yaw. The
        background and light come from ``scene_seed`` (the same in every frame), the
        sensor noise from ``frame_seed``."""
        W, H = self.width, self.height
        if len(people) > len(self.humans):
            raise ValueError(f"{len(people)} people but the renderer holds {len(self.humans)}")
        eye = np.array([0.0, camera_height, 0.0])
        target = eye + np.array([0.0, math.sin(pitch), -math.cos(pitch)])
        view = pb.computeViewMatrix(eye.tolist(), target.tolist(), [0, 1, 0])
        proj = pb.computeProjectionMatrixFOV(self.fov, W / H, 0.1, 400.0)
        tan_h = math.tan(math.radians(self.fov) / 2)
        scene_rng = np.random.default_rng(scene_seed)
        self._dress_background(scene_rng)
        light = dict(lightDirection=[0.4, 1.0, 0.3], lightColor=[1.0, 1.0, 0.95], lightAmbientCoeff=0.6,
                     lightDiffuseCoeff=0.45, lightSpecularCoeff=0.05, shadow=0)
        placed = []
        for i, body in enumerate(self.humans):
            if i >= len(people):
                self._park(body)
                continue
            p = people[i]
            pose = self.motions.pose(p["clip"], int(p["frame"]))
            self._pose_human(body, (p["x"], 0.0, p["z"]), p["heading"], pose)
            self._dress_human(body, np.random.default_rng(p["look"]))
            placed.append((body, p["clip"], float(-p["z"])))
        for obj in self.occluder_ids:
            self._park(obj)
        cars, poles = iter(self.cars), iter(self.poles)
        for ob in obstacles:
            orn = pb.getQuaternionFromEuler([0, ob.get("yaw", 0.0), 0])
            if ob["kind"] == "car":
                body, cabin = next(cars)
                self._place(body, (ob["x"], 0.75, ob["z"]), orn)
                self._place(cabin, (ob["x"], 1.55, ob["z"]), orn)
                col = np.random.default_rng(int(abs(ob["x"]) * 100 + abs(ob["z"]) * 10)).uniform(0.1, 0.9, 3)
                self._colour(body, col)
                self._colour(cabin, col * 0.6)
            elif ob["kind"] == "pole":
                pole = next(poles)
                self._place(pole, (ob["x"], self._pole_height[pole] / 2, ob["z"]),
                            pb.getQuaternionFromEuler([math.pi / 2, 0, 0]))
                self._colour(pole, (0.35, 0.35, 0.35))
            else:
                raise ValueError(f"unknown obstacle kind {ob['kind']!r}; choose car or pole")
        return self._shoot(np.random.default_rng(frame_seed), placed, view, proj, tan_h, light,
                           camera_height, pitch)

    def _pose_human(self, body, position, heading, pose):
        c = self.client
        turn = pb.getQuaternionFromEuler([0, heading, 0])
        _, orn = pb.multiplyTransforms([0, 0, 0], turn, [0, 0, 0], pose.root_rotation)
        pos = [position[0], pose.root_height, position[2]]
        self._place(body, pos, orn)
        for name, value in pose.joints.items():
            j = _JOINT_INDEX[name]
            if len(value) == 4:
                pb.resetJointStateMultiDof(body, j, targetValue=list(value), physicsClientId=c)
            else:
                pb.resetJointStateMultiDof(body, j, targetValue=[value[0]], physicsClientId=c)

    def _dress_human(self, body, rng):
        skin = rng.choice(np.array([[0.96, 0.80, 0.69], [0.87, 0.67, 0.52], [0.65, 0.46, 0.33],
                                    [0.45, 0.31, 0.22], [0.30, 0.20, 0.15]]))
        shirt, trousers, shoes = rng.uniform(0.05, 0.95, 3), rng.uniform(0.05, 0.8, 3), rng.uniform(0, 0.4, 3)
        sleeves = shirt if rng.random() < 0.6 else skin
        for links, col in ((_TORSO, shirt), (_HEAD, skin), (_LEGS, trousers), (_ARMS, sleeves),
                           (_HANDS, skin), (_FEET, shoes)):
            for link in links:
                self._colour(body, col, link)

    def _dress_background(self, rng):
        if self.domain == "target":  # brown cobbles, red-brick pavement, dusk sky, dark facades
            self._colour(self.ground, rng.uniform(0.3, 0.5) * np.array([1.0, 0.78, 0.55]))
            self._colour(self.sidewalk, rng.uniform(0.45, 0.65) * np.array([0.95, 0.5, 0.4]))
            self._place(self.sidewalk, (0, 0.0, -rng.uniform(8, 30)))
            sky = np.array([0.95, 0.6, 0.4]) * rng.uniform(0.6, 1.0) + rng.uniform(-0.05, 0.05, 3)
            self._colour(self.sky, np.clip(sky, 0, 1))
            for b in self.buildings:
                if rng.random() < 0.95:
                    x, z = rng.uniform(-50, 50), -rng.uniform(40, 120)
                    half_h = pb.getVisualShapeData(b, physicsClientId=self.client)[0][3][1] / 2
                    self._place(b, (x, half_h, z))
                    self._colour(b, rng.uniform(0.05, 0.4, 3) * np.array([0.8, 0.85, 1.0]))
                else:
                    self._park(b)
            return
        self._colour(self.ground, rng.uniform(0.25, 0.5) * np.ones(3) + rng.uniform(-0.03, 0.03, 3))
        self._colour(self.sidewalk, rng.uniform(0.5, 0.7) * np.ones(3))
        self._place(self.sidewalk, (0, 0.0, -rng.uniform(15, 60)))
        sky = np.array([0.55, 0.7, 0.9]) * rng.uniform(0.7, 1.1) + rng.uniform(-0.08, 0.08, 3)
        self._colour(self.sky, np.clip(sky, 0, 1))
        for b in self.buildings:
            if rng.random() < 0.8:
                x, z = rng.uniform(-60, 60), -rng.uniform(70, 200)
                half_h = pb.getVisualShapeData(b, physicsClientId=self.client)[0][3][1] / 2
                self._place(b, (x, half_h, z))
                self._colour(b, rng.uniform(0.2, 0.85, 3))
            else:
                self._park(b)

    def _place_occluders(self, rng, placed, weights, tan_h):
        """Occluders near the people (between them and the camera or beside them)."""
        for obj in self.occluder_ids:
            self._park(obj)
        if not placed:
            return
        targets = [(pb.getBasePositionAndOrientation(b, physicsClientId=self.client)[0], d) for b, _, d in placed]

        def near_person():
            (x, _, z), d = targets[rng.integers(len(targets))]
            dd = max(2.5, d - rng.uniform(0.8, min(6.0, d - 0.5)))
            return x * dd / d + rng.normal(0, 0.35), -dd

        if rng.random() < weights.get("car", 0):
            for body, cabin in self.cars[: rng.integers(1, len(self.cars) + 1)]:
                x, z = near_person()
                yaw = rng.choice([0.0, math.pi / 2]) + rng.normal(0, 0.15)
                orn = pb.getQuaternionFromEuler([0, yaw, 0])
                self._place(body, (x, 0.75, z), orn)
                self._place(cabin, (x, 1.55, z), orn)
                col = rng.uniform(0.05, 0.95, 3)
                self._colour(body, col)
                self._colour(cabin, col * 0.6)
        if rng.random() < weights.get("pole", 0):
            upright = pb.getQuaternionFromEuler([math.pi / 2, 0, 0])
            for pole in self.poles[: rng.integers(1, len(self.poles) + 1)]:
                x, z = near_person()
                self._place(pole, (x, self._pole_height[pole] / 2, z), upright)
                self._colour(pole, rng.uniform(0.2, 0.5) * np.ones(3))
        if rng.random() < weights.get("vegetation", 0):
            for bush in self.bushes[: rng.integers(1, len(self.bushes) + 1)]:
                x, z = near_person()
                r = self._bush_radius[bush]
                self._place(bush, (x, r * rng.uniform(0.6, 1.1), z))
                self._colour(bush, (rng.uniform(0.1, 0.3), rng.uniform(0.35, 0.6), rng.uniform(0.05, 0.2)))
            for hedge in self.hedges[: rng.integers(0, len(self.hedges) + 1)]:
                x, z = near_person()
                self._place(hedge, (x, rng.uniform(0.4, 0.6), z), pb.getQuaternionFromEuler([0, rng.normal(0, 0.2), 0]))
                self._colour(hedge, (rng.uniform(0.1, 0.25), rng.uniform(0.3, 0.5), rng.uniform(0.05, 0.15)))

    def _camera_effects(self, rgb, rng):
        if self.domain == "target":  # another camera: colour cast, softer optics, more noise
            img = rgb.astype(np.float32) / 255.0
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.6, 1.2))
            img = np.clip(img * np.array([1.08, 0.97, 0.85]) * rng.uniform(0.7, 1.0), 0, 1) ** rng.uniform(1.1, 1.4)
            img = img * 255.0 + rng.normal(0, rng.uniform(5.0, 10.0), img.shape)
            return np.clip(np.round(img), 0, 255).astype(np.uint8)
        img = rgb.astype(np.float32) / 255.0
        img = np.clip(img * rng.uniform(0.75, 1.2), 0, 1) ** rng.uniform(0.8, 1.25)
        img = img * 255.0 + rng.normal(0, rng.uniform(1.0, 5.0), img.shape)
        return np.clip(np.round(img), 0, 255).astype(np.uint8)

    def _amodal_box(self, body, view, tan_h):
        """Full-body box from a render of this person alone on an enlarged canvas."""
        return self._amodal(body, view, tan_h)[0]

    def _amodal(self, body, view, tan_h):
        """Full-body box and mask area from a render of this person alone on an enlarged canvas."""
        W, H, m = self.width, self.height, self.margin
        W2, H2 = W + 2 * m, H + 2 * m
        fov2 = math.degrees(2 * math.atan(tan_h * H2 / H))
        proj2 = pb.computeProjectionMatrixFOV(fov2, W2 / H2, 0.1, 400.0)
        saved = {}
        for other in self.humans + self.occluder_ids + self.static_ids:
            if other != body:
                saved[other] = pb.getBasePositionAndOrientation(other, physicsClientId=self.client)
                self._park(other)
        try:
            seg = pb.getCameraImage(W2, H2, view, proj2, renderer=pb.ER_TINY_RENDERER,
                                    physicsClientId=self.client)[4]
        finally:
            for other, (pos, orn) in saved.items():
                self._place(other, pos, orn)
        mask = np.asarray(seg).reshape(H2, W2) == body
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if len(rows) == 0:
            return None, 0
        return ((float(cols[0] - m), float(rows[0] - m), float(cols[-1] + 1 - m), float(rows[-1] + 1 - m)),
                int(mask.sum()))

    def _keypoints_3d(self, body):
        states = pb.getLinkStates(body, list(range(15)), computeForwardKinematics=True,
                                  physicsClientId=self.client)
        pts = []
        for name, link in zip(kp.NAMES, KEYPOINT_LINKS):
            # head: the sphere's centre (link COM); joints: the link frame at the joint
            pts.append(states[link][0] if name == "head" else states[link][4])
        return np.asarray(pts, dtype=np.float64)

    @staticmethod
    def _project(points, view, proj, width, height):
        v = np.asarray(view, dtype=np.float64).reshape(4, 4).T
        p = np.asarray(proj, dtype=np.float64).reshape(4, 4).T
        hom = np.c_[points, np.ones(len(points))] @ (p @ v).T
        w = hom[:, 3:4]
        ndc = np.where(w > 1e-6, hom[:, :3] / np.where(w > 1e-6, w, 1.0), np.nan)
        x = (ndc[:, 0] + 1) / 2 * width
        y = (1 - ndc[:, 1]) / 2 * height
        return np.stack([x, y], axis=1)

    @staticmethod
    def _visible_points(pts, visible_mask):
        h, w = visible_mask.shape
        r = KEYPOINT_TOLERANCE_PX
        out = np.zeros(len(pts), dtype=bool)
        for i, (x, y) in enumerate(pts):
            if not (np.isfinite(x) and np.isfinite(y)) or not (0 <= x < w and 0 <= y < h):
                continue
            c, rr = int(x), int(y)
            out[i] = bool(visible_mask[max(rr - r, 0):rr + r + 1, max(c - r, 0):c + r + 1].any())
        return out

    def close(self):
        if pb.isConnected(self.client):
            pb.disconnect(self.client)
