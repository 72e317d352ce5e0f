"""Pure parsers and area models for Yosys reports (tested on committed sample reports).

Gate equivalents (GE): area in units of a 2-input NAND. The generic Yosys cells are costed with the usual
static-CMOS transistor counts relative to NAND2 (4 transistors); flip-flops as a D flip-flop (+1 GE for a
synchronous set/reset, +1.33 GE for an enable multiplexer). ``UM2_PER_GE_65NM`` converts to silicon area:
1.44 um2, the footprint of a NAND2X1 in typical 65 nm low-power libraries (an assumption stated in every
report; pass LIBERTY=... for a real library's areas).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

from codesign.errors import InputError

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


def parse_yosys_stat(text: str) -> dict[str, Any]:
    """The last module block of a Yosys ``stat`` output: cell counts, total cells, and the chip area when
    ``stat -liberty`` printed one."""
    blocks = re.split(r"^=== (.+) ===$", text, flags=re.M)
    if len(blocks) < 3:
        raise ValueError("no '=== module ===' block in the Yosys statistics")
    return _parse_block(blocks[-2].strip(), blocks[-1])


def parse_yosys_modules(text: str) -> dict[str, dict[str, Any]]:
    """Every module block of a hierarchical Yosys ``stat`` output by module name (the hierarchy total
    left out): each module's own cells, its submodules counted as one cell each."""
    blocks = re.split(r"^=== (.+) ===$", text, flags=re.M)
    return {name.strip(): _parse_block(name.strip(), body) for name, body in zip(blocks[1::2], blocks[2::2],
                                                                               strict=True)
            if name.strip() != "design hierarchy"}


def _parse_block(module: str, body: str) -> dict[str, Any]:
    cells: dict[str, int] = {}
    total: int | None = None
    in_cells = False
    for line in body.splitlines():
        if m := re.match(r"\s+Number of cells:\s+(\d+)", line):
            total, in_cells = int(m.group(1)), True
        elif in_cells and (m := re.match(r"\s+(\S+)\s+(\d+)$", line)):
            cells[m.group(1)] = int(m.group(2))
        elif in_cells and line.strip():
            in_cells = False
    if total is None:
        raise ValueError(f"module {module}: no cell counts in the Yosys statistics")
    area = re.search(r"Chip area for (?:top )?module '?\\?[^':]*'?:\s+([\d.]+)", body)
    return {"module": module, "cells": cells, "n_cells": total, "chip_area": float(area.group(1)) if area else None}


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


def asic_summary(stat: dict[str, Any], um2_per_ge: float = UM2_PER_GE_65NM,
                 submodules: Collection[str] = ()) -> dict[str, Any]:
    """Cells, flip-flops, gate equivalents and area (mm2) of a generic-cell synthesis; instances of
    ``submodules`` (a module's children in a hierarchical run) are not cells of its own."""
    cells = {c: n for c, n in stat["cells"].items() if c not in submodules}
    ge = sum(n * cell_ge(c) for c, n in cells.items())
    flops = sum(n for c, n in cells.items() if is_flip_flop(c))
    return {"cells": stat["n_cells"], "flip_flops": flops, "gate_equivalents": round(ge, 1),
            "um2_per_ge": um2_per_ge, "area_mm2": ge * um2_per_ge * 1e-6}


FPGA_GROUPS = {
    "LUT": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2"),
    "FF": ("FDRE", "FDSE", "FDCE", "FDPE"),
    "CARRY": ("CARRY4", "CARRY8"),
    "DSP": ("DSP48E1", "DSP48E2"),
    "BRAM": ("RAMB18E2", "RAMB36E2", "RAMB18E1", "RAMB36E1"),
    "MUXF": ("MUXF7", "MUXF8", "MUXF9"),
    "SRL": ("SRL16E", "SRLC32E"),
}


def fpga_summary(stat: dict[str, Any]) -> dict[str, int]:
    """LUT / FF / CARRY / DSP / BRAM / MUXF / SRL counts of a ``synth_xilinx`` run."""
    return {group: sum(stat["cells"].get(c, 0) for c in names) for group, names in FPGA_GROUPS.items()}
