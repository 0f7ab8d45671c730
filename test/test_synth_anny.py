"""The anny body of the realistic world. anny's first model creation builds a cache of
about 790 MB (minutes), once per machine, under data/cache/anny; these tests run only
where it is already built (`cluenet synth --world realistic` builds it), and are skipped
on a fresh CI machine. The renderer's truth is tested with the stand-in figure in
test_synth_realistic.py, which always runs."""
from __future__ import annotations

import numpy as np
import pytest

# pyrender over EGL: a pytest process of their own (`make test` does), see setup.cfg
pytestmark = pytest.mark.egl

from cluenet_ros import keypoints as kp

anny_body = pytest.importorskip("cluenet_ros.synth.realistic.anny_body")
pytest.importorskip("anny")
if not anny_body.cache_ready():
    pytest.skip(f"anny's model cache is not built in {anny_body.default_cache_dir()} (about 790 MB, minutes; "
                "run `cluenet synth --world realistic ...` once to build it)", allow_module_level=True)

from cluenet_ros.synth.realistic import poses as P  # noqa: E402
from cluenet_ros.synth.realistic.bodies import REGION  # noqa: E402
from cluenet_ros.synth.realistic.world import Camera, Layout, RealisticRenderer, WorldOptions  # noqa: E402


@pytest.fixture(scope="module")
def bodies():
    return anny_body.AnnyBodies()


def upright(side_angles=None) -> P.Pose:
    a = {"torso_lean": 0.0, "head_yaw": 0.0, "head_pitch": 0.0}
    for s in "lr":
        a.update({f"hip_flex_{s}": 0.0, f"knee_flex_{s}": 0.0, f"hip_abd_{s}": 0.0, f"shoulder_flex_{s}": 0.0,
                  f"shoulder_abd_{s}": 5.0, f"elbow_flex_{s}": 0.0})
    a.update(side_angles or {})
    return P.from_angles("stand", a)


def test_anny_bodies_stand_upright_facing_z_with_arms_hanging(bodies):
    phen = [bodies.sample_phenotype(np.random.default_rng(i)) for i in range(3)]
    for body, ph in zip(bodies.build(phen, [upright()] * 3), phen):
        assert body.vertices.shape == (13718, 3) and body.faces.max() < 13718
        assert body.vertices[:, 1].min() == pytest.approx(0.0, abs=1e-5)
        assert body.vertices[:, 1].max() == pytest.approx(ph["stature"], rel=0.05)
        k = dict(zip(kp.COCO_NAMES, body.coco17))
        assert k["left_shoulder"][0] > k["right_shoulder"][0]          # left on +x
        assert k["nose"][2] > (k["left_ear"][2] + k["right_ear"][2]) / 2  # facing +z
        assert (k["nose"][1] > k["left_shoulder"][1] > k["left_hip"][1] > k["left_knee"][1]
                > k["left_ankle"][1])
        # the A-pose is turned into hanging arms: wrists below elbows below shoulders, close to the body
        for s in ("left", "right"):
            assert k[f"{s}_shoulder"][1] > k[f"{s}_elbow"][1] > k[f"{s}_wrist"][1]
            assert abs(k[f"{s}_wrist"][0] - k[f"{s}_shoulder"][0]) < 0.15
        low = body.vertices[:, 1] < 0.03
        assert np.mean(body.regions[low] == REGION["shoes"]) > 0.9
        top = body.vertices[:, 1] > body.vertices[:, 1].max() - 0.03
        assert np.mean(body.regions[top] == REGION["hair"]) > 0.9


def test_anny_pose_rotations_move_the_right_limbs(bodies):
    ph = [bodies.sample_phenotype(np.random.default_rng(7))] * 2
    still, lifted = bodies.build(ph, [upright(), upright({"shoulder_flex_l": 60.0, "knee_flex_r": 60.0})])
    a, b = dict(zip(kp.COCO_NAMES, still.coco17)), dict(zip(kp.COCO_NAMES, lifted.coco17))
    assert b["left_wrist"][2] - a["left_wrist"][2] > 0.3      # the left arm swings forward
    assert abs(b["right_wrist"][2] - a["right_wrist"][2]) < 0.02
    assert a["right_ankle"][2] - b["right_ankle"][2] > 0.2    # the right knee bends the shin backwards
    np.testing.assert_allclose(np.linalg.norm(b["left_elbow"] - b["left_shoulder"]),
                               np.linalg.norm(a["left_elbow"] - a["left_shoulder"]), rtol=0.05)


def test_anny_scene_truth(bodies):
    r = RealisticRenderer(320, 160, 4, WorldOptions(body="anny", effects=()), bodies=bodies)
    try:
        cam = Camera.make(320, 160, 55.0, 1.5, -2.0)
        people = bodies.sample_many(np.random.default_rng(3), 4)
        persons = [(b, np.array([-2.0 + 1.3 * i, 0.0, -6.0 - 0.8 * i]), 0.7 * i) for i, b in enumerate(people)]
        wall = ("box", {"position": np.array([1.0, 0.0, -4.0]), "size": (1.2, 1.0, 0.3), "colour": (0.5, 0.5, 0.5),
                        "yaw": 0.0})
        s = r.draw(Layout(cam, persons, [wall]), np.random.default_rng(0))
        seen = 0
        for p in s.people:
            rows, cols = np.nonzero(p.visible_mask)
            x1, y1, x2, y2 = p.full_box
            assert x1 <= cols.min() and cols.max() < x2 and y1 <= rows.min() and rows.max() < y2
            for (x, y), v in zip(p.keypoints, p.keypoint_visible):
                if v:
                    seen += 1
                    c, rr = int(x), int(y)
                    assert p.visible_mask[max(rr - 2, 0):rr + 3, max(c - 2, 0):c + 3].any()
        assert seen >= 20
        assert any(not p.keypoint_visible.all() for p in s.people)
    finally:
        r.close()
