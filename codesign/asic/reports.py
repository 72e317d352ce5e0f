"""The gate-equivalent area model of a generic-cell Yosys synthesis (pure; tested on committed statistics).

Gate equivalents (GE): area in units of a 2-input NAND. The generic Yosys cells are costed with the usual
static-CMOS transistor counts relative to NAND2 (4 transistors); flip-flops as a D flip-flop (+1 GE for a
synchronous set/reset, +1.33 GE for an enable multiplexer). ``UM2_PER_GE_65NM`` converts to silicon area:
1.44 um2, the footprint of a NAND2X1 in typical 65 nm low-power libraries (an assumption stated in every
report; pass LIBERTY=... for a real library's areas).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from codesign.errors import InputError
from codesign.hardware.yosys import ModuleStat

UM2_PER_GE_65NM = 1.44
GE_PER_CELL = {
    "$_BUF_": 0.0, "$_NOT_": 0.67, "$_NAND_": 1.0, "$_NOR_": 1.0, "$_AND_": 1.33, "$_OR_": 1.33,
    "$_ANDNOT_": 1.33, "$_ORNOT_": 1.33, "$_XOR_": 2.33, "$_XNOR_": 2.33, "$_MUX_": 2.33,
    "$_AOI3_": 1.33, "$_OAI3_": 1.33, "$_AOI4_": 1.67, "$_OAI4_": 1.67, "$_NMUX_": 2.0,
}  # fmt: skip
DFF_GE, RESET_GE, ENABLE_GE = 4.33, 1.0, 1.33
_DFF = re.compile(r"^\$_(S?)DFF(C?E?)_([A-Z0-9]+)_$")  # $_DFF_P_, $_SDFF_PN1_, $_DFFE_PP_, $_SDFFCE_PP0P_


class UnknownCellError(InputError):
    """A cell type has no gate-equivalent cost: the area model would be silently incomplete."""


def is_flip_flop(cell: str) -> bool:
    return bool(_DFF.match(cell))


def cell_ge(cell: str) -> float:
    if cell in GE_PER_CELL:
        return GE_PER_CELL[cell]
    if m := _DFF.match(cell):
        sync_reset, enable, _ = m.groups()
        has_reset = bool(sync_reset) or any(c in "01" for c in m.group(3)[1:])
        return DFF_GE + RESET_GE * has_reset + ENABLE_GE * bool(enable)
    raise UnknownCellError(f"no gate-equivalent cost for cell type {cell}")


@dataclass(frozen=True)
class GateArea:
    """A generic-cell netlist in the area model: NAND2 gate equivalents and their silicon area."""

    cells: int
    flip_flops: int
    gate_equivalents: float
    um2_per_ge: float
    area_mm2: float
    flip_flop_ge: float


def gate_area(stat: ModuleStat, um2_per_ge: float = UM2_PER_GE_65NM,
              submodules: Collection[str] = ()) -> GateArea:
    """Cells, flip-flops, gate equivalents and area (mm2) of a generic-cell synthesis; instances of
    ``submodules`` (a module's children in a hierarchical run) are not cells of its own."""
    cells = {c: n for c, n in stat.cells.items() if c not in submodules}
    ge = sum(n * cell_ge(c) for c, n in cells.items())
    flops = {c: n for c, n in cells.items() if is_flip_flop(c)}
    return GateArea(cells=stat.n_cells, flip_flops=sum(flops.values()), gate_equivalents=round(ge, 1),
                    um2_per_ge=um2_per_ge, area_mm2=ge * um2_per_ge * 1e-6,
                    flip_flop_ge=round(sum(n * cell_ge(c) for c, n in flops.items()), 1))
