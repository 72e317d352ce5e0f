"""Golden models of the ECON-T's fixed algorithms: what the chip sends for each wafer, bit for bit, and what
a back end rebuilds from it. Vectorised over wafers; the only per-wafer loop is the Threshold-Sum buffer
(a recurrence over bunch crossings, see ``buffer.py``).

The behaviour, frame layouts and tie rules follow ``ECONT_ALGORITHMS.md`` (the chip's verification model);
the conformance frames of 434 wafers check them in ``tests/test_econt.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from codesign.data.floats import E4M3, E5M3, E5M4
from codesign.data.geometry import N_TC
from codesign.econt.backend import Leftover, Spreading, spread
from codesign.econt.bits import ELINK_BITS, WORD_BITS, Frames, FrameWriter, padded
from codesign.econt.buffer import buffer_truncations
from codesign.econt.mux import TcMux
from codesign.econt.sorting import batcher_sort_descending

ORBIT_BX = 3564  # bunch crossings in an LHC orbit: wafer i of a file is sent at BX i mod 3564
MAX_ELINKS = 13
MAX_DROP_LSB = 4
SHIFTED_MAX = (1 << 18) - 1  # Best-Choice, Repeater and STC4_7 inputs: (CALQ >> DropLSB) clipped to 18 bits
DEFAULT_THRESHOLD = 47  # counts: round(1.35 MIP_T in ADC counts), the chip's THRESHV default

# Best-Choice cells per eLink count (1..13), the chip's tcPerLink table.
BEST_CHOICE_CELLS = (1, 4, 6, 9, 14, 18, 23, 28, 32, 37, 41, 46, 48)
BEST_CHOICE_MAX_BITS = 4 + 8 + N_TC * (1 + 7)  # header, sum, 48-bit map, 48 charges: 396 bits


@dataclass(frozen=True)
class SuperCellType:
    """One of the chip's four STC types: group size, index and sum widths, STCs sent per eLink count."""

    name: str
    group_size: int
    index_bits: int
    sum_bits: int
    cells_per_elinks: tuple[int, ...]  # STCs sent at 1, 2, ... eLinks; above the last: idle words only

    @property
    def max_elinks(self) -> int:
        return len(self.cells_per_elinks)

    def cells(self, elinks: int) -> int:
        return self.cells_per_elinks[elinks - 1]


STC_TYPES = {t.name: t for t in (
    SuperCellType("stc4_9", 4, 2, 9, (2, 5, 8, 11, 12)),
    SuperCellType("stc16_9", 16, 4, 9, (2, 3)),
    SuperCellType("ctc4_7", 4, 0, 7, (4, 8, 12)),
    SuperCellType("stc4_7", 4, 2, 7, (3, 6, 10, 12)),
)}
ALGORITHMS = ("threshold-sum", "best-choice", *STC_TYPES, "repeater")


@dataclass(frozen=True)
class EcontSettings:
    """The chip's configuration for one algorithm run.

    ``threshold``: Threshold-Sum threshold in CALQ counts, one value or 48 (this project's TC order).
    ``use_sum``: the module-sum field carries the full sum instead of the untransmitted part.
    ``first_bx``: bunch crossing of the first wafer (wafer i goes at (first_bx + i) mod 3564).
    ``buffer``: stream Threshold-Sum frames through the chip's buffer (one wafer per BX); a truncated BX
    keeps only its module sum."""

    elinks: int = 5
    drop_lsb: int = 3
    threshold: int | tuple[int, ...] = DEFAULT_THRESHOLD
    use_sum: bool = False
    first_bx: int = 0
    buffer: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.elinks <= MAX_ELINKS:
            raise ValueError(f"elinks must be 1..{MAX_ELINKS}, got {self.elinks}")
        if not 0 <= self.drop_lsb <= MAX_DROP_LSB:
            raise ValueError(f"drop_lsb must be 0..{MAX_DROP_LSB}, got {self.drop_lsb}")
        thresholds = np.atleast_1d(self.threshold)
        if thresholds.size not in (1, N_TC) or (thresholds < 0).any():
            raise ValueError(f"threshold must be one non-negative count or {N_TC}, got {self.threshold}")

    @property
    def link_bits(self) -> int:
        return ELINK_BITS * self.elinks


@dataclass(frozen=True)
class BackEnd:
    """How the naive back end parses frames where they leave a choice (the sums a frame carries beyond its
    cells are placed by ``codesign.econt.backend`` on top of it: ``ChipOutput.leftover``).

    ``literal_best_choice``: Best-Choice frames are parsed literally: the chip leaves out the charges of
    selected cells whose value is 0 but keeps their map bits, so the back end assigns the charges to the
    first flagged addresses and the trailing flagged cells get 0 (misplacing charges whenever a selected
    cell was 0). The default puts every selected cell's own value at its address, which is what the chip
    meant to send and what the conformance reconstructions hold."""

    literal_best_choice: bool = False


