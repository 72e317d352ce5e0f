"""cocotb tests of ``econt_top``: driver, monitor and checker against the expected vectors.

Run through ``codesign.hardware.sim.runner`` (which sets CODESIGN_RTL_DIR, CODESIGN_VECTORS_DIR and
CODESIGN_FRAME, the frame kind the top was built for), never imported by the rest of the package: it needs a
running simulator. The k-th wafer driven is at bunch crossing k: a top with a ``bx_cnt`` port gets its BX_CNT.
"""

from __future__ import annotations

import os
import random
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from codesign.econt.algorithms import bx_counter
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.vectors import read_vectors


def _setup() -> Any:
    rtl = RtlInfo.load(os.environ["CODESIGN_RTL_DIR"])
    inputs, expected, _ = read_vectors(os.environ["CODESIGN_VECTORS_DIR"], os.environ.get("CODESIGN_FRAME", "project"))
    return rtl, inputs, expected


async def reset_with_clock(dut: Any, rtl: RtlInfo, cycles: int = 3) -> None:
    # an even number of picoseconds: 25 / 3 ns is not a multiple of the simulator's resolution
    cocotb.start_soon(Clock(dut.clk, 2 * round(rtl.clock_period_ns * 500), unit="ps").start())  # type: ignore[arg-type]
    dut.rst.value = 1
    dut.valid_in.value = 0
    dut.calq.value = 0
    await ClockCycles(dut.clk, cycles)
    dut.rst.value = 0


def spaced(words: list[int], interval: int, idle: list[int] | None = None) -> tuple[list[int | None], list[int]]:
    """The drive list for ``words`` at most one per ``interval`` clocks (the top's initiation interval), with
    ``idle[i]`` more idle cycles before word i, and the clock edge each word is issued at."""
    entries: list[int | None] = []
    edges = []
    for i, word in enumerate(words):
        entries += [None] * ((interval - 1 if i else 0) + (idle[i] if idle else 0))
        edges.append(len(entries))
        entries.append(word)
    return entries, edges


async def drive(dut: Any, words: list[int | None]) -> None:
    """One entry per clock: a CALQ word with valid_in high, or None for an idle cycle."""
    has_bx = hasattr(dut, "bx_cnt")
    counter = bx_counter(sum(word is not None for word in words)).tolist()
    issued = 0
    for word in words:
        dut.valid_in.value = 0 if word is None else 1
        if word is not None:
            dut.calq.value = word
            if has_bx:
                dut.bx_cnt.value = counter[issued]
            issued += 1
        await RisingEdge(dut.clk)
    dut.valid_in.value = 0


async def monitor_frames(dut: Any, n_edges: int, seen: list[tuple[int, int]]) -> None:
    """Record (edge number, frame) for every edge after which valid_out is high."""
    for edge in range(1, n_edges + 1):
        await RisingEdge(dut.clk)
        await ReadOnly()
        if dut.valid_out.value.is_resolvable and int(dut.valid_out.value):
            assert dut.frame.value.is_resolvable, f"frame has X/Z bits at edge {edge}"
            seen.append((edge, int(dut.frame.value)))


def random_idle(n: int, seed: int) -> list[int]:
    """Idle cycles after each of ``n`` wafers, mostly none, sometimes 1 or 3 (seeded)."""
    rng = random.Random(seed)
    return [rng.choice((0, 0, 1, 3)) for _ in range(n)]


async def stream(dut: Any, rtl: RtlInfo, inputs: list[int],
                 idle: list[int] | None = None) -> tuple[list[tuple[int, int]], list[int]]:
    """Drive ``inputs`` at the initiation interval (``idle`` extra cycles after each) and collect every frame
    until the pipeline drains: (the (edge, frame) pairs seen, the edges the inputs went in)."""
    words, issue_edges = spaced(inputs, rtl.initiation_interval, idle)
    seen: list[tuple[int, int]] = []
    monitor = cocotb.start_soon(monitor_frames(dut, len(words) + rtl.latency_cycles + 2, seen))
    await drive(dut, words)
    await monitor
    return seen, issue_edges


def check_frames(seen: list[tuple[int, int]], expected: list[int], issue_edges: list[int], *, latency: int) -> None:
    assert len(seen) == len(expected), f"{len(seen)} frames out for {len(expected)} wafers in"
    bad = [i for i, ((_, got), want) in enumerate(zip(seen, expected, strict=True)) if got != want]
    assert not bad, f"{len(bad)} wrong frames, first at vector {bad[0]}: {seen[bad[0]][1]:#x} != {expected[bad[0]]:#x}"
    late = [i for i, ((edge, _), issued) in enumerate(zip(seen, issue_edges, strict=True)) if edge - issued != latency]
    assert not late, f"vector {late[0]} came out {seen[late[0]][0] - issue_edges[late[0]]} cycles after input, " \
                     f"rtl.json says {latency}"


@cocotb.test()
async def reset_and_idle(dut: Any) -> None:
    """valid_out stays low while reset is held (even with valid_in high) and while the input is idle."""
    rtl, inputs, _ = _setup()
    await reset_with_clock(dut, rtl)
    dut.rst.value = 1
    dut.valid_in.value = 1
    dut.calq.value = inputs[0]
    for _ in range(rtl.latency_cycles + 3):
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert int(dut.valid_out.value) == 0, "valid_out high during reset"
    await RisingEdge(dut.clk)
    dut.rst.value = 0
    dut.valid_in.value = 0
    for _ in range(2 * rtl.latency_cycles):
        await RisingEdge(dut.clk)
        await ReadOnly()
        assert int(dut.valid_out.value) == 0, "valid_out high with no input"


@cocotb.test()
async def stream_every_vector_back_to_back(dut: Any) -> None:
    """All vectors at the initiation interval (one wafer per clock, or per R clocks of a core with reuse
    factor R): every frame bit-exact, latency as in rtl.json."""
    rtl, inputs, expected = _setup()
    await reset_with_clock(dut, rtl)
    seen, issue_edges = await stream(dut, rtl, list(inputs))
    check_frames(seen, expected, issue_edges, latency=rtl.latency_cycles)
    dut._log.info("%d wafers bit-exact, latency %d cycles", len(seen), rtl.latency_cycles)


@cocotb.test()
async def stream_with_idle_cycles(dut: Any) -> None:
    """Random idle cycles between wafers: frames stay aligned with their inputs."""
    rtl, inputs, expected = _setup()
    await reset_with_clock(dut, rtl)
    n = min(300, len(inputs))
    seen, issue_edges = await stream(dut, rtl, list(inputs[:n]), random_idle(n, seed=7))
    check_frames(seen, expected[:n], issue_edges, latency=rtl.latency_cycles)
