"""ASIC synthesis of an RTL folder (``codesign rtl``) with Yosys: gate equivalents and area in the project's
65 nm model, or a real library's areas and OpenSTA timing, and the area of each part of the top.

Every function returns a typed report and writes it as JSON (``to_dict()``) and markdown beside Yosys' log.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json
from codesign.asic.energy import EnergyReport
from codesign.asic.gatesim import NETLIST_JSON
from codesign.asic.reports import UM2_PER_GE_65NM, GateArea, gate_area
from codesign.document import Document
from codesign.hardware.block import BLOCK_TOP
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.sparse_select import BLOCK_BY_TC_MODULE, BLOCK_SPARSE_MODULE, BY_TC_MODULE, SPARSE_MODULE
from codesign.hardware.topgen import CONVERT_MODULE, DELAY_MODULE, TOP_MODULE
from codesign.hardware.yosys import run_yosys, yosys_script
from codesign.paths import ASIC_FLOW_DIR
from codesign.tools import ToolError, run_tool


@dataclasses.dataclass(frozen=True)
class PublishedChip:
    """The published ECON-T autoencoder block (65 nm LP CMOS: input converter, encoder and I2C weight
    registers), for the side-by-side tables; not the whole chip, not the encoder alone."""

    area_mm2: float = 3.6
    power_mW_at_40MHz: float = 95.0  # noqa: N815  (the unit's spelling, as in the JSON)
    energy_nJ_per_inference: float = 2.4  # noqa: N815


ECONT_PUBLISHED = PublishedChip()


@dataclasses.dataclass(frozen=True)
class TimingReport:
    """OpenSTA's worst setup slack of a library-mapped netlist, or why there is none (``status``)."""

    status: str  # "ok" or "skipped: ..."
    clock_period_ns: float | None = None
    worst_slack_ns: float | None = None
    fmax_mhz: float | None = None
    meets_timing: bool | None = None


@dataclasses.dataclass(frozen=True)
class LibraryArea:
    liberty: str
    cells: int
    library_area_um2: float  # in the library's units
    timing: TimingReport


@dataclasses.dataclass(frozen=True)
class AreaPart:
    part: str
    gate_equivalents: float
    flip_flop_ge: float | None  # None for the core, measured as a difference


@dataclasses.dataclass(frozen=True)
class AsicReport:
    """One synthesis: generic cells (``area``) or a real library (``library``); ``energy`` once estimated."""

    design: str
    latency_cycles: int
    clock_period_ns: float
    cell_counts: dict[str, int]
    meta: dict[str, Any]
    area: GateArea | None = None
    library: LibraryArea | None = None
    split: tuple[AreaPart, ...] = ()
    energy: EnergyReport | None = None
    published_econt: PublishedChip = ECONT_PUBLISHED

    def to_dict(self) -> dict[str, Any]:
        """``asic_report.json``: the area's or the library's fields at the top level."""
        fields = dataclasses.asdict(self.area) if self.area else dataclasses.asdict(self.library) if self.library \
            else {}
        return {"design": self.design, "latency_cycles": self.latency_cycles,
                "clock_period_ns": self.clock_period_ns, **fields,
                **({"split": [dataclasses.asdict(p) for p in self.split]} if self.split else {}),
                **({"energy": self.energy.to_dict()} if self.energy else {}),
                "cell_counts": self.cell_counts, "published_econt": dataclasses.asdict(self.published_econt),
                "meta": self.meta}


