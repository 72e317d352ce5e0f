"""Bulk verification of the synthesised netlist: the generic gates compiled to C, 512 wafers per clock.

Verilator evaluates the RTL top once per clock for one wafer, so its throughput is bounded by the work of one
evaluation (a few microseconds for a 5-eLink hybrid: ~30k adders and a 48-input sorting network). Wafers are
independent, so a gate netlist can be simulated *bit-sliced*: every net is a word of 512 bits, bit j the net's
value in lane j, and one C statement per gate evaluates it for 512 wafers at once (wide vector registers
where the machine has them). Each lane streams its own wafers back to back, one per initiation interval,
exactly as the Verilator harness does with one (``codesign.hardware.sim.bulk``): reset with ``valid_in`` high
for ``RESET_CLOCKS`` clocks, then one wafer per interval, and every frame compared with the golden model's
at the latency of ``rtl.json``.

What it checks is the netlist of ``asic_flow/asic_generic.ys`` (Yosys' generic gates, flattened), the
netlist the ASIC reports are made from; the Verilator harness checks the RTL. Both take the same files,
chunks and ``BulkResult``.

Order of the program: nets get storage slots (constants, input ports and flip-flops for good; every gate's
output only from its gate to its last reader, so the live words stay in the caches), gates run in level
order, flip-flops update together at the rising edge. The outputs must not depend combinationally on the
inputs (every top here registers them), so the outputs after one edge are read in the settle of the next
clock, one settle per clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from codesign.asic.gatesim import CONST0, CONST1, GATE_FUNCTIONS, NETLIST_JSON, GateNetlist
from codesign.data.geometry import N_TC
from codesign.errors import InputError
from codesign.hardware.rtl import RtlInfo
from codesign.hardware.sim.bulk import RESET_CLOCKS, BulkResult, Harness, build_bulk_sim, stream_through
from codesign.tools import run_tool

LANES = 512  # wafers per evaluation: one 512-bit vector per net (AVX-512 registers; narrower units split it)
GATES_PER_FUNCTION = 4000  # the settle is cut into functions of this many gates: the C compiler's time stays linear
HARNESS = "gate_harness"
DATA_PORT, FRAME_PORT = "calq", "frame"  # the tops' wafer input and frame output (as the Verilator harness's)
DRIVEN = ("clk", "rst", "valid_in")  # besides the data port; any other input is held at 0, as Verilator does


class _Word:
    """A C expression over lanes; the gate functions of ``gatesim`` applied to these write the gate's C.
    Constants fold, so gates with inputs tied to constant 0 (a NAND read as an AOI3) cost nothing extra."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __and__(self, other: _Word) -> _Word:
        if _ZERO in (self, other):
            return _ZERO
        return other if self is _ONES else self if other is _ONES else _Word(f"({self.text} & {other.text})")

    def __or__(self, other: _Word) -> _Word:
        if _ONES in (self, other):
            return _ONES
        return other if self is _ZERO else self if other is _ZERO else _Word(f"({self.text} | {other.text})")

    def __xor__(self, other: _Word) -> _Word:
        if self is _ZERO or other is _ZERO:
            return other if self is _ZERO else self
        if self is _ONES or other is _ONES:
            return ~(other if self is _ONES else self)
        return _Word(f"({self.text} ^ {other.text})")

    def __invert__(self) -> _Word:
        if self is _ZERO or self is _ONES:
            return _ONES if self is _ZERO else _ZERO
        return _Word(self.text[1:]) if self.text.startswith("~") else _Word(f"~{self.text}")


_ZERO, _ONES = _Word("s[0]"), _Word("s[1]")  # slots 0 and 1 hold the constants


@dataclass(frozen=True)
class SlicedProgram:
    """The netlist as C statements over slots: ``settle`` (gates in level order), ``edge`` (every flip-flop's
    next value, then all of them at once), and the slots of the ports the harness drives and reads."""

    slots: int
    flops: int
    settle: tuple[str, ...]
    edge: tuple[str, ...]
    ports: dict[str, tuple[int, ...]]  # port -> slots, LSB first


