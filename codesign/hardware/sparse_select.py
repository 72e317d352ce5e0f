"""Verilog of the hybrid encoder's sparse-mode selector ``econt_sparse`` (a pure function returning text).

The selector finds the ``n_cells`` largest of the 48 on-chip inputs, or of the 48 charge words
(``CellCoding.charge``), ties to the lower TC (as
``codesign.models.sparse.best_cells``) with a selection network on {value, 63 - TC} keys: the keys are all
distinct, so any sorting network gives exactly that order. Map coding then sorts the chosen cells by TC with
a second, small network and decodes their addresses into the map. One 14-bit comparison and at most two
multiplexers per exchange replace the first selector's ranking of all 1,128 TC pairs with 47-bit rank sums.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.data.geometry import ADDRESS_BITS
from codesign.hardware.verilog import verilog_module
from codesign.models.sparse import CellCoding

GENERATOR = "codesign/hardware/sparse_select.py"
SPARSE_MODULE = "econt_sparse"
BY_TC_MODULE = "econt_sparse_by_tc"
ADDRESS_MAX = (1 << ADDRESS_BITS) - 1


@dataclass(frozen=True)
class Exchange:
    """One comparator: wires ``a`` and ``b`` in; ``high`` (the larger) and ``low`` out, each None when
    nothing downstream uses it."""

    a: int
    b: int
    high: int | None
    low: int | None


@dataclass(frozen=True)
class SelectionNetwork:
    """Exchanges in evaluation order over numbered wires: wires 0..n_inputs-1 are the inputs, ``outputs``
    the wires holding the ``len(outputs)`` largest inputs, largest first."""

    n_inputs: int
    exchanges: tuple[Exchange, ...]
    outputs: tuple[int, ...]

    def levels(self) -> list[int]:
        """Per exchange, the comparators on the longest path from an input through it (1 for the first)."""
        level = dict.fromkeys(range(self.n_inputs), 0)
        levels = []
        for x in self.exchanges:
            levels.append(max(level[x.a], level[x.b]) + 1)
            level.update({w: levels[-1] for w in (x.high, x.low) if w is not None})
        return levels

    @property
    def depth(self) -> int:
        """Comparators on the longest input-to-output path."""
        return max(self.levels(), default=0)

    def apply(self, keys: np.ndarray) -> np.ndarray:
        """The network on integer keys, (n, n_inputs) -> (n, len(outputs)): the golden model of the RTL."""
        keys = np.asarray(keys)
        wire = {i: keys[:, i] for i in range(self.n_inputs)}
        for x in self.exchanges:
            a, b = wire[x.a], wire[x.b]
            if x.high is not None:
                wire[x.high] = np.maximum(a, b)
            if x.low is not None:
                wire[x.low] = np.minimum(a, b)
        return np.stack([wire[w] for w in self.outputs], axis=1)


class _Builder:
    """Exchanges over numbered wires while a network is built; ``None`` is a padding wire below every key,
    so an exchange with it is only a relabelling and costs nothing."""

    def __init__(self, n_inputs: int) -> None:
        self.exchanges: list[tuple[int, int, int, int]] = []
        self.next_wire = n_inputs

    def exchange(self, a: int | None, b: int | None) -> tuple[int | None, int | None]:
        if a is None or b is None:
            return (b, a) if a is None else (a, b)
        high, low = self.next_wire, self.next_wire + 1
        self.next_wire += 2
        self.exchanges.append((a, b, high, low))
        return high, low

    def merge(self, x: list[int], y: list[int]) -> list[int]:
        """Batcher's odd-even merge of two descending lists (each padded to a power of two)."""
        half = 1 << max(len(x) - 1, len(y) - 1, 0).bit_length()
        wires: list[int | None] = [*x, *[None] * (half - len(x)), *y, *[None] * (half - len(y))]

        def merge_at(lo: int, step: int) -> None:
            if 2 * step < 2 * half:
                merge_at(lo, 2 * step)
                merge_at(lo + step, 2 * step)
                pairs = [(i, i + step) for i in range(lo + step, lo + 2 * half - step, 2 * step)]
            else:
                pairs = [(lo, lo + step)]
            for i, j in pairs:
                wires[i], wires[j] = self.exchange(wires[i], wires[j])

        merge_at(0, 1)
        return [w for w in wires if w is not None]


