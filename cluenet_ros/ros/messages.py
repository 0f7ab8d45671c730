"""FrameResult -> ROS messages. Pure functions of the result and the input header.

``cluenet_ros.ros.cdr`` writes the detections, pedestrians and skeleton markers
built here already serialised, which is what the node publishes unless its
``raw_publishing`` parameter is off; these builders are the reference it is
tested against, and what everything else (ground outputs, tools) uses."""
from __future__ import annotations

import copy

import numpy as np
from builtin_interfaces.msg import Duration
from cluenet_msgs.msg import Keypoint, Pedestrian, PedestrianArray
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA
from vision_msgs.msg import BoundingBox2D, Detection2D, Detection2DArray, Detection3D, Detection3DArray, \
    ObjectHypothesisWithPose
from visualization_msgs.msg import Marker, MarkerArray

from cluenet_ros import keypoints as kp
from cluenet_ros.inference.interface import FrameResult
from cluenet_ros.overlay import draw_overlay, track_colour
from cluenet_ros.ros.conventions import BONE_ENDS as _BONE_ENDS  # LINE_LIST order: a0 b0 a1 b1 ...
from cluenet_ros.ros.conventions import BONE_RGBA, CLASS_ID, OCCLUDED_RGBA, VISIBLE_RGBA, lifetime

VISIBLE = ColorRGBA(r=VISIBLE_RGBA[0], g=VISIBLE_RGBA[1], b=VISIBLE_RGBA[2], a=VISIBLE_RGBA[3])
OCCLUDED = ColorRGBA(r=OCCLUDED_RGBA[0], g=OCCLUDED_RGBA[1], b=OCCLUDED_RGBA[2], a=OCCLUDED_RGBA[3])
BONE = ColorRGBA(r=BONE_RGBA[0], g=BONE_RGBA[1], b=BONE_RGBA[2], a=BONE_RGBA[3])


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
    track_ids = result.track_ids if result.track_ids is not None else [-1] * len(result)
    for p, tid in zip(result, track_ids):
        msg = Pedestrian(id=p.id, track_id=int(tid), score=p.score, full_box=bbox2d(p.box), visible_box=bbox2d(p.visible_box),
                         visibility=float(p.visibility))
        msg.keypoints = [Keypoint(x=float(x), y=float(y), confidence=float(c), occluded=bool(o))
                         for (x, y, c), o in zip(p.keypoints.tolist(), p.occluded.tolist())]
        out.pedestrians.append(msg)
    return out


def _colour(track_id: int, alpha: float = 1.0) -> ColorRGBA:
    r, g, b = track_colour(track_id)
    return ColorRGBA(r=r, g=g, b=b, a=alpha)


def skeleton_markers(result: FrameResult, header, namespace: str = "cluenet", scale: float = 1.0,
                     lifetime_s: float = 0.0) -> MarkerArray:
    """Skeletons in the image plane (x right, y down, pixels times ``scale``).

    The array starts with DELETEALL so RViz drops the previous frame's markers even
    when fewer pedestrians are seen now; then one LINE_LIST with the bones of all
    pedestrians and one SPHERE_LIST with their joints, coloured by the occluded
    flag. Two markers per frame instead of two per pedestrian keep the node's
    per-frame cost low (each Marker is a large message to build and serialise).
    With track ids, the bones take each track's colour (per vertex) and one
    TEXT_VIEW_FACING marker per pedestrian, namespace ``<namespace>/tracks``,
    carries the track id as its marker id and text, in the same colour.
    """
    out = MarkerArray()
    out.markers.append(Marker(header=header, ns=namespace, action=Marker.DELETEALL))
    if len(result) == 0:
        return out
    sec, nanosec = lifetime(lifetime_s)
    life = Duration(sec=sec, nanosec=nanosec)
    width = 2.0 * scale
    xy = (result.keypoints[..., :2] * scale).reshape(-1, 2).tolist()
    pts = [Point(x=x, y=y, z=0.0) for x, y in xy]
    n = kp.NUM_KEYPOINTS
    bones = Marker(header=header, ns=namespace, id=0, type=Marker.LINE_LIST, action=Marker.ADD, lifetime=life)
    bones.pose.orientation.w = 1.0
    bones.scale.x = width
    bones.color = BONE
    bones.points = [pts[i * n + j] for i in range(len(result)) for j in _BONE_ENDS]
    if result.track_ids is not None:
        colours = [_colour(t) for t in result.track_ids.tolist()]
        bones.colors = [colours[i] for i in range(len(result)) for _ in _BONE_ENDS]
    joints = Marker(header=header, ns=namespace, id=1, type=Marker.SPHERE_LIST, action=Marker.ADD, lifetime=life)
    joints.pose.orientation.w = 1.0
    joints.scale.x = joints.scale.y = joints.scale.z = 3 * width
    joints.points = pts
    joints.colors = [OCCLUDED if o else VISIBLE for o in result.occluded.reshape(-1).tolist()]
    out.markers.extend((bones, joints))
    if result.track_ids is not None:
        for tid, box in zip(result.track_ids.tolist(), result.boxes.tolist()):
            m = Marker(header=header, ns=f"{namespace}/tracks", id=int(tid), type=Marker.TEXT_VIEW_FACING,
                       action=Marker.ADD, lifetime=life, text=f"#{tid}", color=_colour(tid))
            m.pose.position = Point(x=(box[0] + box[2]) / 2 * scale, y=(box[1] - 8.0) * scale, z=0.0)
            m.pose.orientation.w = 1.0
            m.scale.z = 12.0 * scale
            out.markers.append(m)
    return out


