"""The realistic synthetic world's truth (issue 18), checked against its own renders.

These tests use the stand-in figure body (capsules and spheres, built in
milliseconds) so they run on any CI machine: EGL with Mesa's software renderer,
no GPU, no network, no anny cache. The anny body has its own test, which runs only
where the anny cache has been built (see test_anny_body).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

# pyrender over EGL: a pytest process of their own (`make test` does), see setup.cfg
pytestmark = pytest.mark.egl

from cluenet_ros import keypoints as kp
from cluenet_ros.cli import main as cluenet
from cluenet_ros.synth.realistic import poses as P
from cluenet_ros.synth.realistic.bodies import FigureBodies, sample_phenotype, sample_pose
from cluenet_ros.synth.realistic.world import (KEYPOINT_TOLERANCE_PX, Camera, Layout, RealisticRenderer,
                                               WorldOptions, keypoint_visibility, pixel_box)

W, H = 384, 192
OPTIONS = WorldOptions(body="figure", person_px=(250.0, 900.0), effects=("noise",))


@pytest.fixture(scope="module")
def renderer():
    r = RealisticRenderer(W, H, 6, OPTIONS)
    yield r
    r.close()


@pytest.fixture(scope="module")
def scenes(renderer):
    out = []
    for k in range(6):
        rng = np.random.default_rng([5, k])
        out.append(renderer.render(rng, 5, {"car": 0.6, "pole": 0.6, "vegetation": 0.6}))
    return out


def near(mask: np.ndarray, x: float, y: float, r: int = KEYPOINT_TOLERANCE_PX) -> bool:
    c, rr = int(x), int(y)
    return bool(mask[max(rr - r, 0):rr + r + 1, max(c - r, 0):c + r + 1].any())


def test_scenes_hold_people_of_several_sizes(scenes):
    people = [p for s in scenes for p in s.people if p.visible_mask.any()]
    assert len(people) >= 15
    heights = [p.full_box[3] - p.full_box[1] for p in people]
    assert min(heights) < 60 and max(heights) > 80
    assert {s.camera.mount for s in scenes} <= {"car", "pole"}


def test_visible_keypoints_land_on_their_own_mask(scenes):
    visible = hidden = 0
    for s in scenes:
        for p in s.people:
            for (x, y), v in zip(p.keypoints, p.keypoint_visible):
                if v:
                    visible += 1
                    assert near(p.visible_mask, x, y), (x, y)
                    assert s.instance_ids[int(y), int(x)] in (0, p.instance_id)  # nothing else in front
                else:
                    hidden += 1
    assert visible > 50 and hidden > 10


def test_hidden_flags_agree_with_the_depth_buffer(scenes):
    checked = 0
    for s in scenes:
        for p in s.people:
            for i in range(kp.NUM_KEYPOINTS):
                x, y = p.keypoints[i]
                inside = 0 <= x < W and 0 <= y < H
                if not inside:
                    assert not p.keypoint_visible[i]
                    continue
                if i == kp.INDEX["head"]:
                    continue  # the head's flag is its face points' (checked below)
                d = s.depth[int(y), int(x)]
                occluded = 0 < d < p.keypoint_depth[i] - p.thickness[i]
                assert p.keypoint_visible[i] == (not occluded and near(p.visible_mask, x, y))
                if occluded:  # what is in front at that pixel is nearer than the keypoint
                    assert d < p.keypoint_depth[i]
                checked += 1
            face = list(kp.COCO_FACE)
            x, y = p.keypoints[kp.INDEX["head"]]
            head_inside = 0 <= x < W and 0 <= y < H
            # visible when a face point is and nothing stands in front of the head's own pixel
            head_clear = head_inside and not (
                0 < s.depth[int(y), int(x)] < p.coco17_depth[face].min() - p.coco17_thickness[face].max())
            assert p.keypoint_visible[kp.INDEX["head"]] == (head_inside and p.coco17_visible[face].any()
                                                            and head_clear and near(p.visible_mask, x, y))
            np.testing.assert_allclose(p.keypoints[kp.INDEX["head"]], p.coco17[face].mean(axis=0), atol=1e-3)
    assert checked > 100


def test_visible_mask_inside_full_box_and_full_box_is_the_lone_body(renderer, scenes):
    for s in scenes[:3]:
        for p in s.people:
            if not p.visible_mask.any():
                continue
            rows, cols = np.nonzero(p.visible_mask)
            x1, y1, x2, y2 = p.full_box
            assert x1 <= cols.min() and cols.max() + 1 <= x2 and y1 <= rows.min() and rows.max() + 1 <= y2
    # the full box is the mask's box of the person drawn alone (no street, no occluders)
    renderer_rng = np.random.default_rng(9)
    cam = Camera.make(W, H, 60.0, 1.5, -3.0)
    body = FigureBodies().sample(renderer_rng)
    for x, z, heading in ((0.0, -6.0, 0.3), (2.5, -9.0, 2.0), (-1.5, -4.0, 4.0), (-2.9, -5.0, 4.0)):
        layout = Layout(cam, [(body, np.array([x, 0.0, z]), heading)], [], street=False)
        alone = renderer.draw(layout, np.random.default_rng(1)).people[0]
        rows, cols = np.nonzero(alone.visible_mask)
        mask_box = np.array((cols.min(), rows.min(), cols.max() + 1, rows.max() + 1))
        box = np.array(alone.full_box)
        if box[0] >= 0 and box[1] >= 0 and box[2] <= W and box[3] <= H:
            assert np.abs(mask_box - box).max() <= 1, (mask_box, box)
        else:  # cut by the image border: the mask lies inside the box's part in the image
            assert box[0] <= mask_box[0] and box[1] <= mask_box[1] and mask_box[2] <= box[2] and mask_box[3] <= box[3]
            # and it reaches the border on each side where the body runs out of the image
            for side, beyond, border in ((0, box[0] < 0, 0), (1, box[1] < 0, 0), (2, box[2] > W, W),
                                         (3, box[3] > H, H)):
                if beyond:
                    assert mask_box[side] == border, (mask_box, box)


def test_a_person_behind_a_wall_has_its_legs_hidden_and_its_head_visible(renderer):
    cam = Camera.make(W, H, 50.0, 1.6, 0.0)
    angles = {"torso_lean": 0.0, "head_yaw": 0.0, "head_pitch": 0.0}
    for side in "lr":  # standing straight, arms hanging
        angles.update({f"hip_flex_{side}": 0.0, f"knee_flex_{side}": 5.0, f"hip_abd_{side}": 4.0,
                       f"shoulder_flex_{side}": 0.0, f"shoulder_abd_{side}": 10.0, f"elbow_flex_{side}": 10.0})
    body = FigureBodies().build(P.from_angles("stand", angles), height=1.75)
    person = (body, np.array([0.0, 0.0, -8.0]), 0.0)  # facing the camera
    wall = ("box", {"position": np.array([0.0, 0.0, -5.0]), "size": (3.0, 1.1, 0.3), "colour": (0.5, 0.5, 0.5),
                    "yaw": 0.0})
    open_view = renderer.draw(Layout(cam, [person], [], street=False), np.random.default_rng(2)).people[0]
    behind = renderer.draw(Layout(cam, [person], [wall], street=False), np.random.default_rng(2))
    p = behind.people[0]
    legs = [kp.INDEX[n] for n in ("left_knee", "right_knee", "left_ankle", "right_ankle")]
    upper = [kp.INDEX[n] for n in ("head", "left_shoulder", "right_shoulder")]
    knees = legs[:2]
    assert open_view.keypoint_visible[upper + knees].all()
    assert not p.keypoint_visible[legs].any() and p.keypoint_visible[upper].all()
    for i in legs:  # the wall (5 m) is what the depth buffer holds at the hidden knees and ankles
        x, y = p.keypoints[i]
        assert behind.depth[int(y), int(x)] == pytest.approx(5.0 - 0.15, abs=0.05)
        assert p.keypoint_depth[i] == pytest.approx(8.0, abs=0.3)
    # the same keypoints project to the same pixels with and without the wall
    np.testing.assert_allclose(p.keypoints, open_view.keypoints, atol=1e-4)
    assert p.full_box == open_view.full_box
    assert p.visible_mask.sum() < 0.7 * open_view.visible_mask.sum()


def test_a_person_seen_from_behind_hides_the_far_side():
    """Self-occlusion is a depth test too: from behind, the face points are hidden by the
    head and the ears are not."""
    r = RealisticRenderer(256, 256, 1, WorldOptions(body="figure", effects=()))
    try:
        cam = Camera.make(256, 256, 30.0, 1.6, 0.0)
        body = FigureBodies().build(P.sample_stand(np.random.default_rng(4)), height=1.75)
        s = r.draw(Layout(cam, [(body, np.array([0.0, 0.0, -5.0]), math.pi)], [], street=False),
                   np.random.default_rng(0))
        p = s.people[0]
        vis = dict(zip(kp.COCO_NAMES, p.coco17_visible))
        assert not vis["nose"] and not vis["left_eye"] and not vis["right_eye"]
        assert vis["left_ear"] or vis["right_ear"]
    finally:
        r.close()


def test_keypoint_visibility_function():
    depth = np.full((10, 10), 20.0, np.float32)
    depth[:, :5] = 3.0  # something 3 m away covers the left half
    own = np.ones((10, 10), bool)
    uv = np.array([[2.5, 5.0], [7.5, 5.0], [12.0, 5.0], [7.5, 5.0]])
    z = np.array([10.0, 10.0, 10.0, 10.0])
    thick = np.full(4, 0.1)
    vis, at, inside = keypoint_visibility(uv, z, thick, depth, own)
    assert vis.tolist() == [False, True, False, True] and inside.tolist() == [True, True, False, True]
    assert at[0] == 3.0 and np.isnan(at[2])
    own[:] = False  # not near its own body: hidden whatever the depth
    assert not keypoint_visibility(uv, z, thick, depth, own)[0].any()


def test_pixel_box_follows_the_rasteriser_rule():
    # a shape spanning x in [2.4, 7.6]: pixel centres 2.5 .. 7.5 are covered -> columns 2..7, box 2..8
    assert pixel_box(np.array([[2.4, 1.0], [7.6, 3.0]])) == (2.0, 1.0, 8.0, 3.0)
    assert pixel_box(np.array([[2.6, 0.6], [7.4, 3.4]])) == (3.0, 1.0, 7.0, 3.0)


def test_poses_stay_within_their_limits():
    rng = np.random.default_rng(0)
    for _ in range(200):
        pose = P.sample_walk(rng) if rng.random() < 0.5 else P.sample_stand(rng)
        for name, value in pose.angles.items():
            key = name[:-2] if name[-2:] in ("_l", "_r") else name
            lo, hi = P.JOINT_LIMITS_DEG[key]
            assert lo <= value <= hi, (name, value)
        for R in pose.rotations.values():
            np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-9)
        body = FigureBodies().build(pose)
        k = dict(zip(kp.NAMES, body.keypoints13()))
        assert k["head"][1] > k["left_shoulder"][1] > k["left_hip"][1] > k["left_knee"][1] > k["left_ankle"][1]
        assert body.vertices[:, 1].min() == pytest.approx(0.0, abs=1e-6)


def test_mocap_clips_retarget_to_upright_bodies():
    from cluenet_ros.synth.realistic.retarget import MocapPoses

    m = MocapPoses()
    try:
        rng = np.random.default_rng(1)
        kinds = set()
        for _ in range(30):
            pose = m.sample(rng)
            kinds.add(pose.kind)
            body = FigureBodies().build(pose)
            k = dict(zip(kp.NAMES, body.keypoints13()))
            shoulders = (k["left_shoulder"] + k["right_shoulder"]) / 2
            hips = (k["left_hip"] + k["right_hip"]) / 2
            if pose.kind in ("mocap:walk", "mocap:run"):
                assert shoulders[1] > hips[1] + 0.3          # upright
                assert k["left_shoulder"][0] > k["right_shoulder"][0]  # left on +x: facing +z
            bone = np.linalg.norm(k["left_knee"] - k["left_hip"])
            assert bone == pytest.approx(0.42, abs=0.01)   # rotations keep the figure's segment lengths
        assert "mocap:walk" in kinds
    finally:
        m.close()


def test_coco17_points_to_schema():
    pts = np.arange(17 * 3, dtype=float).reshape(17, 3)
    out = kp.coco17_points_to_schema(pts)
    assert out.shape == (13, 3)
    np.testing.assert_array_equal(out[kp.INDEX["left_wrist"]], pts[kp.COCO_NAMES.index("left_wrist")])
    np.testing.assert_array_equal(out[kp.INDEX["head"]], pts[:5].mean(axis=0))
    with pytest.raises(ValueError, match="COCO keypoint positions"):
        kp.coco17_points_to_schema(pts[:13])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("realistic")
    assert cluenet(["synth", "--world", "realistic", "--body", "figure", "--out", str(out), "--images", "4",
                    "--seed", "3", "--size", f"{W}x{H}", "--people", "3-5", "--person-px", "250-900",
                    "--split", "train"]) == 0
    return out


def test_written_dataset_masks_boxes_and_keypoints_agree(dataset):
    root = dataset / "train"
    cp = json.loads((root / "citypersons.json").read_text())
    coco = json.loads((root / "coco_keypoints.json").read_text())
    images = {i["id"]: i for i in cp["images"]}
    assert len(cp["annotations"]) >= 8
    for a, c in zip(cp["annotations"], coco["annotations"]):
        inst = cv2.imread(str(root / images[a["image_id"]]["instance_mask"]), cv2.IMREAD_UNCHANGED)
        mask = inst == a["instance_id"]
        rows, cols = np.nonzero(mask)
        vx, vy, vw, vh = a["vis_bbox"]
        assert (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1) == (vx, vy, vx + vw, vy + vh)
        x, y, w, h = a["bbox"]
        assert x <= vx and y <= vy and vx + vw <= x + w and vy + vh <= y + h
        for kx, ky, v in np.asarray(c["keypoints_full"]).reshape(13, 3):
            if v == 2:
                assert near(mask, kx, ky)
        assert c["clip"] in ("walk", "stand") or c["clip"].startswith("mocap:")


def test_same_seed_gives_the_same_realistic_dataset(dataset, tmp_path):
    again = tmp_path / "again"
    assert cluenet(["synth", "--world", "realistic", "--body", "figure", "--out", str(again), "--images", "4",
                    "--seed", "3", "--size", f"{W}x{H}", "--people", "3-5", "--person-px", "250-900",
                    "--split", "train"]) == 0
    for name in ("citypersons.json", "coco_keypoints.json", "images/000002.png", "masks/000002_instances.png"):
        assert (again / "train" / name).read_bytes() == (dataset / "train" / name).read_bytes(), name


def test_bad_world_options_give_one_line_errors(tmp_path, capsys):
    cases = [(["--body", "lego"], "body 'lego'"), (["--effects", "bloom"], "effects ['bloom']"),
             (["--camera", "drone=1"], "camera mount drone"), (["--poses", "dance=1"], "pose dance"),
             (["--camera", "car=x"], "camera mount 'car=x'"), (["--carried", "1.5"], "carried 1.5"),
             (["--clutter", "-1"], "clutter -1")]
    for extra, message in cases:
        assert cluenet(["synth", "--world", "realistic", "--out", str(tmp_path), "--images", "1", *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert cluenet(["synth", "--world", "realistic", "--domain", "target", "--out", str(tmp_path),
                    "--images", "1"]) == 2
    assert "no target domain" in capsys.readouterr().err


def test_antialiasing_changes_the_picture_not_the_truth(renderer):
    fast = RealisticRenderer(W, H, 6, WorldOptions(body="figure", person_px=(250.0, 900.0), effects=(),
                                                   antialias=False))
    try:
        a = renderer.render(np.random.default_rng(11), 4, {"car": 1.0, "pole": 1.0})
        b = fast.render(np.random.default_rng(11), 4, {"car": 1.0, "pole": 1.0})
        np.testing.assert_array_equal(a.instance_ids, b.instance_ids)
        np.testing.assert_allclose(a.depth, b.depth, rtol=1e-4)  # depth-buffer rounding differs
        for p, q in zip(a.people, b.people):
            np.testing.assert_array_equal(p.keypoint_visible, q.keypoint_visible)
        assert not np.array_equal(a.image, b.image)
    finally:
        fast.close()


def test_carried_objects_sit_where_a_body_carries_them():
    """Pure geometry (no rendering): a backpack behind the torso, a bag hanging beside a
    wrist, a suitcase standing on the ground by a hand, all turned with the body."""
    from cluenet_ros.synth.realistic.world import plan_carried

    body = FigureBodies().sample(np.random.default_rng(2))
    c = body.coco17
    seen = set()
    for heading in (0.0, 1.1, math.pi):
        R = np.array([[math.cos(heading), 0, math.sin(heading)], [0, 1, 0], [-math.sin(heading), 0, math.cos(heading)]])
        where = np.array([1.0, 0.0, -7.0])
        forward = R @ np.array([0.0, 0.0, 1.0])  # the figure faces +z in its own frame
        torso = R @ ((c[5] + c[6] + c[11] + c[12]) / 4) + where
        wrists = [R @ c[9] + where, R @ c[10] + where]
        g = np.random.default_rng(0)
        for _ in range(40):
            (kind, spec), = plan_carried(g, [(body, where, heading)], 1.0)
            p, sy = spec["position"], spec["size"][1]
            seen.add(spec["kind"])
            assert kind == "carried"
            assert spec["yaw"] == pytest.approx(heading, abs=1e-6)
            if spec["kind"] == "backpack":
                assert float((p - torso)[[0, 2]] @ forward[[0, 2]]) < -0.15     # behind the back
                assert c[11][1] < p[1] + sy < c[5][1] + 0.01                     # shoulder height down
            else:
                near = min(np.hypot(*(p - w)[[0, 2]]) for w in wrists)
                assert near < 0.25
                if spec["kind"] == "suitcase":
                    assert p[1] == pytest.approx(0.0)
                else:
                    top = p[1] + sy
                    assert min(abs(top - w[1]) for w in wrists) < 0.06             # hangs from the hand
    assert seen == {"bag", "backpack", "suitcase"}
    assert plan_carried(np.random.default_rng(0), [(body, np.zeros(3), 0.0)], 0.0) == []


def test_carried_objects_hide_the_body_but_change_no_truth_of_its_own(renderer):
    """A bag is scene, not person: the full box and keypoint positions stay, the visible
    mask only loses pixels; a backpack seen from behind covers part of the back."""
    from cluenet_ros.synth.realistic.world import plan_carried

    cam = Camera.make(W, H, 40.0, 1.6, 0.0)
    body = FigureBodies().sample(np.random.default_rng(4))
    person = (body, np.array([0.0, 0.0, -5.0]), math.pi)  # its back to the camera
    g = np.random.default_rng(1)
    backpack = next(s for s in iter(lambda: plan_carried(g, [person], 1.0)[0], None) if s[1]["kind"] == "backpack")
    bare = renderer.draw(Layout(cam, [person], [], street=False), np.random.default_rng(2)).people[0]
    loaded = renderer.draw(Layout(cam, [person], [backpack], street=False), np.random.default_rng(2)).people[0]
    assert loaded.full_box == bare.full_box
    np.testing.assert_allclose(loaded.keypoints, bare.keypoints, atol=1e-4)
    assert not (loaded.visible_mask & ~bare.visible_mask).any()
    assert loaded.visible_mask.sum() < 0.9 * bare.visible_mask.sum()
    # from the same seed, render() places the same people with carried objects on or off
    with_bags = RealisticRenderer(W, H, 6, WorldOptions(body="figure", person_px=(250.0, 900.0), effects=(),
                                                        carried=1.0))
    without = RealisticRenderer(W, H, 6, WorldOptions(body="figure", person_px=(250.0, 900.0), effects=(),
                                                      carried=0.0))
    try:
        a = with_bags.render(np.random.default_rng(12), 4, {})
        b = without.render(np.random.default_rng(12), 4, {})
        assert len(a.people) == len(b.people) >= 2
        for p, q in zip(a.people, b.people):
            assert p.full_box == q.full_box
            np.testing.assert_allclose(p.keypoints, q.keypoints, atol=1e-4)
            assert not (p.visible_mask & ~q.visible_mask).any()
        assert sum(p.visible_mask.sum() for p in a.people) < sum(p.visible_mask.sum() for p in b.people)
    finally:
        with_bags.close()
        without.close()


def test_clutter_stands_in_view_clear_of_people():
    """Pure geometry: street clutter stands on the ground, in front of the camera and
    inside the frame's width, every object clear of every person, every kind drawn;
    none when switched off (and then nothing is drawn from the generator)."""
    from cluenet_ros.synth.realistic.world import CLUTTER_KINDS, plan_clutter

    cam = Camera.make(W, H, 60.0, 1.5, -5.0)
    body = FigureBodies().sample(np.random.default_rng(2))
    people = [(body, np.array([x, 0.0, z]), 0.0) for x, z in ((0.0, -8.0), (2.0, -15.0), (-3.0, -25.0))]
    parked = [("car", {"position": np.array([1.0, 0.0, -12.0])})]
    g = np.random.default_rng(0)
    kinds, count = [], 0
    for _ in range(60):
        specs = plan_clutter(g, cam, people, 6, parked)
        assert len(specs) <= 6
        for kind, spec in specs:
            assert np.hypot(*(spec["position"] - parked[0][1]["position"])[[0, 2]]) > 3.0  # not inside the car
            for other, s in specs:
                if s is not spec:
                    assert np.hypot(*(spec["position"] - s["position"])[[0, 2]]) > 0.5
            p = spec["position"]
            kinds.append(kind)
            assert p[1] == 0.0
            assert min(np.hypot(*(p - o)[[0, 2]]) for _, o, _ in people) > 0.75
            uv, z = cam.project(p[None])
            nearest = {"van": 8.0, "tree": 6.0}.get(kind, 3.0)
            assert nearest - 1e-6 <= float(z[0]) <= 60.0 + 1e-6 and -1 <= uv[0, 0] <= W + 1
        count += len(specs)
    assert count > 100
    assert {"cone", "sign", "cylinder", "box", "van", "tree", "carried"} <= set(kinds)
    assert len(CLUTTER_KINDS) == 8
    g = np.random.default_rng(0)
    state = repr(g.bit_generator.state)
    assert plan_clutter(g, cam, people, 0) == [] and repr(g.bit_generator.state) == state


def test_wide_clutter_adds_tripods_and_litter_and_street_draws_as_before():
    """The wide set draws camera tripods and ground litter as well as the street set's
    kinds; the street set (the default) draws exactly what it drew before the wide one
    existed, so folders rendered earlier keep their bytes; tripods stand on three feet on
    the ground and litter lies flat on it."""
    from cluenet_ros.synth.realistic.world import CLUTTER_KINDS, CLUTTER_SETS, plan_clutter

    assert CLUTTER_SETS["street"] is CLUTTER_KINDS and CLUTTER_SETS["wide"][:8] == CLUTTER_KINDS
    cam = Camera.make(W, H, 60.0, 1.5, -5.0)
    a = plan_clutter(np.random.default_rng(7), cam, [], 12)
    b = plan_clutter(np.random.default_rng(7), cam, [], 12, (), CLUTTER_SETS["street"])
    assert [k for k, _ in a] == [k for k, _ in b] and all(
        np.allclose(x["position"], y["position"]) for (_, x), (_, y) in zip(a, b))
    g = np.random.default_rng(0)
    kinds = [k for _ in range(40) for k, _ in plan_clutter(g, cam, [], 12, (), CLUTTER_SETS["wide"])]
    assert {"tripod", "litter", "cone", "sign", "van"} <= set(kinds)
    with pytest.raises(ValueError, match="clutter_kinds"):
        WorldOptions(clutter_kinds="forest").validate()


def test_tripods_and_litter_render_where_they_stand():
    """A tripod seen from the side: pixels of its own at the top (the head) and at the
    feet's row, and none between its legs at knee height (it is thin, not a block);
    litter changes only the ground near the bottom of its own footprint."""
    r = RealisticRenderer(W, H, 2, WorldOptions(body="figure", effects=()))
    try:
        cam = Camera.make(W, H, 60.0, 1.5, -10.0)
        empty = r.draw(Layout(cam, [], [], street=False), np.random.default_rng(4)).depth
        pos = np.array([0.0, 0.0, -7.0])
        tripod = dict(height=1.6, spread=0.45, leg=0.02, head=(0.3, 0.2, 0.2), colour=(0.1, 0.1, 0.1), yaw=0.0,
                      position=pos)
        changed = np.abs(r.draw(Layout(cam, [], [("tripod", tripod)], street=False),
                                np.random.default_rng(4)).depth - empty) > 0.2
        rows = np.flatnonzero(changed.any(1))
        assert len(rows) > 0
        uv_top, _ = cam.project(np.array([[0.0, 1.7, -7.0]]))
        uv_foot, _ = cam.project(np.array([[0.0, 0.0, -7.0]]))
        assert abs(rows.min() - uv_top[0, 1]) < 8 and abs(rows.max() - uv_foot[0, 1]) < 8
        knee, _ = cam.project(np.array([[0.0, 0.5, -7.0]]))   # the legs' mid-height: two or three thin legs
        row = changed[int(knee[0, 1])]
        assert 0 < row.sum() < 0.3 * (np.ptp(np.flatnonzero(row)) + 1)
        litter = dict(size=(0.5, 0.02, 0.4), colour=(1.0, 1.0, 1.0), yaw=0.3, seed=1, position=pos)
        scene = r.draw(Layout(cam, [], [("litter", litter)], street=False), np.random.default_rng(4))
        changed = np.abs(scene.depth - empty) > 0.01
        assert changed.sum() > 20
        ys = np.flatnonzero(changed.any(1))
        assert ys.min() > uv_top[0, 1] + 10                 # flat: far below a tripod's head
    finally:
        r.close()


def test_clutter_hides_what_it_covers_and_adds_no_truth():
    """From one seed, the same people with street clutter on or off: the same full boxes
    and keypoints, visible masks that only lose pixels, a different picture, and the
    clutter in it (each kind renders)."""
    from cluenet_ros.synth.realistic.world import plan_clutter

    on = RealisticRenderer(W, H, 6, WorldOptions(body="figure", person_px=(250.0, 900.0), effects=(), clutter=12))
    off = RealisticRenderer(W, H, 6, WorldOptions(body="figure", person_px=(250.0, 900.0), effects=(), clutter=0))
    try:
        for seed in range(3):
            a = on.render(np.random.default_rng([21, seed]), 4, {})
            b = off.render(np.random.default_rng([21, seed]), 4, {})
            assert len(a.people) == len(b.people) >= 2
            for p, q in zip(a.people, b.people):
                assert p.full_box == q.full_box
                np.testing.assert_allclose(p.keypoints, q.keypoints, atol=1e-4)
                assert not (p.visible_mask & ~q.visible_mask).any()
            assert (np.abs(a.depth - b.depth) > 0.5).sum() > 20
            assert (np.abs(a.image.astype(int) - b.image.astype(int)).sum(-1) > 30).sum() > 20
        # every kind draws: one of each in front of an empty street
        cam = Camera.make(W, H, 60.0, 1.5, 0.0)
        kinds = {}
        g = np.random.default_rng(3)
        while len(kinds) < 8:
            for kind, spec in plan_clutter(g, cam, [], 8):
                key = kind if kind not in ("cylinder", "box", "carried") else (kind, spec.get("metal"))
                kinds.setdefault(key, (kind, dict(spec, position=np.array([0.0, 0.0, -6.0]))))
            if g.random() < 0.05:
                break
        empty = on.draw(Layout(cam, [], [], street=False), np.random.default_rng(4)).depth
        for kind, spec in kinds.values():
            depth = on.draw(Layout(cam, [], [(kind, spec)], street=False), np.random.default_rng(4)).depth
            assert (np.abs(depth - empty) > 0.5).sum() > 20, kind
    finally:
        on.close()
        off.close()


def test_demo_stream_of_the_realistic_world_has_a_folder_of_its_own(tmp_path):
    from cluenet_ros.ros.demo import render_stream

    options = WorldOptions(body="figure", effects=(), person_px=(250.0, 900.0))
    frames = render_stream(tmp_path, 2, 3, (192, 96), "realistic", options)
    assert len(frames) == 2 and frames[0].shape == (96, 192, 3)
    assert (tmp_path / "stream_realistic" / "camera" / "citypersons.json").is_file()
    assert not (tmp_path / "stream").exists()
    again = render_stream(tmp_path, 2, 3, (192, 96), "realistic", options)  # reused, not re-rendered
    np.testing.assert_array_equal(again[1], frames[1])


def test_coplanar_surfaces_are_drawn_in_the_order_they_were_added(renderer):
    """Depth-test ties go to the surface drawn first, so the draw order must not follow
    object addresses (pyrender's sets): the realistic world was not byte-reproducible
    from one process to the next. With 16 coplanar quads the first one added covers
    the picture, whichever order they are added in; a plain pyrender Scene picks one
    of them by address."""
    import trimesh

    from cluenet_ros.synth.realistic.gl import ordered_scene

    pr = renderer.pyrender
    quad = np.array([[-5, -5, 0], [5, -5, 0], [5, 5, 0], [-5, 5, 0]], np.float32)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    for order in (list(range(16)), list(range(15, -1, -1)), [7, 3, 12, 0, 9, 15, 1, 4, 11, 2, 14, 6, 10, 5, 13, 8]):
        scene = ordered_scene(pr, bg_color=[0, 0, 0, 0])
        seg_map = {}
        for k in order:
            node = scene.add(pr.Mesh.from_trimesh(trimesh.Trimesh(quad, faces, process=False), smooth=False))
            seg_map[node] = [k + 1, 0, 0]
        scene.add(pr.DirectionalLight(color=np.ones(3), intensity=1.0))
        scene.add(pr.DirectionalLight(color=np.ones(3), intensity=2.0))
        pose = np.eye(4)
        pose[2, 3] = 4.0  # looking down -z at the quads' plane
        scene.add(pr.IntrinsicsCamera(200.0, 200.0, W / 2, H / 2, znear=0.2, zfar=50.0), pose=pose)
        assert [seg_map[n][0] - 1 for n in scene.mesh_nodes] == order
        assert [n.light.intensity for n in scene.light_nodes] == [1.0, 2.0]
        seg, _ = renderer.renderer.render(scene, flags=pr.RenderFlags.SEG, seg_node_map=seg_map)
        assert set(np.unique(seg[..., 0]).tolist()) == {order[0] + 1}, order


def test_figure_draws_the_people_anny_would():
    """The bodies ablation compares the same scenes: the stand-in figure takes from the
    random stream exactly what anny's sampler takes (phenotypes, then poses), stands at
    anny's stature and keeps the pose, so a seed places the same people with either body."""
    ours, anny_order = np.random.default_rng(11), np.random.default_rng(11)
    figures = FigureBodies().sample_many(ours, 6)
    phenotypes = [sample_phenotype(anny_order) for _ in range(6)]
    poses = [sample_pose(anny_order, {"walk": 0.6, "stand": 0.4}) for _ in range(6)]
    assert ours.random() == anny_order.random()  # the stream is left where anny leaves it
    for body, phen, pose in zip(figures, phenotypes, poses):
        assert body.height_m == pytest.approx(phen["stature"])
        assert body.pose == pose.kind
        assert 0.85 * phen["stature"] < body.vertices[:, 1].max() < 1.05 * phen["stature"]
    # children are drawn too (8%): the stature range reaches them
    many = FigureBodies().sample_many(np.random.default_rng(3), 60)
    assert min(b.height_m for b in many) < 1.5 < max(b.height_m for b in many)