def sliced_program(netlist: GateNetlist, *, data_in: str, data_out: str) -> SlicedProgram:
    """Allocate slots and write the statements of ``netlist`` (see the module's docstring)."""
    _check_ports(netlist, data_in, data_out)
    slot = {CONST0: 0, CONST1: 1}
    inputs = [p for p in netlist.ports if p not in ("valid_out", data_out)]
    for net in [*np.concatenate([netlist.ports[p] for p in inputs]), *netlist.flops.q]:
        slot.setdefault(int(net), len(slot))
    gates = _schedule(netlist)
    _refuse_combinational_paths(netlist, gates, data_out)
    last_read = _last_reads(netlist, gates, data_out)
    first_temporary = size = len(slot)
    free: list[int] = []

    def operand(net: int) -> _Word:  # a net nothing drives reads 0, as in gatesim
        return _ONES if net == CONST1 else _Word(f"s[{slot[net]}]") if net in slot and net != CONST0 else _ZERO

    settle = []
    for g, (out, reads, function) in enumerate(gates):
        expression = function(*map(operand, reads))
        free += [slot[n] for n in set(reads) if last_read.get(n) == g and slot.get(n, 0) >= first_temporary]
        if out in slot:
            raise InputError(f"{netlist.top}: net {out} is driven by a gate and is also an input or a flip-flop")
        if free:
            slot[out] = free.pop()
        else:
            slot[out], size = size, size + 1
        settle.append(f"s[{slot[out]}] = {expression.text};")
        if out not in last_read:  # nothing reads it (Yosys keeps such gates only for named wires)
            free.append(slot[out])
    return SlicedProgram(slots=size, flops=len(netlist.flops.q), settle=tuple(settle), edge=_edge(netlist, operand),
                         ports={p: tuple(slot.get(int(n), 0) for n in nets) for p, nets in netlist.ports.items()})


def _check_ports(netlist: GateNetlist, data_in: str, data_out: str) -> None:
    missing = [p for p in (*DRIVEN, data_in, "valid_out", data_out) if p not in netlist.ports]
    if missing:
        raise InputError(f"{netlist.top}: the netlist has no port {', '.join(missing)}")


class _Gate(NamedTuple):
    out: int
    reads: tuple[int, ...]  # the input nets its function takes (a gate level wires unused ones to constant 0)
    function: Callable[..., Any]


def _schedule(netlist: GateNetlist) -> list[_Gate]:
    """The gates in level order, each with the nets it reads and its bitwise function."""
    gates = []
    for level in netlist.levels:
        for out, inputs, table in zip(level.outputs.tolist(), level.inputs.T.tolist(), level.tables.tolist(),
                                      strict=True):
            arity, function = GATE_FUNCTIONS[table]
            gates.append(_Gate(out, tuple(inputs[:arity]), function))
    return gates


def _last_reads(netlist: GateNetlist, gates: list[_Gate], data_out: str) -> dict[int, int]:
    """Net -> the last gate that reads it; nets the flip-flops or the outputs read live to the end of the
    settle."""
    last = {n: g for g, gate in enumerate(gates) for n in gate.reads}
    end = len(gates)
    f = netlist.flops
    for nets in (f.d, f.enable, f.reset, netlist.ports["valid_out"], netlist.ports[data_out]):
        for n in nets.tolist():
            last[n] = end
    return last


def _refuse_combinational_paths(netlist: GateNetlist, gates: list[_Gate], data_out: str) -> None:
    """An output that depends on an input through gates alone cannot be read a settle late (see the module's
    docstring)."""
    driver = {gate.out: gate for gate in gates}
    inputs = {int(n) for p, nets in netlist.ports.items() if p not in ("valid_out", data_out) for n in nets}
    seen: set[int] = set()
    stack = [int(n) for n in (*netlist.ports["valid_out"], *netlist.ports[data_out])]
    while stack:
        n = stack.pop()
        if n in seen:
            continue
        seen.add(n)
        if n in inputs:
            raise InputError(f"{netlist.top}: an output depends on input net {n} through gates alone; the gate "
                             "harness reads outputs one settle late and needs registered outputs")
        if n in driver:
            stack.extend(driver[n].reads)


