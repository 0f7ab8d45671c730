"""The node's output messages serialised straight from a FrameResult's arrays.

Why: an rclpy message costs a Python object per keypoint, per marker vertex and per
colour, and serialising it walks those objects once more; at 10 pedestrians that
was most of the node's own time per frame. ``Publisher.publish`` also accepts
``bytes`` that are already serialised, so the node can hand over what is written
here instead, with the array-heavy parts (keypoints, marker vertices and colours,
the mask) written by numpy in one piece each.

The format is what rmw_fastrtps puts on the wire, CDR (XCDR version 1), little
endian:

* a 4-byte encapsulation header, 00 01 00 00 (plain CDR, little endian);
* then the fields in declaration order, nested messages inline. A primitive of n
  bytes starts at an offset that is a multiple of n, offsets being counted from
  the end of the encapsulation header; the gap before it is padding. Padding is
  written as zeros here (Fast DDS leaves whatever its buffer held; receivers never
  read it);
* bool and uint8 take one byte; a string is a uint32 byte count that includes a
  terminating NUL, then the UTF-8 bytes and the NUL;
* an unbounded sequence is a uint32 element count, then the elements (the first of
  which brings its own alignment; an empty sequence is the count alone); a fixed
  array is its elements alone.

Each encoder writes exactly the message that its namesake in ``messages`` (or
``image_codec.mono8_message``) builds; test/test_cdr_messages.py compares the two
through rclpy's own serialiser. Headers are read duck-typed (``stamp.sec``,
``stamp.nanosec``, ``frame_id``), so nothing here imports ROS.
"""
from __future__ import annotations

import struct

import numpy as np

from cluenet_ros import keypoints as kp
from cluenet_ros.overlay import track_colour
from cluenet_ros.ros.conventions import BONE_ENDS, BONE_RGBA, CLASS_ID, OCCLUDED_RGBA, VISIBLE_RGBA, lifetime

_ENCAPSULATION = b"\x00\x01\x00\x00"
_ZEROS = bytes(8)
_U32 = struct.Struct("<I")
_STAMP = struct.Struct("<iI")  # builtin_interfaces/Time and Duration: int32 sec, uint32 nanosec
_INT_FLOAT = struct.Struct("<if")
_FLOAT_U32 = struct.Struct("<fI")
_U32_PAIR = struct.Struct("<II")
_THREE_INT32 = struct.Struct("<iii")
# Marker from pose to frame_locked, all contiguous once the first double is aligned:
# pose (position xyz, orientation xyzw), scale xyz, color rgba (float32),
# lifetime (int32, uint32), frame_locked (bool)
_MARKER_BODY = struct.Struct("<10d4fiI?")
_ADD, _DELETEALL = 0, 3
_LINE_LIST, _SPHERE_LIST, _TEXT_VIEW_FACING = 5, 7, 9

# cluenet_msgs/Keypoint as laid out in a sequence: x, y, confidence (float32),
# occluded (bool), then 3 bytes of padding before the next keypoint's x (the last
# keypoint of a pedestrian has none: the sequence ends on its bool).
_KEYPOINT = np.dtype({"names": ["x", "y", "confidence", "occluded"], "formats": ["<f4", "<f4", "<f4", "u1"],
                      "offsets": [0, 4, 8, 12], "itemsize": 16})


def _string(text: str) -> bytes:
    """A CDR string (to be placed at a multiple of 4)."""
    data = text.encode()
    return _U32.pack(len(data) + 1) + data + b"\0"


class _Writer:
    """The pieces of one serialised message and the payload offset reached, which
    decides the padding before each aligned field."""

    __slots__ = ("parts", "pos")

    def __init__(self) -> None:
        self.parts: list = [_ENCAPSULATION]
        self.pos = 0

    def put(self, data, align: int = 1) -> None:
        """Append ``data`` (bytes, or a flat byte memoryview) at the next multiple
        of ``align``."""
        pad = -self.pos % align
        if pad:
            self.parts.append(_ZEROS[:pad])
            self.pos += pad
        self.parts.append(data)
        self.pos += len(data)

    def u32(self, value: int) -> None:
        self.put(_U32.pack(value), 4)

    def getvalue(self) -> bytes:
        return b"".join(self.parts)


def _block(*pieces) -> bytes:
    """(data, align) pieces serialised from a 4-aligned offset: reusable anywhere a
    4-aligned field starts when no piece needs more than 4."""
    w = _Writer()
    for data, align in pieces:
        w.put(data, align)
    return b"".join(w.parts[1:])


