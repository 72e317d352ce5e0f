"""The bit-sliced gate-level harness (codesign/asic/gate_harness.py): every gate kind and flip-flop path as C
over 512 lanes against simcells' definitions, wafers streamed at intervals 1 and 2 over partial blocks and
ports wider than a word, and a wrong golden frame or a latency other than rtl.json's reported with the
wafer's index; a netlist of another top refused."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from codesign.asic.gate_harness import GATES_PER_FUNCTION, build_gate_sim, sliced_program
from codesign.asic.gatesim import GateNetlist
from codesign.errors import InputError
from tests.test_gatesim import PINS, SIMCELLS, _netlist

pytestmark = pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")

CALQ, GATES = list(range(10, 58)), list(SIMCELLS)  # calq_bits 1: the 48-bit data port's nets


def _top(tmp_path, *, latency: int = 1, interval: int = 1):
    """A top of every gate kind on calq bits 0..3 (two more with an input tied to a constant), each
    registered; an enabled flip-flop with synchronous set; calq bits 8..47 registered as they are and
    inverted; valid_out one clock after valid_in, low under reset."""
    cells, frame, bit = {}, [], iter(range(1000, 2000))

    def register(d, name, kind="$_DFF_P_", extra=None):
        q = next(bit)
        cells[name] = {"type": kind, "connections": {"C": [2], "D": [d], "Q": [q], **(extra or {})}}
        frame.append(q)

    for k, kind in enumerate(GATES):
        y = next(bit)
        cells[f"g{k}"] = {"type": kind, "connections": {
            **{pin: [CALQ[i]] for i, pin in enumerate(PINS.get(kind, "AB"))}, "Y": [y]}}
        register(y, f"r{k}")
    tied = {"aoi": ("$_AOI3_", {"A": [CALQ[0]], "B": [CALQ[1]], "C": ["0"]}),
            "mux": ("$_MUX_", {"A": [CALQ[0]], "B": [CALQ[1]], "S": ["1"]})}
    for name, (kind, pins) in tied.items():
        y = next(bit)
        cells[name] = {"type": kind, "connections": {**pins, "Y": [y]}}
        register(y, f"r{name}")
    register(CALQ[4], "set", "$_SDFFE_PP1P_", {"R": [3], "E": [4]})
    for i in range(8, 48):
        y = next(bit)
        cells[f"n{i}"] = {"type": "$_NOT_", "connections": {"A": [CALQ[i]], "Y": [y]}}
        register(CALQ[i], f"c{i}")
        register(y, f"i{i}")
    cells["v"] = {"type": "$_SDFF_PP0_", "connections": {"C": [2], "R": [3], "D": [4], "Q": [5]}}
    ports = {"clk": {"direction": "input", "bits": [2]}, "rst": {"direction": "input", "bits": [3]},
             "valid_in": {"direction": "input", "bits": [4]}, "calq": {"direction": "input", "bits": CALQ},
             "valid_out": {"direction": "output", "bits": [5]}, "frame": {"direction": "output", "bits": frame}}
    netlist = _netlist(tmp_path, cells, ports)
    rtl = tmp_path / f"rtl_{latency}_{interval}"
    rtl.mkdir()
    (rtl / "rtl.json").write_text(json.dumps({
        "top": "top", "core": "core", "calq_bits": 1, "clock_period_ns": 25.0, "initiation_interval": interval,
        "latency_cycles": latency, "core_latency_cycles": 0, "conversion_cycles": 0, "frame_bits": len(frame),
        "latent_bits": 0, "n_latents": 0, "elinks": 2, "sum_code_offset": 0, "core_registers": 0,
        "estimated_luts": 0.0, "sources": []}))
    return netlist, rtl


def _golden(calq: np.ndarray) -> list[int]:
    """The frames of ``_top``: bit order as registered there."""
    frames = []
    for row in calq:
        a, b, c, d = (int(v) for v in row[:4])
        bits = [int(bool(f(a, b, c, d))) for f in SIMCELLS.values()]
        bits += [int(not (a and b)), b, int(row[4])]
        for i in range(8, 48):
            bits += [int(row[i]), 1 - int(row[i])]
        frames.append(sum(v << k for k, v in enumerate(bits)))
    return frames


@pytest.mark.parametrize("interval", [1, 2])
def test_every_gate_and_flop_over_partial_blocks(tmp_path, interval):
    netlist, rtl = _top(tmp_path, interval=interval)
    sim = build_gate_sim(rtl, tmp_path / "build", netlist=netlist, optimise="-O1")
    calq = np.random.default_rng(interval).integers(0, 2, (1300, 48))  # two blocks of 512 and a partial one
    frames = _golden(calq)
    result = sim.verify(iter([(calq[:700], frames[:700]), (calq[700:], frames[700:])]))
    assert result.ok and result.frames == 1300, result
    bad = list(frames)
    bad[1100] ^= 1 << 80  # a bit of the frame's second word, in the last block
    bad[1299] ^= 1
    result = sim.verify(iter([(calq, bad)]))
    assert (result.wrong, result.first_wrong) == (2, 1100)
    assert int(result.got, 16) == frames[1100] and int(result.want, 16) == bad[1100]
    assert "2 of 1300 frames differ from the golden model; first at wafer 1100" in result.problem()


def test_a_latency_other_than_rtl_json_is_reported(tmp_path):
    netlist, rtl = _top(tmp_path, latency=2)
    sim = build_gate_sim(rtl, tmp_path / "build", netlist=netlist, optimise="-O1")
    calq = np.random.default_rng(0).integers(0, 2, (600, 48))
    result = sim.verify(iter([(calq, _golden(calq))]))  # the frames come a clock before rtl.json says
    assert not result.ok and result.first_late == 0 and result.wrong > 0


def test_a_netlist_of_another_top_is_refused(tmp_path):
    netlist, rtl = _top(tmp_path)
    info = json.loads((rtl / "rtl.json").read_text())
    (rtl / "rtl.json").write_text(json.dumps({**info, "frame_bits": info["frame_bits"] + 1}))
    bits = info["frame_bits"]
    with pytest.raises(InputError, match=f"n.json: port frame has {bits} bits, .*'s top {bits + 1}: a netlist of"):
        build_gate_sim(rtl, tmp_path / "build", netlist=netlist)


def test_the_program_frees_slots_and_refuses_combinational_outputs(tmp_path):
    # a chain of inverters: each output dies at the gate that reads it, so one slot serves the whole chain
    n = GATES_PER_FUNCTION + 10
    cells = {f"g{k}": {"type": "$_NOT_", "connections": {"A": [100 + k], "Y": [101 + k]}} for k in range(n)}
    cells["f"] = {"type": "$_DFF_P_", "connections": {"C": [2], "D": [100 + n], "Q": [5]}}
    ports = {"clk": {"direction": "input", "bits": [2]}, "rst": {"direction": "input", "bits": [3]},
             "valid_in": {"direction": "input", "bits": [4]}, "calq": {"direction": "input", "bits": [100]},
             "valid_out": {"direction": "output", "bits": [5]}, "frame": {"direction": "output", "bits": [5]}}
    program = sliced_program(GateNetlist.load(_netlist(tmp_path, cells, ports)), data_in="calq", data_out="frame")
    assert program.slots == 2 + 4 + 1 + 1 and len(program.settle) == n  # constants, inputs, flip-flop, the chain
    assert program.settle[:2] == ("s[7] = ~s[5];", "s[7] = ~s[7];")
    ports["frame"]["bits"] = [100 + n]
    del cells["f"]
    with pytest.raises(InputError, match="depends on input net .* through gates alone"):
        sliced_program(GateNetlist.load(_netlist(tmp_path, cells, ports, "comb.json")), data_in="calq",
                       data_out="frame")