@dataclass(frozen=True)
class ModulePreset:
    """The chip's defaults for a module type: DropLSB and the STC type."""

    name: str
    drop_lsb: int
    stc_type: str


MODULE_PRESETS = {"hd": ModulePreset("hd", 3, "stc4_9"), "ld": ModulePreset("ld", 1, "stc16_9")}


@dataclass(frozen=True)
class ChipOutput:
    """What one algorithm sends for n wafers and what a back end rebuilds from it.

    ``reconstruction``: (n, 48) float64 CALQ counts in this project's TC order (bin midpoints; code 0 as 0)
    from the cells the frame sends: the naive back end, as the public emulator decodes.
    ``leftover``: what the frame says of the cells it did not send (sums), this project's TC order.
    ``extra``: per-algorithm arrays (Threshold-Sum with the buffer: ``truncated``)."""

    algorithm: str
    settings: EcontSettings
    frames: Frames
    reconstruction: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    leftover: Leftover | None = None

    def decoded(self, rule: Spreading | None, prior: np.ndarray) -> np.ndarray:
        """The reconstruction with the leftover placed by ``rule`` (None: the naive back end)."""
        if rule is None or self.leftover is None:
            return self.reconstruction
        return spread(self.reconstruction, self.leftover, rule, prior)


def bx_counter(n: int, first_bx: int = 0) -> np.ndarray:
    """The 5-bit BX_CNT of each wafer's header: BX mod 16, and 31 at BX 0."""
    bx = (first_bx + np.arange(n)) % ORBIT_BX
    return np.where(bx == 0, 31, bx % 16)


def short_header(counter: np.ndarray) -> np.ndarray:
    """The 4-bit header of Best-Choice and STC frames: BX_CNT without its bit 3."""
    return ((counter >> 1) & 0b1000) | (counter & 0b111)


def supported_algorithms(elinks: int) -> tuple[str, ...]:
    """The algorithms that send data at ``elinks`` (an STC type above its limit sends idle words)."""
    return tuple(a for a in ALGORITHMS if a not in STC_TYPES or elinks <= STC_TYPES[a].max_elinks)


def check_supported(algorithm: str, elinks: int) -> None:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown ECON-T algorithm {algorithm!r}; choose from {', '.join(ALGORITHMS)}")
    if algorithm in STC_TYPES and elinks > STC_TYPES[algorithm].max_elinks:
        raise ValueError(f"{algorithm} sends data at 1..{STC_TYPES[algorithm].max_elinks} eLinks only (the chip "
                         f"sends idle words at {elinks})")


def run_algorithm(algorithm: str, calq: np.ndarray, mux: TcMux, *, settings: EcontSettings,
                  back_end: BackEnd = BackEnd()) -> ChipOutput:
    """Frames and reconstruction of one algorithm (``ALGORITHMS``) for (n, 48) CALQ wafers."""
    check_supported(algorithm, settings.elinks)
    calq = np.asarray(calq, dtype=np.int64)
    if calq.ndim != 2 or calq.shape[1] != N_TC:
        raise ValueError(f"expected CALQ of shape (n, {N_TC}), got {calq.shape}")
    chip = mux.to_chip(calq)
    counter = bx_counter(len(calq), settings.first_bx)
    if algorithm == "threshold-sum":
        thresholds = np.broadcast_to(np.asarray(settings.threshold, dtype=np.int64), (N_TC,))
        result = threshold_sum(chip, counter, settings, thresholds=mux.to_chip(thresholds[None])[0])
    elif algorithm == "best-choice":
        result = best_choice(chip, counter, settings, back_end=back_end)
    elif algorithm == "repeater":
        result = repeater(chip, counter, settings)
    else:
        result = super_trigger_cells(chip, counter, settings, stc=STC_TYPES[algorithm])
    leftover = None if result.leftover is None else result.leftover.from_chip(mux.tc_of_post, mux.post_of_tc)
    return ChipOutput(algorithm, settings, result.frames, mux.from_chip(result.reco), result.extra, leftover)


@dataclass(frozen=True)
class Result:
    """One algorithm's frames and naive reconstruction in the chip's post-mux order."""

    frames: Frames
    reco: np.ndarray
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    leftover: Leftover | None = None


def _one_group(unsent: np.ndarray, amount: np.ndarray, cap: np.ndarray) -> Leftover:
    """A leftover of one group: every unsent cell of the module."""
    return Leftover(unsent[:, None, :], amount[:, None].astype(np.float64), cap[:, None].astype(np.float64))


