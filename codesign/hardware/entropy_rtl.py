"""Verilog of the entropy-coded sparse codec's encoder ``econt_entropy`` (pure generators returning text), its
configuration image, and its RTL folder.

The golden model is ``codesign.econt.entropy.EntropyCodec.encode``; the RTL is bit-exact with it. What fixes
the hardware's shape is generated in: the eLink count (the frame width, the bit budget and so the most cells
a frame can ever carry), DropLSB and the mantissa bits (the float format, so the number of symbols). The
Huffman table is not: it lives in a configuration shift register loaded through the serial port of the
reconfigurable core (``codesign.hardware.reconfig``: ``cfg_en``, ``cfg_in``, ``cfg_out``, image bit 0 sent
first), so one chip serves every table fitted for its shape. Image layout, symbol s at bits
[19 s + 18 : 19 s]: the code length (4 bits) in the low bits, above it the code left-aligned in 15 bits
(first transmitted bit at the top, zeros below the code), the form the packer shifts.

Datapath, one wafer per clock, latency 3 (input register, selection register, frame register):

1. per cell (``econt_entropy_cell``, 48 instances): v = min(CALQ >> DropLSB, 2^18 - 1), its float symbol
   (priority encoder, truncation, saturation) and the symbol's length and code (a multiplexer tree over the
   configuration register); beside them the 9-bit sum code of the raw CALQ (the conversion's adder tree).
2. rank (``econt_entropy_sort``): a sorting network on the distinct keys {v, 63 - TC} carrying each cell's
   code length, cut to the K largest, K the most cells any frame of this width can carry (every code is at
   least one bit). In rank order, running sums of the lengths give cost(k) for every k at once; k* is the
   largest k whose cost fits the budget with slot k - 1 non-zero (cost(k) is not monotonic in k: A(k) falls
   above k = 24). A cell is sent when k* > 0 and its key is at least the key of slot k* - 1.
3. registered: the sent cells' codes and lengths (others zeroed), the sent mask, k*, the sum code, BX_CNT.
   The rank code (``econt_entropy_rank``) is the sum over sent cells a of C(a, j_a), j_a the running count
   of sent cells (a constant table per cell, one multi-operand sum); the codes are concatenated in TC order by a
   binary tree of shift-and-OR merges, each as wide as the frame can need; the rank, left-aligned in its
   A(k*) bits, goes in front; the frame register takes BX_CNT | sum code | k* | rank | codes | zeros.

Sparse frames (``sparse_cells`` > 0, generated in): each cell also gives the 4E3M code of its CALQ (no
DropLSB), whether it is non-zero and whether it reaches 2^18; stage 1 counts the non-zero cells (an adder
tree) and, when 1..sparse_cells of them fit as 7-bit codes (a table of the count) and none reaches 2^18,
sends them all: the mask of non-zero cells, fixed 7-bit codes, k field 48 + count.

``rst`` (synchronous, active high) clears the valid pipeline only; load the table while no wafer is in
flight (a frame uses the table of the cycle its wafer passes stage 1).

The universal block (``EntropyRtlSpec.block()``, ``codesign asic block``) is the same datapath generated for
the largest shape (7 eLinks, DropLSB up to 4, 4E3M, 15 sparse cells) with the rest configured: 12 bits of
settings above the table (eLinks, DropLSB, mantissa bits, sparse cells) drive a variable DropLSB shifter, a
float encoder for the configured m, the budget test against 32 n - 20 and the sparse-frame test; frames of
fewer eLinks come out left-aligned in the 7-eLink frame. With ``tmr`` the configuration register is
triplicated and self-correcting (``codesign.hardware.reconfig.config_register``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from functools import cached_property
from math import comb
from pathlib import Path

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.floats import E5M4
from codesign.data.geometry import ADDRESS_BITS, N_TC
from codesign.data.io import CALQ_BITS
from codesign.econt.algorithms import MAX_DROP_LSB, SHIFTED_MAX
from codesign.econt.bits import ELINK_BITS
from codesign.econt.entropy import (
    COUNT_BITS,
    EXPONENT_BITS,
    FIXED_BITS,
    HEADER_BITS,
    MANTISSA_CHOICES,
    MAX_CODE_BITS,
    SPARSE_FORMAT,
    SPARSE_MAX_CELLS,
    EntropyCodec,
    address_bits,
)
from codesign.hardware.reconfig import COPY_MODULE, config_register
from codesign.hardware.rtl import RTL_JSON, RtlInfo
from codesign.hardware.sparse_select import PipelineStages, Slicing, network_lines, selection_network
from codesign.hardware.topgen import CONFIG_PORTS, adder_tree_lines, sum_code_block
from codesign.hardware.verilog import library_source, verilog_module

GENERATOR = "codesign/hardware/entropy_rtl.py"
TOP = "econt_entropy"
CELL_MODULE = "econt_entropy_cell"
SORT_MODULE = "econt_entropy_sort"
RANK_MODULE = "econt_entropy_rank"
LATENCY = 3  # input register, selection register, frame register
CLOCK_PERIOD_NS = 25.0  # one wafer per bunch crossing
VALUE_BITS = SHIFTED_MAX.bit_length()  # v = min(CALQ >> DropLSB, 2^18 - 1)
LENGTH_BITS = MAX_CODE_BITS.bit_length()  # 4: a code length 1..15
ENTRY_BITS = LENGTH_BITS + MAX_CODE_BITS  # one symbol's table entry: {left-aligned code, length}
KEY_BITS = VALUE_BITS + ADDRESS_BITS  # {v, 63 - TC}: distinct, larger = earlier in rank order
SORT_BITS = KEY_BITS + LENGTH_BITS  # what the sorting network carries: {key, code length}
ADDRESS_MAX = (1 << ADDRESS_BITS) - 1
SUM_BITS = (N_TC * ((1 << CALQ_BITS) - 1)).bit_length()  # 28: the raw CALQ sum
SPARSE_MANTISSA_BITS = SPARSE_FORMAT.bits - EXPONENT_BITS  # 3


BLOCK_ELINKS = 7  # the universal block's frame: the most eLinks a module of the arena has
SETTING_BITS = {"elinks": BLOCK_ELINKS.bit_length(), "drop_lsb": 3, "mantissa_bits": 2,
                "sparse_cells": SPARSE_MAX_CELLS.bit_length()}


@dataclass(frozen=True)
class EntropyRtlSpec:
    """What the encoder's hardware is generated for; the code table is loaded at run time. The universal block
    (``universal``, ``EntropyRtlSpec.block()``) is generated for the largest shape (these fields are maxima)
    and takes its eLink count, DropLSB, mantissa bits and sparse cell count from the configuration image too,
    so one design serves every codec up to that shape."""

    elinks: int
    drop_lsb: int
    mantissa_bits: int
    sparse_cells: int = 0
    universal: bool = False
    tmr: bool = False  # the configuration register triplicated, majority-voted and self-correcting

    def __post_init__(self) -> None:
        _ = self.flat_codec  # the codec's own checks of these
        if self.universal and any(getattr(self, name) >= 1 << bits for name, bits in SETTING_BITS.items()):
            raise ValueError(f"the universal block's settings are {SETTING_BITS} bits wide, got {self}")

    @classmethod
    def block(cls, elinks: int = BLOCK_ELINKS, *, tmr: bool = False) -> EntropyRtlSpec:
        """The universal block: up to ``elinks`` eLinks, DropLSB 0..4, 4E0M..4E3M, sparse frames up to 15 cells."""
        return cls(elinks, MAX_DROP_LSB, max(MANTISSA_CHOICES), SPARSE_MAX_CELLS, universal=True, tmr=tmr)

    @cached_property
    def flat_codec(self) -> EntropyCodec:
        """A codec of this shape with a flat (fixed-length, Kraft-complete) table: what the shape alone fixes."""
        return EntropyCodec(self.elinks, self.drop_lsb, self.mantissa_bits, (self.symbol_bits,) * self.n_symbols,
                            self.sparse_cells)

    @classmethod
    def of(cls, codec: EntropyCodec) -> EntropyRtlSpec:
        return cls(codec.elinks, codec.drop_lsb, codec.mantissa_bits, codec.sparse_cells)

    def serves_problem(self, codec: EntropyCodec) -> str | None:
        """Why this hardware cannot run ``codec`` (None when it can): a fixed design runs its own shape only,
        the universal block every shape up to its maxima."""
        if not self.universal:
            own = replace(EntropyRtlSpec.of(codec), tmr=self.tmr)
            return None if own == self else f"the codec's shape {own} is not this design's {self}"
        over = [f"{name} {getattr(codec, name)} > {getattr(self, name)}" for name in SETTING_BITS
                if getattr(codec, name) > getattr(self, name)]
        return f"the universal block {self} cannot run a codec with {', '.join(over)}" if over else None

    def sparse_fits(self, k: int) -> bool:
        """A sparse frame of k cells fits (``EntropyCodec.sparse_fits``)."""
        return bool(self.flat_codec.sparse_fits(k))

    @property
    def symbol_bits(self) -> int:
        return EXPONENT_BITS + self.mantissa_bits

    @property
    def n_symbols(self) -> int:
        return 1 << self.symbol_bits

    @property
    def table_bits(self) -> int:
        return ENTRY_BITS * self.n_symbols

    @property
    def settings(self) -> dict[str, tuple[int, int]]:
        """The universal block's settings above the table: name -> (offset in the image, bits)."""
        if not self.universal:
            return {}
        offsets = np.cumsum([0, *SETTING_BITS.values()])
        return {name: (self.table_bits + int(offset), bits)
                for (name, bits), offset in zip(SETTING_BITS.items(), offsets, strict=False)}

    @property
    def config_bits(self) -> int:
        return self.table_bits + sum(bits for _, bits in self.settings.values())

    @property
    def frame_bits(self) -> int:
        return ELINK_BITS * self.elinks

    @property
    def field_bits(self) -> int:
        """Bits after BX_CNT, sum code and k: the rank code and the cell codes, at most."""
        return self.frame_bits - FIXED_BITS - COUNT_BITS

    def budget(self, k: int) -> int:
        """The most code bits k cells may take: the field less the rank code A(k) (negative: k never fits)."""
        return self.field_bits - int(address_bits()[k])

    @property
    def max_cells(self) -> int:
        """K: the most cells a frame can carry whatever the table (a code has at least one bit)."""
        return max(k for k in range(N_TC + 1) if k <= self.budget(k))

    @property
    def rank_bits(self) -> int:
        """Width of the rank code register: the longest A(k) for k <= K."""
        return int(address_bits()[: self.max_cells + 1].max())


