"""Yosys synthesis of an RTL folder (``codesign rtl``) for ASIC area and FPGA resources.

The scripts live in ``asic_flow/`` as templates; this module fills in the sources, runs Yosys through
``codesign.tools.run_tool`` (log kept next to the report) and turns the statistics into JSON + markdown.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json, write_text
from codesign.asic.reports import UM2_PER_GE_65NM, asic_summary, fpga_summary, parse_yosys_stat
from codesign.hardware.rtl import RtlInfo
from codesign.tools import require, run_tool

FLOW_DIR = Path(__file__).resolve().parents[2] / "asic_flow"
# The published ECON-T ASIC (65 nm LP CMOS), for the side-by-side table: the whole chip, not the encoder only.
ECONT_PUBLISHED = {"area_mm2": 3.6, "power_mW_at_40MHz": 95.0, "energy_nJ_per_inference": 2.4}


def _script(template: str, rtl_dir: Path, info: RtlInfo, out: Path, top: str, **extra: str) -> Path:
    sources = " ".join(str(rtl_dir / s) for s in info.sources)
    text = (FLOW_DIR / template).read_text().format(sources=sources, top=top,
                                                    stat_file=out / "yosys_stat.txt", **extra)
    script = out / template
    script.write_text(text)
    return script


def _yosys(script: Path, out: Path, timeout: float | None) -> dict[str, Any]:
    yosys = require("yosys", "install Yosys (apt-get install yosys, or `make setup`)")
    run_tool([yosys, "-q", "-l", str(out / "yosys.log"), str(script)], cwd=out, log=out / "yosys_stdout.log",
             timeout=timeout)
    return parse_yosys_stat((out / "yosys_stat.txt").read_text())


def _module(info: RtlInfo, part: str) -> str:
    if part not in ("top", "core"):
        raise ValueError(f"part must be 'top' (CALQ in, frame out) or 'core' (the encoder alone), got {part!r}")
    return info.top if part == "top" else info.core


def synthesize_asic(rtl_dir: str | Path, out_dir: str | Path, liberty: str | Path | None = None,
                    um2_per_ge: float = UM2_PER_GE_65NM, timeout: float | None = None,
                    part: str = "top") -> dict[str, Any]:
    """Generic-cell synthesis with the gate-equivalent area model, or a real library when ``liberty``.
    ``part="core"`` synthesises the encoder alone (what a design-space sweep varies)."""
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl)
    top = _module(info, part)
    if liberty:
        script = _script("asic_liberty.ys", rtl, info, out, top, liberty=str(Path(liberty).resolve()),
                         netlist=str(out / "netlist.v"))
        stat = _yosys(script, out, timeout)
        summary = {"cells": stat["n_cells"], "library_area_um2": stat["chip_area"], "liberty": str(liberty)}
    else:
        stat = _yosys(_script("asic_generic.ys", rtl, info, out, top, netlist=str(out / "netlist.v")), out, timeout)
        summary = asic_summary(stat, um2_per_ge)
    report = {"design": top, "latency_cycles": info.latency_cycles, "clock_period_ns": info.clock_period_ns,
              **summary, "cell_counts": stat["cells"], "published_econt": ECONT_PUBLISHED,
              "meta": provenance(rtl=str(rtl))}
    write_json(out / "asic_report.json", report)
    write_text(out / "asic_report.md", _asic_markdown(report))
    return report


def synthesize_fpga(rtl_dir: str | Path, out_dir: str | Path, timeout: float | None = None,
                    part: str = "top") -> dict[str, Any]:
    """UltraScale+ synthesis (``synth_xilinx``): LUT, FF, CARRY, DSP, BRAM counts."""
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl)
    top = _module(info, part)
    stat = _yosys(_script("fpga_xilinx.ys", rtl, info, out, top), out, timeout)
    report = {"design": top, "family": "xcup (UltraScale+)", **fpga_summary(stat),
              "estimated_luts_da4ml": info.estimated_luts, "cell_counts": stat["cells"],
              "meta": provenance(rtl=str(rtl))}
    write_json(out / "fpga_report.json", report)
    write_text(out / "fpga_report.md", "# FPGA synthesis (Yosys synth_xilinx, UltraScale+)\n\n| LUT | FF | CARRY | "
               "DSP | BRAM | da4ml LUT estimate |\n|---|---|---|---|---|---|\n"
               f"| {report['LUT']} | {report['FF']} | {report['CARRY']} | {report['DSP']} | {report['BRAM']} | "
               f"{info.estimated_luts:.0f} |\n")
    return report


def _asic_markdown(r: dict[str, Any]) -> str:
    lines = ["# ASIC synthesis (Yosys)", ""]
    if "gate_equivalents" in r:
        lines += ["| design | cells | flip-flops | gate equivalents | area (mm2, 65 nm model) |",
                  "|---|---|---|---|---|",
                  f"| {r['design']} | {r['cells']} | {r['flip_flops']} | {r['gate_equivalents']:.0f} | "
                  f"{r['area_mm2']:.3f} |", "",
                  f"Area model: NAND2-equivalent gate counts x {r['um2_per_ge']} um2 per GE "
                  "(assumed 65 nm LP NAND2X1)."]
    else:
        lines += [f"Library {r['liberty']}: {r['cells']} cells, {r['library_area_um2']} um2 (library units)."]
    pub = r["published_econt"]
    lines += ["", f"Published ECON-T ASIC (whole chip, 65 nm LP): {pub['area_mm2']} mm2, "
              f"{pub['power_mW_at_40MHz']} mW at 40 MHz, {pub['energy_nJ_per_inference']} nJ/inference."]
    return "\n".join(lines) + "\n"