def _shifted(chip: np.ndarray, drop_lsb: int) -> np.ndarray:
    return np.minimum(chip >> drop_lsb, SHIFTED_MAX)


def charge_codes(calq: np.ndarray, drop_lsb: int = 0) -> np.ndarray:
    """The 7-bit 4E3M words Best-Choice sends for each cell: (CALQ >> DropLSB) clipped to 18 bits, encoded
    (any TC order: one word per cell)."""
    return E4M3.encode(_shifted(np.asarray(calq, dtype=np.int64), drop_lsb))


def threshold_sum(chip: np.ndarray, counter: np.ndarray, settings: EcontSettings, *, thresholds: np.ndarray) -> Result:
    """Cells at or above their threshold: 3-bit type, then up to 7 addresses or the 48-bit map, 7-bit
    charges (4E3M after DropLSB) in ascending TC order; the 8-bit sum of the cells not sent (each of them
    below its threshold: the leftover's cap)."""
    passed = chip >= thresholds
    n_cells = passed.sum(axis=1)
    codes = E4M3.encode(chip, settings.drop_lsb)
    below = np.where(passed, 0, chip).sum(axis=1)
    sum_code = E5M3.encode(chip.sum(axis=1) if settings.use_sum else below)
    few, many = (n_cells >= 1) & (n_cells < 8), n_cells >= 8
    frame_type = np.where(n_cells == 0, 0b000, np.where(few, 0b010, 0b100))
    writer = FrameWriter(len(chip), padded(64 + 7 * N_TC, WORD_BITS))
    writer.write(counter, 5)
    writer.write(frame_type, 3)
    writer.write(sum_code, 8)
    writer.write(n_cells, 3, few)
    order = np.argsort(~passed, axis=1, kind="stable")[:, :7]  # the first set cells, ascending
    for k in range(7):
        writer.write(order[:, k], 6, few & (n_cells > k))
    for k in range(7):
        writer.write(np.take_along_axis(codes, order[:, k : k + 1], axis=1)[:, 0], 7, few & (n_cells > k))
    for p in range(N_TC):
        writer.write(passed[:, p], 1, many)
    for p in range(N_TC):
        writer.write(codes[:, p], 7, many & passed[:, p])
    frames = writer.frames(padded(writer.cursor, WORD_BITS))
    reco = np.where(passed, E4M3.decode(codes, settings.drop_lsb), 0).astype(np.float64)
    extra: dict[str, np.ndarray] = {}
    unsent_sum = E5M3.decode(sum_code)
    if settings.buffer:
        extra["truncated"] = truncated = buffer_truncations(frames.lengths // WORD_BITS, settings.elinks)
        reco[truncated] = 0
        # a truncated BX sends one word of data (header, type 110/111, full sum) in the queue
        frames = dataclasses.replace(frames, used=np.where(truncated, WORD_BITS, frames.used))
        passed = passed & ~truncated[:, None]
        unsent_sum = np.where(truncated, E5M3.decode(E5M3.encode(chip.sum(axis=1))), unsent_sum)
    else:
        truncated = np.zeros(len(chip), dtype=bool)
    sent_total = np.where(passed, reco, 0).sum(axis=1) if settings.use_sum else 0.0
    cap = np.where(truncated, np.inf, float(thresholds.max(initial=1)) - 1)
    return Result(frames, reco, extra, _one_group(~passed, unsent_sum - sent_total, cap))


def best_choice(chip: np.ndarray, counter: np.ndarray, settings: EcontSettings, *, back_end: BackEnd) -> Result:
    """The chip's Best-Choice: the largest (CALQ >> DropLSB) by the Batcher network, cells at their
    addresses (6 bits each below 8 cells, else a 48-bit map), 7-bit 4E3M charges in ascending address
    order with the zero-valued ones left out (the chip's quirk), the 8-bit sum of the cells not sent."""
    values = _shifted(chip, settings.drop_lsb)
    n_cells = BEST_CHOICE_CELLS[settings.elinks - 1]
    _, addresses = batcher_sort_descending(values)
    selected = np.zeros(values.shape, dtype=bool)
    np.put_along_axis(selected, addresses[:, :n_cells], True, axis=1)
    sum_code = E5M3.encode(values.sum(axis=1) if settings.use_sum else np.where(selected, 0, values).sum(axis=1))
    codes = E4M3.encode(values)
    writer = FrameWriter(len(chip), max(BEST_CHOICE_MAX_BITS, settings.link_bits))
    writer.write(short_header(counter), 4)
    writer.write(sum_code, 8)
    if n_cells < 8:
        for address in np.sort(addresses[:, :n_cells], axis=1).T:
            writer.write(address, 6)
    else:
        for p in range(N_TC):
            writer.write(selected[:, p], 1)
    for p in range(N_TC):
        writer.write(codes[:, p], 7, selected[:, p] & (values[:, p] > 0))
    reco = np.where(selected, E4M3.decode(codes, settings.drop_lsb), 0).astype(np.float64)
    if back_end.literal_best_choice:
        reco = _literal_best_choice(reco, selected)
    length = min(settings.link_bits, padded(BEST_CHOICE_MAX_BITS, WORD_BITS))  # 2n words, at most 25
    amount = E5M3.decode(sum_code, settings.drop_lsb) - (reco.sum(axis=1) if settings.use_sum else 0.0)
    smallest_sent = np.where(selected, reco, np.inf).min(axis=1)
    return Result(writer.frames(np.full(len(chip), length)), reco, {}, _one_group(~selected, amount, smallest_sent))


def _literal_best_choice(reco: np.ndarray, selected: np.ndarray) -> np.ndarray:
    """The charges that were sent (non-zero, ascending address) assigned in order to the flagged cells."""
    sent = np.sort(np.where(reco > 0, np.arange(N_TC), N_TC), axis=1)  # addresses of sent charges first
    flagged = np.sort(np.where(selected, np.arange(N_TC), N_TC), axis=1)
    charges = np.take_along_axis(np.pad(reco, ((0, 0), (0, 1))), sent, axis=1)
    literal = np.zeros((len(reco), N_TC + 1))
    np.put_along_axis(literal, flagged, charges, axis=1)  # unused slots land in the spare column
    return literal[:, :N_TC]


def super_trigger_cells(chip: np.ndarray, counter: np.ndarray, settings: EcontSettings,
                        *, stc: SuperCellType) -> Result:
    """Sums of 2x2 (or 4x4) groups with the index of each group's largest cell (ties: the highest index);
    4-bit header, all indices, then all sums; the back end puts each sum on its largest cell (CTC4_7, which
    sends no index, spreads it evenly)."""
    n_groups = stc.cells(settings.elinks)
    groups = chip.reshape(len(chip), -1, stc.group_size)[:, :n_groups]
    index = stc.group_size - 1 - np.argmax(groups[:, :, ::-1], axis=2)  # last occurrence of the maximum
    sums = groups.sum(axis=2)
    if stc.sum_bits == E5M4.bits:  # raw sums
        codes = E5M4.encode(sums)
        decoded = E5M4.decode(codes)
    else:  # 7-bit sums of (sum >> DropLSB)
        codes = E4M3.encode(_shifted(sums, settings.drop_lsb))
        decoded = E4M3.decode(codes, settings.drop_lsb)
    writer = FrameWriter(len(chip), settings.link_bits)
    writer.write(short_header(counter), 4)
    for g in range(n_groups):  # CTC4_7 has 0-bit indices: nothing written
        writer.write(index[:, g], stc.index_bits)
    for g in range(n_groups):
        writer.write(codes[:, g], stc.sum_bits)
    reco = np.zeros(chip.shape, dtype=np.float64)
    placed = reco.reshape(len(chip), -1, stc.group_size)[:, :n_groups]
    frames = writer.frames(padded(writer.cursor, ELINK_BITS))
    if not stc.index_bits:
        placed[:] = decoded[:, :, None] / stc.group_size
        return Result(frames, reco)
    np.put_along_axis(placed, index[:, :, None], decoded[:, :, None].astype(np.float64), axis=2)
    anchor = np.arange(n_groups) * stc.group_size + index  # post-mux position of each group's largest cell
    cell = np.arange(N_TC)[None, None, :]
    others = (cell // stc.group_size == np.arange(n_groups)[None, :, None]) & (cell != anchor[:, :, None])
    sums = decoded.astype(np.float64)
    return Result(frames, reco, {}, Leftover(others, sums, np.full(sums.shape, np.inf), anchor))


def repeater(chip: np.ndarray, counter: np.ndarray, settings: EcontSettings) -> Result:
    """All 48 charges as 4E3M of (CALQ >> DropLSB) after a 5-bit header (352-bit frame); the links carry
    only the first 32n bits, so the back end gets the cells that fit whole."""
    codes = E4M3.encode(_shifted(chip, settings.drop_lsb))
    writer = FrameWriter(len(chip), max(5 + 7 * N_TC, settings.link_bits))
    writer.write(counter, 5)
    for p in range(N_TC):
        writer.write(codes[:, p], 7)
    sent = min(N_TC, (settings.link_bits - 5) // 7)
    reco = np.zeros(chip.shape, dtype=np.float64)
    reco[:, :sent] = E4M3.decode(codes[:, :sent], settings.drop_lsb)
    return Result(writer.frames(np.full(len(chip), settings.link_bits)), reco)
