"""The ECON-T's compact floating-point words (the chip's ``encode``/``decode``), vectorised over arrays.

A word has an E-bit exponent and an M-bit mantissa; ``drop`` low bits are discarded first. The chip always
truncates. Exponent 0 holds small values exactly (to 2^drop); exponent e >= 1 holds the M bits below the
leading one, i.e. values in [2^(M+drop+e-1), 2^(M+drop+e)); codes saturate at all ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def bit_length(values: np.ndarray) -> np.ndarray:
    """Vectorised ``int.bit_length`` for non-negative integers below 2**53 (0 -> 0)."""
    values = np.asarray(values, dtype=np.int64)
    if values.size and (int(values.min()) < 0 or int(values.max()) >= 1 << 53):
        raise ValueError("bit_length needs integers in [0, 2**53)")
    # frexp(v) = (m, e) with v = m * 2**e and 0.5 <= m < 1, hence e = bit length, exact below 2**53.
    return np.frexp(values.astype(np.float64))[1].astype(np.int64)


@dataclass(frozen=True)
class FloatFormat:
    """An ECON-T float word: ``exponent_bits`` + ``mantissa_bits`` (e.g. 4E3M, 5E4M)."""

    exponent_bits: int
    mantissa_bits: int

    @property
    def bits(self) -> int:
        return self.exponent_bits + self.mantissa_bits

    def encode(self, values: np.ndarray, drop: int = 0) -> np.ndarray:
        """Codes of non-negative integers, ``drop`` low bits discarded, truncated, saturating."""
        v = np.asarray(values, dtype=np.int64)
        m_bits = self.mantissa_bits
        e = np.maximum(np.maximum(bit_length(v), 1) - m_bits - drop, 0)  # the chip counts 0 as one bit
        mantissa = np.where(e == 0, v >> drop, (v >> (drop + np.maximum(e - 1, 0))) - (1 << m_bits))
        codes = (e << m_bits) + mantissa
        return np.where(e >= 1 << self.exponent_bits, (1 << self.bits) - 1, codes)

    def decode(self, codes: np.ndarray, drop: int = 0, *, zero_as_zero: bool = True,
               edge: bool = False) -> np.ndarray:
        """Integers at the middle of each code's bin (the chip's decode), in the units before ``drop``;
        ``edge`` gives the bin's lower edge instead.

        The chip's own decode gives code 0 the middle of its bin, 2^(drop-1); a back end reconstructing a
        wafer reads code 0 as "nothing" (``zero_as_zero``)."""
        c = np.asarray(codes, dtype=np.int64)
        m_bits = self.mantissa_bits
        e, m = c >> m_bits, c & ((1 << m_bits) - 1)
        value = np.where(e == 0, m, ((1 << m_bits) + m) << np.maximum(e - 1, 0)) << drop
        half_bin_shift = drop + np.maximum(e - 1, 0)
        value = value + np.where((half_bin_shift > 0) & (not edge), 1 << np.maximum(half_bin_shift - 1, 0), 0)
        return np.where((c == 0) & zero_as_zero, 0, value)


E4M3 = FloatFormat(4, 3)  # 7-bit cell charges (Threshold-Sum, Best-Choice, Repeater, STC4_7 / CTC4_7 sums)
E5M3 = FloatFormat(5, 3)  # 8-bit module sums of Threshold-Sum and Best-Choice
E5M4 = FloatFormat(5, 4)  # 9-bit STC4_9 / STC16_9 sums and the autoencoder's module sum
