"""The FPGA flow behind ``make fpga``: every design variant of one model (``codesign.hardware.variants``)
through Yosys ``synth_xilinx``, ECP5 place and route of those that fit, and da4ml's Vivado project when
``vivado`` is on PATH; ``summary.md`` / ``summary.json`` next to the per-variant reports."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json
from codesign.document import Document
from codesign.fpga.synth import ECP5_DEVICES, Ecp5Report, XilinxReport, place_and_route_ecp5, synthesize_fpga
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.variants import DEFAULT_VARIANTS, variant_rtl
from codesign.tools import run_tool


@dataclass(frozen=True)
class FpgaVariant:
    xilinx: XilinxReport
    ecp5: Ecp5Report | None  # None without place and route

    def to_dict(self) -> dict[str, Any]:
        return {"xilinx": self.xilinx.to_dict(), **({"ecp5": self.ecp5.to_dict()} if self.ecp5 else {})}


@dataclass(frozen=True)
class FpgaFlowResult:
    variants: dict[str, FpgaVariant]  # by variant name, in the order built
    vivado: str  # what became of da4ml's Vivado project
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``."""
        return {"variants": {name: v.to_dict() for name, v in self.variants.items()}, "vivado": self.vivado,
                "meta": self.meta}


def fpga_flow(model_dir: str | Path, fixed_rtl: str | Path, out_dir: str | Path,
              *, variants: tuple[str, ...] = DEFAULT_VARIANTS, place_and_route: bool = True,
              pnr_timeout: float = 3600) -> FpgaFlowResult:
    """``synth_xilinx`` of every variant into ``out_dir/VARIANT``, ECP5 place and route of those that fit."""
    out = Path(out_dir)
    rtl = variant_rtl(model_dir, fixed_rtl, out / "rtl", variants=variants)
    rows = {}
    for name in variants:
        xilinx = synthesize_fpga(rtl[name], out / name / "xilinx")
        ecp5 = None
        if place_and_route:
            ecp5 = (_too_large_for_ecp5(xilinx, RtlInfo.load(rtl[name]))
                    or place_and_route_ecp5(rtl[name], out / name / "ecp5", pnr_timeout=pnr_timeout))
        rows[name] = FpgaVariant(xilinx, ecp5)
    result = FpgaFlowResult(rows, _vivado(rtl["fixed"], out / "vivado"), provenance(model=str(model_dir)))
    write_json(out / "summary.json", result.to_dict())
    fpga_summary(result).write(out / "summary.md")
    return result


def fpga_summary(result: FpgaFlowResult) -> Document:
    doc = Document("FPGA implementation")
    rows = []
    for name, v in result.variants.items():
        x, e = v.xilinx.resources, v.ecp5
        ecp5 = ["-", "-", "-"] if e is None else (
            [str(e.LUT4), f"{e.fmax_mhz:.1f}", "yes" if e.meets_timing else "no"] if e.fmax_mhz
            else [str(e.LUT4 or "-"), _estimate(e), e.status])
        rows.append([name, str(x.LUT), str(x.FF), str(x.CARRY), str(x.DSP), *ecp5])
    doc.table(["design", "UltraScale+ LUT", "FF", "CARRY", "DSP", "ECP5 LUT4", "ECP5 Fmax (MHz)", "40 MHz met"], rows)
    doc.paragraph(f"Vivado: {result.vivado}")
    return doc


def _estimate(ecp5: Ecp5Report) -> str:
    est = ecp5.placed_fmax_estimate_mhz
    return f"{est:.1f} (after placement, estimated)" if est else "-"


def _too_large_for_ecp5(xilinx: XilinxReport, info: RtlInfo, device: str = "85k") -> Ecp5Report | None:
    """Skip ECP5 synthesis (an hour for the reconfigurable core) when the UltraScale+ LUT6 count alone
    exceeds the device's LUT4s: a 4-input LUT does no more than a 6-input one."""
    capacity, luts = ECP5_DEVICES[device], xilinx.resources.LUT
    if luts <= capacity:
        return None
    return Ecp5Report(design=xilinx.design, device=f"LFE5U-{device.upper()}", LUT4=None, LUT4_capacity=capacity,
                      fits=False, target_mhz=1000.0 / info.clock_period_ns,
                      status=f"does not fit: {luts} UltraScale+ LUTs > {capacity} LUT4 of LFE5U-{device.upper()}")


def _vivado(rtl: Path, log_dir: Path) -> str:
    """Run the Vivado project TCL da4ml wrote for the fixed design when ``vivado`` is on PATH."""
    tcl = rtl / "build_vivado_prj.tcl"
    vivado = shutil.which("vivado")
    if vivado is None or not tcl.is_file():
        return f"not on PATH; the project script is {tcl}" if tcl.is_file() else "no project script"
    run_tool([vivado, "-mode", "batch", "-source", tcl.name], cwd=rtl, log=log_dir / "vivado.log")
    return f"ran {tcl} (log {log_dir / 'vivado.log'})"