def config_image(codec: EntropyCodec, spec: EntropyRtlSpec | None = None) -> tuple[int, int]:
    """The codec's Huffman table as the configuration image of ``spec``'s hardware (default: the codec's own
    shape) as an integer, symbol 0 in the low bits (shifted in bit 0 first), and its bit count; for the
    universal block the codec's settings follow the table (``EntropyRtlSpec.settings``), and the entries of
    symbols the codec's format does not have are zero."""
    spec = spec or EntropyRtlSpec.of(codec)
    problem = spec.serves_problem(codec)
    if problem:
        raise ValueError(problem)
    image = 0
    for s, (length, code) in enumerate(zip(map(int, codec.code_lengths), codec.codes.tolist(), strict=True)):
        entry = (code << (MAX_CODE_BITS - length)) << LENGTH_BITS | length
        image |= entry << (ENTRY_BITS * s)
    for name, (offset, _) in spec.settings.items():
        image |= getattr(codec, name) << offset
    return image, spec.config_bits


def codec_from_image(image: int, spec: EntropyRtlSpec) -> EntropyCodec:
    """The codec whose table (and, for the universal block, settings) ``image`` holds (e.g. read back through
    ``cfg_out``); ``ValueError`` unless it is the canonical code of its lengths with zeros below every code and
    in every unused entry, as ``config_image`` writes it."""
    if not 0 <= image < 1 << spec.config_bits:
        raise ValueError(f"a configuration image of this shape has {spec.config_bits} bits")
    shape = {name: (image >> offset) & ((1 << bits) - 1) for name, (offset, bits) in spec.settings.items()}
    shape = {"elinks": spec.elinks, "drop_lsb": spec.drop_lsb, "mantissa_bits": spec.mantissa_bits,
             "sparse_cells": spec.sparse_cells, **shape}
    n_symbols = 1 << (EXPONENT_BITS + shape["mantissa_bits"])
    entries = [(image >> (ENTRY_BITS * s)) & ((1 << ENTRY_BITS) - 1) for s in range(n_symbols)]
    lengths = tuple(e & ((1 << LENGTH_BITS) - 1) for e in entries)
    codec = EntropyCodec(shape["elinks"], shape["drop_lsb"], shape["mantissa_bits"], lengths, shape["sparse_cells"])
    if config_image(codec, spec)[0] != image:
        raise ValueError("the image's codes are not the canonical codes of its lengths, or an unused entry is set")
    return codec


