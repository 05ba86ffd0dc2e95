"""TensorBoard event files without TensorFlow: `Event` protos encoded by hand, framed as TFRecords.

An event file is a sequence of records `length (uint64 LE) | masked crc32c(length) | data | masked
crc32c(data)`, each `data` a serialized `tensorflow.Event`. Only the fields TensorBoard reads for scalars,
histograms and graphs are written; the field numbers are those of tensorflow/core/util/event.proto,
summary.proto and graph.proto.
"""

from __future__ import annotations

import itertools
import os
import socket
import struct
import time

import numpy as np

# --- crc32c (Castagnoli), as TFRecord framing uses it ---------------------------------------------------------


def _crc32c_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked checksum: rotate right by 15 and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data: bytes) -> bytes:
    """One TFRecord frame around `data`."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


# --- protobuf wire format -------------------------------------------------------------------------------------


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field: int, wire_type: int) -> bytes:
    return _varint((field << 3) | wire_type)


def field_varint(field: int, value: int) -> bytes:
    return _key(field, 0) + _varint(int(value))


def field_double(field: int, value: float) -> bytes:
    return _key(field, 1) + struct.pack("<d", float(value))


def field_float(field: int, value: float) -> bytes:
    return _key(field, 5) + struct.pack("<f", float(value))


def field_bytes(field: int, value: bytes | str) -> bytes:
    value = value.encode("utf-8") if isinstance(value, str) else value
    return _key(field, 2) + _varint(len(value)) + value


def field_packed_doubles(field: int, values) -> bytes:
    return field_bytes(field, np.asarray(values, "<f8").tobytes())


# --- messages -------------------------------------------------------------------------------------------------


def event(step: int = 0, wall_time: float | None = None, *, file_version: str | None = None,
          graph_def: bytes | None = None, summary: bytes | None = None) -> bytes:
    """An `Event`: wall_time = 1, step = 2, file_version = 3, graph_def = 4, summary = 5."""
    out = field_double(1, time.time() if wall_time is None else wall_time) + field_varint(2, step)
    if file_version is not None:
        out += field_bytes(3, file_version)
    if graph_def is not None:
        out += field_bytes(4, graph_def)
    if summary is not None:
        out += field_bytes(5, summary)
    return out


def scalar_summary(tag: str, value: float) -> bytes:
    """A `Summary` holding one `Value{tag = 1, simple_value = 2}`."""
    return field_bytes(1, field_bytes(1, tag) + field_float(2, value))


def histogram_summary(tag: str, values, bins: int = 30) -> bytes:
    """A `Summary` with one `Value{tag = 1, histo = 5}`; the `HistogramProto` has `bins` equal-width buckets.

    HistogramProto: min = 1, max = 2, num = 3, sum = 4, sum_squares = 5, bucket_limit = 6, bucket = 7 (a
    bucket counts values up to its limit, above the previous one).
    """
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        lo = hi = 0.0
        limits, counts = np.array([0.0]), np.array([0.0])
    else:
        lo, hi = float(values.min()), float(values.max())
        if lo == hi:
            limits, counts = np.array([hi]), np.array([float(values.size)])
        else:
            counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
            limits, counts = edges[1:], counts.astype(np.float64)
    histo = (field_double(1, lo) + field_double(2, hi) + field_double(3, values.size)
             + field_double(4, float(values.sum())) + field_double(5, float(np.square(values).sum()))
             + field_packed_doubles(6, limits) + field_packed_doubles(7, counts))
    return field_bytes(1, field_bytes(1, tag) + field_bytes(5, histo))


def node_def(name: str, op: str, inputs=(), attrs: dict[str, str] | None = None) -> bytes:
    """A `NodeDef`: name = 1, op = 2, input = 3 (repeated); `attrs` become string `AttrValue`s (attr = 5)."""
    out = field_bytes(1, name) + field_bytes(2, op)
    for source in inputs:
        out += field_bytes(3, source)
    for key, value in (attrs or {}).items():
        attr_value = field_bytes(2, str(value))  # AttrValue.s = 2
        out += field_bytes(5, field_bytes(1, key) + field_bytes(2, attr_value))  # map entry: key = 1, value = 2
    return out


def graph_def(nodes: list[bytes]) -> bytes:
    """A `GraphDef` of serialized `NodeDef`s (node = 1) with a `VersionDef` (versions = 4, producer = 1)."""
    return b"".join(field_bytes(1, n) for n in nodes) + field_bytes(4, field_varint(1, 22))


# --- the file -------------------------------------------------------------------------------------------------

_file_counter = itertools.count()


class EventFileWriter:
    """Appends events to a new `events.out.tfevents.*` file in `log_dir`.

    Records are appended and flushed with fsync; each carries its own checksums, so a process killed
    mid-write leaves a file whose complete records TensorBoard reads and whose torn tail it ignores.
    """

    def __init__(self, log_dir: str):
        os.makedirs(log_dir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{next(_file_counter)}.v2"
        self.path = os.path.join(log_dir, name)
        self._file = open(self.path, "ab")
        self.write(event(0, file_version="brain.Event:2"))
        self.flush()

    def write(self, serialized_event: bytes) -> None:
        self._file.write(tfrecord(serialized_event))

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.write(event(step, summary=scalar_summary(tag, value)))

    def add_histogram(self, tag: str, values, step: int) -> None:
        self.write(event(step, summary=histogram_summary(tag, values)))

    def add_graph(self, serialized_graph_def: bytes) -> None:
        self.write(event(0, graph_def=serialized_graph_def))

    def flush(self) -> None:
        if not self._file.closed:
            self._file.flush()
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()

    @property
    def closed(self) -> bool:
        return self._file.closed
