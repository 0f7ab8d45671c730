"""Evaluation with the paper's metrics (section 4): log-average miss rate,
pedestrian mask IoU, keypoint AP (overall, on occluded keypoints, against
synthetic occlusion) and the share of keypoints inside the ground-truth mask."""
