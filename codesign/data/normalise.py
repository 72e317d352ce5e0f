"""Sum normalisation: the unit-sum wafer used by studies and the EMD (the sum travels separately)."""

from __future__ import annotations

import numpy as np

from codesign.errors import InputError


class ZeroSumError(InputError):
    """A wafer with zero total charge has no shape to normalise or compare."""


def normalise(wafers: np.ndarray, what: str = "wafers") -> np.ndarray:
    """Divide every row by its sum (float64). Raises ``ZeroSumError`` naming the first zero-sum row."""
    wafers = np.asarray(wafers, dtype=np.float64)
    if wafers.ndim != 2:
        raise ValueError(f"{what}: expected a 2-d array (n, cells), got shape {wafers.shape}")
    if (wafers < 0).any():
        row = int(np.argwhere(wafers < 0)[0, 0])
        raise ValueError(f"{what}: row {row} has a negative entry")
    sums = wafers.sum(axis=1)
    zero = np.flatnonzero(sums <= 0)
    if zero.size:
        raise ZeroSumError(f"{what}: row {zero[0]} sums to zero ({zero.size} such rows); drop them first")
    return wafers / sums[:, None]


def unit_or_uniform(kept: np.ndarray) -> np.ndarray:
    """Rows scaled to sum 1; a row with nothing kept becomes the uniform wafer (what a back end rebuilds
    from a frame that carries no charge)."""
    kept = np.asarray(kept, dtype=np.float64)
    sums = kept.sum(axis=1, keepdims=True)
    return np.where(sums > 0, kept / np.where(sums > 0, sums, 1.0), 1.0 / kept.shape[1])