def _edge(netlist: GateNetlist, operand: Callable[[int], _Word]) -> tuple[str, ...]:
    """Next value of each flip-flop into ``q_next``, then all of them into their slots (a flip-flop may read
    another one's output directly: shift registers)."""
    f = netlist.flops

    def word(net: int, active_low: int = 0) -> str:
        return (~operand(int(net)) if active_low else operand(int(net))).text

    lines = []
    for k in range(len(f.q)):
        q, d = word(f.q[k]), word(f.d[k])
        has_enable = int(f.enable[k]) != (CONST0 if f.enable_low[k] else CONST1)
        has_reset = int(f.reset[k]) != (CONST1 if f.reset_low[k] else CONST0)
        enable = word(f.enable[k], f.enable_low[k])
        value = f"(({d} & {enable}) | ({q} & ~{enable}))" if has_enable else d
        if has_reset:
            reset = word(f.reset[k], f.reset_low[k])
            if f.reset_needs_enable[k] and has_enable:
                reset = f"({reset} & {enable})"
            value = f"({value} | {reset})" if f.reset_value[k] else f"({value} & ~{reset})"
        lines.append(f"q_next[{k}] = {value};")
    lines += [f"{word(q)} = q_next[{k}];" for k, q in enumerate(f.q)]
    return tuple(lines)


