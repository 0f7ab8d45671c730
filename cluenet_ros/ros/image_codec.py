"""sensor_msgs images to and from numpy, without cv_bridge (no working cv_bridge
exists for the PyPI ROS wheels, and the conversions needed here are short).

Every malformed input raises ``BadImage`` with a message that names the problem,
so the node can warn and skip the frame.
"""
from __future__ import annotations

import array

import cv2
import numpy as np

# encoding -> (channels, conversion to RGB or None)
ENCODINGS = {
    "rgb8": (3, None),
    "bgr8": (3, cv2.COLOR_BGR2RGB),
    "rgba8": (4, cv2.COLOR_RGBA2RGB),
    "bgra8": (4, cv2.COLOR_BGRA2RGB),
    "mono8": (1, cv2.COLOR_GRAY2RGB),
}


class BadImage(ValueError):
    pass


def image_to_array(msg) -> tuple[np.ndarray, bool]:
    """sensor_msgs/Image -> (H x W x 3 uint8 array, is_bgr). rgb8 and bgr8 come back
    as views of the message buffer (no copy, no conversion: the pipeline swaps BGR
    on the device); the other encodings are converted to RGB."""
    if msg.encoding.lower() == "bgr8":
        return _view(msg, 3), True
    return image_to_rgb(msg), False


def _view(msg, channels: int) -> np.ndarray:
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h == 0 or w == 0:
        raise BadImage(f"empty image ({w}x{h})")
    if step < w * channels:
        raise BadImage(f"step {step} is smaller than width x channels = {w * channels}")
    size = len(msg.data)
    if size < step * h:
        raise BadImage(f"data holds {size} bytes, {step * h} expected from step {step} x height {h} "
                       "(truncated image?)")
    buf = np.frombuffer(msg.data, dtype=np.uint8, count=step * h).reshape(h, step)
    return buf[:, : w * channels].reshape(h, w, channels)


def image_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/Image -> H x W x 3 uint8 RGB (a view where no conversion is needed)."""
    enc = msg.encoding.lower()
    if enc not in ENCODINGS:
        raise BadImage(f"unsupported encoding '{msg.encoding}' (supported: {', '.join(ENCODINGS)})")
    channels, conversion = ENCODINGS[enc]
    img = _view(msg, channels)
    if conversion is None:
        return img
    return cv2.cvtColor(np.ascontiguousarray(img) if channels == 1 else img, conversion)


def compressed_to_rgb(msg) -> np.ndarray:
    """sensor_msgs/CompressedImage (JPEG or PNG) -> H x W x 3 uint8 RGB."""
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise BadImage("empty compressed image")
    fmt = msg.format.lower()
    if fmt and not any(k in fmt for k in ("jpeg", "jpg", "png")):
        raise BadImage(f"unsupported compressed format '{msg.format}' (JPEG and PNG are)")
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if bgr is None:
        raise BadImage(f"corrupt or undecodable compressed image ({data.size} bytes, format '{msg.format}')")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def mono8_message(mask: np.ndarray, header, msg_type):
    msg = msg_type()
    msg.header = header
    msg.height, msg.width = int(mask.shape[0]), int(mask.shape[1])
    msg.encoding = "mono8"
    msg.is_bigendian = 0
    msg.step = int(mask.shape[1])
    msg.data = as_uint8_array(mask)
    return msg


def rgb8_message(rgb: np.ndarray, header, msg_type):
    msg = msg_type()
    if header is not None:
        msg.header = header
    msg.height, msg.width = int(rgb.shape[0]), int(rgb.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = int(rgb.shape[1] * 3)
    msg.data = as_uint8_array(rgb)
    return msg


def as_uint8_array(a: np.ndarray) -> array.array:
    """One memcpy into the array type rclpy stores uint8[] fields as; assigning
    bytes or a list would make the generated setter check every element."""
    out = array.array("B")
    out.frombytes(np.ascontiguousarray(a, dtype=np.uint8).data)
    return out