def write_config_image(codec: EntropyCodec, spec: EntropyRtlSpec, path: str | Path) -> int:
    """Write ``codec``'s image for ``spec``'s hardware (hex, bit 0 shifted in first) and ``<path>.json``, its
    register map (the table's entries, the universal block's settings) and the loading protocol."""
    image, n_bits = config_image(codec, spec)
    path = Path(path)
    write_text(path, f"{image:0{(n_bits + 3) // 4}x}\n")
    fields = {"table": {"offset": 0, "bits": spec.table_bits,
                        "layout": f"{spec.n_symbols} entries of {ENTRY_BITS} bits, symbol s at bits "
                                  f"[{ENTRY_BITS} s + {ENTRY_BITS - 1} : {ENTRY_BITS} s]: the code length in the low "
                                  f"{LENGTH_BITS} bits, above it the code left-aligned in {MAX_CODE_BITS} bits; "
                                  "entries of symbols the codec's format does not have are zero"},
              **{name: {"offset": offset, "bits": bits, "value": getattr(codec, name)}
                 for name, (offset, bits) in spec.settings.items()}}
    write_json(path.with_suffix(path.suffix + ".json"), {
        "n_bits": n_bits, "design": asdict(spec), "fields": fields,
        "protocol": "hold cfg_en high for n_bits clock edges, presenting image bit i on cfg_in before edge i; "
                    "cfg_out shows register bit 0 (read-back: n_bits more edges with cfg_in = cfg_out); load while "
                    "no wafer is in flight",
        "codec": asdict(codec), "meta": provenance(generator=GENERATOR)})
    return image


