"""Sparse mode of the hybrid on-chip encoder: few-cell wafers sent as cells instead of latents.

Best-Choice is exact on wafers with fewer cells than it sends, where the autoencoder spreads energy over empty
cells; on dense wafers the autoencoder wins. With ``EncoderConfig.sparse_max_occupancy = T`` the chip sends a
wafer with at most T non-zero on-chip inputs in sparse mode: the latent field of the frame then holds the
``n_cells`` largest on-chip inputs (ties to the lower TC index), each as its 8-bit value and 6-bit TC address,
and one mode bit above the sum code says which mode the frame is in. Every other wafer goes through the
autoencoder as before. On chip the decoder thus only receives dense wafers, but the autoencoder trains on
all of them: trained on the dense ones alone it lost most of its data and measured worse.

These integer functions are the golden model of the RTL in ``codesign.hardware.topgen``.
"""

from __future__ import annotations

import numpy as np

from codesign.baselines import ADDRESS_BITS, unit_or_uniform
from codesign.data.geometry import N_TC
from codesign.data.onchip import INPUT_BITS

CELL_BITS = INPUT_BITS + ADDRESS_BITS  # value in the low 8 bits, TC address above


def cells_per_frame(latent_field_bits: int) -> int:
    """How many (value, address) cells fit the latent field of a frame."""
    return latent_field_bits // CELL_BITS


def occupancy(inputs: np.ndarray) -> np.ndarray:
    """Non-zero on-chip inputs per wafer, (n, 48) -> (n,)."""
    return (np.asarray(inputs) > 0).sum(axis=1)


def is_sparse(inputs: np.ndarray, max_occupancy: int | None) -> np.ndarray:
    """Which wafers the chip sends in sparse mode (none when ``max_occupancy`` is None)."""
    if max_occupancy is None:
        return np.zeros(len(inputs), dtype=bool)
    return occupancy(inputs) <= max_occupancy


def best_cells(inputs: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, values), each (n, n_cells): the largest on-chip inputs, largest first, ties to the lower
    TC index (what the hardware's rank comparison gives)."""
    inputs = np.asarray(inputs, dtype=np.int64)
    tc = np.broadcast_to(np.arange(N_TC), inputs.shape)
    order = np.lexsort((tc, -inputs), axis=1)[:, :n_cells]
    return order, np.take_along_axis(inputs, order, axis=1)


def pack_cells(addresses: np.ndarray, values: np.ndarray) -> list[int]:
    """Sparse payloads as Python integers: cell s at bits [14 s + 13 : 14 s], value below address."""
    payloads = []
    for row_a, row_v in zip(np.asarray(addresses).tolist(), np.asarray(values).tolist(), strict=True):
        word = 0
        for s, (address, value) in enumerate(zip(row_a, row_v, strict=True)):
            word |= ((address << INPUT_BITS) | value) << (CELL_BITS * s)
        payloads.append(word)
    return payloads


def sparse_wafers(addresses: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Off-chip reconstruction of sparse frames: (n, 48) unit-sum wafers (uniform when every value is 0)."""
    wafers = np.zeros((len(values), N_TC))
    np.put_along_axis(wafers, np.asarray(addresses), np.asarray(values, dtype=np.float64), axis=1)
    return unit_or_uniform(wafers)
