"""Energy per inference from switching activity: gate-level simulation of the synthesised netlist on real
wafers (its output frames are checked against Keras on the way), bit toggles counted, times a stated energy
per toggle. A reconfigurable netlist first gets the model's weights through its serial port (not counted) and,
with a reuse factor R, a wafer every R clocks.

Three simulators run the same bench (``testbench_verilog``): the built-in one (``gatesim``, the default) reads
the flattened netlist Yosys writes as JSON and counts each net once, in seconds; Verilator and Icarus compile
``netlist.v`` (Verilator two to three minutes for the full encoder, Icarus far longer) and count a VCD, in
which a net has an entry per name: Icarus gives every alias of a net its own (the tiny design: 46 % more
toggles than nets), Verilator part of them (25 %). The built-in count equals Icarus' wire by wire (slow test).
Before session 19 the energies came from Verilator's VCD and so counted aliases; before session 18 they also
missed the nets Yosys names ``_123_`` (``--trace-underscore``).

``FJ_PER_TOGGLE_65NM`` = 5 fJ: C V^2 / 2 with about 7 fF switched per node (gate input + wire) at 1.2 V, a
round figure for a 65 nm LP library; it is an assumption, stated in every report. The clock is one net, so
the clock pins are added apart: ``FJ_PER_FLIP_FLOP_CLOCK`` = 2 fJ per flip-flop clock pin and cycle (about
1.4 fF of clock pin and local wire charged and discharged at 1.2 V); the clock tree's buffers are not counted.
A design with reuse factor R clocks its flip-flops R times per wafer. The built-in simulator counts the pins
that switch with clock gating as synthesis inserts it (``gatesim.ClockGating``: a register bank with an enable
is clocked only in the cycles it is enabled, through clock-gate cells that each cost one pin every cycle);
the report also gives the clock energy without gating, every flip-flop every cycle, which is what the HDL
simulators' figures and every report before session 25 assume. The area model still charges each enabled
flip-flop its enable multiplexer, which a clock gate replaces: conservative.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json, write_text
from codesign.asic.gatesim import NETLIST_JSON, GateNetlist, GateSimulation
from codesign.econt.algorithms import ORBIT_BX
from codesign.econt.autoencoder import HEADER_BITS
from codesign.errors import InputError, VerificationError
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.vectors import read_vectors
from codesign.tools import ToolNotFoundError, require, run_tool, verilator_env

SIMULATORS = ("netlist", "verilator", "icarus")  # the built-in gate simulator first: no build
FJ_PER_TOGGLE_65NM = 5.0
FJ_PER_FLIP_FLOP_CLOCK = 2.0
CLOCK_MHZ = 40.0


def simcells() -> Path:
    """Yosys' simulation models of its generic cells, from the installation the ``yosys`` on PATH belongs
    to (PREFIX/bin/yosys -> PREFIX/share/yosys/simcells.v)."""
    yosys = require("yosys", "install Yosys (apt-get install yosys, or `make setup`)")
    path = Path(yosys).resolve().parent.parent / "share" / "yosys" / "simcells.v"
    if not path.is_file():
        raise ToolNotFoundError(f"{path}: Yosys' simcells.v not found beside {yosys}")
    return path


@dataclass(frozen=True)
class EnergyReport:
    """Energy per inference of a netlist: signal toggles (simulated) plus clock pins (flip-flops x cycles),
    each times its stated energy; ``to_dict()`` is ``energy_report.json`` without its provenance."""

    wafers: int
    toggles: int
    fj_per_toggle: float
    flip_flops: int
    clock_cycles_per_inference: int  # the initiation interval: R for a reuse factor R
    simulator: str
    fj_per_flip_flop_clock_cycle: float = FJ_PER_FLIP_FLOP_CLOCK
    # flip-flop clock pins (and clock gates) switched per cycle with clock gating, measured by the built-in
    # simulator; None: not measured (an HDL simulator), every flip-flop every cycle
    clock_pins_per_cycle: float | None = None

    @property
    def toggles_per_wafer(self) -> float:
        return self.toggles / self.wafers

    @property
    def signal_nJ_per_inference(self) -> float:  # noqa: N802  (the unit's spelling, as in the JSON)
        return self.toggles_per_wafer * self.fj_per_toggle * 1e-6

    @property
    def clock_nJ_per_inference(self) -> float:  # noqa: N802
        pins = self.flip_flops if self.clock_pins_per_cycle is None else self.clock_pins_per_cycle
        return pins * self.clock_cycles_per_inference * self.fj_per_flip_flop_clock_cycle * 1e-6

    @property
    def ungated_clock_nJ_per_inference(self) -> float:  # noqa: N802
        return self.flip_flops * self.clock_cycles_per_inference * self.fj_per_flip_flop_clock_cycle * 1e-6

    @property
    def energy_nJ_per_inference(self) -> float:  # noqa: N802
        return self.signal_nJ_per_inference + self.clock_nJ_per_inference

    @property
    def power_mW_at_40MHz(self) -> float:  # noqa: N802
        return self.energy_nJ_per_inference * 1e-9 * CLOCK_MHZ * 1e6 * 1e3

    def to_dict(self) -> dict[str, Any]:
        derived = ("toggles_per_wafer", "signal_nJ_per_inference", "clock_nJ_per_inference",
                   "ungated_clock_nJ_per_inference", "energy_nJ_per_inference", "power_mW_at_40MHz")
        return {**dataclasses.asdict(self), **{name: getattr(self, name) for name in derived}}


def testbench_verilog(info: RtlInfo, n_vectors: int, inputs_hex: str, *, vcd: str, skip_wafers: int,
                      config_hex: str | None = None, n_distinct: int | None = None) -> str:
    """A plain Verilog bench: one wafer per ``initiation_interval`` clocks from ``inputs_hex`` (a
    reconfigurable design first gets its weights, ``config_hex``, through the serial port); activity dumped
    from wafer ``skip_wafers`` on (after the pipeline fill) so the count covers the steady state only. A top
    whose frame carries BX_CNT gets that of wafer i mod ``n_distinct`` (the vectors' own bunch crossings)."""
    width = 48 * info.calq_bits
    bx = [] if not info.bx_in_frame else [
        f"            k = i % {n_distinct or n_vectors}; k = k % {ORBIT_BX};",
        f"            bx_cnt = k == 0 ? {HEADER_BITS}'d31 : k[{HEADER_BITS - 1}:0] & {HEADER_BITS}'d15;"]
    period = info.clock_period_ns
    cfg = info.config_bits
    load = [
        f"        $readmemh(\"{config_hex}\", image);",
        f"        for (i = 0; i < {cfg}; i = i + 1) begin cfg_in = image[0][i]; cfg_en = 1; @(negedge clk); end",
        "        cfg_en = 0;",
    ] if cfg else []
    idle = (f"            valid_in = 0; repeat ({info.initiation_interval - 1}) @(negedge clk);"
            if info.initiation_interval > 1 else "")
    return "\n".join([
        "`timescale 1ns / 1ps",
        "module energy_tb;",
        "    reg clk = 0, rst = 1, valid_in = 0;",
        f"    reg [{width - 1}:0] calq = 0;",
        f"    reg [{width - 1}:0] mem [0:{n_vectors - 1}];",
        *([f"    reg [{cfg - 1}:0] image [0:0];", "    reg cfg_en = 0, cfg_in = 0;", "    wire cfg_out;"]
          if cfg else []),
        *([f"    reg [{HEADER_BITS - 1}:0] bx_cnt = 0;", "    integer k;"] if bx else []),
        "    wire valid_out;",
        f"    wire [{info.frame_bits - 1}:0] frame;",
        f"    {info.top} dut (.clk(clk), .rst(rst), .valid_in(valid_in), .calq(calq), .valid_out(valid_out), "
        ".frame(frame)" + (", .bx_cnt(bx_cnt)" if bx else "")
        + (", .cfg_en(cfg_en), .cfg_in(cfg_in), .cfg_out(cfg_out));" if cfg else ");"),
        f"    always #{period / 2:g} clk = ~clk;",
        "    integer i, out;",
        '    initial out = $fopen("frames.hex", "w");',
        '    always @(posedge clk) if (valid_out === 1\'b1) $fwrite(out, "%h\\n", frame);',
        "    initial begin",
        f'        $readmemh("{inputs_hex}", mem);',
        "        @(negedge clk) rst = 0;",
        *load,
        f"        for (i = 0; i < {n_vectors}; i = i + 1) begin",
        f'            if (i == {skip_wafers}) begin $dumpfile("{vcd}"); $dumpvars(0, dut); end',
        *bx,
        "            calq = mem[i]; valid_in = 1;",
        "            @(negedge clk);",
        *([idle] if idle else []),
        "        end",
        "        valid_in = 0;",
        f"        repeat ({info.latency_cycles + 1}) @(negedge clk);",
        "        $fclose(out);",
        "        $finish;",
        "    end",
        "endmodule",
        "",
    ])


def count_toggles(vcd_lines: Iterable[str]) -> int:
    """Bit changes in a VCD after its initial ``$dumpvars`` block (the first values are not toggles)."""
    last: dict[str, str] = {}
    toggles = 0
    for line in vcd_lines:
        if not line or line[0] in "$#":
            continue
        if line[0] in "01xz":
            value, ident = line[0], line[1:].strip()
        elif line[0] in "bB":
            value, ident = line[1:].split()
        else:
            continue
        old = last.get(ident)
        if old is not None:
            width = max(len(old), len(value))
            toggles += sum(a != b for a, b in zip(old.rjust(width, "0"), value.rjust(width, "0"), strict=True))
        last[ident] = value
    return toggles


def _build(simulator: str, netlist: Path, work: Path, timeout: float | None) -> None:
    """Compile ``energy_tb.v`` + ``netlist`` in ``work``; ``_run`` then writes frames.hex and activity.vcd."""
    if simulator == "icarus":
        iverilog = require("iverilog", "install Icarus Verilog (apt-get install iverilog, or `make setup`)")
        run_tool([iverilog, "-o", "sim.vvp", "-s", "energy_tb", "energy_tb.v", str(netlist), str(simcells())],
                 cwd=work, log=work / "iverilog.log", timeout=timeout)
        return
    # --timing (the bench's clock and delays) needs C++20 coroutines, which g++ 12 enables only on request;
    # --trace-underscore: Yosys names the netlist's internal nets _123_, which Verilator leaves out of the VCD
    # otherwise (about four in five toggles of a netlist)
    run_tool(["verilator", "--binary", "--timing", "-CFLAGS", "-std=gnu++20 -fcoroutines", "--trace",
              "--trace-underscore", "-Wno-fatal", "-Wno-lint", "-Wno-style", "--top-module", "energy_tb", "-j", "0",
              "--Mdir", "obj", "energy_tb.v", str(netlist)], cwd=work, log=work / "verilator.log", env=verilator_env(),
             timeout=timeout)


def _run(simulator: str, work: Path, timeout: float | None) -> None:
    if simulator == "icarus":
        run_tool(["vvp", "-n", "sim.vvp"], cwd=work, log=work / "vvp.log", timeout=timeout)
    else:
        run_tool([str(work / "obj" / "Venergy_tb")], cwd=work, log=work / "sim.log", env=verilator_env(),
                 timeout=timeout)


def estimate_energy(asic_dir: str | Path, rtl_dir: str | Path, vectors_dir: str | Path, *, n_wafers: int = 200,
                    fj_per_toggle: float = FJ_PER_TOGGLE_65NM, timeout: float | None = None,
                    simulator: str = "netlist", config_image: str | Path | None = None,
                    keep_vcd: bool = False) -> EnergyReport:
    """Simulate ``asic_dir/netlist.v`` on ``n_wafers`` vectors and write ``energy_report.json``. A
    reconfigurable design needs ``config_image`` (``codesign asic config``) of the model the vectors are of;
    the weights' loading is not counted."""
    report = estimate_energies(asic_dir, rtl_dir, [(vectors_dir, config_image)], n_wafers=n_wafers,
                               fj_per_toggle=fj_per_toggle, timeout=timeout, simulator=simulator,
                               keep_vcd=keep_vcd)[0]
    write_json(Path(asic_dir) / "energy_report.json", {**report.to_dict(), "meta": provenance(netlist=str(asic_dir))})
    return report


def estimate_energies(asic_dir: str | Path, rtl_dir: str | Path,
                      runs: Sequence[tuple[str | Path, str | Path | None]], *, n_wafers: int = 200,
                      fj_per_toggle: float = FJ_PER_TOGGLE_65NM, timeout: float | None = None,
                      simulator: str = "netlist", keep_vcd: bool = False) -> list[EnergyReport]:
    """``estimate_energy`` for several (vectors folder, configuration image or None) on one netlist: a
    reconfigurable design runs each image's wafers in turn (every folder with as many wafers). With
    ``keep_vcd`` an HDL simulator's activity stays in ``asic_dir/energy`` (``activity.vcd``, or
    ``activity_<k>.vcd`` for run k of several) for a waveform viewer; otherwise it is deleted once counted."""
    if simulator not in SIMULATORS:
        raise InputError(f"simulator {simulator!r}: choose one of {', '.join(SIMULATORS)}")
    asic, info = Path(asic_dir).resolve(), RtlInfo.load(rtl_dir)
    if any(bool(info.config_bits) != (image is not None) for _, image in runs):
        raise InputError(f"{rtl_dir}: a reconfigurable design needs its configuration image (--config-image), "
                         "a fixed one none")
    vectors = [read_vectors(folder)[:2] for folder, _ in runs]
    sizes = {len(inputs) for inputs, _ in vectors}
    if len(sizes) != 1:
        raise InputError(f"the vectors folders hold different numbers of wafers ({sorted(sizes)}): one bench, one size")
    n_distinct = sizes.pop()
    n = min(n_wafers, n_distinct) + info.latency_cycles
    simulate = (_netlist_simulation(asic, info, n, n_distinct) if simulator == "netlist"
                else _hdl_simulation(simulator, asic, info, n, n_distinct, timeout,
                                     keep_vcd=_vcd_names(len(runs)) if keep_vcd else None))
    flip_flops = json.loads((asic / "asic_report.json").read_text())["flip_flops"]
    reports = []
    for (inputs, expected), (_, image) in zip(vectors, runs, strict=True):
        frames, toggles, clock_pins = simulate(inputs, None if image is None else Path(image))
        wrong = sum(f != expected[i % n_distinct] for i, f in enumerate(frames))
        if len(frames) != n or wrong:
            raise VerificationError(f"gate-level netlist: {len(frames)} frames for {n} wafers, {wrong} differ from "
                                    "the golden model")
        reports.append(EnergyReport(wafers=n - info.latency_cycles, toggles=toggles, fj_per_toggle=fj_per_toggle,
                                    flip_flops=flip_flops, clock_cycles_per_inference=info.initiation_interval,
                                    simulator=simulator, clock_pins_per_cycle=clock_pins))
    shutil.rmtree(asic / "energy" / "obj", ignore_errors=True)
    return reports


# (wafers, image) -> frames, toggles, clock pins per cycle with clock gating (None: not measured)
Simulation = Callable[[Sequence[int], Path | None], tuple[list[int], int, float | None]]


def _netlist_simulation(asic: Path, info: RtlInfo, n: int, n_distinct: int) -> Simulation:
    path = asic / NETLIST_JSON
    if not path.is_file():
        raise InputError(f"{path} not found: synthesise again (`codesign asic synth`); netlists from before "
                         "session 19 have only netlist.v (or pass --sim verilator)")
    netlist = GateNetlist.load(path)

    def simulate(calq: Sequence[int], image: Path | None) -> tuple[list[int], int, float | None]:
        frames, sim = netlist_bench(netlist, info, calq, n=n, n_distinct=n_distinct, image=image)
        return frames, sim.toggles, sim.clock_pins / sim.rising_edges

    return simulate


def config_register_wires(info: RtlInfo) -> list[str]:
    """The flattened netlist's wires that hold the configuration register: its three copies with TMR, else the
    register itself; in the core's instance ``core`` unless the top holds it (the fault testbench's names)."""
    holder = "" if info.core == info.top else "core."
    return [f"{holder}copy_{c}.q" for c in "abc"] if info.tmr else [f"{holder}cfg"]


def netlist_bench(netlist: GateNetlist, info: RtlInfo, calq: Sequence[int], *, n: int, n_distinct: int,
                  image: Path | None) -> tuple[list[int], GateSimulation]:
    """``testbench_verilog``'s stimulus on the built-in simulator (``gatesim``): the same clock periods, inputs
    changed at the falling edge, frames sampled before the rising one, toggles counted from the falling edge
    of wafer ``latency_cycles``. Returns the frames in order and the finished simulation."""
    sim, frames = GateSimulation(netlist), []

    def period(*, first_counted: bool = False) -> None:
        sim.settle()
        if first_counted:  # as $dumpvars at that wafer: the values of its falling edge are the first ones
            sim.counting()
        if sim.read("valid_out"):
            frames.append(sim.read("frame"))
        sim.rising_edge()

    sim.drive(rst=1)
    period()
    sim.drive(rst=0)
    if image is not None:
        # the register holds the image after config_bits shifts; written directly, as the gate simulator
        # would take about a minute per thousand bits to shift it in (the image's loading is not counted)
        bits = int(image.read_text().split()[0], 16)
        for wire in config_register_wires(info):
            sim.preload(wire, bits)
        period()
    for i in range(n):
        if info.bx_in_frame:
            k = i % n_distinct % ORBIT_BX
            sim.drive(bx_cnt=31 if k == 0 else k & 15)
        sim.drive(calq=calq[i % n_distinct], valid_in=1)
        period(first_counted=i == info.latency_cycles)
        for _ in range(info.initiation_interval - 1):
            sim.drive(valid_in=0)
            period()
    sim.drive(valid_in=0)
    for _ in range(info.latency_cycles + 1):
        period()
    return frames, sim


def _vcd_names(runs: int) -> Iterator[str]:
    """Where the kept VCD of each run goes: ``activity.vcd`` for one run, ``activity_<k>.vcd`` for several."""
    return iter(["activity.vcd"] if runs == 1 else [f"activity_{k}.vcd" for k in range(runs)])


def _hdl_simulation(simulator: str, asic: Path, info: RtlInfo, n: int, n_distinct: int,
                    timeout: float | None, *, keep_vcd: Iterator[str] | None = None) -> Simulation:
    """``testbench_verilog`` + ``netlist.v`` built once by Verilator or Icarus; each run dumps a VCD, kept
    under the next of ``keep_vcd``'s names or deleted once counted."""
    work = asic / "energy"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    write_text(work / "energy_tb.v", testbench_verilog(info, n, "inputs.hex", vcd="activity.vcd",
                                                       skip_wafers=info.latency_cycles,
                                                       config_hex="image.hex" if info.config_bits else None,
                                                       n_distinct=n_distinct))
    _build(simulator, asic / "netlist.v", work, timeout)
    digits = (48 * info.calq_bits + 3) // 4

    def simulate(calq: Sequence[int], image: Path | None) -> tuple[list[int], int, float | None]:
        write_text(work / "inputs.hex", "".join(f"{calq[i % n_distinct]:0{digits}x}\n" for i in range(n)))
        if image is not None:
            shutil.copy(image, work / "image.hex")
        _run(simulator, work, timeout)
        with (work / "activity.vcd").open() as handle:
            toggles = count_toggles(handle)
        if keep_vcd is None:
            (work / "activity.vcd").unlink()  # large; the count is in the report
        else:
            (work / "activity.vcd").replace(work / next(keep_vcd))
        return [int(x, 16) for x in (work / "frames.hex").read_text().split()], toggles, None

    return simulate
