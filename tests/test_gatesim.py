"""The built-in gate-level simulator (codesign/asic/gatesim.py): every gate type against its definition in
Yosys' simcells.v, a synthesised design against a Python model cycle by cycle, and clear refusals."""

import itertools
import json
import shutil

import numpy as np
import pytest

from codesign.asic.gatesim import GateNetlist, GateSimulation
from codesign.errors import InputError
from codesign.tools import run_tool

# simcells.v's functions, written out independently of gatesim's tables
SIMCELLS = {
    "$_BUF_": lambda a, b, c, d: a, "$_NOT_": lambda a, b, c, d: not a,
    "$_AND_": lambda a, b, c, d: a and b, "$_NAND_": lambda a, b, c, d: not (a and b),
    "$_OR_": lambda a, b, c, d: a or b, "$_NOR_": lambda a, b, c, d: not (a or b),
    "$_XOR_": lambda a, b, c, d: a != b, "$_XNOR_": lambda a, b, c, d: a == b,
    "$_ANDNOT_": lambda a, b, c, d: a and not b, "$_ORNOT_": lambda a, b, c, d: a or not b,
    "$_MUX_": lambda a, b, s, d: b if s else a, "$_NMUX_": lambda a, b, s, d: not (b if s else a),
    "$_AOI3_": lambda a, b, c, d: not ((a and b) or c), "$_OAI3_": lambda a, b, c, d: not ((a or b) and c),
    "$_AOI4_": lambda a, b, c, d: not ((a and b) or (c and d)),
    "$_OAI4_": lambda a, b, c, d: not ((a or b) and (c or d)),
}
PINS = {"$_BUF_": "A", "$_NOT_": "A", "$_MUX_": "ABS", "$_NMUX_": "ABS", "$_AOI3_": "ABC", "$_OAI3_": "ABC",
        "$_AOI4_": "ABCD", "$_OAI4_": "ABCD"}  # the others: A, B


def _netlist(tmp_path, cells, ports, name="n.json"):
    path = tmp_path / name
    bits = {b for cell in cells.values() for pin in cell["connections"].values() for b in pin}
    netnames = {f"n{b}": {"bits": [b]} for b in bits}
    path.write_text(json.dumps({"modules": {"top": {"attributes": {"top": 1}, "ports": ports, "cells": cells,
                                                    "netnames": netnames}}}))
    return path


def test_every_gate_matches_simcells(tmp_path):
    cells, ports = {}, {"clk": {"direction": "input", "bits": [2]}, "in": {"direction": "input", "bits": [3, 4, 5, 6]}}
    outputs = []
    for k, kind in enumerate(SIMCELLS):
        connections = {pin: [3 + i] for i, pin in enumerate(PINS.get(kind, "AB"))}
        cells[f"g{k}"] = {"type": kind, "connections": {**connections, "Y": [100 + k]}}
        outputs.append(100 + k)
    ports["out"] = {"direction": "output", "bits": outputs}
    sim = GateSimulation(GateNetlist.load(_netlist(tmp_path, cells, ports)))
    for value in range(16):
        sim.drive(**{"in": value})
        sim.settle()
        a, b, c, d = ((value >> k) & 1 for k in range(4))
        got = sim.read("out")
        for k, function in enumerate(SIMCELLS.values()):
            assert (got >> k) & 1 == int(function(a, b, c, d)), (list(SIMCELLS)[k], value)


def test_refusals_name_the_file_and_the_cell(tmp_path):
    clock = {"clk": {"direction": "input", "bits": [2]}}
    loop = {"a": {"type": "$_NOT_", "connections": {"A": [3], "Y": [4]}},
            "b": {"type": "$_NOT_", "connections": {"A": [4], "Y": [3]}}}
    with pytest.raises(InputError, match="loop.json: 2 gates sit on a combinational loop"):
        GateNetlist.load(_netlist(tmp_path, loop, clock, "loop.json"))
    latch = {"l": {"type": "$_DLATCH_P_", "connections": {"E": [3], "D": [4], "Q": [5]}}}
    with pytest.raises(InputError, match=r"cell l of type \$_DLATCH_P_"):
        GateNetlist.load(_netlist(tmp_path, latch, clock))
    other = {"f": {"type": "$_DFF_P_", "connections": {"C": [3], "D": [4], "Q": [5]}}}
    with pytest.raises(InputError, match="clocked by another net"):
        GateNetlist.load(_netlist(tmp_path, other, clock))
    with pytest.raises(InputError, match="no 1-bit clock port 'clk'"):
        GateNetlist.load(_netlist(tmp_path, other, {}))
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(InputError, match="bad.json: not a Yosys JSON netlist"):
        GateNetlist.load(tmp_path / "bad.json")


DESIGN = """
module top(input clk, input rst, input en, input [3:0] a, input [3:0] b,
           output reg [3:0] count, output reg [3:0] held, output reg [4:0] total, output [4:0] sum);
    always @(posedge clk) if (rst) count <= 0; else if (en) count <= count + 1;
    always @(posedge clk) if (!en) held <= a ^ b;
    always @(posedge clk) if (en) begin if (rst) total <= 5'd9; else total <= total + a; end
    assign sum = en ? a + b : a - b;
endmodule
"""


