"""Frames as bit matrices: fields written MSB first at a per-wafer cursor, vectorised over wafers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

WORD_BITS = 16  # the buffer queues 16-bit words
ELINK_BITS = 32  # bits per eLink per bunch crossing


class FrameWriter:
    """Appends fixed-width fields to n frames at once; a field can be present in some frames only."""

    def __init__(self, n_frames: int, max_bits: int) -> None:
        self.bits = np.zeros((n_frames, max_bits), dtype=np.uint8)
        self.cursor = np.zeros(n_frames, dtype=np.int64)

    def write(self, values: np.ndarray | int, width: int, where: np.ndarray | None = None) -> None:
        """Write ``values`` (one per frame) as ``width``-bit fields, MSB first, in the frames ``where``
        is true (all frames by default); the others keep their cursor."""
        rows = np.arange(len(self.cursor)) if where is None else np.flatnonzero(where)
        if width == 0 or rows.size == 0:
            return
        shifts = np.arange(width - 1, -1, -1)
        values = np.broadcast_to(np.asarray(values, dtype=np.int64), self.cursor.shape)[rows]
        self.bits[rows[:, None], self.cursor[rows, None] + np.arange(width)] = (values[:, None] >> shifts) & 1
        self.cursor[rows] += width

    def write_varying(self, values: np.ndarray, widths: np.ndarray) -> None:
        """Write each frame's value as a field of that frame's own width (0: nothing), MSB first."""
        values, widths = np.asarray(values, dtype=np.int64), np.asarray(widths, dtype=np.int64)
        for bit in range(int(widths.max(initial=0))):
            rows = np.flatnonzero(widths > bit)
            self.bits[rows, self.cursor[rows] + bit] = (values[rows] >> (widths[rows] - 1 - bit)) & 1
        self.cursor += widths

    def frames(self, lengths: np.ndarray) -> Frames:
        """The frames, each ``lengths`` bits long (zero padding included, or cut to what the links carry);
        bits used: the data bits within that length."""
        lengths = np.asarray(lengths, dtype=np.int64)
        return Frames(bits=self.bits, lengths=lengths, used=np.minimum(self.cursor, lengths))


def padded(n_bits: Any, multiple: int) -> Any:
    """``n_bits`` (an int or an array) rounded up to a multiple of ``multiple``, of the same kind."""
    return -(-np.asarray(n_bits) // multiple) * multiple


@dataclass(frozen=True)
class Frames:
    """n frames: ``bits`` (n, max) 0/1, first transmitted bit first; ``lengths`` with the padding;
    ``used``: the bits that carry data."""

    bits: np.ndarray
    lengths: np.ndarray
    used: np.ndarray

    def __len__(self) -> int:
        return len(self.lengths)

    def strings(self) -> list[str]:
        """Each frame as a string of '0'/'1' (the frame text format)."""
        chars = (self.bits + ord("0")).astype(np.uint8)
        return [chars[i, :length].tobytes().decode("ascii") for i, length in enumerate(self.lengths)]


def fields_to_bits(values: np.ndarray, width: int) -> np.ndarray:
    """(n, k) non-negative integers -> (n, k * width) bits, LSB first: field j at bits j * width upwards."""
    values = np.asarray(values, dtype=np.int64)
    bits = (values[:, :, None] >> np.arange(width)) & 1
    return bits.reshape(len(values), values.shape[1] * width).astype(np.uint8)


def ints_from_bits(bits: np.ndarray) -> list[int]:
    """(n, w) bits, LSB first -> n Python integers (the inverse of ``bits_from_ints``)."""
    packed = np.packbits(np.asarray(bits, dtype=np.uint8), axis=1, bitorder="little")
    raw, size = packed.tobytes(), packed.shape[1]
    return [int.from_bytes(raw[i:i + size], "little") for i in range(0, len(raw), size)] if size else [0] * len(bits)


def bits_from_ints(words: list[int], width: int) -> np.ndarray:
    """n non-negative Python integers below 2^width -> (n, width) bits, LSB first."""
    size = -(-width // 8)
    raw = np.frombuffer(b"".join(w.to_bytes(size, "little") for w in words), dtype=np.uint8)
    return np.unpackbits(raw.reshape(len(words), size), axis=1, bitorder="little")[:, :width]