def draw_debug(rgb: np.ndarray, result: FrameResult) -> np.ndarray:
    """The input with the mask tinted, full and visible boxes and skeletons drawn
    (cluenet_ros.overlay.draw_overlay)."""
    return draw_overlay(rgb, result)


def ground_detections(result: FrameResult, header, positions, person_height: float, quaternion) -> Detection3DArray:
    """One Detection3D per pedestrian with a ground estimate: the centre of an upright
    box of ``person_height`` standing on the ground point, in the image's (optical)
    frame; size x, z = 0.5 m, y = person_height (y runs along gravity)."""
    out = Detection3DArray(header=header)
    qx, qy, qz, qw = quaternion
    for i, pid in enumerate(result.ids):
        if not np.isfinite(positions.distance[i]):
            continue
        d = Detection3D(header=header, id=pid)
        c = positions.centres[i]
        d.bbox.center.position.x, d.bbox.center.position.y, d.bbox.center.position.z = (float(v) for v in c)
        d.bbox.center.orientation.x, d.bbox.center.orientation.y = qx, qy
        d.bbox.center.orientation.z, d.bbox.center.orientation.w = qz, qw
        d.bbox.size.x, d.bbox.size.y, d.bbox.size.z = 0.5, float(person_height), 0.5
        hyp = ObjectHypothesisWithPose()
        hyp.hypothesis.class_id = CLASS_ID
        hyp.hypothesis.score = float(result.scores[i])
        hyp.pose.pose = copy.deepcopy(d.bbox.center)
        d.results.append(hyp)
        out.detections.append(d)
    return out


def ground_markers(detections3d: Detection3DArray, result: FrameResult, namespace: str = "cluenet_ground") -> MarkerArray:
    """DELETEALL, then a CYLINDER per 3D detection (track colour, marker id = track id
    when tracking, else the rank) and a TEXT_VIEW_FACING above it with its distance."""
    out = MarkerArray()
    header = detections3d.header
    out.markers.append(Marker(header=header, ns=namespace, action=Marker.DELETEALL))
    tracked = result.track_ids is not None
    for d in detections3d.detections:
        pid = int(d.id)
        colour = _colour(pid, 0.8) if tracked else ColorRGBA(r=0.1, g=0.9, b=0.2, a=0.8)
        body = Marker(header=header, ns=namespace, id=pid, type=Marker.CYLINDER, action=Marker.ADD, color=colour)
        # a cylinder's axis is its z; turn it onto the box's y (gravity)
        body.pose.position = copy.deepcopy(d.bbox.center.position)
        body.pose.orientation = _times_x90(d.bbox.center.orientation)
        body.scale.x = body.scale.y = 0.5
        body.scale.z = d.bbox.size.y
        p = d.bbox.center.position
        dist = float(np.hypot(p.x, p.z))
        text = Marker(header=header, ns=f"{namespace}/labels", id=pid, type=Marker.TEXT_VIEW_FACING,
                      action=Marker.ADD, color=colour, text=(f"#{pid} " if tracked else "") + f"{dist:.1f} m")
        text.pose.position = Point(x=p.x, y=p.y - d.bbox.size.y * 0.7, z=p.z)
        text.pose.orientation.w = 1.0
        text.scale.z = 0.4
        out.markers.extend((body, text))
    return out


def _times_x90(q):
    """q * (rotation by +90 deg about x): maps a marker's z axis onto q's y axis."""
    from geometry_msgs.msg import Quaternion

    s = c = float(np.sqrt(0.5))
    return Quaternion(x=q.w * s + q.x * c, y=q.y * c + q.z * s, z=q.z * c - q.y * s, w=q.w * c - q.x * s)
