"""Malformed camera frames for the node's fuzz and bomb tests: sensor_msgs/Image with
lying headers and short or long payloads, CompressedImage with random, truncated,
bit-flipped and size-patched JPEG/PNG data, and decompression bombs."""
from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
from sensor_msgs.msg import CompressedImage, Image

ENCODINGS = ["rgb8", "bgr8", "rgba8", "bgra8", "mono8", "yuv422", "16UC1", "", "RGB8", "bayer_rggb8", "rgb8\x00x"]


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 8000, height: int = 8000) -> bytes:
    """A valid PNG of a black width x height RGB image: ~200 KB that decodes to
    width x height x 3 bytes (8000 x 8000: 192 MB)."""
    comp = zlib.compressobj(9)
    row = b"\x00" * (1 + 3 * width)  # filter byte + pixels
    parts = [comp.compress(row) for _ in range(height)]
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


def small_jpeg(seed: int = 0, h: int = 64, w: int = 64) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.imencode(".jpg", img)[1].tobytes()


def small_png(seed: int = 0, h: int = 48, w: int = 40) -> bytes:
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return cv2.imencode(".png", img)[1].tobytes()


def jpeg_with_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its start-of-frame size fields rewritten (what a bit flip in the
    header does: e.g. 64 -> 65328 wide)."""
    b = bytearray(data)
    i = 2
    while i < len(b):
        marker, length = b[i + 1], (b[i + 2] << 8) | b[i + 3]
        if marker in (0xC0, 0xC1, 0xC2):
            b[i + 5:i + 7] = height.to_bytes(2, "big")
            b[i + 7:i + 9] = width.to_bytes(2, "big")
            return bytes(b)
        i += 2 + length
    raise ValueError("no SOF")


def png_with_size(data: bytes, width: int, height: int) -> bytes:
    b = bytearray(data)
    b[16:24] = struct.pack(">II", width, height)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])) & 0xFFFFFFFF)
    return bytes(b)


def bit_flipped(data: bytes, rng, flips: int) -> bytes:
    b = bytearray(data)
    for _ in range(flips):
        i = int(rng.integers(0, len(b)))
        b[i] ^= 1 << int(rng.integers(0, 8))
    return bytes(b)


def malformed_image(rng) -> Image:
    msg = Image()
    kind = int(rng.integers(0, 6))
    enc = ENCODINGS[int(rng.integers(0, len(ENCODINGS)))]
    sizes = [0, 1, 2, 3, 7, 16, 33, 64, 4097, 65535, 2**31 - 1, 2**32 - 1]
    msg.encoding = enc
    msg.width = int(rng.choice(sizes)) if kind != 0 else int(rng.integers(1, 40))
    msg.height = int(rng.choice(sizes)) if kind != 1 else int(rng.integers(1, 40))
    channels = {"mono8": 1, "rgba8": 4, "bgra8": 4}.get(enc, 3)
    step = msg.width * channels
    msg.step = int([step, 0, step - 1, step + 7, 2**32 - 1, int(rng.integers(0, 200))][kind]) % 2**32
    n = int(rng.choice([0, 1, 17, 100, 1000, 4096]))
    msg.data = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    msg.is_bigendian = int(rng.integers(0, 2))
    return msg


def malformed_compressed(rng, jpeg: bytes, png: bytes) -> CompressedImage:
    msg = CompressedImage()
    kind = int(rng.integers(0, 8))
    base = jpeg if rng.integers(0, 2) else png
    msg.format = ["jpeg", "png", "rgb8; jpeg compressed bgr8", "", "tiff", "JPEG", "bmp"][int(rng.integers(0, 7))]
    if kind == 0:
        data = rng.integers(0, 256, int(rng.integers(0, 2000)), dtype=np.uint8).tobytes()
    elif kind == 1:
        data = base[: int(rng.integers(0, len(base)))]
    elif kind in (2, 3):
        data = bit_flipped(base, rng, int(rng.integers(1, 30)))
    elif kind == 4:
        w, h = int(rng.choice([0, 1, 65328, 65535, 9000])), int(rng.choice([0, 1, 64, 65535, 3000]))
        data = jpeg_with_size(jpeg, w, h)
    elif kind == 5:
        w, h = int(rng.choice([0, 1, 100000, 2**31 - 1])), int(rng.choice([0, 1, 64, 5000]))
        data = png_with_size(png, w, h)
    elif kind == 6:
        data = base[:20] + rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
    else:
        data = b"\xff\xd8" + bytes(rng.integers(0, 256, 64, dtype=np.uint8))
    msg.data = data
    return msg
