"""Verilog of the back-end decoders of the non-learned systems (pure functions returning text), and RTL
folders of them that ``codesign.fpga.synth.synthesize_fpga`` accepts.

A decoder takes one frame per clock (``frame``, its first bit the MSB) and gives, a fixed number of clocks
(at least one) later, the 48 cells as unsigned fixed-point CALQ counts (``cells``, TC t at bits t*W and up;
the integer golden model ``codesign.hardware.backend_model`` bit for bit). It is cut into slices with a
register after each: slice 0 follows the input register, the cells are registered after the last slice, one
frame per clock at any depth; ``valid_in`` runs along to ``valid_out`` (reset by ``rst``), the data registers
have no reset. With ``RING_SLICING`` a value carried 5 clocks or more between two readers goes through rings
(``_Design.rings``: LUT RAM where the ECP5 flow defines ``DELAY_LUTRAM_MACRO``, their pointers reset by ``rst``;
shift registers otherwise) rather than a chain of registers, and a table decoder's cell outputs take their
share's choice and their charge in two steps (``_split_output``); with ``DSP_SLICING`` each cell's share is a
product instead (``_multiplied_share``; in parts where the ECP5 flow defines ``SPLIT_PRODUCTS_MACRO``), and with
``BRAM_SLICING`` each cell's code value is read from block RAM too (``_Design.rom_reads``), the slicing of the
reference systems' decoders shared by several modules.

Best-Choice (``BestChoiceDecoder``): slice 0 decodes the unsent sum (saturated) and the first levels of the
cap's minimum tree; slices 1.. divide (restoring, exact floor, 8 steps a slice, each a 7-bit subtraction whose
borrow decides) by the constant 48 - n_cells; the slice before the last routes the charge words to their
cells (map: the flagged cells' prefix counts one slice earlier); the last takes min(quotient, cap) and puts
each cell's charge or that fill on it.

Entropy codec (``EntropyDecoder``): slice 0 reads k, the rank (shifted by the code's width A(k)) and the
Huffman stream (shifted to A(k) in steps of 8, the rest an offset); slice 1 + i decodes symbol i (its window
at the offset against the canonical code's limits, then the stream moves on by 0, 8 or 16 bits); the next
slice adds its charge to the sent sum and keeps the smallest; R = module sum - sent sum, then the divider by
48 - k. The greedy address decoding (6 steps a slice, non-restoring: one adder per step) ends in the slice
before the routing, where each cell takes its symbol; the last slice places charges and fill. A sparse frame
(k field 48 + k) reads each symbol as 7 raw bits (4E3M of CALQ itself) and places no fill.

Threshold-Sum (``ThresholdSumDecoder``, the whole frame, up to 400 bits): slice 0 reads the type, the sum
(saturated), flags the cells (type 010: its first N addresses; type 100: the map), picks the words (type 010's
lie after its N addresses) and counts the flags; slices 1.. divide by 48 - flags as for Best-Choice; the
map's router puts the j-th flagged cell's word on it (as Best-Choice's map, 48 words); the last slice caps the
fill (threshold - 1; a truncated frame, type 11x: no cap) and places charges and fill.

Super trigger cells (``SuperCellDecoder``): one slice: each group's code looks up what its largest cell keeps
and what the others get (tables of the code, ``keep_table`` and ``fill_table``: the share's quantisation and
the division by G - 1 done exactly when the tables are made), its index picks the largest. Yosys puts a 9-bit
code's tables in block RAM (the input register becomes the RAM's address register); 7-bit codes' in LUTs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import comb
from pathlib import Path

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.floats import E4M3, E5M3, E5M4, FloatFormat
from codesign.data.geometry import ADDRESS_BITS, N_TC
from codesign.data.io import CALQ_BITS
from codesign.econt.entropy import COUNT_BITS, HEADER_BITS, MAX_CODE_BITS, SPARSE_FORMAT, address_bits
from codesign.econt.learned_backend import (
    DISTANCE_EDGES,
    HALF_OCTAVES,
    PLACE_FRAC_BITS,
    UNSENT_EDGES,
    WEIGHT_MANTISSAS,
    ZERO_LEVEL,
    distance_bins,
)
from codesign.hardware.backend_model import (
    ALIGN,
    BC_ADDRESS_OFFSET,
    CHARGE_BITS,
    COUNT_OFFSET,
    RANK_OFFSET,
    STC_HEADER_BITS,
    SUM_CODE_OFFSET,
    TS_ADDRESS_OFFSET,
    TS_BODY_OFFSET,
    TS_COUNT_BITS,
    TS_FEW,
    TS_FEW_MAX,
    TS_MAP,
    TS_MAP_WORD_OFFSET,
    TS_SUM_OFFSET,
    TS_TYPE_OFFSET,
    BestChoiceDecoder,
    EntropyDecoder,
    SuperCellDecoder,
    ThresholdSumDecoder,
)
from codesign.hardware.rtl import RTL_JSON, RtlInfo
from codesign.hardware.sparse_select import PipelineStages
from codesign.hardware.verilog import verilog_module

GENERATOR = "codesign/hardware/backend_rtl.py"
DIVISOR_BITS = 6  # 48 - cells; the remainder is below it
NEAR_GROUP = 8  # cells that read one copy of a signal that every cell reads (``_Design.copies``)
CLOCK_NS = 25.0
# with RING_SLICING a value carried without being read goes through rings (``_Design.rings``) of these clocks
# (31, 15, 7 or 3 words and an output register; in LUT RAM where the ECP5 flow builds them, an ECP5
# TRELLIS_DPR16X4 being 16 words of 4 bits), the clocks left over in flip-flops; one ring, one pointer, carries
# up to RING_WIDTH bits of values that take rings of the same clocks
RING_CLOCKS, RING_WIDTH = (32, 16, 8, 4), 42
DELAY_LUTRAM_MACRO = "CODESIGN_DELAY_LUTRAM"  # defined: the rings in LUT RAM (``_ring_module``)
# a register that stays in flip-flops: Vivado reads it; Yosys 0.23 does not, so the UltraScale+ flow
# (asic_flow/fpga_xilinx.ys) gives such registers ``keep``, which its shift-register mapping respects
FLOP_ATTRIBUTE, FLOP_RING_CLOCKS = '(* shreg_extract = "no" *)', 8
# defined: a product wider than an ECP5 multiplier's 18-bit inputs in two parts, each into a register (``_product``)
SPLIT_PRODUCTS_MACRO, ECP5_MULTIPLIER_BITS = "CODESIGN_SPLIT_PRODUCTS", 18
ROM_BITS_18KB = 18  # the widest read port of an 18 Kb block RAM with two read ports (RAMB18E2, DP16KD)
XILINX_MULTIPLIER_BITS = 26  # a DSP48E2's unsigned factor at most (27 bits signed): ``rom_sums`` halves a wider Q
ECP5_MACROS = (DELAY_LUTRAM_MACRO, SPLIT_PRODUCTS_MACRO)  # what the ECP5 flow defines
Decoder = BestChoiceDecoder | EntropyDecoder | ThresholdSumDecoder | SuperCellDecoder


@dataclass(frozen=True)
class DecoderSlicing:
    """How much logic a pipeline slice of a decoder holds: steps of a restoring division (a subtraction and a
    multiplexer each), of the entropy decoder's greedy address decoding (a subtraction of up to 45 bits each)
    and levels of a minimum tree. The default keeps the pipeline short for the cost tables; ``DEEP_SLICING``
    is for a clock: the ld 2-eLink table decoder routes at 26.9 MHz on an ECP5-85 with the default and 51.5 MHz
    with it (the address decoding, then the division, is the slowest slice; docs/econt.md)."""

    divider_steps: int = 8
    address_steps: int = 6
    min_levels: int = 2
    fine: bool = False  # entropy decoders: each Huffman symbol, the placement and the adder trees cut further
    rings: bool = False  # values carried 5 clocks or more through rings (``_Design.rings``); with fine cuts only
    # table decoders: the two slices that fine cuts give a cell's output each take part of its share's choice (a
    # placed value for each half of the levels, then the half) and of its charge (the code's value, then the sent
    # flag, where the share is added): a logic level and a long route less on each path; with fine cuts only
    split_output: bool = False
    # table decoders: each cell's share multiplied out, Q w (a DSP on an FPGA), rather than chosen among the placed
    # values of every level; with fine cuts only
    multiplied_shares: bool = False
    # table decoders: each cell's code value read from block RAM (one ROM of every code's value for two cells, its
    # address the code a slice before the value's register) rather than decoded in LUTs; with multiplied_shares
    rom_values: bool = False
    # delays of a few clocks (registers outside the rings, and the rings of 4 clocks) in flip-flops, with Vivado's
    # ``shreg_extract = "no"``, rather than in Xilinx shift-register LUTs: one LUT for 3-4 flip-flops, where the
    # budget's LUTs run out long before its flip-flops (``FLOP_ATTRIBUTE``); with rings
    flop_delays: bool = False
    # table decoders: each cell the product plus a value from block RAM, addressed by its code, whether it was sent
    # and whether its share saturates: the charge in quarter counts, plus the saturated share where it does (that
    # product then 0), so the cell's adder neither saturates nor masks; with rom_values
    rom_sums: bool = False
    # entropy decoders: the sent sum's charges of the first Huffman symbols from block RAM, as many as
    # ``charge_blocks`` 18 Kb blocks hold (two symbols a ROM of {sent, symbol}; a 36 Kb block for charges wider than
    # 18 bits) rather than decoded in LUTs; with fine cuts
    charge_blocks: int = 0

    def __post_init__(self) -> None:
        if min(self.divider_steps, self.address_steps, self.min_levels) < 1:
            raise ValueError(f"decoder slicing: every step count must be >= 1, got {self}")
        if (self.rings or self.split_output or self.multiplied_shares or self.rom_values or self.charge_blocks) \
                and not self.fine:
            raise ValueError(f"decoder slicing: rings, split_output, multiplied_shares, rom_values and charge_blocks "
                             f"need fine cuts, got {self}")
        if self.flop_delays and not self.rings:
            raise ValueError(f"decoder slicing: flop_delays keeps what the rings leave in flip-flops: it needs rings, "
                             f"got {self}")
        if self.rom_sums and not self.rom_values:
            raise ValueError(f"decoder slicing: rom_sums comes with rom_values, got {self}")
        if self.rom_values and not self.multiplied_shares:
            raise ValueError(f"decoder slicing: rom_values comes with multiplied_shares, got {self}")
        if self.split_output and self.multiplied_shares:
            raise ValueError(f"decoder slicing: split_output chooses a placed value, multiplied_shares makes none: "
                             f"one of them, got {self}")

    @property
    def cut(self) -> int:
        """Slices the fine cuts add at each place they apply (0 or 1)."""
        return int(self.fine)


DEFAULT_SLICING = DecoderSlicing()
DEEP_SLICING = DecoderSlicing(divider_steps=4, address_steps=2, min_levels=1)
# for a clock several times the frame rate (modules time-multiplexed through one decoder): every step of the
# division and the address decoding, every level of an adder tree and every part of a Huffman symbol; a table
# decoder's signals that every cell reads come to each group of NEAR_GROUP cells in a register of their own
FINE_SLICING = DecoderSlicing(divider_steps=1, address_steps=1, min_levels=1, fine=True)
# and the delay lines as rings (in LUT RAM on an ECP5, shift registers on Xilinx), a table decoder's output stage
# split (the reference systems' decoders shared by several modules in sessions 35-36, docs/econt.md)
RING_SLICING = DecoderSlicing(divider_steps=1, address_steps=1, min_levels=1, fine=True, rings=True,
                              split_output=True)
# or each cell's share multiplied out rather than chosen (a DSP a cell on an FPGA)
DSP_SLICING = DecoderSlicing(divider_steps=1, address_steps=1, min_levels=1, fine=True, rings=True,
                             multiplied_shares=True)
# and each cell's code value from block RAM (a ROM for two cells) rather than LUTs: the reference systems' decoders
# shared by several modules (``codesign.hardware.system_rtl``; docs/econt.md, session 38)
BRAM_SLICING = DecoderSlicing(divider_steps=1, address_steps=1, min_levels=1, fine=True, rings=True,
                              multiplied_shares=True, rom_values=True)
# and each cell's sum from block RAM (its value and, where its share saturates, the saturated share; the cell a
# product plus that), short delays in flip-flops, the first symbols' charges from the block RAM the cells leave:
# fewer UltraScale+ LUTs, not yet 120 MHz on the ECP5 (docs/econt.md, session 39). A decoder shared by three modules
# may take 3 x 8.96 36 Kb blocks; the cells' ROMs take 24 of them
SPARE_18KB_BLOCKS = 5
SUM_SLICING = DecoderSlicing(divider_steps=1, address_steps=1, min_levels=1, fine=True, rings=True,
                             multiplied_shares=True, rom_values=True, rom_sums=True, flop_delays=True,
                             charge_blocks=SPARE_18KB_BLOCKS)


@dataclass(frozen=True)
class DecoderRtl:
    """One decoder's Verilog: ``latency`` clocks from the edge that takes a frame to the one that puts out its
    cells (the frame at edge t: cells valid after edge t + latency)."""

    module: str
    verilog: str
    latency: int
    frame_bits: int
    out_bits: int


def _const(bits: int, value: int) -> str:
    return f"{bits}'d{value}"


def _saturated(expr: str, width: int, low: int, bits: int) -> str:
    """Bits ``low`` to ``low + bits - 1`` of the ``width``-bit ``expr``, all ones where a bit above them is set."""
    return f"(|{expr}[{width - 1}:{low + bits}]) ? {_const(bits, (1 << bits) - 1)} : {expr}[{low + bits - 1}:{low}]"


def _zext(expr: str, bits: int, to: int) -> str:
    """``expr`` of ``bits`` bits zero-extended to ``to`` bits."""
    return expr if bits == to else f"{{{_const(to - bits, 0)}, {expr}}}"


class _Design:
    """Lines of a sliced design over ``PipelineStages``: a signal made in a slice is read in a later slice through
    the registers the stages insert."""

    def __init__(self, slicing: DecoderSlicing, module: str) -> None:
        self.stages = PipelineStages()
        self.lines: list[str] = []
        self.slicing = slicing
        self.copy_module = f"{module}_copy"  # the module of ``copies``' registers
        self.ring_module = f"{module}_ring"  # the rings' modules: this name and a ring's clocks (``_ring``)
        self.product_module = f"{module}_product"  # the module of ``product``'s registered multipliers
        self.module = module
        self.copied = self.multiplied = False
        self.roms: dict[str, tuple[np.ndarray, int]] = {}  # each block RAM module's table and its values' bits
        self.ring_clocks: set[int] = set()
        self.read: set[str] = set()  # what the logic reads: a register between two of these only carries a value

    def wire(self, name: str, bits: int, slice_: int, expr: str) -> str:
        self.lines.append(f"    wire [{bits - 1}:0] {name} = {expr};")
        return self.stages.make(name, bits, slice_)

    def case(self, name: str, bits: int, slice_: int, select: str, arms: list[tuple[str, str]]) -> str:
        """``name`` = the arm whose label matches ``select`` (the label "default" for the rest)."""
        self.lines += [f"    reg [{bits - 1}:0] {name};", "    always @* begin", f"        case ({select})",
                       *(f"            {label}: {name} = {value};" for label, value in arms),
                       "        endcase", "    end"]
        return self.stages.make(name, bits, slice_)

    def at(self, name: str, slice_: int) -> str:
        made = self.stages.made(name)
        if made is not None and slice_ < made:  # a read before the slice that makes it would skew the pipeline
            raise AssertionError(f"{name} is made in slice {made} and read in slice {slice_}")
        reg = self.stages.at(name, slice_)
        self.read.add(reg)
        return reg

    def copies(self, name: str, bits: int, slice_: int, first_group: int = 0) -> list[str]:
        """``name`` in ``slice_`` once for each group of ``NEAR_GROUP`` cells from ``first_group`` on (the list is
        indexed by group; "" before it): registers of their own (instances of ``copy_module``, which synthesis
        keeps whole: Yosys merges identical flip-flops, ``keep`` or not), so that each can sit by the cells that
        read it instead of one register driving cells all over the chip."""
        source, copies = self.at(name, slice_ - 1), [""] * first_group
        for g in range(first_group, N_TC // NEAR_GROUP):
            copy = f"{name}_near{g}"
            self.lines += [f"    wire [{bits - 1}:0] {copy};",
                           f"    {self.copy_module} #(.W({bits})) {copy}_r (.clk(clk), .d({source}), .q({copy}));"]
            copies.append(self.stages.make(copy, bits, slice_))
        self.copied = True
        return copies

    def product(self, name: str, a: str, a_bits: int, b: str, b_bits: int, slice_: int) -> str:
        """The unsigned product of ``a`` and ``b`` (read in ``slice_``) into a register of its own (an instance of
        ``product_module``: a multiplier with its output register, ``_product_module``), made in the slice after."""
        width = a_bits + b_bits
        self.lines += [f"    wire [{width - 1}:0] {name};",
                       f"    {self.product_module} #(.AW({a_bits}), .BW({b_bits})) {name}_m (.clk(clk), .a({a}), "
                       f".b({b}), .p({name}));"]
        self.multiplied = True
        return self.stages.make(name, width, slice_ + 1)

    def rom_reads(self, name: str, addresses: list[str], table: np.ndarray, *, bits: int, slice_: int,
                  kind: str = "values") -> list[str]:
        """``table[address]`` (``bits`` bits) for each of ``addresses`` (read in ``slice_``, their width that of
        the table's index), made in the slice after: a block RAM's read (an instance of the ROM module ``kind`` for
        each two, ``_rom_module``; one table a kind), its address register the register between the two slices."""
        assert len(addresses) % 2 == 0, "two reads a block RAM"
        values = [f"{name}{j}" for j in range(len(addresses))]
        self.lines += [f"    wire [{bits - 1}:0] {', '.join(values)};"]
        for j in range(0, len(addresses), 2):
            self.rom_instance(kind, table, bits, f"{name}{j}_rom", [(addresses[j], values[j]),
                                                                  (addresses[j + 1], values[j + 1])])
        return [self.stages.make(v, bits, slice_ + 1) for v in values]

    def rom_instance(self, kind: str, table: np.ndarray, bits: int, instance: str,
                     ports: list[tuple[str, str]]) -> None:
        """One block RAM of the ROM module ``kind`` (``table``, ``bits`` bits; one table a kind): each of its two
        read ports' (address, value) in ``ports``."""
        module = f"{self.module}_{kind}"
        known = self.roms.setdefault(module, (table, bits))
        if not (np.array_equal(known[0], table) and known[1] == bits):
            raise AssertionError(f"one table per ROM module: {module} holds another")
        (a0, v0), (a1, v1) = ports
        self.lines.append(f"    {module} {instance} (.clk(clk), .a0({a0}), .a1({a1}), .v0({v0}), .v1({v1}));")

    def per_group(self, name: str, bits: int, slice_: int) -> list[str]:
        """What each group of ``NEAR_GROUP`` cells reads (through ``at``) for ``name`` in ``slice_``: with fine cuts a
        copy of its own (``copies``), else the one signal."""
        return self.copies(name, bits, slice_) if self.slicing.fine else [name] * (N_TC // NEAR_GROUP)

    def count(self, prefix: str, flags: list[str], slice_: int) -> tuple[str, int]:
        """How many of the 1-bit ``flags`` are set, by a balanced adder tree in ``slice_``: (name, bits)."""
        name, bits, _ = self.sum_tree(prefix, [(f, 1) for f in flags], slice_)
        return name, bits

    def min_tree(self, prefix: str, terms: list[str], bits: int, first: int) -> tuple[str, int]:
        """The smallest of ``terms`` (signals made by slice ``first``), ``slicing.min_levels`` levels a slice:
        (name, slice it is made in)."""
        level, names = 0, terms
        while len(names) > 1:
            s = first + level // self.slicing.min_levels
            merged = []
            for i in range(0, len(names) - 1, 2):
                a, b = self.at(names[i], s), self.at(names[i + 1], s)
                merged.append(self.wire(f"{prefix}{level}_{i // 2}", bits, s, f"({b} < {a}) ? {b} : {a}"))
            names = merged + names[len(names) - len(names) % 2:]
            level += 1
        return names[0], first + max(level - 1, 0) // self.slicing.min_levels

    def divide(self, dividend: str, made: int, rem_bits: int, frac_bits: int, divisor: str, first: int, *,
               divisor_bits: int = DIVISOR_BITS, skip: int = 0) -> tuple[str, int]:
        """Restoring division of ``dividend`` * 2^frac_bits by the ``divisor_bits``-bit ``divisor`` (0: all ones),
        steps from slice ``first`` (the dividend is made in slice ``made``): (name of the quotient, slice it is
        made in). A remainder below the divisor takes ``divisor_bits`` bits: a step subtracts in two more (its
        borrow compares). ``skip``: the quotient's top bits that are 0 because the divisor is at least
        2^skip (the remainder starts as the dividend's top ``skip`` bits; the quotient has the rest)."""
        q_bits = rem_bits + frac_bits
        low = _zext(f"{dividend}[{rem_bits - 1}:{rem_bits - skip}]", skip, divisor_bits) if skip else \
            _const(divisor_bits, 0)
        if skip:
            low = self.at(self.wire("dv_top", divisor_bits, made, low), first)
        quotient = []
        for j in range(skip, q_bits):
            s = first + (j - skip) // self.slicing.divider_steps
            bit = self.at(self.wire(f"dv_x{j}", 1, made, f"{dividend}[{rem_bits - 1 - j}]"), s) if j < rem_bits \
                else "1'b0"
            t = self.wire(f"dv_t{j}", divisor_bits + 1, s, f"{{{low}, {bit}}}")
            d = self.at(divisor, s) if divisor.isidentifier() else divisor
            self.lines.append("    /* verilator lint_off UNUSEDSIGNAL */  // a remainder below the divisor")
            diff = self.wire(f"dv_s{j}", divisor_bits + 2, s, f"{_zext(t, divisor_bits + 1, divisor_bits + 2)} - "
                             f"{_zext(d, divisor_bits, divisor_bits + 2)}")
            self.lines.append("    /* verilator lint_on UNUSEDSIGNAL */")
            quotient.append(self.wire(f"dv_q{j}", 1, s, f"~{diff}[{divisor_bits + 1}]"))
            if j < q_bits - 1:
                rem = self.wire(f"dv_r{j}", divisor_bits, s, f"{quotient[-1]} ? {diff}[{divisor_bits - 1}:0] : "
                                f"{t}[{divisor_bits - 1}:0]")
                low = self.at(rem, first + (j + 1 - skip) // self.slicing.divider_steps)
        last = first + (q_bits - 1 - skip) // self.slicing.divider_steps
        return self.wire("quotient", q_bits - skip, last,
                         "{" + ", ".join(self.at(q, last) for q in quotient) + "}"), last

    def sum_tree(self, prefix: str, terms: list[tuple[str, int]], slice_: int, *,
                 sliced: bool = False) -> tuple[str, int, int]:
        """The sum of ``terms`` (expression, bits), a balanced adder tree from ``slice_`` on, in that slice or,
        ``sliced``, ``slicing.min_levels`` levels a slice: (name, bits, slice it is made in)."""
        values = [(name, (1 << bits) - 1) for name, bits in terms]  # (expression, the largest value it takes)
        level = 0
        while len(values) > 1:
            s = slice_ + level // self.slicing.min_levels if sliced else slice_
            paired = []
            for i in range(0, len(values) - 1, 2):
                (a, ma), (b, mb) = values[i], values[i + 1]
                if sliced:
                    a, b = self.at(a, s), self.at(b, s)
                bits = (ma + mb).bit_length()
                expr = f"{_zext(a, ma.bit_length(), bits)} + {_zext(b, mb.bit_length(), bits)}"
                paired.append((self.wire(f"{prefix}{level}_{i // 2}", bits, s, expr), ma + mb))
            values = paired + values[len(values) - len(values) % 2:]
            level += 1
        last = slice_ + max(level - 1, 0) // self.slicing.min_levels if sliced else slice_
        expr, most = values[0]
        if sliced:
            expr = self.at(expr, last)
        return self.wire(prefix, most.bit_length(), last, expr), most.bit_length(), last

    def registers(self) -> list[str]:
        if not self.slicing.fine:
            return self.stages.declarations + self.stages.registers()
        # a register carries a signal whole; with fine cuts a later slice may read part of it
        if not self.slicing.rings:
            return ["    /* verilator lint_off UNUSEDSIGNAL */", *self.stages.declarations,
                    "    /* verilator lint_on UNUSEDSIGNAL */", *self.stages.registers()]
        rings = self.rings()
        # every register outside the rings: marking only those next to another (what shift registers would take)
        # measured 1 % more LUTs at hd 4 and ld 5
        flop = f"{FLOP_ATTRIBUTE} " if self.slicing.flop_delays else ""
        declared, updates, ring_lines = [], [], []
        for reg, earlier in self.stages.earlier.items():
            if reg not in rings:
                declared.append(f"    {flop}reg [{self.stages.bits(reg) - 1}:0] {reg};")
                updates.append(f"        {reg} <= {earlier};")
        for clocks in RING_CLOCKS:  # values that take rings of these clocks share them, slice by slice
            ring: list[str] = []
            for out in sorted((out for out, (_, c) in rings.items() if c == clocks), key=self._slice_of):
                if ring and sum(map(self.stages.bits, ring)) + self.stages.bits(out) > RING_WIDTH:
                    ring_lines += self._ring(clocks, ring, rings)
                    ring = []
                ring.append(out)
            if ring:
                ring_lines += self._ring(clocks, ring, rings)
        return ["    /* verilator lint_off UNUSEDSIGNAL */", *declared, *ring_lines,
                "    /* verilator lint_on UNUSEDSIGNAL */", "    always @(posedge clk) begin", *updates, "    end"]

    def rings(self) -> dict[str, tuple[str, int]]:
        """The registers that rings replace: where a value is carried without being read, it goes through rings
        of the longest ``RING_CLOCKS`` that fit, then registers for the clocks left, the last clock always a
        register (a ring carries values of cells all over the chip: its output's register would sit by the ring,
        not by the reader; the first route of a 2-eLink decoder with rings up to the reader was limited by such a
        level, 5.9 ns of route to its share); each ring's last register becomes its output, ``(what the ring
        takes, clocks)``, the registers before it go (``("", 0)``).
        Most registers of a finely sliced decoder are such delay lines: as flip-flops (more than half of the
        shared 3-eLink tops' 40,000 on an ECP5) they kept nextpnr's placer from legalising those tops; in LUT
        RAM (an ECP5 TRELLIS_DPR16X4 holds 16 clocks of 4 bits) they halve the flip-flops."""
        chains: dict[str, list[str]] = {}  # a signal -> its registers, slice after slice
        source: dict[str, str] = {}
        for reg, earlier in self.stages.earlier.items():
            source[reg] = source.get(earlier, earlier)
            chains.setdefault(source[reg], []).append(reg)
        rings: dict[str, tuple[str, int]] = {}
        for signal, regs in chains.items():
            taken = signal  # the last register read (or the signal): where the next stretch starts
            stretch: list[str] = []
            for reg in regs:
                stretch.append(reg)
                if reg not in self.read and reg != regs[-1]:
                    continue
                for clocks in RING_CLOCKS:
                    while len(stretch) > clocks:
                        rings.update({r: ("", 0) for r in stretch[:clocks - 1]})
                        rings[stretch[clocks - 1]] = (taken, clocks)
                        taken, stretch = stretch[clocks - 1], stretch[clocks:]
                taken, stretch = reg, []
        return rings

    def _slice_of(self, name: str) -> int:
        made = self.stages.made(name)
        if made is None:
            raise KeyError(f"{name} is made in no slice")
        return made

    def _ring(self, clocks: int, outs: list[str], rings: dict[str, tuple[str, int]]) -> list[str]:
        """One ring of ``clocks`` clocks carrying each of ``outs`` from what it takes (``rings``)."""
        self.ring_clocks.add(clocks)
        name, width = f"{outs[0]}_ring", sum(self.stages.bits(out) for out in outs)
        lines = [f"    wire [{width - 1}:0] {name}_q;",
                 f"    {self.ring_module}{clocks} #(.W({width})) {name} (.clk(clk), .rst(rst), "
                 f".d({{{', '.join(rings[out][0] for out in outs)}}}), .q({name}_q));"]
        low = width
        for out in outs:
            bits = self.stages.bits(out)
            low -= bits
            lines.append(f"    wire [{bits - 1}:0] {out} = {name}_q[{low + bits - 1}:{low}];")
        return lines

    def helper_modules(self) -> str:
        """The modules of ``copies``' registers, of the rings, of the products and of the block RAM, where the
        design has any (after the decoder, in its file)."""
        text = []
        if self.copied:
            text.append(verilog_module(
                self.copy_module, ["input  wire clk", "input  wire [W-1:0] d", "output reg  [W-1:0] q"],
                ["    always @(posedge clk) q <= d;"], generator=GENERATOR, parameters="#(parameter W = 1)",
                attribute="(* keep_hierarchy *)\n", comment="one copy of a signal that many cells read, a register of "
                "its own (synthesis keeps the module whole, so no pass merges the copies)"))
        text += [_ring_module(f"{self.ring_module}{clocks}", clocks,
                              flops=self.slicing.flop_delays and clocks <= FLOP_RING_CLOCKS)
                 for clocks in sorted(self.ring_clocks)]
        if self.multiplied:
            text.append(_product_module(self.product_module))
        text += [_rom_module(module, table, bits=bits) for module, (table, bits) in self.roms.items()]
        return "".join(f"/* verilator lint_off DECLFILENAME */  // a second module in the decoder's file\n{module}"
                       "/* verilator lint_on DECLFILENAME */\n" for module in text)


def float_function(name: str, fmt: FloatFormat, drop: int, bits: int) -> list[str]:
    """A Verilog function: the value of a ``fmt`` code (``fmt.decode(code, drop)``, code 0 as 0) saturated at
    ``bits`` bits. An exponent's values all fit or all overflow: the largest, {1, m, 1, 0...}, has as many bits
    as the leading one of the smallest is high."""
    m = fmt.mantissa_bits
    mantissa = f", code[{m - 1}:0]" if m else ""  # no mantissa bits: exponent 0 is the value 0 alone
    arms = []
    for e in range(1 << fmt.exponent_bits):
        if e == 0 and not m:
            value = _const(bits, 0)
        elif e == 0:  # m * 2^drop + 2^(drop - 1): {m, 1, 0...}
            tail = ", 1'b1" + (f", {_const(drop - 1, 0)}" if drop > 1 else "") if drop else ""
            low = _zext(f"{{code[{m - 1}:0]{tail}}}", m + drop, bits)
            value = f"(code[{m - 1}:0] == {_const(m, 0)}) ? {_const(bits, 0)} : {low}"
        else:  # (2^m + m) * 2^s + 2^(s - 1), s = e - 1 + drop: {1, m, 1, 0...}
            shift = e - 1 + drop
            tail = ", 1'b1" + (f", {_const(shift - 1, 0)}" if shift > 1 else "") if shift else ""
            value = (_zext(f"{{1'b1{mantissa}{tail}}}", m + 1 + shift, bits) if m + 1 + shift <= bits
                     else _const(bits, (1 << bits) - 1))
        arms.append(f"                {_const(fmt.exponent_bits, e)}: {name} = {value};")
    return [f"    function [{bits - 1}:0] {name};", f"        input [{fmt.bits - 1}:0] code;", "        begin",
            f"            case (code[{fmt.bits - 1}:{m}])", *arms, "            endcase", "        end",
            "    endfunction"]


def ge_const(bits: list[str], value: int) -> str:
    """A logic expression of "the unsigned number of ``bits`` (MSB first) >= ``value``", for LUTs rather than a
    carry chain: x >= c iff at the first bit from the top where c has a 1 and x has a 0, ... (recursively)."""
    if value >= 1 << len(bits):
        return "1'b0"
    expr = ""  # empty: true
    for i in range(len(bits) - 1, -1, -1):  # from the LSB up: expr = (the bits below i of x >= those of c)
        bit, one = bits[i], (value >> (len(bits) - 1 - i)) & 1
        if one:
            expr = f"({bit} & {expr})" if expr else bit
        elif expr:
            expr = f"({bit} | {expr})"
    return expr or "1'b1"


def _frame_bit(frame_bits: int, position: int) -> int:
    """Index in the ``frame`` port of the frame's bit ``position`` (the first bit is the MSB)."""
    return frame_bits - 1 - position


def _frame_field(frame_bits: int, start: int, width: int, source: str = "f0") -> str:
    """The MSB-first field at ``start``, zeros past the frame's end."""
    inside = max(0, min(width, frame_bits - start))
    text = f"{source}[{_frame_bit(frame_bits, start)} -: {inside}]" if inside else ""
    if inside == width:
        return text
    pad = _const(width - inside, 0)
    return f"{{{text}, {pad}}}" if text else pad


def _shell(design: _Design, frame_bits: int, slices: int, cells: list[str]) -> list[str]:
    """The input register, the valid pipeline and the output register around the slices."""
    return [
        "    /* verilator lint_off UNUSEDSIGNAL */  // the header and the padding are not read",
        f"    reg [{frame_bits - 1}:0] f0;",
        "    /* verilator lint_on UNUSEDSIGNAL */",
        f"    reg [{slices - 1}:0] valid_pipe;",
        *design.lines,
        *design.registers(),
        "    always @(posedge clk) begin",
        "        f0 <= frame;",
        "        if (rst) begin",
        f"            valid_pipe <= {_const(slices, 0)};",
        "            valid_out <= 1'b0;",
        "        end else begin",
        f"            valid_pipe <= {{valid_pipe[{slices - 2}:0], valid_in}};" if slices > 1 else
        "            valid_pipe <= valid_in;",
        f"            valid_out <= valid_pipe[{slices - 1}];",
        "        end",
        "        cells <= {" + ", ".join(reversed(cells)) + "};",
        "    end",
    ]


def _ports(frame_bits: int, out_bits: int) -> list[str]:
    return ["input  wire clk", "input  wire rst", "input  wire valid_in", f"input  wire [{frame_bits - 1}:0] frame",
            "output reg  valid_out", f"output reg  [{N_TC * out_bits - 1}:0] cells"]


def _place(design: _Design, codes: list[str], selected: list[str], fill: str, frac_bits: int, slice_: int,
           value: str, int_bits: int) -> list[str]:
    """Each cell's charge (``value`` of its code) or the fill, in ``slice_``."""
    out_bits = int_bits + frac_bits
    frac = f", {_const(frac_bits, 0)}" if frac_bits else ""
    return [design.wire(f"cell{c}", out_bits, slice_,
                        f"{design.at(selected[c], slice_)} ? {{{value}({design.at(codes[c], slice_)}){frac}}} "
                        f": {design.at(fill, slice_)}")
            for c in range(N_TC)]


def _fill(design: _Design, quotient: str, q_bits: int, cap: str, frac_bits: int, int_bits: int, slice_: int) -> str:
    """min(quotient, cap * 2^F) in ``slice_``."""
    out_bits = int_bits + frac_bits
    cap_fixed = design.wire("cap_fixed", out_bits, slice_,
                            f"{{{design.at(cap, slice_)}{', ' + _const(frac_bits, 0) if frac_bits else ''}}}")
    q = design.at(quotient, slice_)
    return design.wire("fill", out_bits, slice_,
                       f"({q} < {_zext(cap_fixed, out_bits, q_bits)}) ? {q}[{out_bits - 1}:0] : {cap_fixed}")


def _flag_indices(d: _Design, flags: str, slice_: int) -> list[str]:
    """Per cell p, the number of flagged cells below p (``flags``: 48 bits, cell 0 the MSB): counts per block
    of 8 cells, their running sums, and a running count inside each block."""
    bits = N_TC.bit_length()
    blocks = N_TC // ALIGN
    base = _const(bits, 0)
    indices = []
    for b in range(blocks):
        inside = _const(3, 0)
        for r in range(ALIGN):
            p = ALIGN * b + r
            indices.append(d.wire(f"index{p}", bits, slice_, f"{base} + {_zext(inside, 3, bits)}"))
            if r < ALIGN - 1:
                inside = d.wire(f"inblk{p}", 3, slice_, f"{inside} + {_zext(f'{flags}[{N_TC - 1 - p}]', 1, 3)}")
        if b < blocks - 1:
            name, width = d.count(f"blk{b}_", [f"{flags}[{N_TC - 1 - p}]" for p in range(ALIGN * b, ALIGN * b + ALIGN)],
                                  slice_)
            base = d.wire(f"below{b + 1}", bits, slice_, f"{base} + {_zext(name, width, bits)}")
    return indices


def _route_map(d: _Design, flags: str, words: list[str], route: int, prefix: str = "") -> tuple[list[str], list[str]]:
    """(selected, codes) of each cell (``backend_model.map_cells``): the 48-bit ``flags`` (cell 0 the MSB),
    the flagged cells' prefix counts in the slice before ``route``, each cell's word in ``route``."""
    flags_early = d.at(flags, route - 1)
    indices = _flag_indices(d, flags_early, route - 1)
    selected, codes = [], []
    for p in range(N_TC):
        selected.append(d.wire(f"{prefix}sel{p}", 1, route - 1, f"{flags_early}[{N_TC - 1 - p}]"))
        arms = [(_const(N_TC.bit_length(), j), d.at(words[j], route)) for j in range(min(p + 1, len(words)))]
        if len(arms) < 1 << N_TC.bit_length():
            arms.append(("default", _const(CHARGE_BITS, 0)))
        codes.append(d.case(f"{prefix}code{p}", CHARGE_BITS, route, d.at(indices[p], route), arms))
    return selected, codes


def best_choice_rtl(dec: BestChoiceDecoder, slicing: DecoderSlicing = DEFAULT_SLICING) -> DecoderRtl:
    """The Best-Choice back end as Verilog (module ``bc_decoder_<n>elink_drop<d>``)."""
    fw, nc, frac = dec.frame_bits, dec.n_cells, dec.frac_bits
    module = f"bc_decoder_{dec.elinks}elink_drop{dec.drop_lsb}"
    d = _Design(slicing, module)
    words = [d.wire(f"word{i}", CHARGE_BITS, 0, _frame_field(fw, dec.word_offset + CHARGE_BITS * i, CHARGE_BITS))
             for i in range(nc)]
    sum_code = d.wire("sum_code", E5M3.bits, 0, _frame_field(fw, SUM_CODE_OFFSET, E5M3.bits))
    residual = d.wire("residual", dec.rem_bits, 0, f"sum_value({sum_code})")
    if dec.few:
        addresses = [d.wire(f"addr{i}", ADDRESS_BITS, 0, _frame_field(fw, BC_ADDRESS_OFFSET + ADDRESS_BITS * i,
                                                                       ADDRESS_BITS)) for i in range(nc)]
        capped = [d.wire(f"capword{i}", CHARGE_BITS, 0, f"({a} < {_const(ADDRESS_BITS, N_TC)}) ? {w} : "
                         f"{_const(CHARGE_BITS, (1 << CHARGE_BITS) - 1)}")
                  for i, (a, w) in enumerate(zip(addresses, words, strict=True))]
    else:
        capped = words
        flags = d.wire("flags", N_TC, 0, _frame_field(fw, BC_ADDRESS_OFFSET, N_TC))
    divisor = _const(DIVISOR_BITS, N_TC - nc)  # Best-Choice always sends n_cells cells
    cap_code, _ = d.min_tree("capmin", capped, CHARGE_BITS, 0)
    quotient, q_slice = d.divide(residual, 0, dec.rem_bits, frac, divisor, 1)
    last = q_slice + 1
    route = last - 1
    if dec.few:
        selected, codes = [], []
        for p in range(N_TC):
            hits = [f"({d.at(a, route)} == {_const(ADDRESS_BITS, p)})" for a in addresses]
            selected.append(d.wire(f"sel{p}", 1, route, " | ".join(hits)))
            codes.append(d.wire(f"code{p}", CHARGE_BITS, route, " | ".join(
                f"({h} ? {d.at(w, route)} : {_const(CHARGE_BITS, 0)})" for h, w in zip(hits, words, strict=True))))
    else:
        selected, codes = _route_map(d, flags, words, route)
    cap_value = d.wire("cap_value", dec.int_bits, last - 1, f"charge_value({d.at(cap_code, last - 1)})")
    fill = _fill(d, quotient, dec.rem_bits + frac, cap_value, frac, dec.int_bits, last)
    out = _place(d, codes, selected, fill, frac, last, "charge_value", dec.int_bits)
    body = [*float_function("sum_value", E5M3, dec.drop_lsb, dec.rem_bits),
            *float_function("charge_value", E4M3, dec.drop_lsb, dec.int_bits),
            *_shell(d, fw, last + 1, [out[dec.post_of_tc[t]] for t in range(N_TC)])]
    comment = (f"the Best-Choice back end, {dec.elinks} eLinks, DropLSB {dec.drop_lsb}, {nc} cells\n// "
               f"({'addresses' if dec.few else 'map'}); cells: unsigned {dec.int_bits}.{frac} fixed-point CALQ, "
               f"TC t at cells[t*{dec.out_bits} +: {dec.out_bits}]; latency {last + 1} clocks.")
    verilog = verilog_module(module, _ports(fw, dec.out_bits), body, generator=GENERATOR, comment=comment)
    return DecoderRtl(module, verilog + d.helper_modules(), last + 1, fw, dec.out_bits)


def _symbol_slices(slicing: DecoderSlicing) -> int:
    """Slices a Huffman symbol's step through the stream takes: the window and its length comparisons, the
    code's length and the next position, the shifted stream (one slice for all without fine cuts)."""
    return 1 + 2 * slicing.cut


def _huffman_stage(d: _Design, dec: EntropyDecoder, i: int, buffer: str, offset: str,
                   sparse: str, first: int) -> tuple[str, str, str, str, int]:
    """Symbol ``i`` from slice ``first`` on, from the stream ``buffer`` (its first ``offset`` bits already read):
    (the Huffman symbol, the cell's code: that symbol or, in a ``sparse`` frame, the raw 7-bit charge; the next
    stage's buffer and offset, empty after the last symbol; the slice the symbol and the code are made in)."""
    code, width, cut = dec.code, dec.stream_width(i), d.slicing.cut
    sb, used, len_bits = code.symbol_bits, code.lengths, MAX_CODE_BITS.bit_length()
    window = dec.window_bits
    s_len, s_step = first + cut, first + 2 * cut  # the code's length; the next position and the table index
    s_sym = s_step + cut
    buf, off = d.at(buffer, first), d.at(offset, first)
    win = d.case(f"win{i}", window, first, off,
                 [(_const(3, o), f"{buf}[{width - 1 - o} -: {window}]") for o in range(ALIGN)])
    length = _const(len_bits, used[0])
    for j, limit in enumerate(code.limits[:-1]):  # the window's top used[j] bits against the limit's
        top = [f"{win}[{window - 1 - b}]" for b in range(used[j])]
        ge = d.wire(f"ge{i}_{j}", 1, first, ge_const(top, limit >> (MAX_CODE_BITS - used[j])))
        length = f"{d.at(ge, s_len)} ? {_const(len_bits, used[j + 1])} : ({length})"
    length = d.wire(f"len{i}", len_bits, s_len, length)
    arms = []
    for j, bits in enumerate(used):
        low = f"{d.at(win, s_step)}[{window - bits + min(sb, bits) - 1}:{window - bits}]"
        arms.append((_const(len_bits, bits) if j < len(used) - 1 else "default",
                     f"{_zext(low, min(sb, bits), sb)} + {_const(sb, code.offsets[j])}"))
    index = d.case(f"sidx{i}", sb, s_step, d.at(length, s_step), arms)
    symbol = d.case(f"sym{i}", sb, s_sym, d.at(index, s_sym),
                    [(_const(sb, x), _const(sb, code.order[x])) for x in range(1 << sb)])
    cell_code, step_length = symbol, length
    if dec.codec.sparse_cells:
        cb, raw = _code_bits(dec), f"{d.at(win, s_sym)}[{window - 1} -: {SPARSE_FORMAT.bits}]"
        cell_code = d.wire(f"ccode{i}", cb, s_sym, f"{d.at(sparse, s_sym)} ? {_zext(raw, SPARSE_FORMAT.bits, cb)} : "
                           f"{_zext(symbol, sb, cb)}")
    if i == dec.max_cells - 1:
        return symbol, cell_code, "", "", s_sym
    if dec.codec.sparse_cells:
        step_length = d.wire(f"step{i}", len_bits, s_len, f"{d.at(sparse, s_len)} ? "
                             f"{_const(len_bits, SPARSE_FORMAT.bits)} : {length}")
    nxt = dec.stream_width(i + 1)
    pos = d.wire(f"pos{i}", 5, s_len, f"{_zext(d.at(off, s_len), 3, 5)} + {_zext(step_length, len_bits, 5)}")
    moved = []
    for shift in (0, ALIGN, 2 * ALIGN):
        kept = min(nxt, width - shift)
        text = f"{d.at(buf, s_step)}[{width - 1 - shift} -: {kept}]"
        moved.append(text if kept == nxt else f"{{{text}, {_const(nxt - kept, 0)}}}")
    pos = d.at(pos, s_step)
    step = d.case(f"buf{i + 1}", nxt, s_step, f"{pos}[4:3]",
                  [("2'd0", moved[0]), ("2'd1", moved[1]), ("default", moved[2])])
    return symbol, cell_code, step, d.wire(f"off{i + 1}", 3, s_step, f"{pos}[2:0]"), s_sym


def _slot_bits(dec: EntropyDecoder) -> int:
    """Bits of a symbol slot's index (0 .. K - 1)."""
    return max((dec.max_cells - 1).bit_length(), 1)


def _code_bits(dec: EntropyDecoder) -> int:
    """Bits of a cell's code: the Huffman symbol, or a sparse frame's raw charge if wider."""
    return max(dec.code.symbol_bits, SPARSE_FORMAT.bits if dec.codec.sparse_cells else 0)


def entropy_rtl(dec: EntropyDecoder, slicing: DecoderSlicing = DEFAULT_SLICING) -> DecoderRtl:
    """The entropy codec's back end as Verilog (module ``entropy_decoder_<n>elink_m<m>``)."""
    codec, code, fw, frac = dec.codec, dec.code, dec.frame_bits, dec.frac_bits
    k_max, sb = dec.max_cells, code.symbol_bits
    if k_max < 1:
        raise ValueError(f"entropy decoder: the codec's frame holds no cell ({codec})")
    k_bits, idx_bits = k_max.bit_length(), _slot_bits(dec)
    module = f"entropy_{'' if dec.placement is None else 'table_'}decoder_{codec.elinks}elink_m{codec.mantissa_bits}"
    d = _Design(slicing, module)
    cut = slicing.cut
    raw_k = d.wire("k_field", COUNT_BITS, 0, _frame_field(fw, COUNT_OFFSET, COUNT_BITS))
    sparse = "1'b0"
    if codec.sparse_cells:  # k field 48 + k: a sparse frame of k cells
        sparse = d.wire("sparse", 1, 0, f"{raw_k} > {_const(COUNT_BITS, N_TC)}")
        raw_k = d.wire("count", COUNT_BITS, 0, f"{sparse} ? {raw_k} - {_const(COUNT_BITS, N_TC)} : {raw_k}")
    raw_k = d.at(raw_k, cut)
    k = d.wire("k", k_bits, cut,
               f"({raw_k} > {_const(COUNT_BITS, k_max)}) ? {_const(k_bits, k_max)} : {raw_k}[{k_bits - 1}:0]")
    module_sum = d.wire("module_sum", dec.sum_bits, 0, f"sum_value({_frame_field(fw, HEADER_BITS, E5M4.bits)})")
    rank_bits, widths = dec.rank_bits, address_bits()
    window = d.wire("rank_window", rank_bits, 0, _frame_field(fw, RANK_OFFSET, rank_bits))
    stream_bits, width0 = fw - RANK_OFFSET, dec.stream_width(0)
    stream = d.wire("stream", stream_bits, 0, _frame_field(fw, RANK_OFFSET, stream_bits))
    front = 2 * cut  # the slice of the rank and the stream's start (the count and k before it with fine cuts)
    window, stream = d.at(window, front), d.at(stream, front)
    arms_rank, arms_buf, arms_off = [], [], []
    for kk in range(k_max + 1):
        a, label = int(widths[kk]), _const(k_bits, kk) if kk < k_max else "default"
        arms_rank.append((label, _zext(f"{window}[{rank_bits - 1} -: {a}]", a, rank_bits) if a
                          else _const(rank_bits, 0)))
        skip = ALIGN * (a // ALIGN)
        kept = min(width0, stream_bits - skip)
        moved = f"{stream}[{stream_bits - 1 - skip} -: {kept}]"
        arms_buf.append((label, moved if kept == width0 else f"{{{moved}, {_const(width0 - kept, 0)}}}"))
        arms_off.append((label, _const(3, a % ALIGN)))
    k_at = d.at(k, front)
    rank = d.case("rank47", rank_bits, front, k_at, arms_rank)
    buffer, offset = d.case("buf0", width0, front, k_at, arms_buf), d.case("off0", 3, front, k_at, arms_off)

    cell_codes: list[str] = []
    sent_sum, least, strongest = "", "", ("", "")
    rom_charges, pending = _rom_charges(dec, slicing), []
    for i in range(k_max):  # symbol i from slice 1 + i; the next slice adds its charge and keeps the least
        first = front + 1 + i * _symbol_slices(slicing)
        symbol, cell_code, buffer, offset, made = _huffman_stage(d, dec, i, buffer, offset, sparse, first)
        cell_codes.append(cell_code)
        s = made + 1
        sent, sym = f"({d.at(k, s)} > {_const(k_bits, i)})", d.at(symbol, s)
        if codec.sparse_cells:  # a sparse frame's sum is not read: it adds nothing
            sent = f"({sent} && !{d.at(sparse, s)})"
        charge = _zext(f"({sent} ? charge_value({sym}) : {_const(dec.int_bits, 0)})", dec.int_bits,
                       dec.sent_sum_bits)
        if i < rom_charges:  # {sent, symbol} into a block RAM a slice earlier, its charge into the register
            value, early = f"charge_rom{i}", made
            d.lines.append(f"    wire [{dec.int_bits - 1}:0] {value};")
            sent_early = f"({d.at(k, early)} > {_const(k_bits, i)})"
            if codec.sparse_cells:
                sent_early = f"({sent_early} && !{d.at(sparse, early)})"
            pending.append((f"{{{sent_early}, {d.at(symbol, early)}}}", value))
            if len(pending) == 2:
                d.rom_instance("charges", _sent_charges(dec), dec.int_bits, f"{value}_rom", pending)
                pending = []
            charge = _zext(d.at(d.stages.make(value, dec.int_bits, s), s + 1), dec.int_bits, dec.sent_sum_bits)
        elif cut:  # the charge, then the sum in the next slice
            charge = d.at(d.wire(f"charge{i}", dec.sent_sum_bits, s, charge), s + 1)
        add = s + cut
        sent_sum = d.wire(f"sent{i + 1}", dec.sent_sum_bits, add, f"{d.at(sent_sum, add)} + {charge}" if i else charge)
        if dec.placement is None:  # the cap: the least charge
            least = d.wire(f"least{i + 1}", sb, s, f"({sent} && {sym} < {d.at(least, s)}) ? {sym} : {d.at(least, s)}"
                           if i else f"{sent} ? {sym} : {_const(sb, (1 << sb) - 1)}")
        elif dec.placement.distance_to == "strongest":  # the first slot of the largest code
            valid = f"({d.at(k, s)} > {_const(k_bits, i)})"
            strongest = _strongest_step(d, dec, i, strongest, d.at(cell_code, s), valid, s)
    r_slice = add + 1
    total = d.at(module_sum, r_slice)
    sent_total = _zext(d.at(sent_sum, r_slice), dec.sent_sum_bits, dec.sum_bits)
    left_over = d.wire("left_over", dec.sum_bits, r_slice, f"({total} > {sent_total}) ? {total} - {sent_total} : "
                       f"{_const(dec.sum_bits, 0)}")
    r_slice += cut  # the residual, saturated, in the next slice with fine cuts
    residual = d.wire("residual", dec.rem_bits, r_slice,
                      _saturated(d.at(left_over, r_slice), dec.sum_bits, 0, dec.rem_bits))
    steps = d.slicing.address_steps
    address_slices = -(-N_TC // steps)  # greedy address decoding, ending in the slice before the routing
    if dec.placement is None:
        divisor = d.wire("divisor", DIVISOR_BITS, cut,
                         f"{_const(DIVISOR_BITS, N_TC)} - {_zext(k, k_bits, DIVISOR_BITS)}")
        quotient, q_slice = d.divide(residual, r_slice, dec.rem_bits, frac, divisor, r_slice + 1)
        first = max(1 + front, q_slice - address_slices - cut)
    else:  # the placement's division needs the addresses: they come first
        first = max(1 + front, r_slice - address_slices - cut)
    last = first + cut + address_slices + 1  # with fine cuts the first trial has a slice of its own
    index_bits = k_bits + 1  # cells left minus one, two's complement: negative when none is left
    c_top = d.case("binom_top", rank_bits, first, d.at(k, first), [
        *((_const(k_bits, j), _const(rank_bits, comb(N_TC - 1, j))) for j in range(1, k_max + 1)),
        ("default", _const(rank_bits, 0))])
    trial = d.wire(f"trial{N_TC - 1}", rank_bits + 1, first, f"{{1'b0, {d.at(rank, first)}}} - {{1'b0, {c_top}}}")
    index = d.wire(f"index{N_TC - 1}", index_bits, first,
                   f"{_zext(d.at(k, first), k_bits, index_bits)} - {_const(index_bits, 1)}")
    selected, slots = [""] * N_TC, [""] * N_TC
    for step, a in enumerate(range(N_TC - 1, -1, -1)):
        s, bits = first + cut + step // steps, dec.trial_bits(a)
        idx, t = d.at(index, s), d.at(trial, s)
        selected[a] = d.wire(f"take{a}", 1, s, f"~{idx}[{k_bits}] & ~{t}[{bits - 1}]")
        slots[a] = d.wire(f"slot{a}", idx_bits, s, f"{idx}[{idx_bits - 1}:0]")
        if not a:
            break
        nxt = dec.trial_bits(a - 1)  # t -/+ C(a - 1, left - 1): one adder, the table inverted and carry in on a take
        table = d.case(f"binom{a - 1}", nxt, s, f"{idx}[{k_bits - 1}:0]", [
            *((_const(k_bits, j), _const(nxt, comb(a - 1, j))) for j in range(k_max)), ("default", _const(nxt, 0))])
        d.lines.append("    /* verilator lint_off UNUSEDSIGNAL */  // the trial's high bits: only its sign is read")
        acc = d.wire(f"acc{a - 1}", nxt + 1, s, f"{{{t}[{nxt - 1}:0], 1'b1}} + {{{table} ^ {{{nxt}{{{selected[a]}}}}}, "
                     f"{selected[a]}}}")
        d.lines.append("    /* verilator lint_on UNUSEDSIGNAL */")
        trial = d.wire(f"trial{a - 1}", nxt, s, f"{acc}[{nxt}:1]")
        if a == 1:  # the last index: only its sign and slot bits are read, and a table placement reads no more
            d.lines.append("    /* verilator lint_off UNUSEDSIGNAL */")
        index = d.wire(f"index{a - 1}", index_bits, s, f"{idx} - {_zext(selected[a], 1, index_bits)}")
        if a == 1:
            d.lines.append("    /* verilator lint_on UNUSEDSIGNAL */")
    route, cb = last - 1, _code_bits(dec)
    # with fine cuts a table placement routes the codes where the cells read them: its long pipeline then carries
    # the K codes and the take flags (the slots are rebuilt from them) instead of 48 routed codes, 28 % fewer
    # flip-flops at 3 eLinks (an ECP5 could not place the shared 3-eLink tops with them)
    late = dec.placement is not None and bool(cut)
    codes = [] if late else _routed(d, dec, "code", cell_codes, slots, route=route, bits=cb)
    value_functions = (table_function("charge_value", dec.charge_table, sb, dec.int_bits)
                       if dec.fitted_charges
                       else float_function("charge_value", dec.fmt, codec.drop_lsb, dec.int_bits))
    value = "charge_value"
    if dec.placement is None:
        cap_value = d.wire("cap_value", dec.int_bits, last - 1, f"charge_value({d.at(least, last - 1)})")
        fill = _fill(d, quotient, dec.rem_bits + frac, cap_value, frac, dec.int_bits, last)
        if codec.sparse_cells:  # a sparse frame: no fill
            fill = d.wire("fill_or_none", dec.out_bits, last, f"{d.at(sparse, last)} ? {_const(dec.out_bits, 0)} : "
                          f"{fill}")
    if codec.sparse_cells:  # a sparse frame: its raw charges
        if codes:
            codes = _tagged(d, codes, cb, sparse, last if dec.placement is None else route)
        value_functions += [*float_function("sparse_value", SPARSE_FORMAT, 0, dec.int_bits),
                            f"    function [{dec.int_bits - 1}:0] cell_value;", f"        input [{cb}:0] code;",
                            f"        cell_value = code[{cb}] ? sparse_value(code[{SPARSE_FORMAT.bits - 1}:0]) : "
                            f"charge_value(code[{sb - 1}:0]);", "    endfunction"]
        value = "cell_value"
    if dec.placement is None:
        cells = _place(d, codes, selected, fill, frac, last, value, dec.int_bits)
        rule = "the rest spread evenly"
    else:
        r = d.wire("placed_sum", dec.rem_bits, r_slice, f"{d.at(sparse, r_slice)} ? {_const(dec.rem_bits, 0)} : "
                   f"{residual}") if codec.sparse_cells else residual
        placing = _Placing(codes, cell_codes, sparse, k, selected, slots, strongest, r, sent_sum, route)
        cells, last = _table_placement(d, dec, placing, value)
        rule = "the rest placed by a learned table" + (", charges from a fitted table per symbol"
                                                       if dec.fitted_charges else "")
    body = [*float_function("sum_value", E5M4, 0, dec.sum_bits), *value_functions, *_shell(d, fw, last + 1, cells)]
    comment = (f"the entropy codec's back end, {codec.elinks} eLinks, DropLSB {codec.drop_lsb}, "
               f"4E{codec.mantissa_bits}M charges, up to {k_max} cells, {rule};\n// cells: unsigned "
               f"{dec.int_bits}.{frac} fixed-point CALQ, TC t at cells[t*{dec.out_bits} +: {dec.out_bits}]; "
               f"latency {last + 1} clocks.")
    verilog = verilog_module(module, _ports(fw, dec.out_bits), body, generator=GENERATOR, comment=comment)
    return DecoderRtl(module, verilog + d.helper_modules(), last + 1, fw, dec.out_bits)


def _ring_module(name: str, clocks: int, *, flops: bool = False) -> str:
    """Module ``name``: ``d`` to ``q`` in ``clocks`` clocks (a power of two). Where ``DELAY_LUTRAM_MACRO`` is
    defined (the ECP5 flow: no shift-register LUTs), through a ring of ``clocks`` - 1 words in LUT RAM (read
    before written, one pointer for both: a maximal-length LFSR) and ``q``, the module kept whole so that no pass
    merges the rings' pointers into one that drives every ring on the chip; else a chain of registers, which
    synthesis flattens and Xilinx packs into shift-register LUTs (LUT RAM there took 1-2 % more LUTs: per
    RAM32M16 however few words it holds, and no constant propagates through it); ``flops``: that chain stays in
    flip-flops (``FLOP_ATTRIBUTE``)."""
    bits = clocks.bit_length() - 1
    if clocks != 1 << bits or bits < 2:
        raise ValueError(f"a ring's clocks are a power of two, at least 4: {clocks}")
    tap = _lfsr_tap(bits)
    flop = f"{FLOP_ATTRIBUTE} " if flops else ""
    body = [f"`ifdef {DELAY_LUTRAM_MACRO}",
            f"    reg [W-1:0] ring [1:{clocks - 1}];", f"    reg [{bits - 1}:0] at;", "    always @(posedge clk) begin",
            "        q <= ring[at];", "        ring[at] <= d;",
            f"        at <= rst ? {_const(bits, 1)} : {{at[{bits - 2}:0], at[{bits - 1}] ^ at[{tap}]}};", "    end",
            "`else",
            f"    {flop}reg [W*{clocks - 1}-1:0] line;", "    always @(posedge clk) begin",
            f"        line <= {{line[W*{clocks - 2}-1:0], d}};", f"        q <= line[W*{clocks - 1}-1 -: W];",
            "    end",
            "`endif"]
    ports = ["input  wire clk",  # the chain of registers has no pointer to reset
             "/* verilator lint_off UNUSEDSIGNAL */ input  wire rst /* verilator lint_on UNUSEDSIGNAL */",
             "input  wire [W-1:0] d", "output reg  [W-1:0] q"]
    return verilog_module(name, ports, body, generator=GENERATOR, parameters="#(parameter W = 1)",
                          attribute=f"`ifdef {DELAY_LUTRAM_MACRO}\n(* keep_hierarchy *)\n`endif\n",
                          comment=f"a value {clocks} clocks later, in LUT RAM or shift registers rather than "
                                  "flip-flops")


def _lfsr_tap(bits: int) -> int:
    """The bit ``t`` for which ``at`` -> {at[bits-2:0], at[bits-1] ^ at[t]} visits all 2^bits - 1 non-zero states."""
    for tap in range(bits - 1):
        state, seen = 1, 0
        while True:
            state = ((state << 1) & ((1 << bits) - 1)) | (((state >> (bits - 1)) ^ (state >> tap)) & 1)
            seen += 1
            if state == 1:
                break
        if seen == (1 << bits) - 1:
            return tap
    raise ValueError(f"no two-tap maximal LFSR of {bits} bits")


def _routed(d: _Design, dec: EntropyDecoder, prefix: str, per_slot: list[str], slots: list[str], *, route: int,
            bits: int, split: int = 0) -> list[str]:
    """Each cell's ``prefix<a>``: the ``bits``-bit value of the slot it takes, in slice ``route`` (0 past the
    slots a cell can take). With ``split`` the choice takes two slices: the slot's low ``split`` bits choose
    within each group of 2^split slots in slice ``route - 1``, from copies of the slots' values near each group
    of cells (``_Design.copies``), its high bits among the groups in ``route``."""
    idx_bits = _slot_bits(dec)
    near = [d.copies(v, bits, route - 1, j // NEAR_GROUP) for j, v in enumerate(per_slot)] if split else []
    routed = []
    for a in range(N_TC):
        options, s = min(a + 1, dec.max_cells), route - bool(split)
        values = [c[a // NEAR_GROUP] for c in near[:options]] if split else [d.at(v, s) for v in per_slot[:options]]
        select, sel_bits = d.at(slots[a], s), idx_bits
        if split and options > 1 << split:
            values = [d.case(f"{prefix}{a}_{g >> split}", bits, s, f"{select}[{split - 1}:0]",
                             _arms(values[g:g + (1 << split)], split, bits)) for g in range(0, options, 1 << split)]
            s, sel_bits = route, idx_bits - split
            select, values = f"{d.at(slots[a], s)}[{idx_bits - 1}:{split}]", [d.at(v, s) for v in values]
        elif split:  # one group: one choice, a slice early, carried to the cell
            s = route - 1
        routed.append(d.at(d.case(f"{prefix}{a}", bits, s, select, _arms(values, sel_bits, bits)), route))
    return routed


def _arms(values: list[str], select_bits: int, bits: int) -> list[tuple[str, str]]:
    """A case's arms: ``values[j]`` when the select is j, 0 past them."""
    arms = [(_const(select_bits, j), v) for j, v in enumerate(values)]
    return arms + [("default", _const(bits, 0))] if len(values) < 1 << select_bits else arms


def _slots_from_takes(d: _Design, dec: EntropyDecoder, takes: list[str], k: str, first: int) -> list[str]:
    """Each cell's slot again, from the take flags in three slices from ``first`` (made in the third): k - 1
    less the takes above the cell, the greedy decoding's index at that cell (mod 2^slot bits: a taken cell's
    slot is below k), so that the 48 slots need not be carried through the placement. The takes above a
    cell: those in its group of ``NEAR_GROUP``, and the groups' counts above its group; k - 1 comes to each group
    in a copy of its own."""
    bits, group = _slot_bits(dec), NEAR_GROUP
    flags = [d.at(x, first) for x in takes]
    above, counts = [], []
    for g in range(0, N_TC, group):
        for a in range(g, g + group):
            terms = [_zext(x, 1, bits) for x in flags[a + 1:g + group]]
            above.append(d.wire(f"takes_above{a}", bits, first, " + ".join(terms) if terms else _const(bits, 0)))
        if g:  # the first group's count is above no group
            counts.append(d.wire(f"group_takes{g // group}", bits, first,
                                 " + ".join(_zext(x, 1, bits) for x in flags[g:g + group])))
    s = first + 1
    groups_above = [d.wire(f"groups_above{j}", bits, s, " + ".join(d.at(c, s) for c in counts[j:])
                           if counts[j:] else _const(bits, 0)) for j in range(N_TC // group)]
    last = d.copies(d.wire("last_slot", bits, s, f"{d.at(k, s)}[{bits - 1}:0] - {_const(bits, 1)}"),  # k: >= slot bits
                    bits, s + 1)
    s += 1
    return [d.wire(f"late_slot{a}", bits, s, f"{last[a // group]} - {d.at(groups_above[a // group], s)} - "
                   f"{d.at(x, s)}") for a, x in enumerate(above)]


def _split_output(d: _Design, a: int, level: str, level_bits: int, placed: list[str], bits: int, slice_: int,
                  value: str, sent: str) -> tuple[str, str]:
    """Cell ``a``'s share and charge for the slice after ``slice_``, where they are added (``split_output``): in
    ``slice_`` the placed value of each half of the levels by the ``level``'s low bits, and the ``value`` of its
    code; after it, the half by the level's top bit and the value if the cell was ``sent``."""
    half = 1 << (level_bits - 1)
    low = f"{level}[{level_bits - 2}:0]" if level_bits > 1 else "1'b0"
    halves = [d.at(d.case(f"share{a}_{h}", bits, slice_, low, [
        *((_const(max(level_bits - 1, 1), j), d.at(placed[h * half + j], slice_))
          for j in range(half) if h * half + j < len(placed)), ("default", _const(bits, 0))]), slice_ + 1)
        for h in (0, 1)]
    top = d.at(d.wire(f"level_top{a}", 1, slice_, f"{level}[{level_bits - 1}]"), slice_ + 1)
    return f"({top} ? {halves[1]} : {halves[0]})", _sent_charge(d, a, bits, slice_, value, sent)


def _sent_charge(d: _Design, a: int, bits: int, slice_: int, value: str, sent: str, *, decoded: bool = False) -> str:
    """Cell ``a``'s charge for the slice after ``slice_``: its code's ``value`` decoded in ``slice_`` (``decoded``:
    the value itself, read in the slice after), then 0 unless the cell was ``sent``."""
    flag = d.at(sent, slice_ + 1)
    if not decoded:
        value = d.at(d.wire(f"value_of{a}", bits, slice_, value), slice_ + 1)
    return f"({{{bits}{{{flag}}}}} & {value})"


def _share_quotient(d: _Design, quotient: str, q_bits: int, share_bits: int, weight_bits: int, slice_: int
                    ) -> tuple[str, int]:
    """Q for the products Q w (``multiplied_shares``), made in ``slice_``: min(Q, 2^(M + Y - l) - 1) with M the
    share's bits, Y the weights' and 2^l the smallest non-zero weight (level 0's). Every share it changes saturates
    either way: from Q = 2^(M + Y - l) on, Q w >= 2^(M + Y) for every such w, and the clamped Q times 2^l still
    floors to the saturated share 2^M - 1, times any larger weight saturates. So Q takes M + Y - l bits (24-27 for
    the reference systems' tables) rather than 29-33: (name, its bits)."""
    smallest = min(WEIGHT_MANTISSAS)
    assert smallest & (smallest - 1) == 0, "the clamp needs a power-of-two smallest weight"
    bits = share_bits + weight_bits - (smallest.bit_length() - 1)
    q = d.at(quotient, slice_)
    if q_bits <= bits:
        return d.wire("share_quotient", q_bits, slice_, q), q_bits
    return d.wire("share_quotient", bits, slice_, _saturated(q, q_bits, 0, bits)), bits


def _product(d: _Design, name: str, a: str, a_bits: int, b: str, b_bits: int, slice_: int) -> tuple[str, int]:
    """The unsigned product of ``a`` and ``b`` (read in ``slice_``), made in the slice after, from registered
    multipliers (``_Design.product``): (name, bits). Where ``SPLIT_PRODUCTS_MACRO`` is defined (the ECP5 flow),
    ``b`` times ``a``'s low 18 bits and times the rest, each an ECP5 multiplier with its output register, added
    after them; else the whole product (one DSP48E2 on Xilinx up to 26 x 17 bits)."""
    width, low = a_bits + b_bits, ECP5_MULTIPLIER_BITS
    if a_bits <= low:
        return d.wire(name, width, slice_ + 1, d.product(f"{name}_full", a, a_bits, b, b_bits, slice_)), width
    d.lines.append(f"`ifdef {SPLIT_PRODUCTS_MACRO}")
    lo = d.product(f"{name}_lo", f"{a}[{low - 1}:0]", low, b, b_bits, slice_)
    hi = d.product(f"{name}_hi", f"{a}[{a_bits - 1}:{low}]", a_bits - low, b, b_bits, slice_)
    d.lines += [f"    wire [{width - 1}:0] {name} = {_zext(lo, low + b_bits, width)} + {{{hi}, {_const(low, 0)}}};",
                "`else"]
    full = d.product(f"{name}_full", a, a_bits, b, b_bits, slice_)
    d.lines += [f"    wire [{width - 1}:0] {name} = {full};", "`endif"]
    return d.stages.make(name, width, slice_ + 1), width


def _product_module(name: str) -> str:
    """Module ``name``: ``p`` = ``a`` * ``b`` (unsigned) a clock later. Where ``SPLIT_PRODUCTS_MACRO`` is defined
    (the ECP5 flow, ``a`` and ``b`` at most 18 bits) an ECP5 MULT18X18D with its output register, since Yosys maps
    an inferred one without its registers (3.1 ns inside it); else, and under Verilator (Yosys 0.23 has no
    simulation model of the MULT18X18D), a product and a register (on Xilinx a DSP48E2 and its register)."""
    n = ECP5_MULTIPLIER_BITS
    bits = range(n - 1, -1, -1)
    ports = ", ".join([*(f".A{j}(a18[{j}])" for j in bits), *(f".B{j}(b18[{j}])" for j in bits),
                       *(f".C{j}(1'b0)" for j in bits),
                       ".SIGNEDA(1'b0), .SIGNEDB(1'b0), .SOURCEA(1'b0), .SOURCEB(1'b0)",
                       ".CLK0(clk), .CLK1(1'b0), .CLK2(1'b0), .CLK3(1'b0), .CE0(1'b1), .CE1(1'b1), .CE2(1'b1), "
                       ".CE3(1'b1), .RST0(1'b0), .RST1(1'b0), .RST2(1'b0), .RST3(1'b0)",
                       *(f".P{j}(full[{j}])" for j in range(2 * n - 1, -1, -1))])
    behavioural = ["    reg [AW+BW-1:0] q;", "    always @(posedge clk) q <= {{BW{1'b0}}, a} * {{AW{1'b0}}, b};",
                   "    assign p = q;"]
    body = [f"`ifdef {SPLIT_PRODUCTS_MACRO}", "`ifndef VERILATOR",
            f"    wire [{n - 1}:0] a18, b18;  // the inputs at {n} bits",
            "    assign a18[AW-1:0] = a;", "    assign b18[BW-1:0] = b;",
            "    generate", f"        if (AW < {n}) begin : a_pad assign a18[{n - 1}:AW] = 0; end",
            f"        if (BW < {n}) begin : b_pad assign b18[{n - 1}:BW] = 0; end", "    endgenerate",
            f"    wire [{2 * n - 1}:0] full;",
            '    MULT18X18D #(.REG_OUTPUT_CLK("CLK0"), .GSR("DISABLED")) multiplier (' + ports + ");",
            "    assign p = full[AW+BW-1:0];",
            "`else", *behavioural, "`endif", "`else", *behavioural, "`endif"]
    return verilog_module(name, ["input  wire clk", "input  wire [AW-1:0] a", "input  wire [BW-1:0] b",
                                 "output wire [AW+BW-1:0] p"], body, generator=GENERATOR,
                          parameters="#(parameter AW = 1, parameter BW = 1)",
                          comment="the product of a and b a clock later, a multiplier with its output register")


def _rom_charges(dec: EntropyDecoder, slicing: DecoderSlicing) -> int:
    """How many Huffman symbols' charges come from block RAM (``charge_blocks``): two a ROM, one 18 Kb block each
    for charges of up to 18 bits, else two."""
    roms = slicing.charge_blocks // (1 if dec.int_bits <= ROM_BITS_18KB else 2)
    return min(2 * roms, dec.max_cells - dec.max_cells % 2)


def _sent_charges(dec: EntropyDecoder) -> np.ndarray:
    """The charge ROM's table, by {sent, symbol}: 0 where not sent, else the symbol's charge (``charge_value``)."""
    charges = _cell_values(dec)[:1 << dec.code.symbol_bits]  # a code below 2^symbol bits is that symbol
    return np.concatenate([np.zeros_like(charges), charges])


def _rom_module(name: str, table: np.ndarray, *, bits: int) -> str:
    """Module ``name``: ``v0`` = ``table[a0]`` and ``v1`` = ``table[a1]`` a clock later, one block RAM with two
    read ports (``rom_style``: Yosys would put a table this small in LUTs)."""
    address_bits = (len(table) - 1).bit_length()
    words = [f"        rom[{j}] = {_const(bits, int(v))};" for j, v in enumerate(table)]
    body = [f'    (* rom_style = "block" *) reg [{bits - 1}:0] rom [0:{len(table) - 1}];',
            "    initial begin", *words, "    end",
            "    always @(posedge clk) begin", "        v0 <= rom[a0];", "        v1 <= rom[a1];", "    end"]
    return verilog_module(name, ["input  wire clk", f"input  wire [{address_bits - 1}:0] a0",
                                 f"input  wire [{address_bits - 1}:0] a1", f"output reg  [{bits - 1}:0] v0",
                                 f"output reg  [{bits - 1}:0] v1"], body, generator=GENERATOR,
                          comment="every code's value, read at two addresses a clock later (a block RAM)")


def _cell_values(dec: EntropyDecoder) -> np.ndarray:
    """Each routed code's value (``entropy_rtl``'s ``charge_value``, or with sparse frames ``cell_value``: the
    tagged raw charge's or the symbol's), for ``rom_values``: the golden model's charges."""
    symbols = np.arange(1 << _code_bits(dec)) & ((1 << dec.code.symbol_bits) - 1)
    values = dec.charge_table[symbols]
    if dec.codec.sparse_cells:
        raw = np.arange(1 << _code_bits(dec)) & ((1 << SPARSE_FORMAT.bits) - 1)
        values = np.concatenate([values, SPARSE_FORMAT.decode(raw, 0)])
    return np.minimum(values, (1 << dec.int_bits) - 1)  # saturated, as the functions are


def _rom_summed_cells(d: _Design, dec: EntropyDecoder, codes: list[str], levels: list[str], selected: list[str],
                      share_q: tuple[str, int], *, weights: list[int], wb: int, lb: int, out: int, pb: int,
                      frac_pad: str) -> list[str]:
    """The cells of ``rom_sums`` in slice ``out`` + 1. The share floor(Q w / 2^Y) saturates at 2^M - 1 (M =
    ``pb``) exactly where Q >= ceil(2^(M + Y) / w): one comparison of the clamped Q (``share_q``: name, bits) per
    level's weight (slice ``out`` - 3), a flag per cell from its level (``out`` - 2). The ROM (``_summed_values``)
    gives each cell its charge in quarter counts, 0 if it was not sent, plus 2^M - 1 if its share saturates, whose
    weight then becomes 0; the cell is that plus floor(Q w / 2^Y), which then cannot overflow.
    A Q wider than a DSP48E2 takes gives the product (Q >> 1)(2w), and Q's low bit times w, below 2^Y, adds one to
    floor(Q w / 2^Y) where it carries past the product's low Y bits: those depend on Q and w alone, so that carry
    is one flag per level, chosen like the saturation's and added as the adder's carry in."""
    name, q_bits = share_q
    q = d.at(name, out - 3)
    halved = q_bits > XILINX_MULTIPLIER_BITS
    multiplied = d.wire("half_quotient", q_bits - 1, out - 3, f"{q}[{q_bits - 1}:1]") if halved else name
    q_near = d.per_group(multiplied, q_bits - halved, out - 1)  # Q (or Q >> 1) goes to every cell
    flags = [f"({q} >= {_const(q_bits, t)})" if t < 1 << q_bits else "1'b0"
             for t in saturation_thresholds(weights, share_bits=pb, weight_bits=wb)]
    per_level = [d.wire("saturating", len(weights), out - 3, "{" + ", ".join(reversed(flags)) + "}")]
    if halved:  # Q's low bit times w carries past the low Y bits of (Q >> 1)(2w) (none where the share saturates)
        carries = []
        for lv, (w, flag) in enumerate(zip(weights, flags, strict=True)):  # a table of Q's bits 1 .. Y - 1
            past = [v for v in range(1 << (wb - 1)) if (2 * v * w) % (1 << wb) + w >= 1 << wb]
            table = d.case(f"low_carry{lv}", 1, out - 3, f"{q}[{wb - 1}:1]",
                           [(_const(wb - 1, v), "1'b1") for v in past] + [("default", "1'b0")]) if past else "1'b0"
            carries.append(f"({q}[0] && !{flag} && {table})")
        per_level.append(d.wire("carrying", len(weights), out - 3, "{" + ", ".join(reversed(carries)) + "}"))
    near_levels = [d.per_group(x, len(weights), out - 2) for x in per_level]
    weight_arms = _weight_arms(weights, level_bits=lb, weight_bits=wb)
    chosen: list[list[str]] = [[] for _ in per_level]  # per cell: it saturates (and its carry)
    used = []
    for a in range(N_TC):
        level = d.at(levels[a], out - 2)
        for j, (prefix, near) in enumerate(zip(("saturates", "carries")[:len(near_levels)], near_levels,
                                               strict=True)):
            vector = d.at(near[a // NEAR_GROUP], out - 2)
            chosen[j].append(d.case(f"{prefix}{a}", 1, out - 2, level,
                                    [(_const(lb, lv), f"{vector}[{lv}]") for lv in range(len(weights))]
                                    + [("default", "1'b0")]))
        weight = d.case(f"cell_weight{a}", wb, out - 2, level, weight_arms)
        used.append(d.wire(f"used_weight{a}", wb, out - 2, f"{chosen[0][a]} ? {_const(wb, 0)} : {weight}"))
    addresses = [f"{{{d.at(chosen[0][a], out - 1)}, {d.at(selected[a], out - 1)}, {d.at(codes[a], out - 1)}}}"
                 for a in range(N_TC)]
    roms = d.rom_reads("rom_value", addresses, _summed_values(dec, pb), bits=pb + 1, slice_=out - 1)
    cells = []
    for a in range(N_TC):
        factor, weight_of = d.at(q_near[a // NEAR_GROUP], out - 1), d.at(used[a], out - 1)
        if halved:
            made, width = _product(d, f"cell_qw{a}", factor, q_bits - 1, f"{{{weight_of}, 1'b0}}", wb + 1, out - 1)
        else:
            made, width = _product(d, f"cell_qw{a}", factor, q_bits, weight_of, wb, out - 1)
        # the product is below 2^(M + Y) wherever it is not 0
        d.lines.append("    /* verilator lint_off UNUSEDSIGNAL */  // the product's top and low bits")
        share = _zext(f"{d.at(made, out + 1)}[{min(width, pb + wb) - 1}:{wb}]", min(width, pb + wb) - wb, pb + 1)
        d.lines.append("    /* verilator lint_on UNUSEDSIGNAL */")
        carry = f" + {_zext(d.at(chosen[1][a], out + 1), 1, pb + 1)}" if halved else ""
        summed = d.wire(f"summed{a}", pb + 1, out + 1, f"{share} + {d.at(roms[a], out + 1)}{carry}")
        cells.append(d.wire(f"cell{a}", dec.out_bits, out + 1, f"{{{summed}{frac_pad}}}"))
    return cells


def _weight_arms(weights: list[int], *, level_bits: int, weight_bits: int) -> list[tuple[str, str]]:
    """A case's arms from a cell's level to its weight (0 past the levels: the zero level)."""
    return [(_const(level_bits, lv), _const(weight_bits, w)) for lv, w in enumerate(weights)] + \
        [("default", _const(weight_bits, 0))]


def saturation_thresholds(weights: list[int], *, share_bits: int, weight_bits: int) -> list[int]:
    """For each weight w, the least Q whose share floor(Q w / 2^Y) saturates at ``share_bits`` bits (``rom_sums``):
    Q w >= 2^(M + Y), so ceil(2^(M + Y) / w)."""
    return [-(-(1 << (share_bits + weight_bits)) // w) for w in weights]


def _summed_values(dec: EntropyDecoder, pb: int) -> np.ndarray:
    """``rom_sums``' table, by {saturates, sent, code}: the code's value (``_cell_values``) in quarter counts if
    sent, else 0, plus 2^M - 1 (M = ``pb``) if the share saturates."""
    charges = _cell_values(dec).astype(np.int64) << PLACE_FRAC_BITS
    sent = np.concatenate([np.zeros_like(charges), charges])
    return np.concatenate([sent, sent + (1 << pb) - 1])


def _multiplied_share(d: _Design, a: int, level: str, weight_arms: list[tuple[str, str]], q: str, q_bits: int, *,
                      weight_bits: int, bits: int, slice_: int) -> str:
    """Cell ``a``'s share two slices after ``slice_`` (``multiplied_shares``): its weight from its ``level`` (read a
    slice earlier), the product with the clamped Q (``q``, ``_share_quotient``, read in ``slice_``; ``_product``),
    then floor(Q w / 2^Y) saturated at ``bits``."""
    weight = d.case(f"cell_weight{a}", weight_bits, slice_ - 1, level, weight_arms)
    made, width = _product(d, f"cell_qw{a}", d.at(q, slice_), q_bits, d.at(weight, slice_), weight_bits, slice_)
    product = d.at(made, slice_ + 2)
    if width > bits + weight_bits:
        return f"({_saturated(product, width, weight_bits, bits)})"
    return f"{product}[{bits + weight_bits - 1}:{weight_bits}]"


def _tagged(d: _Design, codes: list[str], bits: int, sparse: str, slice_: int, *, near: bool = False) -> list[str]:
    """Each ``bits``-bit code as {sparse, code} in ``slice_``: a sparse frame's codes are raw charges. ``near``:
    the flag comes to each group of cells in a copy of its own (``_Design.copies``)."""
    flags = d.per_group(sparse, 1, slice_) if near else [sparse] * (N_TC // NEAR_GROUP)
    return [d.wire(f"scode{a}", bits + 1, slice_, f"{{{d.at(flags[a // NEAR_GROUP], slice_)}, {d.at(c, slice_)}}}")
            for a, c in enumerate(codes)]


def _strongest_step(d: _Design, dec: EntropyDecoder, i: int, best: tuple[str, str], code: str,
                    valid: str, s: int) -> tuple[str, str]:
    """(largest code, its first slot) after slot ``i``, in slice ``s`` (``code``'s): a strictly larger code wins."""
    cb, idx_bits = _code_bits(dec), _slot_bits(dec)
    if i == 0:
        return d.wire("best1", cb, s, f"{valid} ? {code} : {_const(cb, 0)}"), d.wire("bslot1", idx_bits, s,
                                                                                   _const(idx_bits, 0))
    prev, slot = d.at(best[0], s), d.at(best[1], s)
    wins = d.wire(f"wins{i + 1}", 1, s, f"{valid} && ({code} > {prev})")
    return (d.wire(f"best{i + 1}", cb, s, f"{wins} ? {code} : {prev}"),
            d.wire(f"bslot{i + 1}", idx_bits, s, f"{wins} ? {_const(idx_bits, i)} : {slot}"))


@dataclass(frozen=True)
class _Placing:
    """What a table placement reads of the decoder: each cell's routed ``codes`` (made in slice ``route``; empty
    when the placement routes them itself from each slot's ``cell_codes``, the ``sparse`` flag and the count
    ``k``), ``selected`` flags and ``slots``, the ``strongest`` (largest code, its slot), R (``residual``) and S."""

    codes: list[str]
    cell_codes: list[str]
    sparse: str
    k: str
    selected: list[str]
    slots: list[str]
    strongest: tuple[str, str]
    residual: str
    sent_sum: str
    route: int


def _strongest_address(d: _Design, p: _Placing, inner: int) -> str:
    """The strongest sent cell's address (slice ``p.route``): the cell that takes the strongest's slot; TC 0
    when no code is non-zero."""
    route = p.route
    best, bslot = (d.at(x, route) for x in p.strongest)
    holder = [f"({{{ADDRESS_BITS}{{{d.at(p.selected[a], route)} & ({d.at(p.slots[a], route)} == {bslot})}}}} & "
              f"{_const(ADDRESS_BITS, a)})" for a in range(N_TC)]
    return d.wire("strongest", ADDRESS_BITS, route, f"({best} == {_const(inner, 0)}) ? "
                  f"{_const(ADDRESS_BITS, 0)} : ({' | '.join(holder)})")


def _nearest_bins(d: _Design, sent: list[str], slice_: int) -> list[str]:
    """Each cell's bin of distance to the nearest sent cell (``nearest_sent_bins``; read for unsent cells
    only, so bin 0, the cell itself, never): the first ring of cells at one bin's distance that holds a sent
    cell, by ORs of their ``sent`` flags; the last bin when none does."""
    dist, n_d = distance_bins(), len(DISTANCE_EDGES) + 1
    bins = []
    for a in range(N_TC):
        expr = _const(3, n_d - 1)
        for ring in range(n_d - 2, 0, -1):
            members = [sent[j] for j in range(N_TC) if dist[a, j] == ring]
            if members:
                expr = f"({' | '.join(members)}) ? {_const(3, ring)} : {expr}"
        bins.append(d.wire(f"dbin{a}", 3, slice_, expr))
    return bins


def _table_placement(d: _Design, dec: EntropyDecoder, p: _Placing, value: str) -> tuple[list[str], int]:
    """The cells of ``dec``'s table placement (``EntropyDecoder`` docstring), from slice ``p.route``: the
    strongest cell's address (a table by distance to it), then each cell's distance bin, level and weight
    (slice route + 1; with zero levels the even fallback of a wafer that has nothing to weigh by), their sum
    (route + 2), the division, the placed value of each level, each cell's (the slice after): (cells, their
    slice). Fine cuts give each of those steps its own slice and the sum one per adder level."""
    placement = dec.placement
    assert placement is not None
    route, inner, cut = p.route, _code_bits(dec), d.slicing.cut  # the routed codes: {sparse, code}
    nearest = placement.distance_to == "nearest"
    top = "" if nearest else _strongest_address(d, p, inner)
    r, s_sum = d.at(p.residual, route), d.at(p.sent_sum, route)
    wide = max(dec.rem_bits, dec.sent_sum_bits) + 4
    sides = [(f"{_zext(r, dec.rem_bits, wide)} * {_const(wide, b - a)}",
              f"{_zext(s_sum, dec.sent_sum_bits, wide)} * {_const(wide, a)}") for a, b in UNSENT_EDGES]
    if cut:  # the constant products, then their comparisons
        sides = [(d.at(d.wire(f"unsent_r{j}", wide, route, x), route + 1),
                  d.at(d.wire(f"unsent_s{j}", wide, route, y), route + 1)) for j, (x, y) in enumerate(sides)]
    edges = [f"({x} >= {y})" for x, y in sides]
    u = d.wire("unsent_bin", 2, route + cut, " + ".join(_zext(e, 1, 2) for e in edges))
    # per cell: sent (a non-zero code), distance bin, level (ZERO_LEVEL coded as max_level + 1), weight
    n_d, dist = len(DISTANCE_EDGES) + 1, distance_bins()
    zero = placement.has_zero_level
    zero_code = placement.max_level + 1
    lb, wb = (placement.max_level + zero).bit_length() or 1, dec.weight_bits
    s1 = route + 1
    s_bin, s_level = s1 + cut, s1 + 2 * cut  # with fine cuts: the bins, the levels, the fallback's tests, ...
    s_test = s_level + cut
    s_even = s_test + 2 * cut  # a register more on the way: the tests go to every cell, across the chip
    s_weight = (s_even if zero else s_level) + cut
    if p.codes:
        sent = [d.wire(f"is_sent{a}", 1, s1, f"{d.at(p.selected[a], s1)} && ({d.at(p.codes[a], s1)}[{inner - 1}:0] "
                       f"!= {_const(inner, 0)})") for a in range(N_TC)]
    else:  # whether each slot's code is non-zero (a slice earlier: each flag goes to many cells), routed to its cell
        filled = [d.wire(f"filled{j}", 1, route - 1, f"{d.at(c, route - 1)} != {_const(inner, 0)}")
                  for j, c in enumerate(p.cell_codes)]
        nonzero = _routed(d, dec, "nonzero", filled, p.slots, route=route, bits=1)
        sent = [d.wire(f"is_sent{a}", 1, s1, f"{d.at(p.selected[a], s1)} && {d.at(nz, s1)}")
                for a, nz in enumerate(nonzero)]
    if nearest:
        dbins = _nearest_bins(d, [d.at(x, s_bin) for x in sent], s_bin)
    else:
        dbins = [d.case(f"dbin{a}", 3, s_bin, d.at(top, s_bin),
                        [(_const(ADDRESS_BITS, t), _const(3, int(dist[t, a]))) for t in range(N_TC)]
                        + [("default", _const(3, 0))]) for a in range(N_TC)]
    levels = []
    u_near = d.per_group(u, 2, s_level)  # the bin of the unsent sum goes to every cell
    for a in range(N_TC):
        entry = (f"{{{d.at(u_near[a // NEAR_GROUP], s_level)}, "
                 f"({d.at(sent[a], s_level)} ? {_const(3, n_d)} : {d.at(dbins[a], s_level)})}}")
        table = np.where(placement.level_table[a] == ZERO_LEVEL, zero_code, placement.level_table[a])
        levels.append(d.case(f"level{a}", lb, s_level, entry,
                             [(_const(5, (ub << 3) | e), _const(lb, int(table[ub, e])))
                              for ub in range(table.shape[0]) for e in range(n_d + 1)] + [("default", _const(lb, 0))]))
    if zero:  # nothing to weigh by: level 0 for the unsent cells, or for all when every cell was sent
        nothing = d.wire("nothing_placed", 1, s_test, " && ".join(
            f"({d.at(v, s_test)} == {_const(lb, zero_code)})" for v in levels))
        every = d.wire("every_cell_sent", 1, s_test, " && ".join(d.at(x, s_test) for x in sent))
        tests = list(zip(d.per_group(nothing, 1, s_even), d.per_group(every, 1, s_even), strict=True))
        levels = [d.wire(f"even_level{a}", lb, s_even, f"{d.at(tests[a // NEAR_GROUP][0], s_even)} ? (("
                         f"{d.at(tests[a // NEAR_GROUP][1], s_even)} || !{d.at(sent[a], s_even)}) ? {_const(lb, 0)} : "
                         f"{_const(lb, zero_code)}) : {d.at(v, s_even)}") for a, v in enumerate(levels)]
    level_weights = [WEIGHT_MANTISSAS[lv % 2] << (lv // HALF_OCTAVES) for lv in range(placement.max_level + 1)]
    weight_arms = _weight_arms(level_weights, level_bits=lb, weight_bits=wb)
    weights = [d.case(f"weight{a}", wb, s_weight, d.at(v, s_weight), weight_arms) for a, v in enumerate(levels)]
    s_total = s_weight + 1
    total, total_bits, s_total = d.sum_tree("wsum", [(d.at(w, s_total), wb) for w in weights], s_total, sliced=cut > 0)
    # the sum is at least 48 weights of level 0, or with zero levels one
    skip = ((1 if zero else N_TC) * WEIGHT_MANTISSAS[0]).bit_length() - 1
    quotient, q_slice = d.divide(d.at(p.residual, s_total), s_total, dec.rem_bits, PLACE_FRAC_BITS + wb,
                                 total, s_total + 1, divisor_bits=total_bits, skip=skip)
    g, q_bits = q_slice + 1, dec.rem_bits + PLACE_FRAC_BITS + wb - skip
    pb = dec.int_bits + PLACE_FRAC_BITS
    out = g + 1 + 3 * cut  # the placed values (or the shares' Q), a register more with fine cuts, the cells
    if d.slicing.multiplied_shares:
        share_q, share_q_bits = _share_quotient(d, quotient, q_bits, pb, wb, g)
    else:
        placed = _placed_values(d, quotient, q_bits, pb, wb, max_level=placement.max_level, first=g)
    frac_pad = f", {_const(dec.frac_bits - PLACE_FRAC_BITS, 0)}" if dec.frac_bits > PLACE_FRAC_BITS else ""
    codes = p.codes
    if not codes:
        slots = _slots_from_takes(d, dec, p.selected, p.k, out - 5)  # made in out - 3, chosen in two slices
        codes = _routed(d, dec, "code", p.cell_codes, slots, route=out - 1, bits=inner, split=2)
        if dec.codec.sparse_cells:
            codes = _tagged(d, codes, inner, p.sparse, out - 1, near=True)
    if d.slicing.rom_sums:
        return _rom_summed_cells(d, dec, codes, levels, p.selected, (share_q, share_q_bits), weights=level_weights,
                                 wb=wb, lb=lb, out=out, pb=pb, frac_pad=frac_pad), out + cut
    # Q, or each placed value, goes to every cell
    if d.slicing.multiplied_shares:
        share_near, placed_near = d.per_group(share_q, share_q_bits, out - 1), []
    else:
        placed_near = [d.per_group(x, pb, out) for x in placed]
    cells = []
    frac_zero = _const(PLACE_FRAC_BITS, 0)
    if d.slicing.rom_values:  # each code's value from block RAM, its address the code a slice earlier
        roms = d.rom_reads("rom_value", [d.at(c, out - 1) for c in codes], _cell_values(dec), bits=dec.int_bits,
                           slice_=out - 1)
    for a in range(N_TC):
        near = [values[a // NEAR_GROUP] for values in placed_near]
        if d.slicing.multiplied_shares:
            share = _multiplied_share(d, a, d.at(levels[a], out - 2), weight_arms, share_near[a // NEAR_GROUP],
                                      share_q_bits, weight_bits=wb, bits=pb, slice_=out - 1)
            if d.slicing.rom_values:
                charge = _sent_charge(d, a, pb, out, f"{{{d.at(roms[a], out + 1)}, {frac_zero}}}", p.selected[a],
                                      decoded=True)
            else:
                charge = _sent_charge(d, a, pb, out, f"{{{value}({d.at(codes[a], out)}), {frac_zero}}}",
                                      p.selected[a])
        elif d.slicing.split_output:
            share, charge = _split_output(d, a, d.at(levels[a], out), lb, near, pb, out,
                                          f"{{{value}({d.at(codes[a], out)}), {frac_zero}}}", p.selected[a])
        else:
            share = d.case(f"share{a}", pb, out, d.at(levels[a], out),
                           [(_const(lb, lv), d.at(x, out)) for lv, x in enumerate(near)] + [("default", _const(pb, 0))])
            charge = f"({d.at(p.selected[a], out)} ? {{{value}({d.at(codes[a], out)}), {frac_zero}}} : {_const(pb, 0)})"
            if cut:  # the share and the charge, then their sum
                charge = d.at(d.wire(f"charge_of{a}", pb, out, charge), out + 1)
                share = d.at(share, out + 1)
        both = d.wire(f"both{a}", pb + 1, out + cut, f"{_zext(charge, pb, pb + 1)} + {_zext(share, pb, pb + 1)}")
        cells.append(d.wire(f"cell{a}", dec.out_bits, out + cut, f"{{{both}{frac_pad}}}"))
    return cells, out + cut


def _placed_values(d: _Design, quotient: str, q_bits: int, pb: int, wb: int, *, max_level: int,
                   first: int) -> list[str]:
    """The placed value of each level, floor(Q w / 2^Y) saturated at ``pb`` bits, from Q (read in slice
    ``first``): Q w is (Q * mantissa) << (level >> 1)."""
    cut, g = d.slicing.cut, first
    q = d.at(quotient, g)
    d.lines.append("    /* verilator lint_off UNUSEDSIGNAL */  // the products' low bits are below the result's LSB")
    products = []
    for m in WEIGHT_MANTISSAS:
        width = q_bits + m.bit_length()
        terms = [_zext(f"{{{q}, {_const(b, 0)}}}" if b else q, q_bits + b, width)
                 for b in range(m.bit_length()) if m >> b & 1]
        if cut and len(terms) > 2:  # pairs of shifted copies, summed in the next slice
            terms = [d.at(d.wire(f"qm{m}_{j}", width, g, " + ".join(terms[j:j + 2])), g + 1)
                     for j in range(0, len(terms), 2)]
        products.append(d.wire(f"qm{m}", width, g + cut * (len(terms) < m.bit_count()), " + ".join(terms)))
    d.lines.append("    /* verilator lint_on UNUSEDSIGNAL */")
    g += 2 * cut  # the products (in two slices), then the placed values
    products = [d.at(x, g) for x in products]
    placed = []
    for lv in range(max_level + 1):
        prod, width = products[lv % 2], q_bits + WEIGHT_MANTISSAS[lv % 2].bit_length()
        low = wb - lv // HALF_OCTAVES  # the product's bit that is the result's LSB
        kept = width - low
        expr = _zext(f"{prod}[{width - 1}:{low}]", kept, pb) if kept <= pb else _saturated(prod, width, low, pb)
        placed.append(d.wire(f"placed{lv}", pb, g, expr))
    return placed


def threshold_sum_rtl(dec: ThresholdSumDecoder, slicing: DecoderSlicing = DEFAULT_SLICING) -> DecoderRtl:
    """The Threshold-Sum back end as Verilog (module ``ts_decoder_drop<d>_cap<c>``)."""
    fw, frac, nw = dec.frame_bits, dec.frac_bits, TS_FEW_MAX
    module = f"ts_decoder_drop{dec.drop_lsb}_cap{dec.cap}"
    d = _Design(slicing, module)
    kind = d.wire("kind", 2, 0, _frame_field(fw, TS_TYPE_OFFSET, 2))  # the type's top two bits
    few = d.wire("few", 1, 0, f"{kind} == 2'd{TS_FEW}")
    many = d.wire("many", 1, 0, f"{kind} == 2'd{TS_MAP}")
    residual = d.wire("residual", dec.rem_bits, 0, f"sum_value({_frame_field(fw, TS_SUM_OFFSET, E5M3.bits)})")
    count = d.wire("count", TS_COUNT_BITS, 0, _frame_field(fw, TS_BODY_OFFSET, TS_COUNT_BITS))
    addresses = [d.wire(f"addr{i}", ADDRESS_BITS, 0, _frame_field(fw, TS_ADDRESS_OFFSET + ADDRESS_BITS * i,
                                                                   ADDRESS_BITS)) for i in range(nw)]
    valid = [d.wire(f"valid{i}", 1, 0, f"{count} > {_const(TS_COUNT_BITS, i)}") for i in range(nw)]
    named = [d.wire(f"named{p}", 1, 0, " | ".join(f"({v} & ({a} == {_const(ADDRESS_BITS, p)}))"
                                                  for v, a in zip(valid, addresses, strict=True)))
             for p in range(N_TC)]
    flags = d.wire("flags", N_TC, 0, f"{few} ? {{{', '.join(named)}}} : ({many} ? "
                   f"{_frame_field(fw, TS_BODY_OFFSET, N_TC)} : {_const(N_TC, 0)})")
    few_count = f"{{{few}, {count}}}"  # type 010 and its N: word i lies after the N addresses, else in the map's place
    words = [d.case(f"word{i}", CHARGE_BITS, 0, few_count, [
        *((_const(1 + TS_COUNT_BITS, 1 << TS_COUNT_BITS | n),
           _frame_field(fw, TS_ADDRESS_OFFSET + ADDRESS_BITS * n + CHARGE_BITS * i, CHARGE_BITS))
          for n in range(i + 1, nw + 1)),
        ("default", _frame_field(fw, TS_MAP_WORD_OFFSET + CHARGE_BITS * i, CHARGE_BITS))]) for i in range(nw)]
    words += [d.wire(f"word{j}", CHARGE_BITS, 0, _frame_field(fw, TS_MAP_WORD_OFFSET + CHARGE_BITS * j, CHARGE_BITS))
              for j in range(nw, N_TC)]
    n_sent, n_bits = d.count("n_sent", [f"{flags}[{N_TC - 1 - p}]" for p in range(N_TC)], 0)
    divisor = d.wire("divisor", DIVISOR_BITS, 0,
                     f"{_const(DIVISOR_BITS, N_TC)} - {_zext(n_sent, n_bits, DIVISOR_BITS)}")
    quotient, q_slice = d.divide(residual, 0, dec.rem_bits, frac, divisor, 1)
    last = q_slice + 1
    selected, codes = _route_map(d, flags, words, last - 1)
    no_cap = _const(dec.int_bits, (1 << dec.int_bits) - 1)  # a truncated frame's: its fill never reaches it
    cap = d.wire("cap", dec.int_bits, last - 1,
                 f"(&{d.at(kind, last - 1)}) ? {no_cap} : {_const(dec.int_bits, dec.cap)}")
    fill = _fill(d, quotient, dec.rem_bits + frac, cap, frac, dec.int_bits, last)
    out = _place(d, codes, selected, fill, frac, last, "charge_value", dec.int_bits)
    body = [*float_function("sum_value", E5M3, 0, dec.rem_bits),
            *float_function("charge_value", E4M3, dec.drop_lsb, dec.int_bits),
            *_shell(d, fw, last + 1, [out[dec.post_of_tc[t]] for t in range(N_TC)])]
    comment = (f"the Threshold-Sum back end, DropLSB {dec.drop_lsb}, unsent cells capped at {dec.cap} (truncated "
               f"frames: none);\n// cells: unsigned {dec.int_bits}.{frac} fixed-point CALQ, TC t at "
               f"cells[t*{dec.out_bits} +: {dec.out_bits}]; latency {last + 1} clocks.")
    verilog = verilog_module(module, _ports(fw, dec.out_bits), body, generator=GENERATOR, comment=comment)
    return DecoderRtl(module, verilog + d.helper_modules(), last + 1, fw, dec.out_bits)


def table_function(name: str, table: np.ndarray, code_bits: int, bits: int) -> list[str]:
    """A Verilog function: ``table[code]`` for each ``code_bits``-bit code (every code has its arm)."""
    arms = [f"                {_const(code_bits, c)}: {name} = {_const(bits, int(v))};" for c, v in enumerate(table)]
    return [f"    function [{bits - 1}:0] {name};", f"        input [{code_bits - 1}:0] code;", "        begin",
            "            case (code)", *arms, "            endcase", "        end", "    endfunction"]


def super_cell_rtl(dec: SuperCellDecoder, slicing: DecoderSlicing = DEFAULT_SLICING) -> DecoderRtl:
    """A super trigger cell back end as Verilog (module ``<stc>_decoder_<n>elink[_drop<d>][_naive]``): one
    slice, each group's keep and fill looked up by its sum's code (``SuperCellDecoder.keep_table``,
    ``fill_table``; a fill of 0 everywhere, the naive back end's, is no table)."""
    fw, stc, out_bits = dec.frame_bits, dec.kind, dec.out_bits
    size, index_bits, sum_bits = stc.group_size, stc.index_bits, dec.fmt.bits
    drop = f"_drop{dec.drop_lsb}" if dec.sum_drop else ""
    module = f"{dec.stc}_decoder_{dec.elinks}elink{drop}{'' if dec.anchor_shares else '_naive'}"
    d = _Design(slicing, module)
    cells = [_const(out_bits, 0)] * N_TC  # the groups the frame does not send
    spread = bool(dec.fill_table.any())
    for g in range(dec.n_groups):
        index = d.wire(f"index{g}", index_bits, 0, _frame_field(fw, STC_HEADER_BITS + index_bits * g, index_bits))
        code = d.wire(f"sum{g}", sum_bits, 0, _frame_field(fw, dec.sum_offset + sum_bits * g, sum_bits))
        keep = d.wire(f"keep{g}", out_bits, 0, f"keep_value({code})")
        fill = d.wire(f"fill{g}", out_bits, 0, f"fill_value({code})") if spread else _const(out_bits, 0)
        for j in range(size):
            cells[g * size + j] = d.wire(f"cell{g * size + j}", out_bits, 0,
                                         f"({index} == {_const(index_bits, j)}) ? {keep} : {fill}")
    body = [*table_function("keep_value", dec.keep_table, sum_bits, out_bits),
            *(table_function("fill_value", dec.fill_table, sum_bits, out_bits) if spread else []),
            *_shell(d, fw, 1, [cells[dec.post_of_tc[t]] for t in range(N_TC)])]
    rule = (f"the largest keeps its share ({dec.share_bits}-bit), the rest even over the group" if dec.anchor_shares
            else "each sum on its largest cell")
    comment = (f"the {dec.stc} back end, {dec.elinks} eLinks, {dec.n_groups} groups of {size}, "
               f"{'DropLSB ' + str(dec.drop_lsb) if dec.sum_drop else 'raw sums'}, {rule};\n// cells: unsigned "
               f"{dec.int_bits}.{dec.frac_bits} fixed-point CALQ, TC t at cells[t*{out_bits} +: {out_bits}]; "
               f"latency 1 clock.")
    verilog = verilog_module(module, _ports(fw, out_bits), body, generator=GENERATOR, comment=comment)
    return DecoderRtl(module, verilog + d.helper_modules(), 1, fw, out_bits)


def decoder_rtl(dec: Decoder, slicing: DecoderSlicing = DEFAULT_SLICING) -> DecoderRtl:
    """The Verilog of any decoder, its pipeline cut by ``slicing``."""
    if isinstance(dec, BestChoiceDecoder):
        return best_choice_rtl(dec, slicing)
    if isinstance(dec, EntropyDecoder):
        return entropy_rtl(dec, slicing)
    if isinstance(dec, ThresholdSumDecoder):
        return threshold_sum_rtl(dec, slicing)
    return super_cell_rtl(dec, slicing)


def time_multiplexed_rtl(rtl: DecoderRtl, modules: int) -> DecoderRtl:
    """``modules`` modules through one decoder ``rtl`` at ``modules`` times the frame rate (module
    ``<decoder>_tdm<n>``): ``frame`` holds every module's frame (module m at bits [m * F +: F]), held for
    ``modules`` clocks; a counter from 0 after reset picks module m in the clocks m, m + n, ..., so each module's
    frame goes through once per bunch crossing. The decoder holds no state between frames, so its cells are
    those of that frame alone; ``module_out`` says whose cells come out. Same latency as the decoder."""
    if modules < 2:
        raise ValueError(f"time multiplexing needs at least 2 modules, got {modules}")
    fw, mb, latency = rtl.frame_bits, (modules - 1).bit_length(), rtl.latency
    arms = [f"            {_const(mb, m)}: taken = frame[{m * fw} +: {fw}];" for m in range(modules - 1)]
    body = [
        f"    reg [{mb - 1}:0] phase;  // the module taken this clock",
        f"    reg [{fw - 1}:0] taken;",
        "    always @* begin",
        "        case (phase)",
        *arms,
        f"            default: taken = frame[{(modules - 1) * fw} +: {fw}];",
        "        endcase",
        "    end",
        f"    {rtl.module} core (.clk(clk), .rst(rst), .valid_in(valid_in), .frame(taken), .valid_out(valid_out), "
        ".cells(cells));",
        f"    reg [{(latency + 1) * mb - 1}:0] tags;  // the phase of each frame in the decoder's pipeline",
        "    always @(posedge clk) begin",
        f"        phase <= (rst || phase == {_const(mb, modules - 1)}) ? {_const(mb, 0)} : phase + {_const(mb, 1)};",
        f"        tags <= {{tags[{latency * mb - 1}:0], phase}};" if latency else "        tags <= phase;",
        "    end",
        f"    assign module_out = tags[{(latency + 1) * mb - 1} -: {mb}];",
    ]
    module = f"{rtl.module}_tdm{modules}"
    ports = ["input  wire clk", "input  wire rst", "input  wire valid_in", f"input  wire [{modules * fw - 1}:0] frame",
             "output wire valid_out", f"output wire [{mb - 1}:0] module_out",
             f"output wire [{N_TC * rtl.out_bits - 1}:0] cells"]
    comment = (f"{modules} modules time-multiplexed through {rtl.module} at {modules} times the frame rate;\n// "
               f"module m's frame at frame[{fw}*m +: {fw}], taken in the clocks m mod {modules} after reset; latency "
               f"{latency} clocks, module_out the module of the cells.")
    return DecoderRtl(module, verilog_module(module, ports, body, generator=GENERATOR, comment=comment), latency,
                      modules * fw, rtl.out_bits)


def decoder_meta(dec: Decoder) -> dict[str, object]:
    """What a decoder folder's ``rtl.json`` says of the decoder beyond ``RtlInfo``."""
    if isinstance(dec, BestChoiceDecoder):
        return {"kind": "best-choice", "elinks": dec.elinks, "drop_lsb": dec.drop_lsb, "frac_bits": dec.frac_bits,
                "n_cells": dec.n_cells, "post_of_tc": list(dec.post_of_tc)}
    if isinstance(dec, EntropyDecoder):
        return {"kind": "entropy", "codec": {**asdict(dec.codec), "code_lengths": list(dec.codec.code_lengths)},
                "frac_bits": dec.frac_bits, "max_cells": dec.max_cells}
    if isinstance(dec, ThresholdSumDecoder):
        return {"kind": "threshold-sum", "elinks": dec.elinks, "drop_lsb": dec.drop_lsb, "cap": dec.cap,
                "frac_bits": dec.frac_bits, "rem_bits": dec.rem_bits, "post_of_tc": list(dec.post_of_tc)}
    return {"kind": dec.stc, "elinks": dec.elinks, "drop_lsb": dec.drop_lsb, "frac_bits": dec.frac_bits,
            "n_groups": dec.n_groups, "anchor_shares": list(dec.anchor_shares), "share_bits": dec.share_bits,
            "quantised_shares": list(dec.quantised_rule().anchor_shares), "post_of_tc": list(dec.post_of_tc)}


def write_backend_rtl(dec: Decoder, out_dir: str | Path, *, slicing: DecoderSlicing = DEFAULT_SLICING,
                      modules_per_decoder: int = 1, force: bool = False) -> RtlInfo:
    """An RTL folder of ``dec`` (``src/<module>.v`` and ``rtl.json``), written atomically: what
    ``synthesize_fpga`` and ``lint_rtl`` take. ``rtl.json`` holds ``RtlInfo``'s fields (the decoder is top and
    core; ``calq_bits``: the CALQ the cells rebuild; no latents, no da4ml estimate: NaN) and ``cell_bits``,
    ``frac_bits``, ``modules_per_decoder`` and ``decoder`` (``decoder_meta``); with more than one module
    per decoder the top is
    ``time_multiplexed_rtl`` around the decoder, clocked that many times faster (its ``frame_bits`` are every
    module's frame)."""
    core = decoder_rtl(dec, slicing)
    parts = [time_multiplexed_rtl(core, modules_per_decoder), core] if modules_per_decoder > 1 else [core]
    rtl = parts[0]
    with atomic_dir(Path(out_dir), force) as tmp:
        sources = [f"src/{x.module}.v" for x in parts]
        for source, x in zip(sources, parts, strict=True):
            write_text(tmp / source, x.verilog)
        info = RtlInfo(top=rtl.module, core=core.module, calq_bits=CALQ_BITS,
                       clock_period_ns=CLOCK_NS / modules_per_decoder,
                       initiation_interval=1, latency_cycles=rtl.latency, core_latency_cycles=core.latency,
                       conversion_cycles=0, frame_bits=rtl.frame_bits, latent_bits=0, n_latents=0,
                       elinks=dec.elinks,
                       sum_code_offset=0, core_registers=0, estimated_luts=float(np.nan), sources=sources,
                       modules_per_decoder=modules_per_decoder)
        write_json(tmp / RTL_JSON, {**asdict(info), "cell_bits": rtl.out_bits, "frac_bits": dec.frac_bits,
                                    "decoder": decoder_meta(dec), "slicing": asdict(slicing),
                                    "meta": provenance()})
    return info
