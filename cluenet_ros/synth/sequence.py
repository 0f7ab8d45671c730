"""Synthetic sequences for tracking: people walking across a street scene, passing
each other (and so hiding each other) and passing behind parked cars and poles,
with their true identities.

A sequence is a scenario in world coordinates (the renderer's: y up, the camera
at (0, camera_height, 0) looking down -z); ``truth(k)`` projects frame k with the
renderer's pinhole camera and works out who hides whom by painting the people
and obstacles far to near on a coarse grid. ``render(renderer, k)`` renders the
same frame with pybullet for running the model on it. ``noisy_detections`` plays
a realistic detector on the truth: jitter, missed detections that get likelier
with occlusion, scores that drop with occlusion, and false positives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

WALK_SPEED = (1.0, 1.6)     # m/s
PERSON_HEIGHT = (1.6, 1.9)  # m; the box is PERSON_WIDTH x height
PERSON_WIDTH = 0.3          # box width as a fraction of the height (a walking person, arms swinging)
CAR = dict(length=4.2, width=1.8, body_top=1.3, cabin_length=2.4, height=1.95)  # the renderer's car
POLE = dict(width=0.24, height=4.5)
MOCAP_FPS = 30.0            # pybullet's walking clip


@dataclass(frozen=True)
class Camera:
    width: int
    height: int
    fov_deg: float = 40.0
    camera_height: float = 1.5
    pitch: float = 0.0        # radians, the renderer's sign: negative looks down

    @property
    def focal(self) -> float:
        return self.height / (2 * math.tan(math.radians(self.fov_deg) / 2))

    def project(self, pts) -> tuple[np.ndarray, np.ndarray]:
        """World points (N, 3) -> pixels (N, 2) and depth along the optical axis (N,)."""
        pts = np.asarray(pts, dtype=np.float64).reshape(-1, 3)
        fwd = np.array([0.0, math.sin(self.pitch), -math.cos(self.pitch)])
        right = np.array([1.0, 0.0, 0.0])
        up = np.cross(right, fwd)
        r = pts - np.array([0.0, self.camera_height, 0.0])
        depth = r @ fwd
        f = self.focal
        u = self.width / 2 + f * (r @ right) / depth
        v = self.height / 2 - f * (r @ up) / depth
        return np.stack([u, v], axis=1), depth


@dataclass
class Walker:
    id: int
    x0: float
    z0: float
    vx: float
    vz: float
    height: float
    phase: int
    look: int

    def at(self, t: float) -> tuple[float, float]:
        return self.x0 + self.vx * t, self.z0 + self.vz * t


@dataclass
class Obstacle:
    kind: str   # car | pole
    x: float
    z: float


@dataclass
class TruthPerson:
    id: int
    box: np.ndarray          # full body xyxy, pixels (may run past the image)
    visibility: float        # visible share of the box inside the image
    legs_visibility: float   # visible share of the lower 40% of the box
    distance: float          # ground distance from the camera, m
    in_image: float          # share of the box inside the image


@dataclass
class Sequence:
    camera: Camera
    walkers: list[Walker]
    obstacles: list[Obstacle]
    frames: int
    fps: float = 10.0
    seed: int = 0
    _grid: int = field(default=4, repr=False)

    def _people_boxes(self, t):
        out = []
        for w in self.walkers:
            x, z = w.at(t)
            (u0, v0), (u1, v1) = self.camera.project([[x, 0.0, z], [x, w.height, z]])[0]
            depth = self.camera.project([[x, 0.0, z]])[1][0]
            hpx = v0 - v1
            cx = (u0 + u1) / 2
            out.append((w.id, np.array([cx - PERSON_WIDTH * hpx / 2, v1, cx + PERSON_WIDTH * hpx / 2, v0]),
                        depth, math.hypot(x, z)))
        return out

    def _obstacle_boxes(self):
        """Screen rectangles of the obstacles: a car is its body and its cabin (the
        renderer's two boxes), a pole one rectangle."""
        out = []
        for ob in self.obstacles:
            if ob.kind == "car":
                parts = [(CAR["length"] / 2, CAR["width"] / 2, 0.2, CAR["body_top"]),
                         (CAR["cabin_length"] / 2, CAR["width"] / 2 * 0.9, CAR["body_top"], CAR["height"])]
            else:
                parts = [(POLE["width"] / 2, POLE["width"] / 2, 0.0, POLE["height"])]
            for hw, hl, y0, y1 in parts:
                corners = [[ob.x + sx * hw, y, ob.z + sz * hl] for sx in (-1, 1) for sz in (-1, 1) for y in (y0, y1)]
                uv, depth = self.camera.project(corners)
                out.append((np.r_[uv.min(0), uv.max(0)], float(depth.min())))
        return out

    def truth(self, k: int) -> list[TruthPerson]:
        """Every walker in front of the camera at frame k, with its visibility."""
        t = k / self.fps
        cam, g = self.camera, self._grid
        gw, gh = -(-cam.width // g), -(-cam.height // g)
        canvas = np.full((gh, gw), -1, dtype=np.int64)
        people = [p for p in self._people_boxes(t) if p[2] > 0.5]
        layers = [(d, i, b) for i, (_, b, d, _) in enumerate(people)]
        layers += [(d, -2, b) for b, d in self._obstacle_boxes() if d > 0.5]
        for d, i, b in sorted(layers, key=lambda x: -x[0]):  # far to near: the nearest paints last
            x1, y1, x2, y2 = (int(round(v / g)) for v in b)
            canvas[max(y1, 0):max(y2, 0), max(x1, 0):max(x2, 0)] = i
        out = []
        for i, (pid, b, d, dist) in enumerate(people):
            x1, y1, x2, y2 = (int(round(v / g)) for v in b)
            area = max((x2 - x1) * (y2 - y1), 1)
            cx1, cy1, cx2, cy2 = max(x1, 0), max(y1, 0), min(x2, gw), min(y2, gh)
            if cx2 <= cx1 or cy2 <= cy1:
                continue
            inside = (cx2 - cx1) * (cy2 - cy1)
            own = int((canvas[cy1:cy2, cx1:cx2] == i).sum())
            leg_top = y2 - max(int(round(0.4 * (y2 - y1))), 1)
            ly1 = max(leg_top, 0)
            legs_area = max((x2 - x1) * (y2 - leg_top), 1)
            legs_own = int((canvas[ly1:cy2, cx1:cx2] == i).sum()) if cy2 > ly1 else 0
            out.append(TruthPerson(pid, b, own / area, legs_own / legs_area, dist, inside / area))
        return out

    def render_arguments(self, k: int) -> dict:
        """Keyword arguments of SceneRenderer.render_frame for frame k."""
        t = k / self.fps
        people = []
        for w in self.walkers:
            x, z = w.at(t)
            # the humanoid faces +z at heading 0; turn it to face its walking direction
            heading = math.atan2(w.vx, w.vz)
            people.append(dict(x=x, z=z, heading=heading, clip="walk",
                               frame=w.phase + int(round(t * MOCAP_FPS)), look=w.look))
        obstacles = [dict(kind=o.kind, x=o.x, z=o.z, yaw=0.0) for o in self.obstacles]
        return dict(camera_height=self.camera.camera_height, pitch=self.camera.pitch, people=people,
                    obstacles=obstacles, scene_seed=self.seed, frame_seed=self.seed * 100003 + k)


def make_sequence(seed: int, frames: int = 100, fps: float = 10.0, people: int = 6, size=(512, 256),
                  obstacles: bool = True, depth_range=(6.0, 25.0)) -> Sequence:
    """People crossing the street in both directions at several depths (pairs at
    nearby depths walking towards each other, so that they pass and hide each
    other), some walking along it, and parked cars and a pole in front of their
    paths."""
    rng = np.random.default_rng(seed)
    cam = Camera(width=size[0], height=size[1], camera_height=float(rng.uniform(1.3, 1.7)),
                 pitch=math.radians(float(rng.uniform(-3, 0))))
    tan_w = math.tan(math.radians(cam.fov_deg) / 2) * cam.width / cam.height
    duration = frames / fps
    walkers = []
    for i in range(people):
        d = float(rng.uniform(*depth_range))
        speed = float(rng.uniform(*WALK_SPEED))
        half = d * tan_w
        if i % 3 == 2:  # along the street, towards or away from the camera
            x0 = float(rng.uniform(-0.6, 0.6) * half)
            vz = speed if rng.random() < 0.5 else -speed
            z0 = -d - (vz * duration / 2)
            vx = 0.0
            if -z0 < 4.0:
                z0 = -4.0 - max(0.0, vz * duration)
        else:           # across; odd ones the other way, starting where the even one ends
            direction = 1.0 if i % 2 == 0 else -1.0
            # mid-way through the sequence the person is near the centre of the view
            x_mid = float(rng.uniform(-0.3, 0.3) * half)
            t_mid = float(rng.uniform(0.3, 0.7) * duration)
            vx, vz = direction * speed, 0.0
            x0, z0 = x_mid - vx * t_mid, -d
        walkers.append(Walker(i + 1, x0, z0, vx, vz, float(rng.uniform(*PERSON_HEIGHT)),
                              int(rng.integers(0, 1000)), int(rng.integers(1 << 30))))
    obs = []
    if obstacles and walkers:
        for kind in ("car", "pole"):
            w = walkers[int(rng.integers(len(walkers)))]
            x, z = w.at(float(rng.uniform(0.25, 0.75) * duration))
            z_ob = z * float(rng.uniform(0.5, 0.75))  # between the camera and the person, on its line of sight
            if -z_ob < 5.0:
                continue
            obs.append(Obstacle(kind, x * z_ob / z + float(rng.normal(0, 0.3)), z_ob))
    return Sequence(cam, walkers, obs, frames, fps, seed)


@dataclass(frozen=True)
class DetectorNoise:
    """A detector played on the truth (full-body boxes, as ClueNet predicts them)."""
    centre_std: float = 0.04     # of the box height
    size_std: float = 0.05       # of the box height
    miss_visible: float = 0.05   # miss rate of a fully visible person
    min_visibility: float = 0.1  # less visible than this: never detected
    score_std: float = 0.1
    false_positives: float = 0.5  # per frame (Poisson)


def noisy_detections(truth: list[TruthPerson], rng: np.random.Generator, camera: Camera,
                     noise: DetectorNoise = DetectorNoise()) -> tuple[np.ndarray, np.ndarray]:
    boxes, scores = [], []
    for p in truth:
        vis = p.visibility
        if vis < noise.min_visibility:
            continue
        p_detect = (1 - noise.miss_visible) * min(1.0, (vis - noise.min_visibility) / 0.4 + 0.3)
        if rng.random() > p_detect:
            continue
        x1, y1, x2, y2 = p.box
        h = y2 - y1
        cx, cy = (x1 + x2) / 2 + rng.normal(0, noise.centre_std * h), (y1 + y2) / 2 + rng.normal(0, noise.centre_std * h)
        w2 = max((x2 - x1) + rng.normal(0, noise.size_std * h), 2.0) / 2
        h2 = max(h + rng.normal(0, noise.size_std * h), 4.0) / 2
        boxes.append([cx - w2, cy - h2, cx + w2, cy + h2])
        scores.append(float(np.clip(0.35 + 0.6 * vis + rng.normal(0, noise.score_std), 0.05, 0.99)))
    for _ in range(rng.poisson(noise.false_positives)):
        h = rng.uniform(20, camera.height * 0.5)
        cx, cy = rng.uniform(0, camera.width), rng.uniform(camera.height * 0.3, camera.height * 0.8)
        boxes.append([cx - 0.2 * h, cy - h / 2, cx + 0.2 * h, cy + h / 2])
        scores.append(float(rng.uniform(0.1, 0.6)))
    return np.asarray(boxes, dtype=np.float64).reshape(-1, 4), np.asarray(scores, dtype=np.float64)
