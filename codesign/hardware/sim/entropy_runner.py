"""Check the entropy codec's encoder RTL (``codesign.hardware.entropy_rtl``) against its golden model: generate
the RTL for a codec's shape, write the wafers and the frames ``EntropyCodec.encode`` makes of them as a
vectors folder, and run ``codesign.hardware.sim.phases_testbench`` through the project's simulation runner
(``run_phases``: one build, cocotb 2.x). The table is loaded through the serial port, never built in, so
further codecs of the same shape (or, in the universal block, of any shape it serves) are checked on the same
build, one ``EntropyPhase`` after another."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.io import CALQ_BITS
from codesign.econt.bits import ELINK_BITS
from codesign.econt.entropy import EntropyCodec
from codesign.hardware.entropy_rtl import EntropyRtlSpec, write_config_image, write_entropy_rtl
from codesign.hardware.reconfig import SCRUB_PERIOD
from codesign.hardware.sim.runner import Phase, run_phases, upset_campaign
from codesign.hardware.vectors import pack_calq


@dataclass(frozen=True)
class EntropyCheck:
    """A passed check: frames compared bit for bit per phase, and the simulator's build and run times."""

    wafers: tuple[int, ...]
    build_seconds: float
    test_seconds: float
    rtl_dir: str


@dataclass(frozen=True)
class EntropyPhase:
    """One codec's table (and, in the universal block, its settings) loaded through the serial port, then
    its wafers streamed: back to back, or with random idle cycles between them (``idle_seed``)."""

    codec: EntropyCodec
    calq: np.ndarray
    kinds: list[str] | None = None  # each wafer's origin, for the vectors' counts (default "real")
    idle_seed: int | None = None


def expected_frames(codec: EntropyCodec, calq: np.ndarray, spec: EntropyRtlSpec | None = None) -> list[int]:
    """The golden frames as integers, the first transmitted bit the most significant (wafer i at BX i), as
    ``spec``'s hardware sends them: the universal block left-aligns a frame of fewer eLinks in its own."""
    spec = spec or EntropyRtlSpec.of(codec)
    shift = spec.frame_bits - ELINK_BITS * codec.elinks
    return [int(s, 2) << shift for s in codec.encode(calq).frames.strings()]


def write_entropy_vectors(out_dir: str | Path, codec: EntropyCodec, calq: np.ndarray, kinds: list[str] | None = None,
                          *, spec: EntropyRtlSpec | None = None, force: bool = False) -> None:
    """A vectors folder (``codesign.hardware.vectors`` layout: inputs.hex, expected.hex, vectors.json) of
    ``calq`` and the codec's frames as ``spec``'s hardware sends them (default: the codec's own shape);
    ``kinds`` names each wafer's origin (default "real")."""
    calq = np.asarray(calq, dtype=np.int64)
    kinds = kinds or ["real"] * len(calq)
    if len(kinds) != len(calq):
        raise ValueError(f"{len(kinds)} kinds for {len(calq)} wafers")
    spec = spec or EntropyRtlSpec.of(codec)
    width = spec.frame_bits
    names, counts = np.unique(kinds, return_counts=True)
    with atomic_dir(out_dir, force) as tmp:
        write_text(tmp / "inputs.hex", "".join(f"{w:0{-(-calq.shape[1] * CALQ_BITS // 4)}x}\n"
                                               for w in pack_calq(calq, CALQ_BITS)))
        write_text(tmp / "expected.hex", "".join(f"{f:0{width // 4}x}\n" for f in expected_frames(codec, calq, spec)))
        write_json(tmp / "vectors.json", {
            "n_vectors": len(calq), "calq_bits": CALQ_BITS,
            "counts": {str(k): int(c) for k, c in zip(names, counts, strict=True)},
            "frame": {"width": width, "elinks": codec.elinks, "sparse_mode": False, "codec": "entropy"},
            "codec": asdict(codec), "kinds": kinds, "meta": provenance(),
        })


def verify_entropy_rtl(phases: Sequence[EntropyPhase], out_dir: str | Path, *, spec: EntropyRtlSpec | None = None,
                       simulator: str = "verilator", force: bool = False) -> EntropyCheck:
    """Generate the RTL of ``spec`` (default: the first codec's own shape; ``EntropyRtlSpec.block()`` for the
    universal block) into ``out_dir``/rtl, build it once, and for each phase in turn load its codec's image
    and stream its wafers, requiring every frame equal to ``EntropyCodec.encode``'s; ``VerificationError``
    names the first wrong wafer and its bits."""
    if not phases:
        raise ValueError("verify_entropy_rtl needs at least one phase")
    spec = spec or EntropyRtlSpec.of(phases[0].codec)
    for phase in phases:
        problem = spec.serves_problem(phase.codec)
        if problem:
            raise ValueError(f"{problem}: one build serves one design")
    out = Path(out_dir)
    rtl_dir = out / "rtl"
    write_entropy_rtl(spec, rtl_dir, force=force)
    runs = []
    for i, phase in enumerate(phases):
        folder, image = out / f"vectors_{i}", out / f"image_{i}.hex"
        write_entropy_vectors(folder, phase.codec, phase.calq, phase.kinds, spec=spec, force=force)
        write_config_image(phase.codec, spec, image)
        runs.append(Phase(image, folder, phase.idle_seed))
    wafers, result = run_phases(rtl_dir, runs, out, design=f"econt_entropy {spec}", golden="EntropyCodec.encode",
                                simulator=simulator)
    return EntropyCheck(tuple(wafers), result.build_seconds, result.test_seconds, str(rtl_dir))


def entropy_fault_campaign(codec: EntropyCodec, calq: np.ndarray, out_dir: str | Path, *, spec: EntropyRtlSpec,
                           n_faults: int = 1000, seed: int = 0, force: bool = False) -> dict[str, dict[str, Any]]:
    """Single-event upsets in the configuration register of ``spec``'s design (one random bit per scrub period
    while the codec's wafers stream, ``codesign.hardware.sim.fault_testbench``), once without and once with
    TMR: {"no_tmr": report, "tmr": report}, each with its injections, frames and wrong frames; the TMR run
    fails (``VerificationError``) on any wrong frame. ``calq`` is repeated to cover the campaign (one wafer
    per clock; not by the testbench, since a frame carries its wafer's bunch crossing)."""
    need = SCRUB_PERIOD * (n_faults + 2)
    calq = np.asarray(calq, dtype=np.int64)
    calq = np.tile(calq, (-(-need // len(calq)), 1))[:max(need, len(calq))]
    out = Path(out_dir)
    write_entropy_vectors(out / "vectors", codec, calq, spec=spec, force=force)
    write_config_image(codec, spec, out / "image.hex")
    return upset_campaign(out, lambda folder, tmr: write_entropy_rtl(replace(spec, tmr=tmr), folder, force=force),
                          n_faults=n_faults, seed=seed, about={"codec": asdict(codec), "meta": provenance()})