_EMPTY_STRING = _string("")
# one ObjectHypothesisWithPose follows: its count, then hypothesis.class_id
_ONE_HYPOTHESIS = _U32.pack(1) + _string(CLASS_ID)
_KEYPOINT_NAMES = _block((_U32.pack(len(kp.NAMES)), 4), *((_string(name), 4) for name in kp.NAMES))
_MONO8 = _string("mono8")
_RGB8 = _string("rgb8")
# Marker fields after colors[] that the skeleton markers leave empty, around text:
# texture_resource, texture (header with zero stamp and empty frame_id, format,
# data[]), uv_coordinates[] | text | mesh_resource, mesh_file (filename, data[]),
# mesh_use_embedded_materials
_MARKER_BEFORE_TEXT = _block((_EMPTY_STRING, 4), (_STAMP.pack(0, 0), 4), (_EMPTY_STRING, 4), (_EMPTY_STRING, 4),
                             (_U32.pack(0), 4), (_U32.pack(0), 4))
_MARKER_AFTER_TEXT = _block((_EMPTY_STRING, 4), (_EMPTY_STRING, 4), (_U32.pack(0), 4), (b"\0", 1))


def header_bytes(header) -> bytes:
    """std_msgs/Header (to be placed at a multiple of 4; its layout does not depend
    on where, so one copy serves every nested header of a message)."""
    return _STAMP.pack(header.stamp.sec, header.stamp.nanosec) + _string(header.frame_id)


def _boxes(boxes: np.ndarray) -> np.ndarray:
    """vision_msgs/BoundingBox2D rows (centre x, y, theta = 0, size x, y) of xyxy
    boxes, in float64 like ``messages.bbox2d`` computes them."""
    x1, y1, x2, y2 = np.asarray(boxes, dtype=np.float64).reshape(-1, 4).T
    return np.stack([(x1 + x2) / 2, (y1 + y2) / 2, np.zeros_like(x1), x2 - x1, y2 - y1], axis=1)


def detections(result, header) -> bytes:
    """vision_msgs/Detection2DArray, as ``messages.detections``."""
    head = header_bytes(header)
    w = _Writer()
    w.put(head, 4)
    n = len(result)
    w.u32(n)
    # from hypothesis.score to the end of bbox, 49 doubles: score; pose.pose
    # (position xyz, orientation xyzw = 0 0 0 1); pose.covariance (36); bbox
    # (centre x, y, theta, size x, y)
    rows = np.zeros((n, 49))
    rows[:, 0] = np.asarray(result.scores, dtype=np.float32)
    rows[:, 7] = 1.0
    rows[:, 44:] = _boxes(result.boxes)
    for pid, row in zip(result.ids, rows):
        w.put(head, 4)
        w.put(_ONE_HYPOTHESIS, 4)
        w.put(row.tobytes(), 8)
        w.put(_string(pid), 4)
    return w.getvalue()


def pedestrians(result, header) -> bytes:
    """cluenet_msgs/PedestrianArray, as ``messages.pedestrians``."""
    w = _Writer()
    w.put(header_bytes(header), 4)
    w.put(_KEYPOINT_NAMES, 4)
    n = len(result)
    w.u32(n)
    keypoints = np.asarray(result.keypoints)
    k = keypoints.shape[1] if keypoints.ndim == 3 else 0
    table = np.zeros((n, k), _KEYPOINT)
    if n:
        table["x"], table["y"], table["confidence"] = np.moveaxis(keypoints, -1, 0)
        table["occluded"] = result.occluded
    packed = table.tobytes()
    stride, used = 16 * k, max(16 * k - 3, 0)
    boxes = np.concatenate([_boxes(result.boxes), _boxes(result.visible_boxes)], axis=1)  # full_box, visible_box
    track_ids = result.track_ids.tolist() if result.track_ids is not None else [-1] * n
    scores = np.asarray(result.scores, dtype=np.float32).tolist()
    visibility = np.asarray(result.visibility, dtype=np.float32).tolist()
    for i, pid in enumerate(result.ids):
        w.put(_string(pid), 4)
        w.put(_INT_FLOAT.pack(track_ids[i], scores[i]), 4)
        w.put(boxes[i].tobytes(), 8)
        w.put(_FLOAT_U32.pack(visibility[i], k), 4)
        w.put(packed[i * stride: i * stride + used], 4)
    return w.getvalue()


