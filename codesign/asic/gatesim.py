"""A cycle-based, zero-delay simulator of Yosys' generic gate netlists (``netlist.json``), in numpy.

Gate-level energy needs every net's value at every clock edge, not a waveform with delays: a compiled
simulator does that, but Verilator spends two to three minutes compiling the traced C++ of a 140k-gate
encoder before it simulates a wafer. Here the netlist is levelised once (each gate one level above its
deepest input) and every gate of a level is evaluated in one vectorised step as a 4-input truth table, so a
clock edge costs a few hundred numpy operations whatever the gate count. Toggles are counted at each event
(inputs applied at the falling edge, flip-flops at the rising edge), the clock included: one per bit change
of each distinct net, where a VCD (Verilator's, Icarus') has an entry per wire name and so counts a net once
per alias.

Supported cells: Yosys' simple gates (``$_BUF_`` ... ``$_OAI4_``, ``$_MUX_``, ``$_NMUX_``) and its
single-clock flip-flops with enable and reset (``$_DFF_P_``, ``$_DFFE_*``, ``$_SDFF*``, ``$_DFF_P??_``). An
asynchronous reset is applied at the clock edge: the benches here assert reset only before the first edge,
where the two agree. Anything else (latches, memories, a second clock, a combinational loop) is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.econt.bits import bits_from_ints, ints_from_bits
from codesign.errors import InputError

NETLIST_JSON = "netlist.json"  # asic_flow/asic_generic.ys writes the flattened netlist under this name
CONST0, CONST1 = 0, 1  # net indices of the constants; nets of the netlist follow

# Each gate's function in bitwise operators alone, so that it serves for 0/1 integers (the truth tables below)
# and for whole words of lanes (``codesign.asic.gate_harness`` writes it as C over 512 wafers at once).
_GATES: dict[str, tuple[tuple[str, ...], Callable[..., Any]]] = {
    "$_BUF_": (("A",), lambda a: a),
    "$_NOT_": (("A",), lambda a: ~a),
    "$_AND_": (("A", "B"), lambda a, b: a & b),
    "$_NAND_": (("A", "B"), lambda a, b: ~(a & b)),
    "$_OR_": (("A", "B"), lambda a, b: a | b),
    "$_NOR_": (("A", "B"), lambda a, b: ~(a | b)),
    "$_XOR_": (("A", "B"), lambda a, b: a ^ b),
    "$_XNOR_": (("A", "B"), lambda a, b: ~(a ^ b)),
    "$_ANDNOT_": (("A", "B"), lambda a, b: a & ~b),
    "$_ORNOT_": (("A", "B"), lambda a, b: a | ~b),
    "$_MUX_": (("A", "B", "S"), lambda a, b, s: (a & ~s) | (b & s)),
    "$_NMUX_": (("A", "B", "S"), lambda a, b, s: ~((a & ~s) | (b & s))),
    "$_AOI3_": (("A", "B", "C"), lambda a, b, c: ~((a & b) | c)),
    "$_OAI3_": (("A", "B", "C"), lambda a, b, c: ~((a | b) & c)),
    "$_AOI4_": (("A", "B", "C", "D"), lambda a, b, c, d: ~((a & b) | (c & d))),
    "$_OAI4_": (("A", "B", "C", "D"), lambda a, b, c, d: ~((a | b) & (c | d))),
}
# $_DFF_P_, $_DFFE_PP_, $_SDFF_PP0_, $_SDFFE_PP0P_, $_SDFFCE_PP0P_, $_DFF_PP0_, $_DFFE_PP0P_: clock polarity,
# then reset polarity and value where there is a reset, then enable polarity where there is an enable
_FLOP = re.compile(r"^\$_(?P<kind>DFF|DFFE|SDFF|SDFFE|SDFFCE)_P(?P<reset>[PN][01])?(?P<enable>[PN])?_$")


def _truth_table(pins: tuple[str, ...], function: Callable[..., int]) -> int:
    """The gate as a 16-entry table indexed by a + 2b + 4c + 8d (unused inputs read constant 0)."""
    table = 0
    for index in range(16):
        bits = [(index >> k) & 1 for k in range(len(pins))]
        if all((index >> k) & 1 == 0 for k in range(len(pins), 4)):
            table |= (function(*bits) & 1) << index
    return table


_TABLES = {kind: (pins, _truth_table(pins, function)) for kind, (pins, function) in _GATES.items()}
# truth table -> (input count, bitwise function), for the gates of a ``GateLevel`` (which keep only their
# tables). Some kinds share a table (a NAND is an AOI3 whose C input reads constant 0): the wider one stands
# for both, as the unused inputs are wired to constant 0.
GATE_FUNCTIONS: dict[int, tuple[int, Callable[..., Any]]] = {
    _TABLES[kind][1]: (len(pins), function)
    for kind, (pins, function) in sorted(_GATES.items(), key=lambda item: len(item[1][0]))}


@dataclass(frozen=True)
class GateLevel:
    """The gates of one level: output nets, input nets (4 rows, constant 0 where unused), truth tables."""

    outputs: np.ndarray
    inputs: np.ndarray
    tables: np.ndarray


@dataclass(frozen=True)
class Flops:
    """Every flip-flop: Q, D, enable and reset nets (constant 1 / 0 where absent), their active levels, the
    reset value, and whether the reset waits for the enable (``$_SDFFCE_``)."""

    q: np.ndarray
    d: np.ndarray
    enable: np.ndarray
    enable_low: np.ndarray
    reset: np.ndarray
    reset_low: np.ndarray
    reset_value: np.ndarray
    reset_needs_enable: np.ndarray


@dataclass(frozen=True)
class GateNetlist:
    """A flattened generic netlist ready to simulate: ``ports`` maps each port to its nets, LSB first."""

    top: str
    n_nets: int
    ports: Mapping[str, np.ndarray]
    clock: str
    levels: tuple[GateLevel, ...]
    flops: Flops
    traced: np.ndarray  # the distinct nets a VCD of the top would show, clock excluded
    names: Mapping[str, np.ndarray]  # every wire's nets (constant bits left out): aliases share nets

    @classmethod
    def load(cls, path: str | Path, *, clock: str = "clk") -> GateNetlist:
        """Read Yosys' ``write_json`` of a flattened netlist (one module, or the one marked ``top``)."""
        path = Path(path)
        try:
            modules = json.loads(path.read_text())["modules"]
        except (OSError, ValueError, KeyError) as err:
            raise InputError(f"{path}: not a Yosys JSON netlist ({err})") from err
        tops = [name for name, module in modules.items() if module.get("attributes", {}).get("top")] or list(modules)
        if len(tops) != 1:
            raise InputError(f"{path}: {len(tops)} modules and none marked top; flatten the netlist first")
        return _build(path, tops[0], modules[tops[0]], clock)