def synthesize_asic(rtl_dir: str | Path, out_dir: str | Path, liberty: str | Path | None = None,
                    *, um2_per_ge: float = UM2_PER_GE_65NM, timeout: float | None = None,
                    part: str = "top", split: bool = False) -> AsicReport:
    """Generic-cell synthesis with the gate-equivalent area model, or a real library when ``liberty``.
    ``part="core"`` synthesises the encoder alone (what a design-space sweep varies); ``split`` adds the
    area of each part of the top (``area_split``, generic cells only)."""
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl)
    top = info.module(part)
    area, library = None, None
    parts: tuple[AreaPart, ...] = ()
    if liberty:
        lib = Path(liberty).resolve()
        stats = run_yosys(yosys_script("asic_liberty.ys", rtl, info, out, top, liberty=str(lib),
                                       netlist=str(out / "netlist.v")), out, timeout=timeout)
        library = LibraryArea(liberty=str(liberty), cells=stats.design.n_cells,
                              library_area_um2=stats.chip_area or 0.0,
                              timing=static_timing(lib, out / "netlist.v", top, period_ns=info.clock_period_ns,
                                                   out=out, sdc=_constraints(rtl, info, top), timeout=timeout))
    else:
        stats = run_yosys(yosys_script("asic_generic.ys", rtl, info, out, top, netlist=str(out / "netlist.v"),
                                       netlist_json=str(out / NETLIST_JSON)),
                          out, timeout=timeout)
        area = gate_area(stats.design, um2_per_ge)
        if split and part == "top":
            parts = tuple(area_split(rtl, out / "split", area.gate_equivalents, timeout=timeout))
    report = AsicReport(design=top, latency_cycles=info.latency_cycles, clock_period_ns=info.clock_period_ns,
                        cell_counts=stats.design.cells, area=area, library=library, split=parts,
                        meta=provenance(rtl=str(rtl), rtl_sha256=info.sources_sha256(rtl)))
    write_report(report, out)
    return report


def write_report(report: AsicReport, out: Path) -> None:
    """``asic_report.json`` and ``asic_report.md`` in ``out`` (again once the energy is known)."""
    write_json(out / "asic_report.json", report.to_dict())
    asic_document(report).write(out / "asic_report.md")


# the top's modules (codesign.hardware) by the part of the design they are; the delay lines are the top's
TOP_PART = "frame register, side pipeline, valid (hybrid: the selector's input register; block: frame multiplexers)"
SPLIT_PARTS = {CONVERT_MODULE: "on-chip conversion (input register, sum, shifts, sum code)",
               SPARSE_MODULE: "sparse selector", BY_TC_MODULE: "sparse selector", TOP_MODULE: TOP_PART,
               DELAY_MODULE: TOP_PART, BLOCK_SPARSE_MODULE: "sparse selector", BLOCK_BY_TC_MODULE: "sparse selector",
               BLOCK_TOP: TOP_PART}
CORE_PART = "encoder core (the rest of the flattened total)"


def area_split(rtl_dir: Path, out_dir: Path, total_ge: float, *, timeout: float | None = None) -> list[AreaPart]:
    """Gate equivalents of the conversion, the sparse selector and the frame logic, from one hierarchical
    synthesis of the top with the encoder core as a black box; the core is what the flattened total
    (``total_ge``) leaves, so that the parts add up to it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl_dir)
    modules = run_yosys(yosys_script("asic_split.ys", rtl_dir, info, out_dir, info.top, core=info.core), out_dir,
                        timeout=timeout).modules
    modules.pop(info.core, None)  # the black box, if Yosys lists it
    unknown = sorted({_module_base(name) for name in modules} - set(SPLIT_PARTS))
    if unknown:
        raise ToolError(f"area split: module(s) {unknown} of {rtl_dir} belong to no known part")
    ge: dict[str, float] = {}
    flops: dict[str, float] = {}
    submodules = [*modules, info.core]
    for name, stat in modules.items():
        part = SPLIT_PARTS[_module_base(name)]
        own = gate_area(stat, submodules=submodules)
        ge[part] = ge.get(part, 0.0) + own.gate_equivalents
        flops[part] = flops.get(part, 0.0) + own.flip_flop_ge
    parts = [AreaPart(part, round(ge[part], 1), round(flops[part], 1)) for part in dict.fromkeys(SPLIT_PARTS.values())
             if part in ge]
    return [*parts, AreaPart(CORE_PART, round(total_ge - sum(ge.values()), 1), None)]


def _module_base(name: str) -> str:
    """The module a Yosys name stands for: ``$paramod\\econt_delay\\WIDTH=...`` (or ``$paramod$<hash>\\...``,
    one per parameter set) -> ``econt_delay``."""
    found = re.match(r"^\$paramod(?:\$[0-9a-f]+)?\\([^\\]+)", name)
    return found.group(1) if found else name


def _constraints(rtl: Path, info: RtlInfo, top: str) -> Path | None:
    """The RTL folder's generated SDC when the top itself is timed (a part alone has other ports)."""
    sdc = rtl / "src" / f"{info.top}.sdc"
    return sdc if top == info.top and sdc.is_file() else None


