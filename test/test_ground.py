"""Ground positions (no ROS): the ray-ground geometry against points projected by
hand and by the synthetic generator's camera (the renderer's model)."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from cluenet_ros.ground import GroundCamera, foot_pixels, ground_positions, up_quaternion
from cluenet_ros.synth.sequence import Camera

F, CX, CY = 500.0, 320.0, 240.0


def to_pixel(lateral, height_below_camera, forward, pitch):
    """A level-frame point (x right, y down, z forward) -> pixel, for a camera
    pitched down by ``pitch``."""
    c, s = math.cos(pitch), math.sin(pitch)
    x, y, z = lateral, height_below_camera * c - forward * s, height_below_camera * s + forward * c
    return CX + F * x / z, CY + F * y / z, (x, y, z)


@pytest.mark.parametrize("pitch", [0.0, 0.08, -0.03])
@pytest.mark.parametrize("lateral,forward", [(2.0, 12.0), (-3.5, 7.0), (0.0, 35.0)])
def test_foot_of_the_box_lands_where_the_person_stands(pitch, lateral, forward):
    cam = GroundCamera(F, F, CX, CY, height=1.5, pitch=pitch)
    u, v, optical = to_pixel(lateral, 1.5, forward, pitch)
    box = [u - 20, v - 100, u + 20, v]
    g = ground_positions(cam, [box], person_height=1.7)
    assert g.distance[0] == pytest.approx(math.hypot(lateral, forward), rel=1e-9)
    assert (g.lateral[0], g.forward[0]) == pytest.approx((lateral, forward), rel=1e-9, abs=1e-9)
    assert tuple(g.points[0]) == pytest.approx(optical, rel=1e-9, abs=1e-9)
    # the 3D box centre is half a person above the ground point, along gravity
    centre_level = cam.to_level(g.centres)[0]
    assert centre_level[1] == pytest.approx(1.5 - 0.85)
    assert (centre_level[0], centre_level[2]) == pytest.approx((lateral, forward))


def test_boxes_ending_at_or_above_the_horizon_have_no_ground_point():
    cam = GroundCamera(F, F, CX, CY, height=1.5, pitch=0.1)
    horizon = CY - F * math.tan(0.1)
    g = ground_positions(cam, [[0, 0, 10, horizon - 1], [0, 0, 10, horizon + 1]])
    assert np.isnan(g.distance[0]) and np.isnan(g.points[0]).all() and not g.valid()[0]
    assert g.valid()[1] and g.distance[1] > 100


def test_the_generators_camera_and_the_estimate_agree():
    """sequence.Camera is the renderer's pinhole (y up, looking down -z, pitch
    negative = down); a point it projects is found again at its distance."""
    cam = Camera(512, 256, fov_deg=40.0, camera_height=1.6, pitch=-0.05)
    est = GroundCamera(cam.focal, cam.focal, 256, 128, height=1.6, pitch=0.05)
    for x, z in [(1.0, -15.0), (-4.0, -8.0), (6.0, -30.0)]:
        (uv,), _ = cam.project([[x, 0.0, z]])
        g = ground_positions(est, [[uv[0] - 5, uv[1] - 50, uv[0] + 5, uv[1]]])
        assert g.distance[0] == pytest.approx(math.hypot(x, z), rel=1e-6)
        assert g.lateral[0] == pytest.approx(x, rel=1e-6)


def test_generator_camera_matches_the_renderers_matrices():
    pb = pytest.importorskip("pybullet")
    from cluenet_ros.synth.render import SceneRenderer

    W, H, fov, h, pitch = 512, 256, 40.0, 1.45, -0.04
    eye = np.array([0.0, h, 0.0])
    view = pb.computeViewMatrix(eye.tolist(), (eye + [0.0, math.sin(pitch), -math.cos(pitch)]).tolist(), [0, 1, 0])
    proj = pb.computeProjectionMatrixFOV(fov, W / H, 0.1, 400.0)
    pts = np.array([[1.0, 0.0, -12.0], [-3.0, 1.7, -7.5], [0.5, 0.9, -25.0]])
    expected = SceneRenderer._project(pts, view, proj, W, H)
    got, _ = Camera(W, H, fov, h, pitch).project(pts)
    assert got == pytest.approx(expected, abs=1e-3)


def test_distortion_is_undone():
    k = np.array([[F, 0, CX], [0, F, CY], [0, 0, 1]])
    d = np.array([-0.25, 0.08, 0.001, -0.001, 0.0])
    cam = GroundCamera.from_matrix(k.reshape(-1), height=1.5, pitch=0.05, distortion=d)
    plain = GroundCamera(F, F, CX, CY, 1.5, 0.05)
    _, _, optical = to_pixel(-4.0, 1.5, 9.0, 0.05)
    distorted, _ = cv2.projectPoints(np.array([optical]), np.zeros(3), np.zeros(3), k, d)
    u, v = distorted.reshape(2)
    g = ground_positions(cam, [[u - 10, v - 80, u + 10, v]])
    assert g.distance[0] == pytest.approx(math.hypot(4.0, 9.0), rel=1e-4)
    # ignoring the distortion would be measurably wrong here (near the image corner)
    assert abs(ground_positions(plain, [[u - 10, v - 80, u + 10, v]]).distance[0] - g.distance[0]) > 0.1
    assert GroundCamera.from_matrix(k.reshape(-1), 1.5, 0.0, [0.0] * 5).distortion == ()


def test_up_quaternion_turns_the_box_upright():
    pitch = 0.3
    x, y, z, w = up_quaternion(pitch)
    # rotate the box's y axis (0, 1, 0) by the quaternion
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    assert r @ [0, 1, 0] == pytest.approx([0, math.cos(pitch), math.sin(pitch)])  # gravity in the optical frame


@pytest.mark.parametrize("kwargs,msg", [
    (dict(fx=0.0), "focal lengths must be positive"),
    (dict(height=-1.0), "camera height must be > 0 m"),
    (dict(pitch=2.0), "pitch must be within"),
])
def test_bad_camera_values(kwargs, msg):
    args = dict(fx=F, fy=F, cx=CX, cy=CY, height=1.5, pitch=0.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=msg):
        GroundCamera(**args)


def test_foot_pixels():
    assert foot_pixels([[10, 20, 30, 120]]).tolist() == [[20.0, 120.0]]
