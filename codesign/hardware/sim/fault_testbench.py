"""cocotb single-event-upset campaign on a design with a configuration register (the reconfigurable top, or
the entropy codec's encoder): flip random configuration bits while wafers stream, count wrong output frames.

Environment (set by ``codesign.asic.verify.fault_campaign`` or ``entropy_runner.entropy_fault_campaign``):
CODESIGN_RTL_DIR, CODESIGN_VECTORS_DIR, CODESIGN_IMAGE_A, CODESIGN_FAULTS (number of upsets),
CODESIGN_FAULT_SEED, CODESIGN_FAULT_REPORT (JSON out).
With TMR in rtl.json the test fails on any wrong frame; without, it only reports the count.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import FallingEdge, ReadWrite

from codesign.hardware.reconfig import SCRUB_PERIOD
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.sim.reconfig_testbench import load_image
from codesign.hardware.sim.testbench import drive, monitor_frames, reset_with_clock, spaced
from codesign.hardware.vectors import read_vectors

# clock cycles between upsets: one per scrub period, the rate TMR with scrubbing is built for (real upset
# rates are many orders of magnitude lower; two upsets of one bit within a period would defeat the vote)
INJECTION_GAP = SCRUB_PERIOD


async def _inject(dut: Any, registers: list[Any], n_bits: int, n_faults: int, rng: random.Random,
                  log: list[tuple[int, int]]) -> None:
    for _ in range(n_faults):
        for _ in range(INJECTION_GAP):
            await FallingEdge(dut.clk)
        reg, bit = rng.randrange(len(registers)), rng.randrange(n_bits)
        before = int(registers[reg].value)
        registers[reg].value = before ^ (1 << bit)
        await ReadWrite()
        assert int(registers[reg].value) == before ^ (1 << bit), "the upset did not land in the register"
        log.append((reg, bit))


@cocotb.test()
async def single_upsets_while_streaming(dut: Any) -> None:
    rtl = RtlInfo.load(os.environ["CODESIGN_RTL_DIR"])
    inputs, expected, _ = read_vectors(os.environ["CODESIGN_VECTORS_DIR"])
    n_faults = int(os.environ["CODESIGN_FAULTS"])
    rng = random.Random(int(os.environ.get("CODESIGN_FAULT_SEED", "0")))
    await reset_with_clock(dut, rtl)
    dut.cfg_en.value = 0
    await load_image(dut, int(Path(os.environ["CODESIGN_IMAGE_A"]).read_text(), 16), rtl.config_bits)
    holder = dut if rtl.core == rtl.top else dut.core  # the configuration register's module
    registers = [holder.copy_a.q, holder.copy_b.q, holder.copy_c.q] if rtl.tmr else [holder.cfg]
    # wafers (one per initiation interval) until every upset is in, and at least the vectors once
    n_wafers = max(len(inputs), -(-(n_faults + 2) * INJECTION_GAP // rtl.initiation_interval))
    words, _ = spaced([inputs[i % len(inputs)] for i in range(n_wafers)], rtl.initiation_interval)
    want = [expected[i % len(inputs)] for i in range(n_wafers)]
    seen: list[tuple[int, int]] = []
    injected: list[tuple[int, int]] = []
    monitor = cocotb.start_soon(monitor_frames(dut, len(words) + rtl.latency_cycles + 2, seen))
    cocotb.start_soon(_inject(dut, registers, rtl.config_bits, n_faults, rng, injected))
    await drive(dut, words)
    await monitor
    wrong = sum(got != exp for (_, got), exp in zip(seen, want, strict=True))
    report = {"tmr": rtl.tmr, "injections": len(injected), "frames": len(seen), "wrong_frames": wrong}
    Path(os.environ["CODESIGN_FAULT_REPORT"]).write_text(json.dumps(report, indent=2) + "\n")
    dut._log.info("%s", report)
    assert len(seen) == n_wafers and len(injected) == n_faults
    if rtl.tmr:
        assert wrong == 0, f"{wrong} wrong frames with TMR after {len(injected)} upsets"