def _has_timing_tables(liberty: Path) -> bool:
    """Whether a liberty file has delay tables, read line by line (libraries run to hundreds of MB)."""
    with liberty.open(errors="replace") as handle:
        return any("cell_rise" in line for line in handle)


def static_timing(liberty: Path, netlist: Path, top: str, *, period_ns: float, out: Path, sdc: Path | None = None,
                  timeout: float | None = None) -> TimingReport:
    """OpenSTA worst setup slack and Fmax of a library-mapped netlist under ``sdc`` (the RTL's generated
    constraints; without one, a ``period_ns`` clock and zero I/O delay); a note instead when OpenSTA is not
    installed or the library has no timing arcs."""
    if not _has_timing_tables(liberty):
        return TimingReport(f"skipped: {liberty.name} has no timing tables")
    sta = shutil.which("sta")
    if sta is None:
        return TimingReport("skipped: OpenSTA (sta) not installed; apt-get install opensta")
    env = {"STA_LIBERTY": str(liberty), "STA_NETLIST": str(netlist), "STA_TOP": top, "STA_PERIOD": f"{period_ns:g}",
           **({"STA_SDC": str(sdc)} if sdc is not None else {})}
    run_tool([sta, "-no_splash", "-exit", str(ASIC_FLOW_DIR / "sta.tcl")], cwd=out, log=out / "sta.log", env=env,
             timeout=timeout)
    slacks = re.findall(r"^\s*(-?[\d.]+)\s+slack \((MET|VIOLATED)\)", (out / "sta.log").read_text(), re.M)
    if not slacks:
        raise ToolError(f"OpenSTA reported no timing path; log: {out / 'sta.log'}")
    slack = min(float(s) for s, _ in slacks)
    return TimingReport("ok", clock_period_ns=period_ns, worst_slack_ns=slack, fmax_mhz=1000.0 / (period_ns - slack),
                        meets_timing=slack >= 0)




def add_split(doc: Document, split: tuple[AreaPart, ...], um2_per_ge: float) -> None:
    total = sum(p.gate_equivalents for p in split)
    doc.paragraph("Area split (the top with the core as a black box, hierarchy kept):")
    doc.table(["part", "gate equivalents", "of which flip-flops", "area (mm2)", "share"],
              [[p.part, f"{p.gate_equivalents:.0f}", "-" if p.flip_flop_ge is None else f"{p.flip_flop_ge:.0f}",
                f"{p.gate_equivalents * um2_per_ge * 1e-6:.4f}", f"{100 * p.gate_equivalents / total:.1f} %"]
               for p in split])


def asic_document(r: AsicReport) -> Document:
    doc = Document("ASIC synthesis (Yosys)")
    if r.area:
        a = r.area
        doc.table(["design", "cells", "flip-flops", "gate equivalents", "area (mm2, 65 nm model)"],
                  [[r.design, str(a.cells), str(a.flip_flops), f"{a.gate_equivalents:.0f}", f"{a.area_mm2:.3f}"]])
        doc.paragraph(f"Area model: NAND2-equivalent gate counts x {a.um2_per_ge} um2 per GE (assumed 65 nm LP "
                      "NAND2X1).")
        if r.split:
            add_split(doc, r.split, a.um2_per_ge)
    if r.library:
        lib, t = r.library, r.library.timing
        doc.paragraph(f"Library {lib.liberty}: {lib.cells} cells, {lib.library_area_um2} um2 (library units).")
        doc.paragraph(f"OpenSTA: worst setup slack {t.worst_slack_ns:.3f} ns at {t.clock_period_ns} ns, "
                      f"Fmax {t.fmax_mhz:.1f} MHz ({'meets' if t.meets_timing else 'misses'} the clock)."
                      if t.status == "ok" else f"OpenSTA: {t.status}.")
    if r.energy:
        doc.paragraph(f"Energy (gate-level simulation, {r.energy.wafers} wafers): "
                      f"{r.energy.energy_nJ_per_inference:.3f} nJ/inference, {r.energy.power_mW_at_40MHz:.1f} mW "
                      "at 40 MHz.")
    pub = r.published_econt
    doc.paragraph(f"Published ECON-T autoencoder block (converter, encoder, I2C; 65 nm LP): {pub.area_mm2} mm2, "
                  f"{pub.power_mW_at_40MHz} mW at 40 MHz, {pub.energy_nJ_per_inference} nJ/inference.")
    return doc
