"""sensor_msgs images to and from numpy, without cv_bridge (no working cv_bridge
exists for the PyPI ROS wheels, and the conversions needed here are short).

Every malformed input raises ``BadImage`` with a message that names the problem,
so the node can warn and skip the frame.
"""
from __future__ import annotations

import array
import os
import sys
import tempfile
import threading

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


MIN_SIDE = 2  # the pipeline's smallest frame


class BadImage(ValueError):
    pass


class ImageTooLarge(BadImage):
    """A frame over the size limits, found from its header before any decoding."""


def check_size(width: int, height: int, max_pixels: int | None = None, max_side: int | None = None) -> None:
    """Raise ``BadImage`` for frames too small for the pipeline and ``ImageTooLarge``
    for frames over the limits (``None``: no limit)."""
    if width < MIN_SIDE or height < MIN_SIDE:
        raise BadImage(f"image too small ({width}x{height}; at least {MIN_SIDE}x{MIN_SIDE})")
    if max_side is not None and max(width, height) > max_side:
        raise ImageTooLarge(f"image of {width}x{height} has a side over max_image_side = {max_side}")
    if max_pixels is not None and width * height > max_pixels:
        raise ImageTooLarge(f"image of {width}x{height} = {width * height} pixels is over "
                            f"max_image_pixels = {max_pixels}")


_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
# JPEG start-of-frame markers (baseline, extended, progressive, lossless, arithmetic):
# C0-CF except DHT (C4), JPG (C8) and DAC (CC)
_JPEG_SOF = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def compressed_dimensions(data: bytes | memoryview) -> tuple[str, int, int]:
    """(format, width, height) of a PNG or JPEG read from its header alone, without
    decoding anything: PNG's IHDR chunk, JPEG's start-of-frame segment. Raises
    ``BadImage`` when the header is missing or malformed."""
    buf = bytes(data[:8])
    if buf == _PNG_MAGIC:
        head = bytes(data[8:24])
        if len(head) < 16 or head[4:8] != b"IHDR":
            raise BadImage("PNG without an IHDR header")
        return "png", int.from_bytes(head[8:12], "big"), int.from_bytes(head[12:16], "big")
    if buf[:2] != b"\xff\xd8":
        raise BadImage("neither JPEG nor PNG (no JPEG or PNG signature)")
    view = memoryview(data)
    i, n = 2, len(view)
    while i + 4 <= n:
        if view[i] != 0xFF:
            raise BadImage(f"malformed JPEG header (no marker at byte {i})")
        marker = view[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:  # stand-alone markers
            i += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or start of scan before any frame header
            break
        length = (view[i + 2] << 8) | view[i + 3]
        if length < 2:
            raise BadImage(f"malformed JPEG header (segment length {length} at byte {i})")
        if marker in _JPEG_SOF:
            if i + 9 > n:
                break
            height = (view[i + 5] << 8) | view[i + 6]
            width = (view[i + 7] << 8) | view[i + 8]
            return "jpeg", width, height
        i += 2 + length
    raise BadImage("JPEG without a frame header (truncated or corrupt)")


def image_to_array(msg, max_pixels: int | None = None, max_side: int | None = None) -> tuple[np.ndarray, bool]:
    """sensor_msgs/Image -> (H x W x 3 uint8 array, is_bgr). rgb8 and bgr8 come back
    as views of the message buffer (no copy, no conversion: the pipeline swaps BGR
    on the device); the other encodings are converted to RGB. Frames over the
    limits are refused from their width and height fields alone."""
    if msg.width and msg.height:  # (an empty image is reported by _view)
        check_size(int(msg.width), int(msg.height), max_pixels, max_side)
    if msg.encoding.lower() == "bgr8":
        return _view(msg, 3), True
    return image_to_rgb(msg), False


def _view(msg, channels: int) -> np.ndarray:
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    if h == 0 or w == 0:
        raise BadImage(f"empty image ({w}x{h})")
    check_size(w, h)
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


def compressed_to_rgb(msg, max_pixels: int | None = None, max_side: int | None = None,
                      warnings: list | None = None) -> np.ndarray:
    """sensor_msgs/CompressedImage (JPEG or PNG) -> H x W x 3 uint8 RGB.

    The size is read from the header and checked against the limits before the
    decoder allocates anything, so a small file that claims a huge image
    (a decompression bomb) costs nothing. What the decoder prints about a frame it
    still decodes is appended to ``warnings`` (instead of going to stderr)."""
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size == 0:
        raise BadImage("empty compressed image")
    fmt = msg.format.lower()
    if fmt and not any(k in fmt for k in ("jpeg", "jpg", "png")):
        raise BadImage(f"unsupported compressed format '{msg.format}' (JPEG and PNG are)")
    kind, width, height = compressed_dimensions(data)
    check_size(width, height, max_pixels, max_side)
    bgr, decoder_said = decode_quietly(data)
    if bgr is None:
        raise BadImage(f"corrupt or undecodable {kind} image ({data.size} bytes, format '{msg.format}')"
                       + (f": {decoder_said}" if decoder_said else ""))
    if decoder_said and warnings is not None:
        warnings.append(decoder_said)
    if bgr.shape[:2] != (height, width):  # a decoder that disagrees with the header: trust neither
        raise BadImage(f"{kind} header says {width}x{height}, decoder gave {bgr.shape[1]}x{bgr.shape[0]}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


_STDERR_LOCK = threading.Lock()


def decode_quietly(data: np.ndarray) -> tuple[np.ndarray | None, str]:
    """``cv2.imdecode`` with what its codecs print (libpng/libjpeg write errors and
    warnings straight to the process's stderr, whatever OpenCV's log level) captured
    and returned, so that the caller can log it through its own, throttled logger.

    fd 2 is redirected to a temporary file for the duration of the call; anything
    another thread writes to stderr meanwhile is captured as well and returned with
    the decoder's text rather than lost."""
    with _STDERR_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(sink.fileno(), 2)
            try:
                bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
            finally:
                os.dup2(saved, 2)
        finally:
            os.close(saved)
        sink.seek(0)
        text = sink.read(4096).decode("utf-8", "replace")
    said = "; ".join(line.strip() for line in text.splitlines() if line.strip())
    return bgr, said


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
