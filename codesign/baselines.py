"""Non-ML ECON-T algorithms at a given output bit budget, evaluated by the same code as the autoencoder.

Each algorithm maps (n, 48) CALQ wafers to unit-sum reconstructions (the wafer sum travels separately
in every case) and states its bits per bunch crossing.

- ``threshold``: cells at or above a threshold (CALQ counts; 35 = 1 MIP_T) are sent with a 48-bit map and
  their values; the rest is lost (variable size: the bit count is the mean).
- ``best_choice``: the N highest cells, each a 6-bit address and a value; N fills the budget.
- ``super_trigger_cell``: the sum of each of the 12 non-overlapping 2x2 groups, spread evenly over its
  four TCs when reconstructed.

A wafer with nothing sent reconstructs as uniform: its sum is known, its shape is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from codesign.data.geometry import N_TC, TcGroups
from codesign.data.onchip import SUM_CODE_BITS

ADDRESS_BITS = 6
VALUE_BITS = 7  # ECON-T sends cell values as compact 7-bit floating-point words


@dataclass(frozen=True)
class Reconstruction:
    name: str
    wafers: np.ndarray  # (n, 48) unit sum
    bits_per_bx: float
    extra: dict[str, float] = field(default_factory=dict)  # algorithm-specific figures for metrics.json


def unit_or_uniform(kept: np.ndarray) -> np.ndarray:
    kept = np.asarray(kept, dtype=np.float64)
    sums = kept.sum(axis=1, keepdims=True)
    return np.where(sums > 0, kept / np.where(sums > 0, sums, 1.0), 1.0 / N_TC)


def threshold_sum(calq: np.ndarray, threshold: int = 35) -> Reconstruction:
    kept = np.where(calq >= threshold, calq, 0)
    bits = N_TC + SUM_CODE_BITS + VALUE_BITS * (kept > 0).sum(axis=1).mean()
    return Reconstruction(f"threshold_{threshold}", unit_or_uniform(kept), float(bits))


def best_choice(calq: np.ndarray, n_cells: int) -> Reconstruction:
    order = np.argsort(-calq, axis=1, kind="stable")[:, :n_cells]
    kept = np.zeros_like(calq)
    np.put_along_axis(kept, order, np.take_along_axis(calq, order, axis=1), axis=1)
    bits = SUM_CODE_BITS + n_cells * (ADDRESS_BITS + VALUE_BITS)
    return Reconstruction(f"best_choice_{n_cells}", unit_or_uniform(kept), float(bits))


def best_choice_cells(budget_bits: int) -> int:
    """How many (address, value) cells fit a frame next to the sum code."""
    return (budget_bits - SUM_CODE_BITS) // (ADDRESS_BITS + VALUE_BITS)


def super_trigger_cell(calq: np.ndarray, groups: TcGroups) -> Reconstruction:
    tiles = groups.members[groups.tiles_module]
    sums = calq[:, tiles].sum(axis=2)  # (n, 12)
    spread = np.zeros(calq.shape, dtype=np.float64)
    for g, tcs in enumerate(tiles):
        spread[:, tcs] = sums[:, g : g + 1] / len(tcs)
    bits = SUM_CODE_BITS + len(tiles) * VALUE_BITS
    return Reconstruction("super_trigger_cell", unit_or_uniform(spread), float(bits))


def all_baselines(calq: np.ndarray, groups: TcGroups | None, budget_bits: int,
                  econt_best_choice: int = 9) -> list[Reconstruction]:
    """The baselines reported next to an autoencoder with a ``budget_bits`` frame (super trigger cells only
    when the TC group table is available)."""
    recos = [threshold_sum(calq), best_choice(calq, econt_best_choice),
             best_choice(calq, best_choice_cells(budget_bits))]
    return recos + ([super_trigger_cell(calq, groups)] if groups is not None else [])
