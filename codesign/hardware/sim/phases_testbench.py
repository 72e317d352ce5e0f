"""cocotb test of a design whose configuration image sets what it computes (the entropy codec's encoder, fixed
or its universal block; the universal encoder block): per phase, load an image through the serial port with
idle cycles between its bits, stream the phase's wafers (back to back, or with random idle cycles) and compare
each frame bit for bit with its golden model's; at the end read the last image back. The datapath is not
reset between phases: a new image is all it takes to run another codec or encoder.

Run through ``codesign.hardware.sim.runner.run_phases``, which sets CODESIGN_RTL_DIR, CODESIGN_VECTORS_DIR (the
first phase's vectors), CODESIGN_PHASES (a JSON list of {image: hex file, vectors: folder, idle_seed}) and
CODESIGN_REPORT: a JSON file this testbench writes with, per phase, the wafers checked and the first wrong
frame (index, expected and received bits), for the runner's error message.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import FallingEdge, RisingEdge

from codesign.hardware.rtl import RtlInfo
from codesign.hardware.sim.reconfig_testbench import read_back
from codesign.hardware.sim.testbench import (  # noqa: F401  (cocotb runs reset_and_idle here too)
    check_frames,
    random_idle,
    reset_and_idle,
    reset_with_clock,
    stream,
)
from codesign.hardware.vectors import read_vectors


async def load_image_with_gaps(dut: Any, image: int, n_bits: int, rng: random.Random) -> None:
    """Shift the image in bit 0 first, with 0-3 idle clocks (cfg_en low, cfg_in random) after each bit."""
    for i in range(n_bits):
        dut.cfg_en.value = 1
        dut.cfg_in.value = (image >> i) & 1
        await RisingEdge(dut.clk)
        dut.cfg_en.value = 0
        for _ in range(rng.choice((0, 0, 1, 3))):
            dut.cfg_in.value = rng.getrandbits(1)
            await RisingEdge(dut.clk)


def first_mismatch(seen: list[tuple[int, int]], expected: list[int], width: int) -> dict[str, Any] | None:
    """The first frame that differs from the expected one, as bit strings (first transmitted bit first)."""
    for i, ((_, got), want) in enumerate(zip(seen, expected, strict=False)):
        if got != want:
            return {"wafer": i, "expected": f"{want:0{width}b}", "got": f"{got:0{width}b}",
                    "first_bit": width - (got ^ want).bit_length()}
    return None


async def stream_phase(dut: Any, rtl: RtlInfo, vectors_dir: str,
                       idle_seed: int | None) -> tuple[dict[str, Any], list[tuple[int, int]], list[int], list[int]]:
    """Every wafer of ``vectors_dir`` back to back (or with random idle cycles when ``idle_seed``): the
    phase's summary for the report, the (edge, frame) pairs seen, the expected frames, the issue edges."""
    inputs, expected, _ = read_vectors(vectors_dir)
    idle = random_idle(len(inputs), idle_seed) if idle_seed is not None else None
    seen, issue_edges = await stream(dut, rtl, list(inputs), idle)
    await FallingEdge(dut.clk)  # leave the monitor's read-only phase before driving again
    summary = {"vectors": vectors_dir, "wafers": len(expected), "frames_out": len(seen),
               "wrong": sum(got != want for (_, got), want in zip(seen, expected, strict=False)),
               "first": first_mismatch(seen, expected, rtl.frame_bits)}
    return summary, seen, expected, issue_edges


@cocotb.test()
async def load_image_and_stream(dut: Any) -> None:
    """Each phase: load its image, stream its wafers, every frame bit-exact at the latency of rtl.json;
    then the last image reads back unchanged."""
    rtl = RtlInfo.load(os.environ["CODESIGN_RTL_DIR"])
    phases = [(p["image"], p["vectors"], p["idle_seed"])
              for p in json.loads(Path(os.environ["CODESIGN_PHASES"]).read_text())]
    report_file = Path(os.environ["CODESIGN_REPORT"])
    await reset_with_clock(dut, rtl)
    dut.cfg_en.value = 0
    dut.cfg_in.value = 0
    rng = random.Random(3)
    report: dict[str, Any] = {"phases": []}
    image = 0
    for image_file, vectors_dir, idle_seed in phases:
        image = int(Path(image_file).read_text(), 16)
        await load_image_with_gaps(dut, image, rtl.config_bits, rng)
        summary, seen, expected, issue_edges = await stream_phase(dut, rtl, vectors_dir, idle_seed)
        report["phases"].append(summary)
        report_file.write_text(json.dumps(report))  # before any assertion: the runner names the wrong frame
        check_frames(seen, expected, issue_edges, latency=rtl.latency_cycles)
    back = await read_back(dut, rtl.config_bits)
    report["read_back_equal"] = back == image
    report_file.write_text(json.dumps(report))
    assert back == image, "the image read back through cfg_out differs from the one loaded"
    dut._log.info("%s", "; ".join(f"{p['wafers']} wafers bit-exact" for p in report["phases"]))
