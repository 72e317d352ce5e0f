"""Energy per inference from switching activity: gate-level simulation of the synthesised netlist on real
wafers (Verilator by default, Icarus as an option; VCD; its output frames are checked against Keras on the
way), bit toggles counted, times a stated energy per toggle. Yosys writes the generic netlist as plain
assignments and flip-flop processes, which Verilator compiles in about a minute for the full encoder;
Icarus gave no result in 7 minutes on it.

``FJ_PER_TOGGLE_65NM`` = 5 fJ: C V^2 / 2 with about 7 fF switched per node (gate input + wire) at 1.2 V, a
round figure for a 65 nm LP library; it is an assumption, stated in every report. The count includes the
clock net and every flip-flop output, so the clock tree's own energy is only partly covered.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json, write_text
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.vectors import read_vectors
from codesign.tools import require, run_tool, verilator_env

FJ_PER_TOGGLE_65NM = 5.0
CLOCK_MHZ = 40.0
SIMCELLS = Path("/usr/share/yosys/simcells.v")


def testbench_verilog(info: RtlInfo, n_vectors: int, inputs_hex: str, vcd: str, skip_cycles: int) -> str:
    """A plain Verilog bench: one wafer per 25 ns clock from ``inputs_hex``; activity dumped after
    ``skip_cycles`` (pipeline fill) so the count covers the steady state only."""
    width = 48 * info.calq_bits
    period = info.clock_period_ns
    return f"""`timescale 1ns / 1ps
module energy_tb;
    reg clk = 0, rst = 1, valid_in = 0;
    reg [{width - 1}:0] calq = 0;
    reg [{width - 1}:0] mem [0:{n_vectors - 1}];
    wire valid_out;
    wire [{info.frame_bits - 1}:0] frame;
    {info.top} dut (.clk(clk), .rst(rst), .valid_in(valid_in), .calq(calq), .valid_out(valid_out), .frame(frame));
    always #{period / 2} clk = ~clk;
    integer i, out;
    initial out = $fopen("frames.hex", "w");
    always @(posedge clk) if (valid_out === 1'b1) $fwrite(out, "%h\\n", frame);
    initial begin
        $readmemh("{inputs_hex}", mem);
        @(negedge clk) rst = 0;
        for (i = 0; i < {n_vectors}; i = i + 1) begin
            if (i == {skip_cycles}) begin $dumpfile("{vcd}"); $dumpvars(0, dut); end
            calq = mem[i]; valid_in = 1;
            @(negedge clk);
        end
        valid_in = 0;
        repeat ({info.latency_cycles + 1}) @(negedge clk);
        $fclose(out);
        $finish;
    end
endmodule
"""


def count_toggles(vcd_lines) -> int:
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


def _simulate(simulator: str, netlist: Path, work: Path, timeout: float | None) -> None:
    """Run ``energy_tb.v`` + ``netlist`` in ``work`` (writes frames.hex and activity.vcd)."""
    if simulator == "icarus":
        iverilog = require("iverilog", "install Icarus Verilog (apt-get install iverilog, or `make setup`)")
        run_tool([iverilog, "-o", "sim.vvp", "-s", "energy_tb", "energy_tb.v", str(netlist), str(SIMCELLS)],
                 cwd=work, log=work / "iverilog.log", timeout=timeout)
        run_tool(["vvp", "-n", "sim.vvp"], cwd=work, log=work / "vvp.log", timeout=timeout)
        return
    env = verilator_env()
    # --timing (the bench's clock and delays) needs C++20 coroutines, which g++ 12 enables only on request
    run_tool(["verilator", "--binary", "--timing", "-CFLAGS", "-std=gnu++20 -fcoroutines", "--trace", "-Wno-fatal",
              "-Wno-lint", "-Wno-style", "--top-module", "energy_tb", "-j", "0", "--Mdir", "obj", "energy_tb.v",
              str(netlist)], cwd=work, log=work / "verilator.log", env=env, timeout=timeout)
    run_tool([str(work / "obj" / "Venergy_tb")], cwd=work, log=work / "sim.log", env=env, timeout=timeout)


def estimate_energy(asic_dir: str | Path, rtl_dir: str | Path, vectors_dir: str | Path, n_wafers: int = 200,
                    fj_per_toggle: float = FJ_PER_TOGGLE_65NM, timeout: float | None = None,
                    simulator: str = "verilator") -> dict[str, Any]:
    """Simulate ``asic_dir/netlist.v`` on ``n_wafers`` vectors and write ``energy_report.json``."""
    asic, info = Path(asic_dir).resolve(), RtlInfo.load(rtl_dir)
    inputs, expected, _ = read_vectors(vectors_dir)
    n = min(n_wafers, len(inputs)) + info.latency_cycles
    words = [inputs[i % len(inputs)] for i in range(n)]
    work = asic / "energy"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    digits = (48 * info.calq_bits + 3) // 4
    write_text(work / "inputs.hex", "".join(f"{w:0{digits}x}\n" for w in words))
    write_text(work / "energy_tb.v", testbench_verilog(info, n, "inputs.hex", "activity.vcd", info.latency_cycles))
    _simulate(simulator, asic / "netlist.v", work, timeout)
    frames = [int(x, 16) for x in (work / "frames.hex").read_text().split()]
    wrong = sum(f != expected[i % len(inputs)] for i, f in enumerate(frames))
    if len(frames) != n or wrong:
        raise ValueError(f"gate-level netlist: {len(frames)} frames for {n} wafers, {wrong} differ from Keras")
    with (work / "activity.vcd").open() as handle:
        toggles = count_toggles(handle)
    per_wafer = toggles / (n - info.latency_cycles)
    energy_nj = per_wafer * fj_per_toggle * 1e-6
    report = {"wafers": n - info.latency_cycles, "toggles": toggles, "toggles_per_wafer": per_wafer,
              "fj_per_toggle": fj_per_toggle, "simulator": simulator, "energy_nJ_per_inference": energy_nj,
              "power_mW_at_40MHz": energy_nj * 1e-9 * CLOCK_MHZ * 1e6 * 1e3, "meta": provenance(netlist=str(asic))}
    write_json(asic / "energy_report.json", report)
    (work / "activity.vcd").unlink()  # large; the count is in the report
    shutil.rmtree(work / "obj", ignore_errors=True)
    return report