HARNESS_C = r"""// generated by codesign/asic/gate_harness.py: {top}'s gate netlist, bit-sliced over {lanes} lanes;
// streams wafers through it and compares every frame with the golden model's.
#include "gate_harness.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

lanes s[SLOTS];
lanes q_next[FLOPS];
static const int DATA_IN[IN_BITS] = {{{data_in}}};
static const int DATA_OUT[OUT_BITS] = {{{data_out}}};
enum {{ RST = {rst}, VALID_IN = {valid_in}, VALID_OUT = {valid_out} }};
static const long LATENCY = {latency}, II = {interval}, RESET_CLOCKS = {reset_clocks};

// a[r] bit b <-> a[b] bit r: the 64 x 64 bit matrix transposed in place (six rounds of block swaps)
static void transpose64(uint64_t a[64]) {{
    uint64_t m = 0x00000000FFFFFFFFull;
    for (int j = 32; j; j >>= 1, m ^= m << j) {{
        for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {{
            const uint64_t t = ((a[k] >> j) ^ a[k | j]) & m;
            a[k | j] ^= t;
            a[k] ^= t << j;
        }}
    }}
}}

// wafers (LANES x IN_WORDS words, lane-major) -> the data port's slots, lane j in bit j
static void load_block(const uint64_t* wafers) {{
    uint64_t t[64];
    for (int g = 0; g < GROUPS; ++g)
        for (int w = 0; w < IN_WORDS; ++w) {{
            for (int r = 0; r < 64; ++r) t[r] = wafers[(size_t)(g * 64 + r) * IN_WORDS + w];
            transpose64(t);
            for (int b = 0; b < 64 && 64 * w + b < IN_BITS; ++b) s[DATA_IN[64 * w + b]][g] = t[b];
        }}
}}

// the frame port's slots -> frames (LANES x OUT_WORDS words, lane-major)
static void read_frames(uint64_t* frames) {{
    uint64_t t[64];
    for (int g = 0; g < GROUPS; ++g)
        for (int w = 0; w < OUT_WORDS; ++w) {{
            for (int b = 0; b < 64; ++b) t[b] = 64 * w + b < OUT_BITS ? s[DATA_OUT[64 * w + b]][g] : 0;
            transpose64(t);
            for (int r = 0; r < 64; ++r) frames[(size_t)(g * 64 + r) * OUT_WORDS + w] = t[r];
        }}
}}

static void hex(const uint64_t* w, char* out) {{  // MSB first, as many digits as the frame has
    for (int b = ((OUT_BITS + 3) / 4) * 4 - 4; b >= 0; b -= 4)
        *out++ = "0123456789abcdef"[(w[b / 64] >> (b % 64)) & 0xF];
    *out = 0;
}}

static long block_count(long n, long block) {{ return n - block * LANES < LANES ? n - block * LANES : LANES; }}

static int lane_bit(lanes word, long j) {{ return (int)((word[j / 64] >> (j % 64)) & 1); }}

int main(int argc, char** argv) {{
    if (argc != 4) {{
        fprintf(stderr, "usage: %s INPUTS.bin EXPECTED.bin N_WAFERS\n", argv[0]);
        return 2;
    }}
    FILE* fin = fopen(argv[1], "rb");
    FILE* fexp = fopen(argv[2], "rb");
    if (!fin || !fexp) {{
        fprintf(stderr, "cannot open %s or %s\n", argv[1], argv[2]);
        return 2;
    }}
    const long n = atol(argv[3]), steps = (n + LANES - 1) / LANES;
    uint64_t* in = calloc((size_t)LANES * IN_WORDS, sizeof(uint64_t));
    uint64_t* got = calloc((size_t)LANES * OUT_WORDS, sizeof(uint64_t));
    uint64_t* want = calloc((size_t)LANES * OUT_WORDS, sizeof(uint64_t));
    static char got_hex[OUT_BITS / 4 + 2] = "", want_hex[OUT_BITS / 4 + 2] = "";
    const lanes zero = {{0}}, ones = ~zero;
    long issued = 0, frames = 0, wrong = 0, first_wrong = -1, late = -1, early = 0;
    // the last clock whose outputs are read is the one that brings the last block's frames
    const long last = steps ? RESET_CLOCKS + LATENCY - 1 + (steps - 1) * II : -1;
    struct timespec start, stop;
    clock_gettime(CLOCK_MONOTONIC, &start);
    s[1] = ones;
    s[RST] = ones;
    for (long clock = 0; clock <= last + 1; ++clock) {{
        const long after_reset = clock - RESET_CLOCKS;
        if (after_reset == 0) s[RST] = zero;
        const int issue = after_reset >= 0 && issued < steps && after_reset % II == 0;
        if (issue) {{
            const long count = block_count(n, issued);
            if (fread(in, sizeof(uint64_t) * IN_WORDS, (size_t)count, fin) != (size_t)count) {{
                fprintf(stderr, "%s: ended in the wafers of block %ld\n", argv[1], issued);
                return 2;
            }}
            memset(in + count * IN_WORDS, 0, sizeof(uint64_t) * IN_WORDS * (size_t)(LANES - count));
            load_block(in);
            ++issued;
        }}
        s[VALID_IN] = after_reset < 0 || issue ? ones : zero;
        settle();  // the outputs now are those after the previous clock's edge (they depend on flip-flops alone)
        const long seen = clock - 1 - RESET_CLOCKS, due = seen + 1 - LATENCY;  // the clock read, and its block
        if (clock > 0 && seen >= 0 && due >= 0 && due % II == 0 && due / II < steps) {{
            const long k = due / II, count = block_count(n, k);
            if (fread(want, sizeof(uint64_t) * OUT_WORDS, (size_t)count, fexp) != (size_t)count) {{
                fprintf(stderr, "%s: ended in the frames of block %ld\n", argv[2], k);
                return 2;
            }}
            read_frames(got);
            for (long j = 0; j < count; ++j) {{
                if (!lane_bit(s[VALID_OUT], j)) {{
                    if (late < 0) late = k * LANES + j;
                    continue;
                }}
                ++frames;
                if (memcmp(got + j * OUT_WORDS, want + j * OUT_WORDS, sizeof(uint64_t) * OUT_WORDS) && wrong++ == 0) {{
                    first_wrong = k * LANES + j;
                    hex(got + j * OUT_WORDS, got_hex);
                    hex(want + j * OUT_WORDS, want_hex);
                }}
            }}
        }} else if (clock > 0) {{
            for (long j = 0; j < LANES; ++j) {{
                if (!lane_bit(s[VALID_OUT], j)) continue;
                if (seen < 0) {{
                    ++early;
                }} else if (late < 0) {{  // a frame at a clock where none is due: name the lane's wafer in flight
                    const long wafer = (due < 0 ? 0 : due / II) * LANES + j;
                    late = wafer < n ? wafer : n - 1;
                }}
            }}
        }}
        if (clock <= last) edge();
    }}
    clock_gettime(CLOCK_MONOTONIC, &stop);
    const double seconds = (double)(stop.tv_sec - start.tv_sec) + 1e-9 * (double)(stop.tv_nsec - start.tv_nsec);
    printf("{{\"wafers\": %ld, \"frames\": %ld, \"wrong\": %ld, \"first_wrong\": %ld, \"got\": \"%s\", "
           "\"want\": \"%s\", \"first_late\": %ld, \"during_reset\": %ld, \"seconds\": %.6f}}\n",
           n, frames, wrong, first_wrong, got_hex, want_hex, late, early, seconds);
    return 0;
}}
"""

