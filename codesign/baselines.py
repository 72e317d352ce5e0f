"""The non-ML algorithms an encoder is compared with, as unit-sum reconstructions of (n, 48) CALQ wafers
(the wafer sum travels separately in every case) with their bits per bunch crossing.

The headline comparison is the arena (``codesign.arena``): the chip's own algorithms exactly as the chip
runs them, each decoded as well as its frame allows, and the entropy codec. The idealised variants below
(exact values, stable sort, any cell count) stay for studies and carry "ideal" in their names:

- ``ideal_threshold``: cells at or above a threshold (CALQ counts; 35 = 1 MIP_T) sent exactly with a 48-bit
  map; the rest is lost (variable size: the bit count is the mean).
- ``ideal_best_choice``: the N highest cells, each a 6-bit address and an exact value; N fills the budget.
- ``ideal_super_trigger_cell``: the sum of each of the 12 non-overlapping 2x2 groups, spread evenly over
  its four TCs.

A wafer with nothing sent reconstructs as uniform: its sum is known, its shape is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from codesign.data.geometry import ADDRESS_BITS, N_TC, TcGroups
from codesign.data.normalise import unit_or_uniform
from codesign.data.onchip import SUM_CODE_BITS

VALUE_BITS = 7  # ECON-T sends cell values as compact 7-bit floating-point words


@dataclass(frozen=True)
class Reconstruction:
    name: str
    wafers: np.ndarray  # (n, 48) unit sum
    bits_per_bx: float
    extra: Mapping[str, float | str] = field(default_factory=dict)  # algorithm-specific figures for metrics.json


def ideal_threshold(calq: np.ndarray, threshold: int = 35) -> Reconstruction:
    kept = np.where(calq >= threshold, calq, 0)
    bits = N_TC + SUM_CODE_BITS + VALUE_BITS * (kept > 0).sum(axis=1).mean()
    return Reconstruction(f"ideal_threshold_{threshold}", unit_or_uniform(kept), float(bits))


def ideal_best_choice(calq: np.ndarray, n_cells: int) -> Reconstruction:
    order = np.argsort(-calq, axis=1, kind="stable")[:, :n_cells]
    kept = np.zeros_like(calq)
    np.put_along_axis(kept, order, np.take_along_axis(calq, order, axis=1), axis=1)
    bits = SUM_CODE_BITS + n_cells * (ADDRESS_BITS + VALUE_BITS)
    return Reconstruction(f"ideal_best_choice_{n_cells}", unit_or_uniform(kept), float(bits))


def best_choice_cells(budget_bits: int) -> int:
    """How many (address, value) cells fit a frame next to the sum code."""
    return (budget_bits - SUM_CODE_BITS) // (ADDRESS_BITS + VALUE_BITS)


def ideal_super_trigger_cell(calq: np.ndarray, groups: TcGroups) -> Reconstruction:
    tiles = groups.members[groups.tiles_module]
    sums = calq[:, tiles].sum(axis=2)  # (n, 12)
    spread = np.zeros(calq.shape, dtype=np.float64)
    for g, tcs in enumerate(tiles):
        spread[:, tcs] = sums[:, g : g + 1] / len(tcs)
    bits = SUM_CODE_BITS + len(tiles) * VALUE_BITS
    return Reconstruction("ideal_super_trigger_cell", unit_or_uniform(spread), float(bits))


def ideal_baselines(calq: np.ndarray, groups: TcGroups | None, budget_bits: int) -> list[Reconstruction]:
    """The idealised algorithms at a ``budget_bits`` frame (super trigger cells only when the TC group table
    is available)."""
    recos = [ideal_threshold(calq), ideal_best_choice(calq, best_choice_cells(budget_bits))]
    return recos + ([ideal_super_trigger_cell(calq, groups)] if groups is not None else [])


def chip_algorithm_name(algorithm: str, module: str, elinks: int) -> str:
    return f"chip:{algorithm}:{module}:{elinks}elink"
