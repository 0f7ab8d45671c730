"""The demo's own recall figure (summary.json), from a stream's truth and the node's
answers, checked by hand on a frame made up here (no ROS needed)."""
import json
from types import SimpleNamespace

import pytest

from cluenet_ros.ros.demo import stream_recall


def _answer(*boxes):
    """A PedestrianArray-like message: (x1, y1, x2, y2, score) per pedestrian."""
    def ped(x1, y1, x2, y2, s):
        centre = SimpleNamespace(position=SimpleNamespace(x=(x1 + x2) / 2, y=(y1 + y2) / 2))
        return SimpleNamespace(score=s, full_box=SimpleNamespace(center=centre, size_x=x2 - x1, size_y=y2 - y1))
    return SimpleNamespace(pedestrians=[ped(*b) for b in boxes])


@pytest.fixture
def stream(tmp_path):
    camera = tmp_path / "camera"
    camera.mkdir()
    ann = [  # frame 1: two counted people, one too small, one mostly hidden; frame 2: one person
        {"image_id": 1, "bbox": [10, 10, 30, 90], "vis_ratio": 1.0},
        {"image_id": 1, "bbox": [100, 20, 30, 80], "vis_ratio": 0.9},
        {"image_id": 1, "bbox": [200, 50, 4, 10], "vis_ratio": 1.0},    # 10 px < 50 * 320 / 1024
        {"image_id": 1, "bbox": [300, 10, 30, 90], "vis_ratio": 0.3},   # under 65% visible
        {"image_id": 2, "bbox": [10, 10, 30, 90], "vis_ratio": 1.0},
        {"image_id": 3, "bbox": [10, 10, 30, 90], "vis_ratio": 1.0},    # frame 3 is never answered
    ]
    images = [{"id": i, "file_name": f"images/{i}.png"} for i in (1, 2, 3)]
    (camera / "citypersons.json").write_text(json.dumps({"images": images, "annotations": ann}))
    return tmp_path


def test_recall_counts_found_missed_ignored_and_false(stream):
    answers = {
        100: _answer((11, 12, 40, 98, 0.9),       # the first person (IoU 0.87)
                     (300, 10, 330, 100, 0.8),    # on the mostly hidden one: ignored, not false
                     (200, 50, 204, 60, 0.7),     # on the small one: ignored
                     (400, 10, 430, 100, 0.6),    # on nobody: false
                     (12, 10, 42, 100, 0.5)),     # a duplicate of the first: false
        200: _answer(),                           # the second frame's person missed
    }
    r = stream_recall(stream, [100, 200, 300], answers, 320)
    assert r == {"people_reasonable": 3, "found_reasonable": 1, "recall_reasonable": pytest.approx(1 / 3),
                 "false_detections_per_frame": pytest.approx(2 / 2)}
    # a box at IoU < 0.5 finds no one
    r = stream_recall(stream, [100, 200], {200: _answer((10, 10, 40, 40, 0.9))}, 320)
    assert (r["people_reasonable"], r["found_reasonable"], r["false_detections_per_frame"]) == (1, 0, 1.0)
    assert stream_recall(stream, [100], {}, 320)["recall_reasonable"] is None