HARNESS_H = """// generated by codesign/asic/gate_harness.py
#include <stdint.h>
typedef uint64_t lanes __attribute__((vector_size({lanes} / 8)));
enum {{ LANES = {lanes}, GROUPS = {lanes} / 64, SLOTS = {slots}, FLOPS = {flops}, IN_BITS = {in_bits},
       IN_WORDS = {in_words}, OUT_BITS = {out_bits}, OUT_WORDS = {out_words} }};
extern lanes s[SLOTS];
extern lanes q_next[FLOPS];
void settle(void);
void edge(void);
"""


@dataclass(frozen=True)
class GateBulkSim:
    """The compiled bit-sliced harness of one RTL folder's synthesised top (``build_gate_sim``)."""

    binary: Path
    info: RtlInfo
    work: Path

    @property
    def in_words(self) -> int:
        return 2 * _words64(N_TC * self.info.calq_bits)

    @property
    def out_words(self) -> int:
        return 2 * _words64(self.info.frame_bits)

    def verify(self, chunks: Iterator[tuple[np.ndarray, list[int]]], *,
               progress: Callable[[int], None] | None = None) -> BulkResult:
        """As ``BulkSim.verify``: every (calq, golden frames) chunk through the netlist, 512 wafers a clock."""
        return stream_through(self.binary, self.work, chunks, calq_bits=self.info.calq_bits, in_words=self.in_words,
                              out_words=self.out_words, progress=progress)