def _build(path: Path, top: str, module: dict[str, Any], clock: str) -> GateNetlist:
    index: dict[int | str, int] = {"0": CONST0, "1": CONST1, "x": CONST0, "z": CONST0}

    def net(bit: int | str) -> int:
        if bit not in index:
            index[bit] = len(index) - 2  # the four constant spellings share indices 0 and 1
        return index[bit]

    ports = {name: np.array([net(b) for b in port["bits"]], dtype=np.int64) for name, port in module["ports"].items()}
    if clock not in ports or len(ports[clock]) != 1:
        raise InputError(f"{path}: {top} has no 1-bit clock port {clock!r}")
    gates: list[tuple[int, list[int], int]] = []
    flop_rows: list[tuple[int, ...]] = []
    for name, cell in module["cells"].items():
        kind, pins = cell["type"], cell["connections"]
        if kind in _TABLES:
            inputs, table = _TABLES[kind]
            gates.append((net(pins["Y"][0]), [net(pins[p][0]) for p in inputs], table))
        elif match := _FLOP.match(kind):
            if net(pins["C"][0]) != ports[clock][0]:
                raise InputError(f"{path}: flip-flop {name} is clocked by another net than {clock!r}")
            flop_rows.append(_flop_row(match, pins, net))
        else:
            raise InputError(f"{path}: cell {name} of type {kind} is not a generic gate or flip-flop this "
                             "simulator knows (synthesise with asic_flow/asic_generic.ys)")
    names = {name: np.array([net(b) for b in wire["bits"] if b not in ("0", "1", "x", "z")], dtype=np.int64)
             for name, wire in module["netnames"].items()}
    traced = set(np.concatenate([*names.values(), np.zeros(0, np.int64)]).tolist()) - {ports[clock][0]}
    n_nets = len(index) - 2
    return GateNetlist(top=top, n_nets=n_nets, ports=ports, clock=clock, levels=_levelise(path, gates),
                       flops=_flops(flop_rows), traced=np.array(sorted(traced), dtype=np.int64), names=names)


