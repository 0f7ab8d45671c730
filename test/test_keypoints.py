"""The keypoint schema is self-consistent and maps COCO-17 as documented."""
import numpy as np
import pytest

from cluenet_ros import keypoints as kp


def test_names_and_counts():
    assert kp.NUM_KEYPOINTS == 13 and kp.NAMES[0] == "head"
    assert len(set(kp.NAMES)) == 13
    assert kp.OKS_SIGMAS.shape == (13,)


def test_flip_pairs_swap_left_and_right():
    assert len(kp.FLIP_PAIRS) == 6
    for a, b in kp.FLIP_PAIRS:
        assert kp.NAMES[a].startswith("left_") and kp.NAMES[b] == "right_" + kp.NAMES[a][5:]
    perm = kp.flip_permutation()
    assert sorted(perm) == list(range(13)) and perm[0] == 0
    assert [perm[p] for p in perm] == list(range(13))  # an involution
    # flipped pairs share sigmas
    for a, b in kp.FLIP_PAIRS:
        assert kp.OKS_SIGMAS[a] == kp.OKS_SIGMAS[b]


def test_skeleton_is_connected_and_mirror_symmetric():
    edges = {tuple(sorted(e)) for e in kp.SKELETON}
    assert len(edges) == len(kp.SKELETON)
    seen, frontier = {0}, [0]
    while frontier:
        n = frontier.pop()
        for a, b in edges:
            for x, y in ((a, b), (b, a)):
                if x == n and y not in seen:
                    seen.add(y)
                    frontier.append(y)
    assert seen == set(range(13))
    perm = kp.flip_permutation()
    assert {tuple(sorted((perm[a], perm[b]))) for a, b in edges} == edges


def test_sigmas_follow_coco():
    assert kp.OKS_SIGMAS[kp.INDEX["left_knee"]] == 0.087
    assert kp.OKS_SIGMAS[kp.INDEX["head"]] == 0.035  # the ears', the largest face sigma


def test_coco17_mapping():
    coco = np.zeros((17, 3))
    for j in range(17):
        coco[j] = (10 * j, 100 + j, 2)
    coco[0, 2] = 0  # nose unlabelled
    coco[1, 2] = 1  # left eye labelled but hidden
    out = kp.from_coco17(coco.ravel())
    # head: mean of the labelled face points (1..4), visible since some are
    assert out[0].tolist() == pytest.approx([np.mean([10, 20, 30, 40]), np.mean([101, 102, 103, 104]), 2])
    for i, name in enumerate(kp.NAMES[1:], start=1):
        assert out[i].tolist() == coco[kp.COCO_NAMES.index(name)].tolist()
    only_hidden = np.zeros((17, 3))
    only_hidden[3] = (5, 6, 1)
    assert kp.from_coco17(only_hidden)[0].tolist() == [5, 6, 1]
    assert kp.from_coco17(np.zeros((17, 3)))[0].tolist() == [0, 0, 0]
    with pytest.raises(ValueError, match="expected 17"):
        kp.from_coco17(np.zeros((13, 3)))


def test_coco_category_uses_one_based_skeleton():
    cat = kp.coco_category()
    assert cat["keypoints"] == list(kp.NAMES)
    assert min(min(e) for e in cat["skeleton"]) == 1 and max(max(e) for e in cat["skeleton"]) == 13