@pytest.mark.skipif(shutil.which("yosys") is None, reason="yosys not installed (make setup)")
def test_synthesised_design_matches_a_python_model(tmp_path):
    (tmp_path / "top.v").write_text(DESIGN)
    run_tool(["yosys", "-q", "-p", "read_verilog top.v; synth -top top -flatten; "
              "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX; opt_clean; write_json top.json"],
             cwd=tmp_path, log=tmp_path / "yosys.log")
    kinds = {c["type"] for c in json.loads((tmp_path / "top.json").read_text())["modules"]["top"]["cells"].values()}
    assert any(k.startswith("$_SDFFE") for k in kinds) and any(k.startswith("$_DFFE") for k in kinds), kinds
    sim = GateSimulation(GateNetlist.load(tmp_path / "top.json"))
    rng = np.random.default_rng(0)
    count = held = total = 0
    for rst, en, a, b in itertools.islice(zip(*(rng.integers(0, hi, 300) for hi in (2, 2, 16, 16)), strict=True), 300):
        sim.drive(rst=int(rst), en=int(en), a=int(a), b=int(b))
        sim.settle()
        assert sim.read("sum") == ((a + b) if en else (a - b)) % 32
        sim.rising_edge()
        count = 0 if rst else (count + 1) % 16 if en else count
        held = held if en else a ^ b
        total = (9 if rst else (total + a) % 32) if en else total
        sim.settle()
        assert (sim.read("count"), sim.read("held"), sim.read("total")) == (count, held, total)


def test_toggles_count_each_net_once_per_change(tmp_path):
    # in -> NOT -> out, and a flip-flop of out: every input change moves two nets, the flip-flop one more
    cells = {"n": {"type": "$_NOT_", "connections": {"A": [3], "Y": [4]}},
             "f": {"type": "$_DFF_P_", "connections": {"C": [2], "D": [4], "Q": [5]}}}
    ports = {"clk": {"direction": "input", "bits": [2]}, "in": {"direction": "input", "bits": [3]},
             "q": {"direction": "output", "bits": [5]}}
    sim = GateSimulation(GateNetlist.load(_netlist(tmp_path, cells, ports)))
    sim.settle()
    sim.rising_edge()
    sim.counting()
    for value in (1, 0, 0, 1):
        sim.drive(**{"in": value})
        sim.settle()
        sim.rising_edge()
    # falling and rising clock edges: 8; in and its inverse: 3 changes each; the flip-flop follows: 3
    assert sim.toggles == 8 + 3 * 2 + 3


@pytest.mark.parametrize("tmr", [False, True])
def test_preloaded_register_equals_the_shifted_one(tmp_path, tmr):
    """The energy bench writes a configuration image straight into the register's flip-flops
    (``GateSimulation.preload``): the same state as shifting it in bit by bit, for the plain register and
    for each TMR copy; a wire that is not a register is refused. Idle, the register's clock pins switch only
    when it scrubs (``ClockGating``)."""
    from codesign.asic.energy import config_register_wires
    from codesign.hardware.reconfig import SCRUB_PERIOD, config_register
    from codesign.hardware.rtl import RtlInfo
    from codesign.hardware.verilog import write_library

    n = 24
    lines = config_register(n, tmr)
    (tmp_path / "top.v").write_text("\n".join(["module top (input wire clk, input wire cfg_en, input wire cfg_in, "
                                               f"output wire cfg_out, output wire [{n - 1}:0] image);", *lines,
                                               "    assign image = cfg;", "endmodule", ""]))
    write_library(tmp_path, ["econt_cfg_copy"])
    # as asic_flow/asic_generic.ys: synthesised with its hierarchy (the three copies stay), flattened after
    run_tool(["yosys", "-q", "-p", "read_verilog top.v econt_cfg_copy.v; synth -top top; "
              "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX; opt_clean; flatten; write_json top.json"],
             cwd=tmp_path, log=tmp_path / "yosys.log")
    netlist = GateNetlist.load(tmp_path / "top.json")
    image = 0xA5C3_96
    shifted, preloaded = GateSimulation(netlist), GateSimulation(netlist)
    for i in range(n):
        shifted.drive(cfg_en=1, cfg_in=(image >> i) & 1)
        shifted.settle()
        shifted.rising_edge()
    shifted.drive(cfg_en=0)
    shifted.settle()
    info = RtlInfo(top="top", core="top", calq_bits=1, clock_period_ns=25.0, initiation_interval=1, latency_cycles=1,
                   core_latency_cycles=1, conversion_cycles=1, frame_bits=32, latent_bits=1, n_latents=1, elinks=1,
                   sum_code_offset=0, core_registers=n, estimated_luts=0.0, sources=[], config_bits=n, tmr=tmr)
    for wire in config_register_wires(info):
        preloaded.preload(wire, image)
    preloaded.drive(cfg_en=0, cfg_in=(image >> (n - 1)) & 1)  # the inputs as the shifting left them
    preloaded.settle()
    assert shifted.read("image") == preloaded.read("image") == image
    assert np.array_equal(shifted.values, preloaded.values)
    scrub_bits = (SCRUB_PERIOD - 1).bit_length()
    assert len(netlist.flops.q) == (3 * n + scrub_bits if tmr else n)
    with pytest.raises(InputError, match="not driven by flip-flops"):
        preloaded.preload("image" if tmr else "cfg_in", 1)
    # idle: the register's clock is gated (one gate per 32 pins), but for the TMR copies' scrub every
    # SCRUB_PERIOD cycles; the scrub counter's pins switch every cycle
    preloaded.counting()
    for _ in range(2 * SCRUB_PERIOD):
        preloaded.settle()
        preloaded.rising_edge()
    copies, gates = (3 * n, -(-3 * n // 32)) if tmr else (n, 1)
    scrubs = 2 if tmr else 0
    assert preloaded.rising_edges == 2 * SCRUB_PERIOD
    assert preloaded.clock_pins == 2 * SCRUB_PERIOD * (gates + (scrub_bits if tmr else 0)) + scrubs * copies
    assert preloaded.ungated_clock_pins == 2 * SCRUB_PERIOD * len(netlist.flops.q)
    assert preloaded.read("image") == image