def _marker(w: _Writer, head: bytes, ns: bytes, marker_id: int, kind: int, action: int,
            position=(0.0, 0.0, 0.0), scale=(0.0, 0.0, 0.0), rgba=(0.0, 0.0, 0.0, 0.0), life=(0, 0),
            points: bytes = b"", n_points: int = 0, colors: bytes = b"", n_colors: int = 0,
            text: bytes = _EMPTY_STRING) -> None:
    """One visualization_msgs/Marker with an identity orientation; ``points`` are
    float64 xyz triples, ``colors`` float32 rgba quadruples, both already packed."""
    w.put(head, 4)
    w.put(ns, 4)
    w.put(_THREE_INT32.pack(marker_id, kind, action), 4)
    w.put(_MARKER_BODY.pack(*position, 0.0, 0.0, 0.0, 1.0, *scale, *rgba, *life, False), 8)
    w.u32(n_points)
    if n_points:
        w.put(points, 8)
    w.u32(n_colors)
    if n_colors:
        w.put(colors, 4)
    w.put(_MARKER_BEFORE_TEXT, 4)
    w.put(text, 4)
    w.put(_MARKER_AFTER_TEXT, 4)


def skeleton_markers(result, header, namespace: str = "cluenet", scale: float = 1.0,
                     lifetime_s: float = 0.0) -> bytes:
    """visualization_msgs/MarkerArray, as ``messages.skeleton_markers`` (whose
    docstring says what the markers are)."""
    head, ns = header_bytes(header), _string(namespace)
    n = len(result)
    w = _Writer()
    tracked = result.track_ids is not None
    w.u32(1 + (2 + (n if tracked else 0) if n else 0))
    _marker(w, head, ns, 0, 0, _DELETEALL)
    if n == 0:
        return w.getvalue()
    life = lifetime(lifetime_s)
    width = 2.0 * scale
    k = kp.NUM_KEYPOINTS
    vertices = np.zeros((n * k, 3))
    vertices[:, :2] = (result.keypoints[..., :2] * scale).reshape(-1, 2)  # the float32 product, as messages does
    ends = (np.arange(n)[:, None] * k + np.asarray(BONE_ENDS)[None, :]).reshape(-1)
    colours = None
    if tracked:
        track_ids = result.track_ids.tolist()
        colours = [(*track_colour(t), 1.0) for t in track_ids]
        per_vertex = np.repeat(np.asarray(colours, dtype=np.float32), len(BONE_ENDS), axis=0)
        _marker(w, head, ns, 0, _LINE_LIST, _ADD, scale=(width, 0.0, 0.0), rgba=BONE_RGBA, life=life,
                points=vertices[ends].tobytes(), n_points=len(ends), colors=per_vertex.tobytes(), n_colors=len(ends))
    else:
        _marker(w, head, ns, 0, _LINE_LIST, _ADD, scale=(width, 0.0, 0.0), rgba=BONE_RGBA, life=life,
                points=vertices[ends].tobytes(), n_points=len(ends))
    joint_colours = np.where(np.asarray(result.occluded).reshape(-1, 1), np.array(OCCLUDED_RGBA, np.float32),
                             np.array(VISIBLE_RGBA, np.float32))
    _marker(w, head, ns, 1, _SPHERE_LIST, _ADD, scale=(3 * width,) * 3, life=life, points=vertices.tobytes(),
            n_points=n * k, colors=joint_colours.tobytes(), n_colors=n * k)
    if tracked:
        track_ns = _string(f"{namespace}/tracks")
        for tid, box, rgba in zip(track_ids, result.boxes.tolist(), colours):
            _marker(w, head, track_ns, int(tid), _TEXT_VIEW_FACING, _ADD,
                    position=((box[0] + box[2]) / 2 * scale, (box[1] - 8.0) * scale, 0.0),
                    scale=(0.0, 0.0, 12.0 * scale), rgba=rgba, life=life, text=_string(f"#{tid}"))
    return w.getvalue()


def mono8_image(mask: np.ndarray, header) -> bytes:
    """sensor_msgs/Image of a 2-D uint8 mask, as ``image_codec.mono8_message``; the
    pixels are joined from the array's own buffer (one copy)."""
    return _image(mask, header, _MONO8, 1)


def rgb8_image(rgb: np.ndarray, header) -> bytes:
    """sensor_msgs/Image of an (H, W, 3) uint8 picture (the debug overlay), as
    ``image_codec.rgb8_message``: 6 MiB at 2048x1024, where the message path's setter
    copies the pixels once more before rclpy serialises them."""
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb8 needs an (H, W, 3) array, not shape {rgb.shape}")
    return _image(rgb, header, _RGB8, 3)


def _image(pixels: np.ndarray, header, encoding: bytes, channels: int) -> bytes:
    data = np.ascontiguousarray(pixels, dtype=np.uint8)
    height, width = int(data.shape[0]), int(data.shape[1])
    w = _Writer()
    w.put(header_bytes(header), 4)
    w.put(_U32_PAIR.pack(height, width), 4)
    w.put(encoding, 4)
    w.put(b"\0")  # is_bigendian
    w.put(_U32_PAIR.pack(width * channels, data.size), 4)  # step, data count
    w.put(memoryview(data).cast("B"))
    return w.getvalue()