def _words64(bits: int) -> int:
    return -(-bits // 64)


def harness_sources(program: SlicedProgram, info: RtlInfo) -> dict[str, str]:
    """File name -> C source of the harness: the header, the main, and the settle and edge statements cut
    into functions of ``GATES_PER_FUNCTION`` statements, two files of them (compiled side by side)."""
    ports = program.ports
    files = {"gate_harness.h": HARNESS_H.format(
                 lanes=LANES, slots=program.slots, flops=max(program.flops, 1), in_bits=len(ports[DATA_PORT]),
                 in_words=_words64(len(ports[DATA_PORT])), out_bits=len(ports[FRAME_PORT]),
                 out_words=_words64(len(ports[FRAME_PORT]))),
             f"{HARNESS}.c": HARNESS_C.format(
                 top=info.top, lanes=LANES, data_in=", ".join(map(str, ports[DATA_PORT])),
                 data_out=", ".join(map(str, ports[FRAME_PORT])), rst=ports["rst"][0],
                 valid_in=ports["valid_in"][0], valid_out=ports["valid_out"][0], latency=info.latency_cycles,
                 interval=info.initiation_interval, reset_clocks=RESET_CLOCKS)}
    calls, bodies = [], []
    for name, statements in (("settle", program.settle), ("edge", program.edge)):
        parts = [statements[i:i + GATES_PER_FUNCTION] for i in range(0, len(statements), GATES_PER_FUNCTION)]
        calls.append(f"void {name}(void) {{\n" + "".join(f"    {name}_{k}();\n" for k in range(len(parts))) + "}\n")
        bodies += [(f"{name}_{k}", part) for k, part in enumerate(parts)]
    declarations = "".join(f"void {function}(void);\n" for function, _ in bodies)
    files["gate_steps.c"] = '#include "gate_harness.h"\n' + declarations + "".join(calls)
    for half in range(2):
        files[f"gate_logic_{half}.c"] = '#include "gate_harness.h"\n' + "".join(
            f"void {function}(void) {{\n    " + "\n    ".join(part) + "\n}\n"
            for function, part in bodies[half::2])
    return files


def build_gate_sim(rtl_dir: str | Path, build_dir: str | Path, *, netlist: str | Path | None = None,
                   optimise: str = "-O1") -> GateBulkSim:
    """Synthesise the top of an RTL folder (``codesign rtl``) to generic gates (``synthesize_asic``, or read
    ``netlist``, a ``netlist.json`` it wrote) and compile its bit-sliced harness in ``build_dir``."""
    from codesign.asic.synth import synthesize_asic

    rtl, build = Path(rtl_dir).resolve(), Path(build_dir).resolve()
    info = RtlInfo.load(rtl)
    if info.config_bits:
        raise ValueError(f"{rtl}: a reconfigurable top: the gate harness drives fixed tops")
    build.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    if netlist is None:
        synthesize_asic(rtl, build / "asic")
        netlist = build / "asic" / NETLIST_JSON
    gates = GateNetlist.load(netlist)
    widths = {DATA_PORT: N_TC * info.calq_bits, FRAME_PORT: info.frame_bits}
    for port, width in widths.items():
        if port in gates.ports and len(gates.ports[port]) != width:
            raise InputError(f"{netlist}: port {port} has {len(gates.ports[port])} bits, {rtl}'s top {width}: "
                             "a netlist of another top")
    program = sliced_program(gates, data_in=DATA_PORT, data_out=FRAME_PORT)
    sources = harness_sources(program, info)
    for name, text in sources.items():
        (build / name).write_text(text)
    compiler = [os.environ.get("CC", "cc"), optimise, "-march=native", "-std=gnu11", "-c"]
    objects = [build / f"{Path(name).stem}.o" for name in sources if name.endswith(".c")]
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        list(pool.map(lambda o: run_tool([*compiler, "-o", str(o), str(o.with_suffix(".c"))], cwd=build,
                                         log=o.with_suffix(".log")), objects))
    run_tool([compiler[0], "-o", str(build / HARNESS), *map(str, objects)], cwd=build, log=build / "link.log")
    (build / "build_seconds.txt").write_text(f"{time.perf_counter() - start:.1f}\n")
    return GateBulkSim(build / HARNESS, info, build)


ENGINES = {"rtl": "bulk_sim", "gates": "gate_sim"}  # engine of a bulk check -> its build folder in the RTL folder


def harness_builder(engine: str, *, netlist: str | Path | None = None) -> Callable[[Path, Path], Harness]:
    """``verify_bulk``'s ``build`` for an engine: ``rtl`` (Verilator on the RTL) or ``gates`` (the
    synthesised netlist, ``netlist`` if given, bit-sliced)."""
    if engine not in ENGINES:
        raise InputError(f"engine {engine!r}: choose one of {', '.join(ENGINES)}")
    if engine == "gates":
        return partial(build_gate_sim, netlist=netlist)
    if netlist is not None:
        raise InputError("a netlist is simulated by the gates engine only")
    return build_bulk_sim