def selection_network(n_inputs: int, n_outputs: int) -> SelectionNetwork:
    """A merge sort of ``n_inputs`` wires cut at ``n_outputs``: neighbouring sorted lists are merged
    pairwise (Batcher's odd-even merge), each result cut to its ``n_outputs`` largest, and only the
    exchanges (and exchange outputs) that reach the final list are kept. For 48 inputs this takes 148, 184,
    218 and 254 exchanges for 4, 6, 9 and 12 outputs, against 262-304 for the chip's pruned merge exchange."""
    builder = _Builder(n_inputs)
    lists = [[i] for i in range(n_inputs)]
    while len(lists) > 1:
        merged = [builder.merge(x, y)[:n_outputs] for x, y in zip(lists[::2], lists[1::2], strict=False)]
        lists = merged + lists[len(lists) - len(lists) % 2:]
    outputs = tuple(lists[0][:n_outputs])
    needed, kept = set(outputs), []
    for a, b, high, low in reversed(builder.exchanges):
        if high in needed or low in needed:
            needed |= {a, b}
            kept.append(Exchange(a, b, high if high in needed else None, low if low in needed else None))
    return SelectionNetwork(n_inputs, tuple(reversed(kept)), outputs)


class PipelineStages:
    """Register cuts through generated logic: a signal made in slice ``s`` and read in a later slice passes one
    register per cut it crosses (each made once and shared by every reader). Slice 0 follows the module's
    inputs; without cuts nothing is registered and the logic is combinational."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[int, int]] = {}  # name -> (bits, slice)
        self.declarations: list[str] = []
        self.updates: list[str] = []
        self.earlier: dict[str, str] = {}  # a register -> what it takes (the signal or the register before it)

    def make(self, name: str, bits: int, slice_: int) -> str:
        self._made[name] = (bits, slice_)
        return name

    def bits(self, name: str) -> int:
        return self._made[name][0]

    def made(self, name: str) -> int | None:
        """The slice ``name`` is made in (None for a name these stages do not know)."""
        return self._made[name][1] if name in self._made else None

    def at(self, name: str, slice_: int) -> str:
        """The name under which ``name`` is read in ``slice_``."""
        bits, made = self._made[name]
        if slice_ <= made:
            return name
        reg = f"{name}_s{slice_}"
        if reg not in self._made:
            earlier = self.at(name, slice_ - 1)
            self.make(reg, bits, slice_)
            self.earlier[reg] = earlier
            self.declarations.append(f"    reg [{bits - 1}:0] {reg};")
            self.updates.append(f"        {reg} <= {earlier};")
        return reg

    def registers(self) -> list[str]:
        return ["    always @(posedge clk) begin", *self.updates, "    end"] if self.updates else []


@dataclass(frozen=True)
class Slicing:
    """``stages`` slices of about equal comparator depth over ``depth`` levels (the selection network's, then
    the by-TC network's): level 0 is the module's inputs."""

    stages: int
    depth: int

    def of(self, level: int) -> int:
        return 0 if level <= 0 else min(self.stages - 1, (level - 1) * self.stages // self.depth)


def network_lines(net: SelectionNetwork, prefix: str, bits: int, key: str, stages: PipelineStages,
                   slicing: Slicing, first_level: int) -> list[str]:
    """Wires ``{prefix}{id}`` of ``bits`` bits; an exchange compares the ``key`` slice of its two wires. The
    inputs are made in the slice of ``first_level``; an exchange at level L of ``net`` lies in the slice of
    ``first_level + L``."""
    for w in range(net.n_inputs):
        stages.make(f"{prefix}{w}", bits, slicing.of(first_level))
    lines = []
    for x, level in zip(net.exchanges, net.levels(), strict=True):
        s = slicing.of(first_level + level)
        a, b = stages.at(f"{prefix}{x.a}", s), stages.at(f"{prefix}{x.b}", s)
        g = f"{prefix}gt{x.high if x.high is not None else x.low}"
        lines.append(f"    wire {g} = {a}{key} > {b}{key};")
        if x.high is not None:
            lines.append(f"    wire [{bits - 1}:0] {stages.make(f'{prefix}{x.high}', bits, s)} = {g} ? {a} : {b};")
        if x.low is not None:
            lines.append(f"    wire [{bits - 1}:0] {stages.make(f'{prefix}{x.low}', bits, s)} = {g} ? {b} : {a};")
    return lines


def by_tc_module(name: str, by_tc: SelectionNetwork, value_bits: int, slicing: Slicing,
                 first_level: int) -> tuple[str, bool]:
    """Verilog of module ``name``: ``by_tc.n_inputs`` cells {value, 63 - TC} sorted by TC (the larger 63 - TC
    first), their values out in that order, lowest TC in the lowest bits; and whether it has a ``clk`` (its
    network lies in more than one slice of ``slicing``, from ``first_level`` on). Yosys keeps it whole
    (``keep_hierarchy``): flattened into the selection network, whose outputs it compares, it took ABC's
    mapping over 20 minutes; on its own it maps in seconds."""
    n, v = by_tc.n_inputs, value_bits
    cell_bits = ADDRESS_BITS + v
    inner = PipelineStages()
    network = network_lines(by_tc, "c", cell_bits, f"[{ADDRESS_BITS - 1}:0]", inner, slicing, first_level)
    values = ", ".join(f"{inner.at(f'c{w}', slicing.stages - 1)}[{cell_bits - 1} -: {v}]"
                       for w in reversed(by_tc.outputs))
    clk = ["input  wire clk"] if inner.updates else []
    text = verilog_module(
        name, [*clk, f"input  wire [{n * cell_bits - 1}:0] cells", f"output wire [{n * v - 1}:0] values"],
        [*(f"    wire [{cell_bits - 1}:0] c{s} = cells[{s * cell_bits} +: {cell_bits}];" for s in range(n)),
         "    /* verilator lint_off UNUSEDSIGNAL */  // the TCs order the values and are not sent",
         *inner.declarations,
         *network,
         "    /* verilator lint_on UNUSEDSIGNAL */",
         *inner.registers(),
         f"    assign values = {{{values}}};"],
        generator=GENERATOR, comment=f"the sparse selector's cells in TC order, a {len(by_tc.exchanges)}-"
        "comparator network.", attribute="(* keep_hierarchy *)\n")
    return text, bool(clk)


def _nonzero_lines(n_tc: int, bits: int) -> list[str]:
    """``nonzero``: how many of the ``n_tc`` ``inputs`` (``bits`` each) are not zero."""
    count_bits = n_tc.bit_length()
    return [f"    reg [{count_bits - 1}:0] nonzero;",
            "    integer i;",
            "    always @* begin",
            "        nonzero = 0;",
            f"        for (i = 0; i < {n_tc}; i = i + 1)",
            f"            nonzero = nonzero + {{{count_bits - 1}'d0, |inputs[i * {bits} +: {bits}]}};",
            "    end"]


def sparse_sources(n_tc: int, coding: CellCoding, max_occupancy: int, *, stages: int = 1) -> dict[str, str]:
    """Verilog of ``econt_sparse`` (module name -> text): the ``coding.n_cells`` largest of ``n_tc`` on-chip
    inputs packed as ``coding`` says, and the mode (at most ``max_occupancy`` non-zero), as
    ``codesign.models.sparse``. ``stages`` > 1 cuts the comparator networks into that many slices of about
    equal depth with registers between them (a ``clk`` port; outputs ``stages - 1`` clocks after the inputs);
    1 is combinational. Map coding adds ``econt_sparse_by_tc``, the chosen cells in TC order
    (``by_tc_module``)."""
    if stages < 1:
        raise ValueError(f"the sparse selector needs at least 1 stage, got {stages}")
    b, v, n = coding.source_bits, coding.value_bits, coding.n_cells
    key_bits = b + ADDRESS_BITS  # {value, 63 - TC}: larger key, earlier cell
    net = selection_network(n_tc, n)
    by_tc = selection_network(n, n) if coding.use_map else None  # a larger 63 - TC is a lower TC
    slicing = Slicing(stages, net.depth + (by_tc.depth if by_tc else 0))
    last = stages - 1
    count_bits = n_tc.bit_length()
    top = PipelineStages()
    network = network_lines(net, "k", key_bits, "", top, slicing, 0)
    chosen = net.outputs
    body = [
        "    // keys {value, 63 - TC}: all distinct, the larger key is the earlier cell; the value's low bits",
        "    // rank the cells but are not sent",
        "    /* verilator lint_off UNUSEDSIGNAL */",
        *(f"    wire [{key_bits - 1}:0] k{i} = {{inputs[{i * b} +: {b}], {ADDRESS_BITS}'d{ADDRESS_MAX - i}}};"
          for i in range(n_tc)),
        *network,
        "    /* verilator lint_on UNUSEDSIGNAL */",
    ]
    sources = {}
    if by_tc is not None:
        selected = slicing.of(net.depth)  # where the chosen cells are complete
        cells = [f"{{{k}[{key_bits - 1} -: {v}], {k}[{ADDRESS_BITS - 1}:0]}}"
                 for k in (top.at(f"k{w}", selected) for w in chosen)]
        sources[BY_TC_MODULE], clocked = by_tc_module(BY_TC_MODULE, by_tc, v, slicing, net.depth)
        clk = ["clk"] if clocked else []
        addresses = [f"~{top.at(f'k{w}', selected)}[{ADDRESS_BITS - 1}:0]" for w in chosen]
        top.make("map", n_tc, selected)
        body += [
            f"    wire [{n * v - 1}:0] values;",
            f"    {BY_TC_MODULE} by_tc ({'.clk(clk), ' if clk else ''}.cells({{{', '.join(reversed(cells))}}}), "
            ".values(values));",
            f"    wire [{n_tc - 1}:0] map = " + " | ".join(f"({n_tc}'d1 << {a})" for a in addresses) + ";",
            f"    assign cells = {{values, {top.at('map', last)}}};",
        ]
    else:
        keys = [top.at(f"k{w}", last) for w in reversed(chosen)]
        body.append("    assign cells = {" + ", ".join(f"~{k}[{ADDRESS_BITS - 1}:0], {k}[{key_bits - 1} -: {v}]"
                                                    for k in keys) + "};")
    top.make("sparse_now", 1, 0)
    body += [
        *_nonzero_lines(n_tc, b),
        f"    wire sparse_now = nonzero <= {count_bits}'d{max_occupancy};",
        f"    assign sparse = {top.at('sparse_now', last)};",
        *top.registers(),
    ]
    pipelined = f", in {stages} stages" if stages > 1 else ""
    sources[SPARSE_MODULE] = verilog_module(
        SPARSE_MODULE, [*(["input  wire clk"] if stages > 1 else []), f"input  wire [{n_tc * b - 1}:0] inputs",
                        "output wire sparse", f"output wire [{coding.bits - 1}:0] cells"],
        ["    /* verilator lint_off UNUSEDSIGNAL */  // a key's low value bits are not sent",
         *top.declarations, "    /* verilator lint_on UNUSEDSIGNAL */", *body] if top.declarations else body,
        generator=GENERATOR,
        comment=f"the hybrid encoder's sparse-mode selector,\n// the {coding.describe()}; a selection network of "
        f"{len(net.exchanges)} comparators, {net.depth} deep{pipelined}.")
    return sources


BLOCK_SPARSE_MODULE = "econt_block_sparse"
BLOCK_BY_TC_MODULE = "econt_block_by_tc"
SOURCE_BITS = 8  # the block's cell sources: 8-bit on-chip inputs, or 7-bit charge words zero-extended
VALUE_BITS_FIELD = SOURCE_BITS.bit_length()  # value_bits 1..8


def block_sparse_sources(n_tc: int, max_cells: int, payload_bits: int) -> dict[str, str]:
    """Verilog of ``econt_block_sparse``, the universal block's selector (module name -> text): everything
    ``sparse_sources`` fixes at generation comes from input ports, the configuration's settings:

        max_occupancy  at most this many non-zero sources select the sparse mode
        n_cells        cells sent (<= ``max_cells``), value_bits v (1-8), charge (the sources are 7-bit
                       charge words: a value is their top v of 7 bits, else of 8), use_map (48-bit map coding)

    The selection network keeps the ``max_cells`` largest; the cells from ``n_cells`` on are zeroed (value and
    address), so the map's by-TC sort puts them last and the payload ``cells`` (``payload_bits``, the
    ``CellCoding`` layout for the configured v and coding) holds zeros above the configured cells. Each
    payload bit is one AND-OR over the eight choices of v."""
    b, n = SOURCE_BITS, max_cells
    key_bits = b + ADDRESS_BITS
    net = selection_network(n_tc, n)
    by_tc = selection_network(n, n)
    count_bits = n_tc.bit_length()
    top = PipelineStages()
    sources = {}
    sources[BLOCK_BY_TC_MODULE], _ = by_tc_module(BLOCK_BY_TC_MODULE, by_tc, b, Slicing(1, by_tc.depth), 0)
    nb = max(n.bit_length(), 1)
    body = [
        "    // keys {value, 63 - TC}: all distinct, the larger key is the earlier cell",
        "    /* verilator lint_off UNUSEDSIGNAL */",
        *(f"    wire [{key_bits - 1}:0] k{i} = {{inputs[{i * b} +: {b}], {ADDRESS_BITS}'d{ADDRESS_MAX - i}}};"
          for i in range(n_tc)),
        *network_lines(net, "k", key_bits, "", top, Slicing(1, net.depth), 0),
        "    /* verilator lint_on UNUSEDSIGNAL */",
        f"    wire [{VALUE_BITS_FIELD - 1}:0] vshift = (charge ? {VALUE_BITS_FIELD}'d{b - 1} : "
        f"{VALUE_BITS_FIELD}'d{b}) - value_bits;",
        f"    wire [{b - 1}:0] vsel;  // one-hot: vsel[v - 1] for v value bits",
        *(f"    assign vsel[{v - 1}] = value_bits == {VALUE_BITS_FIELD}'d{v};" for v in range(1, b + 1)),
        "    // the chosen cells, largest first; from n_cells on zero (value and 63 - TC)",
    ]
    for s, w in enumerate(net.outputs):
        body += [f"    wire use{s} = n_cells > {nb}'d{s};",
                 f"    wire [{b - 1}:0] val{s} = use{s} ? k{w}[{key_bits - 1} -: {b}] >> vshift : {b}'d0;",
                 f"    wire [{ADDRESS_BITS - 1}:0] key{s} = use{s} ? k{w}[{ADDRESS_BITS - 1}:0] : {ADDRESS_BITS}'d0;",
                 f"    wire [{ADDRESS_BITS - 1}:0] tc{s} = use{s} ? ~key{s} : {ADDRESS_BITS}'d0;"]
    body += [
        "    /* verilator lint_off UNUSEDSIGNAL */  // the last cells' top bits never fit a frame",
        f"    wire [{n * b - 1}:0] by_tc_values;  // the chosen values in TC order, the zeroed cells last",
        "    /* verilator lint_on UNUSEDSIGNAL */",
        f"    {BLOCK_BY_TC_MODULE} by_tc (.cells({{{', '.join(f'val{s}, key{s}' for s in reversed(range(n)))}}}), "
        ".values(by_tc_values));",
        f"    wire [{n_tc - 1}:0] map = " + " | ".join(f"({{{n_tc - 1}'d0, use{s}}} << tc{s})" for s in range(n)) + ";",
    ]

    def choice(bits: list[str | None]) -> str:
        """A payload bit as the AND-OR of ``bits`` (a bit, or None for zero) for v = 8 .. 1."""
        named = [x or "1'b0" for x in bits]
        return "1'b0" if all(x is None for x in bits) else f"|(vsel & {{{', '.join(named)}}})"

    def by_address(q: int, v: int) -> str | None:
        s, r = divmod(q, ADDRESS_BITS + v)
        return None if s >= n else (f"val{s}[{r}]" if r < v else f"tc{s}[{r - v}]")

    def by_map(q: int, v: int) -> str | None:
        j, r = divmod(q - n_tc, v)
        return None if j >= n else f"by_tc_values[{j * b + r}]"

    body += [f"    wire [{payload_bits - 1}:0] by_address, by_map;"]
    for q in range(payload_bits):
        widths = range(b, 0, -1)
        body.append(f"    assign by_address[{q}] = {choice([by_address(q, v) for v in widths])};")
        body.append(f"    assign by_map[{q}] = " + (f"map[{q}];" if q < n_tc else
                                                     f"{choice([by_map(q, v) for v in widths])};"))
    body += [
        "    assign cells = use_map ? by_map : by_address;",
        *_nonzero_lines(n_tc, b),
        "    assign sparse = nonzero <= max_occupancy;",
    ]
    sources[BLOCK_SPARSE_MODULE] = verilog_module(
        BLOCK_SPARSE_MODULE,
        [f"input  wire [{n_tc * b - 1}:0] inputs", f"input  wire [{count_bits - 1}:0] max_occupancy",
         f"input  wire [{nb - 1}:0] n_cells", f"input  wire [{VALUE_BITS_FIELD - 1}:0] value_bits",
         "input  wire charge", "input  wire use_map", "output wire sparse",
         f"output wire [{payload_bits - 1}:0] cells"],
        body, generator=GENERATOR,
        comment=f"the universal block's sparse-mode selector: up to {n} cells, their coding set at run time;\n"
        f"// a selection network of {len(net.exchanges)} comparators, {net.depth} deep.")
    return sources