def cell_verilog(spec: EntropyRtlSpec) -> str:
    """``econt_entropy_cell``: one CALQ -> v, its float symbol, the symbol's code length and left-aligned
    code from the table (``cfg``, the configuration register's table). In the universal block DropLSB and the
    mantissa bits are inputs (``drop``, ``m``) instead of generated in."""
    m, sb = spec.mantissa_bits, spec.symbol_bits
    if spec.universal:
        body = [f"    wire [{CALQ_BITS - 1}:0] shifted_calq = calq >> drop;",
                f"    assign v = |shifted_calq[{CALQ_BITS - 1}:{VALUE_BITS}] ? {VALUE_BITS}'d{SHIFTED_MAX} : "
                f"shifted_calq[{VALUE_BITS - 1}:0];",
                *_configured_float_lines(m)]
        setting_ports = [f"input  wire [{SETTING_BITS['drop_lsb'] - 1}:0] drop",
                         f"input  wire [{SETTING_BITS['mantissa_bits'] - 1}:0] m"]
    else:
        shifted = CALQ_BITS - spec.drop_lsb
        clip = f"calq[{CALQ_BITS - 1}:{spec.drop_lsb}]"
        if shifted > VALUE_BITS:
            clip = (f"|calq[{CALQ_BITS - 1}:{spec.drop_lsb + VALUE_BITS}] ? {VALUE_BITS}'d{SHIFTED_MAX} : "
                    f"calq[{spec.drop_lsb} +: {VALUE_BITS}]")
        body = [
            *(["    /* verilator lint_off UNUSEDSIGNAL */  // DropLSB: the low bits are dropped",
               f"    wire [{spec.drop_lsb - 1}:0] dropped = calq[{spec.drop_lsb - 1}:0];",
               "    /* verilator lint_on UNUSEDSIGNAL */"] if spec.drop_lsb else []),
            f"    assign v = {clip};",
            *_float_lines("v", m, "symbol", ""),
        ]
        setting_ports = []
    sparse_ports = []
    if spec.sparse_cells:  # a sparse frame's charge: 4E3M of CALQ itself (used only when every CALQ < 2^18)
        body += [f"    wire [{VALUE_BITS - 1}:0] raw = calq[{VALUE_BITS - 1}:0];",
                 *_float_lines("raw", SPARSE_MANTISSA_BITS, "sparse_symbol", "_raw", declared=True),
                 "    assign nonzero = |calq;",
                 f"    assign big = |calq[{CALQ_BITS - 1}:{VALUE_BITS}];"]
        sparse_ports = [f"output wire [{SPARSE_FORMAT.bits - 1}:0] sparse_symbol", "output wire nonzero",
                        "output wire big"]
    body += [f"    // the symbol's table entry: a {sb}-level multiplexer tree over the {spec.n_symbols} entries"]
    level = [f"cfg[{ENTRY_BITS * s} +: {ENTRY_BITS}]" for s in range(spec.n_symbols)]
    for b in range(sb):
        names = [f"t{b}_{j}" for j in range(len(level) // 2)]
        body += [f"    wire [{ENTRY_BITS - 1}:0] {name} = symbol[{b}] ? {level[2 * j + 1]} : {level[2 * j]};"
                 for j, name in enumerate(names)]
        level = names
    body += [f"    assign length = {level[0]}[{LENGTH_BITS - 1}:0];",
             f"    assign code = {level[0]}[{ENTRY_BITS - 1}:{LENGTH_BITS}];"]
    ports = [f"input  wire [{CALQ_BITS - 1}:0] calq", f"input  wire [{spec.table_bits - 1}:0] cfg", *setting_ports,
             f"output wire [{VALUE_BITS - 1}:0] v", f"output wire [{LENGTH_BITS - 1}:0] length",
             f"output wire [{MAX_CODE_BITS - 1}:0] code", *sparse_ports]
    what = (f"v = min(CALQ >> drop, {SHIFTED_MAX}), its 4E<m>M symbol" if spec.universal else
            f"v = min(CALQ >> {spec.drop_lsb}, {SHIFTED_MAX}), its 4E{m}M symbol")
    return verilog_module(CELL_MODULE, ports, body, generator=GENERATOR, attribute="(* keep_hierarchy *)\n",
                          comment=f"one cell of the entropy codec: {what}, the symbol's code length and code.")


def _configured_float_lines(max_m: int) -> list[str]:
    """Verilog of ``symbol``, v's 4-bit-exponent float code with ``m`` mantissa bits, m an input up to
    ``max_m``: the same float as ``_float_lines`` (L = bit length of v; exponent L - m above m bits, else 0
    and v is the mantissa; saturated past exponent 15), the symbol in the low 4 + m bits."""
    lb, sb, mb = VALUE_BITS.bit_length(), EXPONENT_BITS + max_m, SETTING_BITS["mantissa_bits"]
    ones = (1 << max_m) - 1
    return [
        f"    reg [{lb - 1}:0] bit_length;",
        "    always @* begin",
        f"        bit_length = {lb}'d0;",
        *(f"        if (v[{i}]) bit_length = {lb}'d{i + 1};" for i in range(VALUE_BITS)),
        "    end",
        f"    wire [{lb - 1}:0] m_wide = {{{lb - mb}'d0, m}};",
        f"    wire [{lb - 1}:0] e = bit_length > m_wide ? bit_length - m_wide : {lb}'d0;",
        "    /* verilator lint_off UNUSEDSIGNAL */  // the mantissa is the m bits below the leading one",
        f"    wire [{VALUE_BITS - 1}:0] below = e == {lb}'d0 ? v : v >> (e - {lb}'d1);",
        "    /* verilator lint_on UNUSEDSIGNAL */",
        f"    wire [{max_m - 1}:0] mantissa = below[{max_m - 1}:0] & ({max_m}'d{ones} >> ({mb}'d{max_m} - m));",
        f"    wire [{sb - 1}:0] symbol = e > {lb}'d{(1 << EXPONENT_BITS) - 1} ? {sb}'d{(1 << sb) - 1} >> "
        f"({mb}'d{max_m} - m)",
        f"        : ({{{max_m}'d0, e[{EXPONENT_BITS - 1}:0]}} << m) | {{{EXPONENT_BITS}'d0, mantissa}};",
    ]


def _float_lines(value: str, m: int, symbol: str, tag: str, *, declared: bool = False) -> list[str]:
    """Verilog computing ``symbol``, the 4-bit-exponent float code with m mantissa bits of the VALUE_BITS-wide
    wire ``value`` (exponent = bit length - m above m bits, else 0 and the value is the mantissa; saturated
    where the exponent can pass 15); helper wires end in ``tag``; ``declared``: ``symbol`` is an output."""
    e_max = VALUE_BITS - m  # exponent of the largest value
    eb, sb = e_max.bit_length(), EXPONENT_BITS + m
    e, shifted = f"e{tag}", f"shifted{tag or '_v'}"
    if m:
        word = f"{{{e}[{EXPONENT_BITS - 1}:0], {e} == {eb}'d0 ? {value}[{m - 1}:0] : {shifted}[{m - 1}:0]}}"
    else:
        word = f"{e}[{EXPONENT_BITS - 1}:0]"
    saturate = (f"{e} > {eb}'d{(1 << EXPONENT_BITS) - 1} ? {sb}'d{(1 << sb) - 1} : "
                if e_max >= 1 << EXPONENT_BITS else "")
    return [
        f"    reg [{eb - 1}:0] {e};",
        *(["    /* verilator lint_off UNUSEDSIGNAL */  // the mantissa is the m bits below the leading one",
           f"    wire [{VALUE_BITS - 1}:0] {shifted} = {value} >> ({e} - {eb}'d1);",
           "    /* verilator lint_on UNUSEDSIGNAL */"] if m else []),
        "    always @* begin",
        f"        {e} = {eb}'d0;",
        *(f"        if ({value}[{i}]) {e} = {eb}'d{i + 1 - m};" for i in range(m, VALUE_BITS)),
        "    end",
        f"    {'assign' if declared else f'wire [{sb - 1}:0]'} {symbol} = {saturate}{word};",
    ]


def sort_verilog(spec: EntropyRtlSpec) -> str:
    """``econt_entropy_sort``: the K largest of the 48 {key, length} words, largest first (Batcher's merge
    sort cut at K, ``selection_network``); the keys are distinct, so the order is the golden model's."""
    k = spec.max_cells
    net = selection_network(N_TC, k)
    stages = PipelineStages()
    body = [*(f"    wire [{SORT_BITS - 1}:0] s{a} = cells[{a * SORT_BITS} +: {SORT_BITS}];" for a in range(N_TC)),
            *network_lines(net, "s", SORT_BITS, f"[{SORT_BITS - 1}:{LENGTH_BITS}]", stages, Slicing(1, net.depth),
                            0),
            "    assign sorted = {" + ", ".join(f"s{w}" for w in reversed(net.outputs)) + "};"]
    return verilog_module(SORT_MODULE, [f"input  wire [{N_TC * SORT_BITS - 1}:0] cells",
                                        f"output wire [{k * SORT_BITS - 1}:0] sorted"], body,
                          generator=GENERATOR, attribute="(* keep_hierarchy *)\n",
                          comment=f"the {k} largest cells of the entropy codec in rank order, "
                          f"{len(net.exchanges)} comparators, {net.depth} deep.")


def rank_verilog(spec: EntropyRtlSpec) -> str:
    """``econt_entropy_rank``: the enumerative code of the sent set, sum over sent a of C(a, j_a), j_a the
    sent cells up to a; each term a constant table of j_a (j_a <= min(a, K) gives a non-zero term), added
    modulo 2^rank_bits, which is exact: the rank is below C(48, k*) <= 2^A(k*)."""
    k, rb = spec.max_cells, spec.rank_bits
    cb = N_TC.bit_length()
    body = [f"    wire [{cb - 1}:0] j0 = {{{cb - 1}'d0, sent[0]}};"]
    terms = []
    for a in range(1, N_TC):
        body.append(f"    wire [{cb - 1}:0] j{a} = j{a - 1} + {{{cb - 1}'d0, sent[{a}]}};")
        table = {j: comb(a, j) for j in range(1, min(a, k) + 1)}
        width = max(table.values()).bit_length()  # <= rb: C(a, j) < C(48, j) <= 2^A(j)
        body += [f"    reg [{width - 1}:0] c{a};",
                 f"    always @* case (j{a})",
                 *(f"        {cb}'d{j}: c{a} = {width}'d{value};" for j, value in table.items()),
                 f"        default: c{a} = {width}'d0;",
                 "    endcase"]
        term = f"(sent[{a}] ? c{a} : {width}'d0)"
        terms.append(f"{{{rb - width}'d0, {term}}}" if width < rb else term)
    body.append("    assign rank = " + "\n        + ".join(terms) + ";")
    return verilog_module(RANK_MODULE, [f"input  wire [{N_TC - 1}:0] sent", f"output wire [{rb - 1}:0] rank"],
                          body, generator=GENERATOR, attribute="(* keep_hierarchy *)\n",
                          comment="the entropy codec's rank code of the sent cells (combinatorial number "
                          "system).")


@dataclass(frozen=True)
class _Run:
    """A bit string in the packer: the expression ``bits``, ``width`` wide, left-aligned (first bit at the
    top), of which the ``length_bits`` wide wire ``length`` says how many are used (at most ``longest``)."""

    bits: str
    width: int
    length: str
    length_bits: int
    longest: int


def _pack_lines(leaves: list[_Run], cap: int) -> tuple[list[str], _Run]:
    """Concatenate ``leaves`` in order by a binary tree of merges, each ``{x, 0} | ({y, 0} >> x.length)``
    and cut to ``cap`` bits: the sent codes never take more, so the cut bits are zeros."""
    lines: list[str] = []
    runs, level = leaves, 0
    while len(runs) > 1:
        level += 1
        merged = []
        for j, (x, y) in enumerate(zip(runs[::2], runs[1::2], strict=False)):
            name, full = f"p{level}_{j}", x.width + y.width
            width, longest = min(full, cap), min(x.longest + y.longest, cap)
            lb = longest.bit_length()
            lines += [f"    wire [{full - 1}:0] {name}_f = {{{x.bits}, {y.width}'d0}} | ({{{y.bits}, {x.width}'d0}} "
                      f">> {x.length});",
                      f"    wire [{lb - 1}:0] {name}_l = {_widen(x.length, x.length_bits, lb)} + "
                      f"{_widen(y.length, y.length_bits, lb)};"]
            bits = f"{name}_f" if width == full else f"{name}_f[{full - 1} -: {width}]"
            merged.append(_Run(bits, width, f"{name}_l", lb, longest))
        runs = merged + runs[len(runs) - len(runs) % 2:]
    return lines, runs[0]


def _widen(wire: str, bits: int, to_bits: int) -> str:
    return f"{{{to_bits - bits}'d0, {wire}}}" if to_bits > bits else wire


def entropy_verilog(spec: EntropyRtlSpec) -> str:
    """``econt_entropy``, the encoder's top (it instantiates the cell, sort and rank modules)."""
    n, k, rb, fb = N_TC, spec.max_cells, spec.rank_bits, spec.field_bits
    cb = (MAX_CODE_BITS * k).bit_length()  # running sums of code lengths, exact
    sum_k_bits = (SUM_BITS - 1).bit_length()
    a_bits = address_bits()
    ports = ["input  wire clk", "input  wire rst", "input  wire valid_in",
             f"input  wire [{n * CALQ_BITS - 1}:0] calq", f"input  wire [{HEADER_BITS - 1}:0] bx_cnt",
             "output wire valid_out", f"output reg  [{spec.frame_bits - 1}:0] frame", *CONFIG_PORTS]
    body = [
        f"    reg [{LATENCY - 1}:0] valid_pipe;",
        f"    assign valid_out = valid_pipe[{LATENCY - 1}];",
        "    always @(posedge clk) begin",
        "        if (rst) valid_pipe <= 0;",
        f"        else valid_pipe <= {{valid_pipe[{LATENCY - 2}:0], valid_in}};",
        "    end",
        f"    // the Huffman table: {spec.n_symbols} entries of {{left-aligned code, length}}, shifted in bit 0 first",
        *config_register(spec.config_bits, spec.tmr),
        "",
        "    // stage 1: input register, then per cell v, symbol, code length and code; the sum code",
        f"    reg [{n * CALQ_BITS - 1}:0] calq_r;",
        f"    reg [{HEADER_BITS - 1}:0] bx_r;",
        "    always @(posedge clk) begin",
        "        calq_r <= calq;",
        "        bx_r <= bx_cnt;",
        "    end",
    ]
    sparse = spec.sparse_cells > 0
    table, settings = "cfg", ""
    if spec.universal:
        body += _settings_lines(spec)
        table, settings = f"cfg[{spec.table_bits - 1}:0]", ", .drop(cfg_drop_lsb), .m(cfg_mantissa_bits)"
    for a in range(n):
        body += [f"    wire [{VALUE_BITS - 1}:0] v{a};",
                 f"    wire [{LENGTH_BITS - 1}:0] len{a};",
                 f"    wire [{MAX_CODE_BITS - 1}:0] cw{a};",
                 *([f"    wire [{SPARSE_FORMAT.bits - 1}:0] ss{a};", f"    wire nz{a}, big{a};"] if sparse else []),
                 f"    {CELL_MODULE} cell{a} (.calq(calq_r[{a * CALQ_BITS} +: {CALQ_BITS}]), .cfg({table}){settings}, "
                 f".v(v{a}), .length(len{a}), .code(cw{a})"
                 + (f", .sparse_symbol(ss{a}), .nonzero(nz{a}), .big(big{a}));" if sparse else ");"),
                 f"    wire [{KEY_BITS - 1}:0] key{a} = {{v{a}, {ADDRESS_BITS}'d{ADDRESS_MAX - a}}};"]
    body += [
        *adder_tree_lines([f"calq_r[{a * CALQ_BITS} +: {CALQ_BITS}]" for a in range(n)], CALQ_BITS, "sum_c"),
        "    integer i;",
        f"    reg [{sum_k_bits - 1}:0] ksum_c;  // floor(log2 sum)",
        "    always @* begin",
        "        ksum_c = 0;",
        f"        for (i = 0; i < {SUM_BITS}; i = i + 1) if (sum_c[i]) ksum_c = i[{sum_k_bits - 1}:0];",
        "    end",
        f"    reg [{E5M4.bits - 1}:0] code;  // 5E4M of the CALQ sum",
        *sum_code_block("sum_c", "ksum_c", SUM_BITS, sum_k_bits),
        "",
        f"    // rank order: the {k} largest keys with their code lengths",
        f"    wire [{k * SORT_BITS - 1}:0] sorted;",
        f"    {SORT_MODULE} sort (.cells({{" + ", ".join(f"key{a}, len{a}" for a in reversed(range(n))) + "}), "
        ".sorted(sorted));",
        "    // c<k>: code bits of the k first in rank order; fit<k>: k cells fit (slot k - 1 non-zero)",
        f"    wire [{cb - 1}:0] c0 = {cb}'d0;",
    ]
    fits = []
    for j in range(1, k + 1):
        slot = (j - 1) * SORT_BITS
        length = _widen(f"sorted[{slot} +: {LENGTH_BITS}]", LENGTH_BITS, cb)
        body.append(f"    wire [{cb - 1}:0] c{j} = c{j - 1} + {length};")
        if spec.budget(j) >= j:
            body.append(f"    wire fit{j} = |sorted[{slot + SORT_BITS - VALUE_BITS} +: {VALUE_BITS}] && "
                        f"{_fits_field(spec, f'c{j}', cb, int(a_bits[j]))};")
            fits.append(j)
    body += [
        f"    reg [{COUNT_BITS - 1}:0] kstar;  // the largest k that fits",
        f"    reg [{KEY_BITS - 1}:0] threshold;  // the key of slot k* - 1: the smallest key sent",
        "    always @* begin",
        f"        kstar = {COUNT_BITS}'d0;",
        *(f"        if (fit{j}) kstar = {COUNT_BITS}'d{j};" for j in fits),
        f"        threshold = {KEY_BITS}'d0;",
        *(f"        if (kstar == {COUNT_BITS}'d{j}) threshold = sorted[{(j - 1) * SORT_BITS + LENGTH_BITS} +: "
          f"{KEY_BITS}];" for j in fits),
        "    end",
        f"    wire [{n - 1}:0] sent = {{" + ", ".join(f"key{a} >= threshold" for a in reversed(range(n)))
        + f"}} & {{{n}{{kstar != {COUNT_BITS}'d0}}}};",
        "",
    ]
    body += _sparse_lines(spec) if sparse else [
        f"    wire [{n - 1}:0] sent_all = sent;",
        f"    wire [{COUNT_BITS - 1}:0] count = kstar;  // cells sent",
        f"    wire [{COUNT_BITS - 1}:0] kfield = kstar;  // the frame's k field",
        *(f"    wire [{MAX_CODE_BITS - 1}:0] cs{a} = cw{a};" for a in range(n)),
        *(f"    wire [{LENGTH_BITS - 1}:0] ls{a} = len{a};" for a in range(n)),
    ]
    body += [
        "    // stage 2: the sent cells' codes and lengths (the others zero), the mask, k*, sum code, BX_CNT",
        f"    reg [{n * MAX_CODE_BITS - 1}:0] codes_q;",
        f"    reg [{n * LENGTH_BITS - 1}:0] lengths_q;",
        f"    reg [{n - 1}:0] sent_q;",
        f"    reg [{COUNT_BITS - 1}:0] count_q, kfield_q;",
        f"    reg [{E5M4.bits - 1}:0] sum_q;",
        f"    reg [{HEADER_BITS - 1}:0] bx_q;",
        "    always @(posedge clk) begin",
        *(f"        codes_q[{a * MAX_CODE_BITS} +: {MAX_CODE_BITS}] <= sent_all[{a}] ? cs{a} : {MAX_CODE_BITS}'d0;"
          for a in range(n)),
        *(f"        lengths_q[{a * LENGTH_BITS} +: {LENGTH_BITS}] <= sent_all[{a}] ? ls{a} : {LENGTH_BITS}'d0;"
          for a in range(n)),
        "        sent_q <= sent_all;",
        "        count_q <= count;",
        "        kfield_q <= kfield;",
        "        sum_q <= code;",
        "        bx_q <= bx_r;",
        "    end",
        f"    wire [{rb - 1}:0] rank;",
        f"    {RANK_MODULE} rank_code (.sent(sent_q), .rank(rank));",
        f"    reg [{COUNT_BITS - 1}:0] rank_len;  // A(k*)",
        "    always @* case (count_q)",
        *(f"        {COUNT_BITS}'d{j}: rank_len = {COUNT_BITS}'d{a_bits[j]};" for j in fits if a_bits[j]),
        f"        default: rank_len = {COUNT_BITS}'d0;",
        "    endcase",
    ]
    leaves = [_Run(f"codes_q[{a * MAX_CODE_BITS} +: {MAX_CODE_BITS}]", MAX_CODE_BITS,
                   f"lengths_q[{a * LENGTH_BITS} +: {LENGTH_BITS}]", LENGTH_BITS, MAX_CODE_BITS) for a in range(n)]
    pack, codes = _pack_lines(leaves, fb)  # 48 x 15 bits exceed every field: the root is fb bits wide
    body += [
        "    // the sent codes in TC order, concatenated; the rank code left-aligned in its A(k*) bits before them",
        "    /* verilator lint_off UNUSEDSIGNAL */  // merges cut to the field: the bits below are zeros",
        *pack,
        f"    wire [{rb - 1}:0] rank_msb = rank << ({COUNT_BITS}'d{rb} - rank_len);",
        f"    wire [{rb + fb - 1}:0] field = {{rank_msb, {fb}'d0}} | ({{{codes.bits}, {rb}'d0}} >> rank_len);",
        "    /* verilator lint_on UNUSEDSIGNAL */",
        "    always @(posedge clk) frame <= {bx_q, sum_q, kfield_q, " + f"field[{rb + fb - 1} -: {fb}]}};",
    ]
    shape = (f"the universal block: up to {spec.elinks} eLinks (the frame left-aligned in {spec.frame_bits} "
             f"bits), DropLSB up to {spec.drop_lsb},\n// 4E0M to 4E{spec.mantissa_bits}M symbols, sparse frames up "
             f"to {spec.sparse_cells} cells, all set in the configuration" if spec.universal else
             f"{spec.elinks} eLinks, DropLSB {spec.drop_lsb}, 4E{spec.mantissa_bits}M symbols")
    return verilog_module(TOP, ports, body, generator=GENERATOR,
                          comment=f"the entropy-coded sparse codec's encoder, {shape},\n// at most {k} cells a "
                          f"frame; Huffman table in a {spec.config_bits}-bit configuration register. Latency "
                          f"{LATENCY} clock cycles, one wafer per clock.")


def _settings_lines(spec: EntropyRtlSpec) -> list[str]:
    """The universal block's settings from the configuration register, and ``field_bits``, the bits its
    configured eLink count leaves for the rank code and the cell codes (32 n - 20)."""
    fw, shift = _field_width(), ELINK_BITS.bit_length() - 1
    return [
        "    // the universal block's settings, above the table",
        *(f"    wire [{bits - 1}:0] cfg_{name} = cfg[{offset} +: {bits}];"
          for name, (offset, bits) in spec.settings.items()),
        f"    wire [{fw - 1}:0] field_bits = {{cfg_elinks, {shift}'d0}} - {fw}'d{FIXED_BITS + COUNT_BITS};",
    ]


def _field_width() -> int:
    """Bits of the universal block's ``field_bits``: 32 times the eLink setting."""
    return SETTING_BITS["elinks"] + ELINK_BITS.bit_length() - 1


def _fits_field(spec: EntropyRtlSpec, bits: str, width: int, rank_bits: int) -> str:
    """Verilog: ``bits`` code bits (``width`` wide) and a rank code of ``rank_bits`` fit the frame's field:
    a constant budget in a fixed design, the configured field in the universal block."""
    if not spec.universal:
        return f"{bits} <= {width}'d{spec.field_bits - rank_bits}"
    fw = _field_width()
    w = max(width, fw) + 1
    return f"{_widen(bits, width, w)} + {w}'d{rank_bits} <= {_widen('field_bits', fw, w)}"


def _sparse_lines(spec: EntropyRtlSpec) -> list[str]:
    """The sparse frame's choice: every non-zero cell (count c) when 1 <= c <= sparse_cells, no CALQ reaches
    2^18 and c addresses and 7-bit charges fit; then the k field says 48 + c and each code is the cell's
    7-bit charge (a fixed-length code)."""
    n, sb = N_TC, SPARSE_FORMAT.bits
    fitting = [c for c in range(N_TC + 1) if spec.sparse_fits(c)]
    if spec.universal:  # the count's rank code and charges against the configured field and cell count
        a_bits, cb = address_bits(), SETTING_BITS["sparse_cells"]
        width = max((int(a_bits[c]) + sb * c for c in fitting), default=1).bit_length()
        choice = [f"    reg [{width - 1}:0] sparse_cost;  // A(c) + 7 c",
                  "    always @* case (nonzero_count)",
                  *(f"        6'd{c}: sparse_cost = {width}'d{int(a_bits[c]) + sb * c};" for c in fitting),
                  f"        default: sparse_cost = {width}'d0;",
                  "    endcase",
                  "    wire sparse_fits = nonzero_count != 6'd0 && nonzero_count <= "
                  f"{{{COUNT_BITS - cb}'d0, cfg_sparse_cells}}",
                  f"        && {_fits_field(spec, 'sparse_cost', width, 0)};"]
    else:
        choice = ["    reg sparse_fits;",
                  "    always @* case (nonzero_count)",
                  *(f"        6'd{c}: sparse_fits = 1'b1;" for c in fitting),
                  "        default: sparse_fits = 1'b0;",
                  "    endcase"]
    return [
        "    // a sparse frame: every non-zero cell at 7 bits when they all fit",
        *adder_tree_lines([f"nz{a}" for a in range(n)], 1, "nonzero_count"),
        *choice,
        "    wire sparse = sparse_fits && !(" + " | ".join(f"big{a}" for a in range(n)) + ");",
        f"    wire [{n - 1}:0] sent_all = sparse ? {{" + ", ".join(f"nz{a}" for a in reversed(range(n))) + "} : sent;",
        f"    wire [{COUNT_BITS - 1}:0] count = sparse ? nonzero_count : kstar;  // cells sent",
        f"    wire [{COUNT_BITS - 1}:0] kfield = sparse ? {COUNT_BITS}'d{N_TC} + nonzero_count : kstar;",
        *(f"    wire [{MAX_CODE_BITS - 1}:0] cs{a} = sparse ? {{ss{a}, {MAX_CODE_BITS - sb}'d0}} : cw{a};"
          for a in range(n)),
        *(f"    wire [{LENGTH_BITS - 1}:0] ls{a} = sparse ? {LENGTH_BITS}'d{sb} : len{a};" for a in range(n)),
    ]


def entropy_sources(spec: EntropyRtlSpec) -> dict[str, str]:
    """Module name -> Verilog text of the encoder and its submodules."""
    copy = {COPY_MODULE: library_source(COPY_MODULE)} if spec.tmr else {}
    return {TOP: entropy_verilog(spec), CELL_MODULE: cell_verilog(spec), SORT_MODULE: sort_verilog(spec),
            RANK_MODULE: rank_verilog(spec), **copy}


def write_entropy_rtl(spec: EntropyRtlSpec, out_dir: str | Path, *, force: bool = False) -> RtlInfo:
    """The RTL folder: src/<module>.v and rtl.json, written atomically. rtl.json is an ``RtlInfo`` (so the
    project's simulation and ASIC flows take the folder: top and core are both ``econt_entropy``, no latents)
    plus the codec's shape (``drop_lsb``, ``mantissa_bits``, ``max_cells``, ``rank_bits``)."""
    sources = entropy_sources(spec)
    registers = (N_TC * CALQ_BITS + HEADER_BITS + N_TC * (MAX_CODE_BITS + LENGTH_BITS + 1) + COUNT_BITS
                 + E5M4.bits + HEADER_BITS + spec.frame_bits + LATENCY + spec.config_bits * (3 if spec.tmr else 1))
    info = RtlInfo(top=TOP, core=TOP, calq_bits=CALQ_BITS, clock_period_ns=CLOCK_PERIOD_NS, initiation_interval=1,
                   latency_cycles=LATENCY, core_latency_cycles=LATENCY, conversion_cycles=0,
                   frame_bits=spec.frame_bits, latent_bits=0, n_latents=0, elinks=spec.elinks,
                   sum_code_offset=spec.frame_bits - FIXED_BITS, core_registers=registers, estimated_luts=0.0,
                   sources=sorted(f"src/{module}.v" for module in sources), config_bits=spec.config_bits,
                   tmr=spec.tmr, bx_in_frame=True)
    with atomic_dir(out_dir, force) as tmp:
        for module, text in sources.items():
            write_text(tmp / "src" / f"{module}.v", text)
        write_json(tmp / RTL_JSON, {**asdict(info), "codec": "entropy", **asdict(spec), "max_cells": spec.max_cells,
                                    "rank_bits": spec.rank_bits, "meta": provenance(generator=GENERATOR)})
    return info

