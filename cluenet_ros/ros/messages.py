"""FrameResult -> ROS messages. Pure functions of the result and the input header."""
from __future__ import annotations

import cv2
import numpy as np
from builtin_interfaces.msg import Duration
from cluenet_msgs.msg import Keypoint, Pedestrian, PedestrianArray
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from vision_msgs.msg import BoundingBox2D, Detection2D, Detection2DArray, ObjectHypothesisWithPose
from visualization_msgs.msg import Marker, MarkerArray

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.pipeline import FrameResult

CLASS_ID = "pedestrian"
VISIBLE = ColorRGBA(r=0.1, g=0.9, b=0.2, a=1.0)
OCCLUDED = ColorRGBA(r=1.0, g=0.35, b=0.0, a=1.0)
BONE = ColorRGBA(r=0.2, g=0.6, b=1.0, a=1.0)
_BONE_ENDS = [j for edge in kp.SKELETON for j in edge]  # LINE_LIST order: a0 b0 a1 b1 ...


def bbox2d(box) -> BoundingBox2D:
    b = BoundingBox2D()
    x1, y1, x2, y2 = (float(v) for v in box)
    b.center.position.x = (x1 + x2) / 2
    b.center.position.y = (y1 + y2) / 2
    b.size_x = x2 - x1
    b.size_y = y2 - y1
    return b


def detections(result: FrameResult, header) -> Detection2DArray:
    out = Detection2DArray(header=header)
    for pid, box, score in zip(result.ids, result.boxes, result.scores):
        d = Detection2D(header=header, id=pid, bbox=bbox2d(box))
        hyp = ObjectHypothesisWithPose()
        hyp.hypothesis.class_id = CLASS_ID
        hyp.hypothesis.score = float(score)
        d.results.append(hyp)
        out.detections.append(d)
    return out


def pedestrians(result: FrameResult, header) -> PedestrianArray:
    out = PedestrianArray(header=header, keypoint_names=list(kp.NAMES))
    for p in result:
        msg = Pedestrian(id=p.id, score=p.score, full_box=bbox2d(p.box), visible_box=bbox2d(p.visible_box),
                         visibility=float(p.visibility))
        msg.keypoints = [Keypoint(x=float(x), y=float(y), confidence=float(c), occluded=bool(o))
                         for (x, y, c), o in zip(p.keypoints.tolist(), p.occluded.tolist())]
        out.pedestrians.append(msg)
    return out


def skeleton_markers(result: FrameResult, header, namespace: str = "cluenet", scale: float = 1.0,
                     lifetime_s: float = 0.0) -> MarkerArray:
    """Skeletons in the image plane (x right, y down, pixels times ``scale``).

    The array starts with DELETEALL so RViz drops the previous frame's markers even
    when fewer pedestrians are seen now; then one LINE_LIST with the bones of all
    pedestrians and one SPHERE_LIST with their joints, coloured by the occluded
    flag. Two markers per frame instead of two per pedestrian keep the node's
    per-frame cost low (each Marker is a large message to build and serialise).
    """
    out = MarkerArray()
    out.markers.append(Marker(header=header, ns=namespace, action=Marker.DELETEALL))
    if len(result) == 0:
        return out
    life = Duration(sec=int(lifetime_s), nanosec=int((lifetime_s % 1) * 1e9))
    width = 2.0 * scale
    xy = (result.keypoints[..., :2] * scale).reshape(-1, 2).tolist()
    pts = [Point(x=x, y=y, z=0.0) for x, y in xy]
    n = kp.NUM_KEYPOINTS
    bones = Marker(header=header, ns=namespace, id=0, type=Marker.LINE_LIST, action=Marker.ADD, lifetime=life)
    bones.pose.orientation.w = 1.0
    bones.scale.x = width
    bones.color = BONE
    bones.points = [pts[i * n + j] for i in range(len(result)) for j in _BONE_ENDS]
    joints = Marker(header=header, ns=namespace, id=1, type=Marker.SPHERE_LIST, action=Marker.ADD, lifetime=life)
    joints.pose.orientation.w = 1.0
    joints.scale.x = joints.scale.y = joints.scale.z = 3 * width
    joints.points = pts
    joints.colors = [OCCLUDED if o else VISIBLE for o in result.occluded.reshape(-1).tolist()]
    out.markers.extend((bones, joints))
    return out


def draw_debug(rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    """The input with the mask tinted, full and visible boxes and skeletons drawn."""
    img = rgb.copy()
    m = result.mask > 0
    img[m] = (0.6 * img[m] + 0.4 * np.array([255, 0, 180])).astype(np.uint8)
    for p in result:
        x1, y1, x2, y2 = (int(round(v)) for v in p.box)
        cv2.rectangle(img, (x1, y1), (x2, y2), (0, 255, 0), 2)
        if p.visibility > 0:
            vx1, vy1, vx2, vy2 = (int(round(v)) for v in p.visible_box)
            cv2.rectangle(img, (vx1, vy1), (vx2, vy2), (255, 255, 0), 1)
        cv2.putText(img, f"{p.id}:{p.score:.2f}", (x1, max(y1 - 4, 10)), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                    (0, 255, 0), 1, cv2.LINE_AA)
        pts = np.round(p.keypoints[:, :2]).astype(np.int32)
        for a, b in kp.SKELETON:
            cv2.line(img, tuple(pts[a]), tuple(pts[b]), (50, 150, 255), 2, cv2.LINE_AA)
        for (x, y), occ in zip(pts, p.occluded):
            cv2.circle(img, (int(x), int(y)), 3, (255, 90, 0) if occ else (25, 230, 50), -1, cv2.LINE_AA)
    return img