def _flop_row(match: re.Match[str], pins: dict[str, list[int | str]],
              net: Callable[[int | str], int]) -> tuple[int, ...]:
    reset, enable = match["reset"], match["enable"]
    return (net(pins["Q"][0]), net(pins["D"][0]),
            net(pins["E"][0]) if enable else CONST1, int(enable == "N"),
            net(pins["R"][0]) if reset else CONST0, int(bool(reset) and reset[0] == "N"),
            int(bool(reset) and reset[1] == "1"), int(match["kind"] == "SDFFCE"))


def _flops(rows: list[tuple[int, ...]]) -> Flops:
    columns = np.array(rows, dtype=np.int64).reshape(-1, 8).T
    return Flops(q=columns[0], d=columns[1], enable=columns[2], enable_low=columns[3].astype(np.uint8),
                 reset=columns[4], reset_low=columns[5].astype(np.uint8), reset_value=columns[6].astype(np.uint8),
                 reset_needs_enable=columns[7].astype(bool))


def _levelise(path: Path, gates: list[tuple[int, list[int], int]]) -> tuple[GateLevel, ...]:
    """Group gates by depth (Kahn's order over the nets they drive); a gate left over sits on a loop."""
    driver = {out: g for g, (out, _, _) in enumerate(gates)}
    if len(driver) != len(gates):
        raise InputError(f"{path}: a net is driven by two gates")
    readers: dict[int, list[int]] = {}
    pending = []
    for g, (_, inputs, _) in enumerate(gates):
        sources = {n for n in inputs if n in driver}
        pending.append(len(sources))
        for n in sources:
            readers.setdefault(n, []).append(g)
    level = [0] * len(gates)
    frontier = [g for g, count in enumerate(pending) if count == 0]
    done = 0
    while frontier:
        done += len(frontier)
        following = []
        for g in frontier:
            for reader in readers.get(gates[g][0], ()):
                level[reader] = max(level[reader], level[g] + 1)
                pending[reader] -= 1
                if pending[reader] == 0:
                    following.append(reader)
        frontier = following
    if done != len(gates):
        raise InputError(f"{path}: {len(gates) - done} gates sit on a combinational loop")
    order = np.argsort(level, kind="stable")
    depths = np.asarray(level)[order]
    outputs = np.array([gates[g][0] for g in order], dtype=np.int64)
    wired = np.array([gates[g][1] + [CONST0] * (4 - len(gates[g][1])) for g in order], dtype=np.int64).reshape(-1, 4)
    tables = np.array([gates[g][2] for g in order], dtype=np.uint16)
    cuts = np.flatnonzero(np.diff(depths)) + 1
    return tuple(GateLevel(outputs=o, inputs=np.ascontiguousarray(i.T), tables=t)
                 for o, i, t in zip(np.split(outputs, cuts), np.split(wired, cuts), np.split(tables, cuts),
                                    strict=True))


CLOCK_GATE_MIN_FLOPS = 3  # an enabled register bank of at least this many flip-flops gets a clock gate
CLOCK_GATE_FANOUT = 32  # flip-flops behind one integrated clock gate (ICG) cell


