"""The ECON-T on-chip input conversion, bit for bit (see the data README, "Reference definitions").

With S the wafer sum of the 48 CALQ integers and k = floor(log2 S), every encoder input is
``(CALQ_i << 7) >> k``: an unsigned 8-bit number with 7 fractional bits (1 integer bit), obtained by a
shift instead of a division. The sum itself leaves the chip as a 9-bit floating-point code (5-bit exponent,
4-bit mantissa, truncated). These integer functions are the golden model of the RTL conversion block.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.data.floats import E5M4, bit_length
from codesign.data.geometry import N_TC

INPUT_FRAC_BITS = 7
INPUT_BITS = 8
SUM_CODE_BITS = E5M4.bits
SUM_MANTISSA_BITS = E5M4.mantissa_bits


@dataclass(frozen=True)
class OnchipWords:
    """What the conversion block hands on: encoder inputs in units of 2**-7, and the sum code."""

    inputs: np.ndarray  # (n, 48) int64, each in [0, 255]
    sum_code: np.ndarray  # (n,) int64, in [0, 511]

    def inputs_float(self) -> np.ndarray:
        """The encoder inputs as real numbers in [0, 2)."""
        return self.inputs / float(1 << INPUT_FRAC_BITS)


def wafer_shift(sums: np.ndarray) -> np.ndarray:
    """k = floor(log2 S) per wafer; 0 for an all-zero wafer (whose inputs are then all zero)."""
    return np.maximum(bit_length(sums) - 1, 0)


def encode_sum(sums: np.ndarray) -> np.ndarray:
    """9-bit code of wafer sums (the chip's 5E4M float): S below 16 as is, else 16*e + 4-bit truncated
    mantissa, saturating at 511."""
    return E5M4.encode(sums)


def decode_sum(codes: np.ndarray) -> np.ndarray:
    """Smallest wafer sum that encodes to each code (the off-chip estimate of S)."""
    return E5M4.decode(codes, edge=True)


def onchip_convert(calq: np.ndarray) -> OnchipWords:
    """Apply the ECON-T conversion to (n, 48) CALQ integers."""
    calq = np.asarray(calq)
    if calq.ndim != 2 or calq.shape[1] != N_TC:
        raise ValueError(f"expected CALQ of shape (n, {N_TC}), got {calq.shape}")
    if not np.issubdtype(calq.dtype, np.integer):
        raise TypeError(f"CALQ must be integers, got dtype {calq.dtype}")
    if (calq < 0).any():
        raise ValueError("CALQ charges must be non-negative")
    calq = calq.astype(np.int64)
    sums = calq.sum(axis=1)
    shift = wafer_shift(sums)
    inputs = (calq << INPUT_FRAC_BITS) >> shift[:, None]
    return OnchipWords(inputs=inputs, sum_code=encode_sum(sums))
