"""Check the entropy codec's encoder RTL (``codesign.hardware.entropy_rtl``) against its golden model: generate
the RTL for a codec's shape, write the wafers and the frames ``EntropyCodec.encode`` makes of them as a
vectors folder, and run ``codesign.hardware.sim.entropy_testbench`` through the project's simulation runner
(``run_simulation``: one build, cocotb 2.x). The table is loaded through the serial port, never built in, so a
second codec of the same shape can be checked on the same build (``second``)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.io import CALQ_BITS
from codesign.econt.entropy import EntropyCodec
from codesign.errors import VerificationError
from codesign.hardware.entropy_rtl import EntropyRtlSpec, config_image, write_entropy_rtl
from codesign.hardware.sim.runner import SimulationFailed, run_simulation
from codesign.hardware.vectors import pack_calq

ENTROPY_TESTBENCH = "codesign.hardware.sim.entropy_testbench"


@dataclass(frozen=True)
class EntropyCheck:
    """A passed check: frames compared bit for bit per phase, and the simulator's build and run times."""

    wafers: tuple[int, ...]
    build_seconds: float
    test_seconds: float
    rtl_dir: str


def expected_frames(codec: EntropyCodec, calq: np.ndarray) -> list[int]:
    """The golden frames as integers, the first transmitted bit the most significant (wafer i at BX i)."""
    return [int(s, 2) for s in codec.encode(calq).frames.strings()]


def write_entropy_vectors(out_dir: str | Path, codec: EntropyCodec, calq: np.ndarray, kinds: list[str] | None = None,
                          *, force: bool = False) -> None:
    """A vectors folder (``codesign.hardware.vectors`` layout: inputs.hex, expected.hex, vectors.json) of
    ``calq`` and the codec's frames; ``kinds`` names each wafer's origin (default "real")."""
    calq = np.asarray(calq, dtype=np.int64)
    kinds = kinds or ["real"] * len(calq)
    if len(kinds) != len(calq):
        raise ValueError(f"{len(kinds)} kinds for {len(calq)} wafers")
    width = EntropyRtlSpec.of(codec).frame_bits
    names, counts = np.unique(kinds, return_counts=True)
    with atomic_dir(out_dir, force) as tmp:
        write_text(tmp / "inputs.hex", "".join(f"{w:0{-(-calq.shape[1] * CALQ_BITS // 4)}x}\n"
                                               for w in pack_calq(calq, CALQ_BITS)))
        write_text(tmp / "expected.hex", "".join(f"{f:0{width // 4}x}\n" for f in expected_frames(codec, calq)))
        write_json(tmp / "vectors.json", {
            "n_vectors": len(calq), "calq_bits": CALQ_BITS,
            "counts": {str(k): int(c) for k, c in zip(names, counts, strict=True)},
            "frame": {"width": width, "elinks": codec.elinks, "sparse_mode": False, "codec": "entropy"},
            "codec": asdict(codec), "kinds": kinds, "meta": provenance(),
        })


def verify_entropy_rtl(codec: EntropyCodec, calq: np.ndarray, out_dir: str | Path, *, kinds: list[str] | None = None,
                       second: tuple[EntropyCodec, np.ndarray] | None = None, simulator: str = "verilator",
                       force: bool = False) -> EntropyCheck:
    """Generate the RTL for ``codec``'s shape into ``out_dir``/rtl, stream ``calq`` with the codec's table
    (and then ``second``'s wafers with its table, same shape, with idle cycles) and require every frame
    equal to ``EntropyCodec.encode``'s; ``VerificationError`` names the first wrong wafer and its bits."""
    spec = EntropyRtlSpec.of(codec)
    phases = [(codec, calq, kinds)] + ([(second[0], second[1], None)] if second else [])
    if any(EntropyRtlSpec.of(c) != spec for c, _, _ in phases):
        raise ValueError(f"the second codec's shape differs from the first's ({spec}): one build serves one shape")
    out = Path(out_dir)
    rtl_dir = out / "rtl"
    write_entropy_rtl(spec, rtl_dir, force=force)
    env = {"CODESIGN_REPORT": str((out / "report.json").resolve())}
    for i, (c, wafers, names) in enumerate(phases):
        suffix = "" if i == 0 else "_B"
        folder = out / f"vectors{suffix.lower()}"
        write_entropy_vectors(folder, c, wafers, names, force=force)
        write_text(out / f"image{suffix.lower()}.hex", f"{config_image(c)[0]:x}\n")
        env[f"CODESIGN_IMAGE{suffix}"] = str((out / f"image{suffix.lower()}.hex").resolve())
        if suffix:
            env["CODESIGN_VECTORS_B_DIR"] = str(folder.resolve())
    (out / "report.json").unlink(missing_ok=True)
    try:
        result = run_simulation(rtl_dir, out / "vectors", simulator, testbench=ENTROPY_TESTBENCH, extra_env=env)
    except SimulationFailed as err:
        raise VerificationError(_failure(out / "report.json", spec, str(err))) from None
    report = json.loads((out / "report.json").read_text())
    return EntropyCheck(tuple(p["wafers"] for p in report["phases"]), result.build_seconds, result.test_seconds,
                        str(rtl_dir))


def _failure(report_file: Path, spec: EntropyRtlSpec, cause: str) -> str:
    """What went wrong, from the testbench's report: the first wrong frame's wafer and bits when there is one."""
    if not report_file.is_file():
        return f"econt_entropy {spec}: {cause}"
    report = json.loads(report_file.read_text())
    for phase in report["phases"]:
        first = phase["first"]
        if first is not None:
            return (f"econt_entropy {spec}: {phase['wrong']} of {phase['wafers']} frames differ from "
                    f"EntropyCodec.encode ({phase['vectors']}); first at wafer {first['wafer']}, bit "
                    f"{first['first_bit']} (0 = first transmitted)\n  expected {first['expected']}\n"
                    f"  got      {first['got']}")
    return f"econt_entropy {spec}: {cause}; testbench report: {json.dumps(report)}"