@dataclass(frozen=True)
class ClockGating:
    """The clock gates a synthesis tool inserts for this netlist: every bank of at least
    ``CLOCK_GATE_MIN_FLOPS`` flip-flops that share an enable net (and its polarity) is clocked through
    ceil(bank / ``CLOCK_GATE_FANOUT``) integrated clock gates, so its clock pins switch only in the cycles the
    enable (or a synchronous reset) is active; every other flip-flop's clock pin switches every cycle."""

    gated: np.ndarray  # bool per flip-flop (``Flops`` order)
    gates: int

    @classmethod
    def of(cls, flops: Flops) -> ClockGating:
        has_enable = flops.enable != np.where(flops.enable_low == 1, CONST0, CONST1)
        bank = flops.enable * 2 + flops.enable_low
        _, where, sizes = np.unique(bank[has_enable], return_inverse=True, return_counts=True)
        gated = np.zeros(len(flops.q), dtype=bool)
        gated[np.flatnonzero(has_enable)] = sizes[where] >= CLOCK_GATE_MIN_FLOPS
        big = sizes[sizes >= CLOCK_GATE_MIN_FLOPS]
        return cls(gated=gated, gates=int(np.sum(-(-big // CLOCK_GATE_FANOUT))))


class GateSimulation:
    """One run of a netlist from all-zero state (as Verilator starts it). A clock period as the benches drive
    it: ``drive`` inputs (the falling edge), ``settle``, ``read`` outputs, ``rising_edge``. Toggles are
    counted from ``counting()`` on: ``toggles`` in all (clock edges included), ``net_toggles`` per net; and
    per rising edge the flip-flop clock pins that switch with and without ``ClockGating`` (``clock_pins``,
    ``ungated_clock_pins``, clock gate cells included in the first)."""

    def __init__(self, netlist: GateNetlist) -> None:
        self.netlist = netlist
        self.values = np.zeros(netlist.n_nets + 2, dtype=np.uint8)
        self.values[CONST1] = 1
        self.clock_edges = 0
        self.rising_edges = 0
        self.clock_pins = 0
        self._gating = ClockGating.of(netlist.flops)
        self._net_toggles = np.zeros(len(netlist.traced), dtype=np.int64)
        self._last: np.ndarray | None = None

    @property
    def toggles(self) -> int:
        return int(self._net_toggles.sum()) + self.clock_edges

    def toggles_of(self, wire: str) -> int:
        """Bit changes of one wire of the netlist (its clock: the edges) since ``counting()``."""
        nets = self.netlist.names[wire]
        if self.netlist.clock in self.netlist.ports and np.array_equal(nets, self.netlist.ports[self.netlist.clock]):
            return self.clock_edges
        where = np.searchsorted(self.netlist.traced, nets)
        return int(self._net_toggles[where].sum())

    def drive(self, **ports: int) -> None:
        """Set input ports (integers, LSB on each port's bit 0); ``settle`` propagates them."""
        for port, value in ports.items():
            self._set(self.netlist.ports[port], value)

    def preload(self, wire: str, value: int) -> None:
        """Set the flip-flops that drive ``wire`` (a register of the netlist, LSB first) to ``value``, as if
        shifted or written in: a configuration image loaded without simulating its thousands of clocks.
        ``settle`` propagates it."""
        nets = self.netlist.names.get(wire)
        if nets is None:
            raise InputError(f"the netlist has no wire {wire!r}")
        if not np.isin(nets, self.netlist.flops.q).all():
            raise InputError(f"wire {wire!r} is not driven by flip-flops alone: not a register to preload")
        self._set(nets, value)

    def _set(self, nets: np.ndarray, value: int) -> None:
        """``nets`` (LSB first) take the bits of ``value``."""
        self.values[nets] = bits_from_ints([value], len(nets))[0]

    def read(self, port: str) -> int:
        return ints_from_bits(self.values[self.netlist.ports[port]][None])[0]

    def settle(self) -> None:
        """Evaluate every gate, level by level; when counting, the falling clock edge and what moved count."""
        v = self.values
        for level in self.netlist.levels:
            i = level.inputs
            address = v[i[0]] | (v[i[1]] << 1) | (v[i[2]] << 2) | (v[i[3]] << 3)
            v[level.outputs] = (level.tables >> address) & 1
        self._count()

    def rising_edge(self) -> None:
        """Every flip-flop takes its next value; when counting, the logic settles and its toggles count (when
        not, the next ``settle`` does the work once)."""
        f, v = self.netlist.flops, self.values
        enabled = (v[f.enable] ^ f.enable_low).astype(bool)
        reset = (v[f.reset] ^ f.reset_low).astype(bool) & (~f.reset_needs_enable | enabled)
        v[f.q] = np.where(reset, f.reset_value, np.where(enabled, v[f.d], v[f.q]))
        if self._last is not None:
            self.rising_edges += 1
            gated = self._gating.gated
            self.clock_pins += int(np.count_nonzero(~gated | enabled | reset)) + self._gating.gates
            self.settle()

    @property
    def ungated_clock_pins(self) -> int:
        return self.rising_edges * len(self.netlist.flops.q)

    def counting(self) -> None:
        """Toggles are counted from the present values on (the first values of a VCD are not toggles)."""
        self.clock_edges = self.rising_edges = self.clock_pins = 0
        self._net_toggles[:] = 0
        self._last = self.values[self.netlist.traced].copy()

    def _count(self) -> None:
        if self._last is not None:
            now = self.values[self.netlist.traced]
            self._net_toggles += now != self._last
            self.clock_edges += 1
            self._last = now
