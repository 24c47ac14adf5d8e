"""A run's ``ctx.log`` scalars as a TensorBoard event file, written without TensorBoard or TensorFlow installed.

Why by hand: the format is small and stable (TFRecord framing of ``Event`` protocol buffers with a scalar
``Summary``), and requiring TensorBoard (and its protobuf stack) just to *write* a file would make the export an
optional feature for no reason; reading it needs TensorBoard, which a user who asks for the file has.

Layout (tensorflow/core/util/event.proto, summary.proto; TFRecord in tensorflow/core/lib/io/record_writer.cc):
each record is ``uint64 length | uint32 masked_crc32c(length) | data | uint32 masked_crc32c(data)``; the first
event carries ``file_version = "brain.Event:2"``, then one event per (step, scalars) with
``Summary.Value(tag, simple_value)``.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterable
from pathlib import Path

_CRC_TABLE: list[int] = []


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as TFRecord frames use it."""
    if not _CRC_TABLE:
        for i in range(256):
            c = i
            for _ in range(8):
                c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
            _CRC_TABLE.append(c)
    crc = 0xFFFFFFFF
    for b in data:
        crc = _CRC_TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1  # int64 two's complement, as protobuf encodes negative int64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, wire: int) -> bytes:
    return _varint((number << 3) | wire)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field(number, 2) + _varint(len(payload)) + payload


def event(wall_time: float, step: int, *, file_version: str | None = None, scalars: dict[str, float] | None = None) -> bytes:
    """One serialized ``Event`` (wall_time = 1, step = 2, file_version = 3, summary = 5)."""
    out = _field(1, 1) + struct.pack("<d", wall_time) + _field(2, 0) + _varint(int(step))
    if file_version is not None:
        out += _bytes_field(3, file_version.encode())
    if scalars:
        values = b"".join(_bytes_field(1, _bytes_field(1, tag.encode()) + _field(2, 5) + struct.pack("<f", float(v)))
                          for tag, v in scalars.items())
        out += _bytes_field(5, values)
    return out


def record(data: bytes) -> bytes:
    """One TFRecord frame around ``data``."""
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked_crc(head)) + data + struct.pack("<I", masked_crc(data))


def write_events(folder: Path, points: Iterable[tuple[int, str, float]], *, run_id: str) -> Path:
    """Write ``points`` ((step, name, value), in logging order) as ``folder/events.out.tfevents.<time>.<host>``
    (``tensorboard --logdir folder`` shows them); one event per consecutive run of points at the same step."""
    folder.mkdir(parents=True, exist_ok=True)
    now = time.time()
    path = folder / f"events.out.tfevents.{int(now)}.{socket.gethostname()}.{run_id}"
    grouped: list[tuple[int, dict[str, float]]] = []
    for step, name, value in points:
        if not grouped or grouped[-1][0] != step or name in grouped[-1][1]:
            grouped.append((step, {}))
        grouped[-1][1][name] = value
    with open(path, "wb") as f:
        f.write(record(event(now, 0, file_version="brain.Event:2")))
        for step, scalars in grouped:
            f.write(record(event(now, step, scalars=scalars)))
    return path
