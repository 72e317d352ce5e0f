"""The chip's Best-Choice sorting network: Batcher's odd-even merge exchange (Knuth, TAOCP 5.2.2, algorithm
M), descending. A comparator exchanges only when the upper element is strictly smaller, so the order of
equal values is the network's own (neither stable nor reverse-stable); that order decides which of several
tied cells the chip sends.
"""

from __future__ import annotations

from functools import cache

import numpy as np


@cache
def merge_exchange_layers(n: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """Comparator layers (upper positions, lower positions) of the network for n inputs; the comparators
    of a layer touch disjoint positions."""
    layers = []
    t = max(1, (n - 1).bit_length())
    p = 1 << (t - 1)
    while p > 0:
        q, r, d = 1 << (t - 1), 0, p
        while True:
            upper = np.array([i for i in range(n - d) if i & p == r], dtype=np.int64)
            if upper.size:
                layers.append((upper, upper + d))
            if q == p:
                break
            d, q, r = q - p, q >> 1, p
        p >>= 1
    return tuple(layers)


def batcher_sort_descending(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted values, their original positions) of each row, largest first, in the network's tie order."""
    values = np.array(values, dtype=np.int64)
    positions = np.broadcast_to(np.arange(values.shape[1]), values.shape).copy()
    for upper, lower in merge_exchange_layers(values.shape[1]):
        a, b = values[:, upper], values[:, lower]
        swap = a < b
        values[:, upper], values[:, lower] = np.where(swap, b, a), np.where(swap, a, b)
        pa, pb = positions[:, upper], positions[:, lower]
        positions[:, upper], positions[:, lower] = np.where(swap, pb, pa), np.where(swap, pa, pb)
    return values, positions
