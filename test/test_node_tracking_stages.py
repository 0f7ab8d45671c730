"""With tracking on, the node asks the tracker which detections it reports before
stage 2 runs (the pipeline's ``keep``): stage 2 works only on those, and what is
published equals the tracker run on the full result, as the node did before."""
from __future__ import annotations

import sys

import numpy as np
import pytest

pytest.importorskip("rclpy")

from conftest import HELPERS, REPO  # noqa: E402


class _Recorder:
    """Stands in for a publisher with one subscriber: keeps what is published."""

    def __init__(self):
        self.msgs = []

    def get_subscription_count(self):
        return 1

    def publish(self, msg):
        self.msgs.append(msg)


def test_stage2_runs_only_on_the_tracked_detections(ros_context):
    from rclpy.parameter import Parameter

    from cluenet_ros.ros.pedestrian_node import PedestrianNode
    from cluenet_ros.tracking import PedestrianTracker

    sys.path.insert(0, str(HELPERS))
    from ros_harness import rgb_image

    overrides = [Parameter("weights", value="random"),
                 Parameter("model_config", value=str(REPO / "test" / "data" / "tiny_model.yaml")),
                 Parameter("device", value="cpu"), Parameter("backend", value="torch"),
                 Parameter("raw_publishing", value=False), Parameter("tracking.low_threshold", value=0.1)]
    node = PedestrianNode(context=ros_context, parameter_overrides=overrides, namespace="/cluenet_tracking_stages")
    try:
        node.stop_worker()
        pipe = node.pipeline
        frames = [rgb_image(97, 131, seed=s) for s in range(5)]
        arrays = [np.frombuffer(bytes(m.data), np.uint8).reshape(97, 131, 3) for m in frames]
        # random weights score everything alike: put the threshold inside their scores, so
        # that a share of the detections is only good for the tracker's second stage
        first = pipe(arrays[0])
        assert len(first) >= 10
        assert node.set_parameters([Parameter("score_threshold", value=float(np.median(first.scores)))])[0].successful
        assert pipe.config.score_threshold == pytest.approx(0.1)  # the pipeline keeps the low ones too
        reference = PedestrianTracker(node.tracker.config)
        node.pub_pedestrians = _Recorder()
        crops = []
        hook = pipe.stage2.register_forward_hook(lambda m, args, out: crops.append(args[0].shape[0]))
        try:
            for msg, arr in zip(frames, arrays):
                full = pipe(arr)
                expected = reference(full, dt=0.1)
                crops.clear()
                node._process(msg, "raw")
                got = node.pub_pedestrians.msgs[-1].pedestrians
                assert [p.track_id for p in got] == expected.track_ids.tolist()
                assert sum(crops) == len(expected) < len(full)  # stage 2: the reported rows only
                np.testing.assert_allclose([[k.x, k.y] for p in got for k in p.keypoints],
                                           expected.keypoints[..., :2].reshape(-1, 2), atol=1e-2)
        finally:
            hook.remove()
        assert any(len(m.pedestrians) for m in node.pub_pedestrians.msgs)
        assert node.stats["failed"] == 0
    finally:
        node.destroy_node()
