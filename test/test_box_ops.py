"""box_ops.nested_suppression: nested boxes of different sizes, which NMS at IoU 0.5
keeps, are dropped by their overlap over the smaller box; neighbours are kept."""
from __future__ import annotations

import torch
from torchvision.ops import box_iou

from cluenet_ros.box_ops import box_iomin, nested_suppression


def test_iomin_is_one_for_a_box_inside_another_whatever_the_sizes():
    outer = torch.tensor([[0.0, 0.0, 40.0, 100.0]])
    inner = torch.tensor([[5.0, 5.0, 25.0, 55.0], [0.0, 0.0, 40.0, 100.0], [40.0, 0.0, 80.0, 100.0],
                          [30.0, 0.0, 50.0, 100.0]])
    got = box_iomin(outer, inner)[0]
    assert torch.allclose(got, torch.tensor([1.0, 1.0, 0.0, 0.5]))
    assert box_iou(outer, inner)[0, 0] < 0.3  # where IoU does not see it
    assert torch.allclose(box_iomin(inner, outer)[:, 0], got)  # symmetric


def test_nested_boxes_are_dropped_and_side_by_side_people_kept():
    boxes = torch.tensor([
        [100.0, 100.0, 140.0, 200.0],  # a person, best score
        [95.0, 95.0, 150.0, 260.0],    # a loose box around them (IoU ~0.44: NMS 0.5 keeps it)
        [102.0, 100.0, 138.0, 150.0],  # their upper body
        [140.0, 100.0, 180.0, 200.0],  # the person beside them, touching
        [300.0, 50.0, 310.0, 150.0],   # a pole far away
    ])
    scores = torch.tensor([0.95, 0.9, 0.8, 0.7, 0.6])
    assert box_iou(boxes[:1], boxes[1:2])[0, 0] < 0.5
    keep = nested_suppression(boxes, scores, 0.8)
    assert keep.tolist() == [0, 3, 4]
    # the lower-scoring box is the one dropped, whichever of the two is the larger
    keep = nested_suppression(boxes[:2], torch.tensor([0.5, 0.9]), 0.8)
    assert keep.tolist() == [1]


def test_threshold_one_turns_it_off_and_order_follows_the_score():
    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 5.0, 5.0], [20.0, 0.0, 30.0, 10.0]])
    scores = torch.tensor([0.2, 0.9, 0.5])
    assert nested_suppression(boxes, scores, 1.0).tolist() == [1, 2, 0]
    assert nested_suppression(boxes, scores, 0.99).tolist() == [1, 2]
    assert nested_suppression(boxes[:0], scores[:0], 0.5).numel() == 0
