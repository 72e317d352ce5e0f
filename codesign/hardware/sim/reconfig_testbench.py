"""cocotb tests of the reconfigurable top: load weight set A through the serial port, stream, reload B
without rebuilding, stream again (with random idle cycles), read the registers back. Wafers come at the
initiation interval of rtl.json (one per R cycles for a core with reuse factor R).

Environment (set by ``codesign.asic.verify``): CODESIGN_RTL_DIR, CODESIGN_VECTORS_DIR (vectors of model A),
CODESIGN_VECTORS_B_DIR, CODESIGN_IMAGE_A, CODESIGN_IMAGE_B (configuration images, hex files).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from codesign.hardware.rtl import RtlInfo
from codesign.hardware.sim.testbench import check_frames, random_idle, reset_with_clock, stream
from codesign.hardware.vectors import read_vectors


async def load_image(dut: Any, image: int, n_bits: int) -> None:
    """Shift the configuration image in, bit 0 first (one bit per clock)."""
    dut.cfg_en.value = 1
    for i in range(n_bits):
        dut.cfg_in.value = (image >> i) & 1
        await RisingEdge(dut.clk)
    dut.cfg_en.value = 0


async def read_back(dut: Any, n_bits: int) -> int:
    """Shift the register out through cfg_out, feeding it back into cfg_in so the contents survive."""
    image = 0
    for i in range(n_bits):
        await FallingEdge(dut.clk)  # between edges: cfg_out is stable and cfg_in can still be set
        bit = int(dut.cfg_out.value)
        image |= bit << i
        dut.cfg_in.value = bit  # re-enters at the top on the next rising edge
        dut.cfg_en.value = 1
    await FallingEdge(dut.clk)
    dut.cfg_en.value = 0
    return image


async def _stream_and_check(dut: Any, rtl: RtlInfo, vectors_dir: str, idle_seed: int | None = None) -> int:
    """Every vector at the initiation interval, with random idle cycles between them when ``idle_seed``."""
    inputs, expected, _ = read_vectors(vectors_dir)
    idle = random_idle(len(inputs), idle_seed) if idle_seed is not None else None
    seen, issue_edges = await stream(dut, rtl, list(inputs), idle)
    await FallingEdge(dut.clk)  # leave the monitor's read-only phase before driving again
    check_frames(seen, expected, issue_edges, latency=rtl.latency_cycles)
    return len(seen)


@cocotb.test()
async def two_weight_sets_without_rebuilding(dut: Any) -> None:
    rtl = RtlInfo.load(os.environ["CODESIGN_RTL_DIR"])
    images = [int(Path(os.environ[k]).read_text(), 16) for k in ("CODESIGN_IMAGE_A", "CODESIGN_IMAGE_B")]
    await reset_with_clock(dut, rtl)
    dut.cfg_en.value = 0
    await load_image(dut, images[0], rtl.config_bits)
    n_a = await _stream_and_check(dut, rtl, os.environ["CODESIGN_VECTORS_DIR"])
    await load_image(dut, images[1], rtl.config_bits)
    n_b = await _stream_and_check(dut, rtl, os.environ["CODESIGN_VECTORS_B_DIR"], idle_seed=7)
    assert await read_back(dut, rtl.config_bits) == images[1], "read-back differs from the loaded image"
    assert await read_back(dut, rtl.config_bits) == images[1], "read-back is destructive"
    dut._log.info("weight set A: %d wafers bit-exact; set B: %d wafers bit-exact; read-back equal", n_a, n_b)
