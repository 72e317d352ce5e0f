"""Integer golden models of the back-end decoders (``codesign.hardware.backend_rtl``): what the RTL computes,
bit for bit, from any frame, vectorised over frames.

Every decoder rebuilds the 48 cells of a module from one frame as unsigned fixed-point integers: CALQ counts
with ``frac_bits`` (F) fractional bits and as many integer bits as the largest value a cell can take.
A sent cell gets its charge (the middle of its code's bin, an integer: exact); every unsent cell gets the
even spreading of what the frame says is left over (``codesign.econt.backend``, ``Spreading("even")``):

    fill = min(floor(R * 2^F / n_unsent), cap * 2^F)

with R the leftover (Best-Choice and Threshold-Sum: the decoded unsent sum; entropy codec: the decoded module
sum minus the decoded sent charges, at least 0) and cap the smallest sent charge (Threshold-Sum: the
threshold - 1; nothing sent: the largest charge, where the float back end has no bound; only frames no
encoder writes come near it). With one cap and even weights one round of water-filling is exact, so the
float back end gives min(R / n_unsent, cap): the integer fill is at most 2^-F below it and never above. The
floor division is exact (a restoring divider in the RTL); R is first saturated at ``rem_bits`` bits, which
changes nothing (the saturated R / 48 already exceeds any cap, and a frame without a cap, a truncated
Threshold-Sum frame, carries no sum above it).

A super trigger cell sends no unsent sum but a group sum S and the group's largest cell, which keeps a
fitted share s of S (``Spreading.anchor_share``: by the bit length of S); the rest goes evenly to the
group's G - 1 other cells, capped at what the largest keeps. The decoder quantises s to ``share_bits`` (Q)
bits, q = round(s * 2^Q), and both values are functions of the sum's code alone, tables the RTL holds:

    keep = floor(S * q * 2^F / 2^Q),  fill = min(floor(S * (2^Q - q) * 2^F / (2^Q * (G - 1))), keep)

which the float back end with the quantised shares gives at most 2^-F higher, never lower; against the
unquantised shares a cell of the group moves by at most S * 2^-(Q+1) more.

Frames that no encoder writes (addresses out of range, an entropy count above what fits) decode by the same
rules (each decoder says which); only frames the encoders write are compared with the float back end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import comb

import numpy as np

from codesign.data.floats import E4M3, E5M3, E5M4, FloatFormat
from codesign.data.geometry import ADDRESS_BITS, N_TC
from codesign.data.io import CALQ_BITS
from codesign.econt.algorithms import (
    BEST_CHOICE_CELLS,
    BEST_CHOICE_MAX_BITS,
    DEFAULT_THRESHOLD,
    MAX_DROP_LSB,
    MAX_ELINKS,
    STC_TYPES,
    SuperCellType,
)
from codesign.econt.backend import Spreading
from codesign.econt.bits import ELINK_BITS, WORD_BITS, Frames, padded
from codesign.econt.entropy import (
    COUNT_BITS,
    FIXED_BITS,
    HEADER_BITS,
    MAX_CODE_BITS,
    SPARSE_FORMAT,
    EntropyCodec,
    address_bits,
    canonical_codes,
)
from codesign.econt.learned_backend import PLACE_FRAC_BITS, TablePlacement

FRAC_BITS = 8  # F: the exact EMD moves by <= 5e-4 on average (entropy, LD, 2 eLinks; 6 bits: 2e-3)
SUM_CODE_OFFSET = 4  # Best-Choice: after the 4-bit header, the 8-bit 5E3M sum
BC_ADDRESS_OFFSET = SUM_CODE_OFFSET + E5M3.bits  # 12: addresses or the 48-bit map
FEW_CELLS = 8  # Best-Choice sends addresses below this many cells, else the map
CHARGE_BITS = E4M3.bits
COUNT_OFFSET = FIXED_BITS  # entropy codec: k after the header and the 9-bit module sum
RANK_OFFSET = FIXED_BITS + COUNT_BITS  # 20: the enumerative address code, then the Huffman codes
ALIGN = 8  # the Huffman stream moves in steps of 8 bits; a symbol starts within the first 8 of its stage
CALQ_MAX = (1 << CALQ_BITS) - 1
TS_TYPE_OFFSET = 5  # Threshold-Sum: after the 5-bit header, the 3-bit type, then the 8-bit 5E3M sum
TS_TYPE_BITS = 3
TS_SUM_OFFSET = TS_TYPE_OFFSET + TS_TYPE_BITS  # 8
TS_BODY_OFFSET = TS_SUM_OFFSET + E5M3.bits  # 16: type 010: the 3-bit count; type 100: the 48-bit map
TS_COUNT_BITS = 3
TS_ADDRESS_OFFSET = TS_BODY_OFFSET + TS_COUNT_BITS  # 19: up to 7 addresses, then as many charges
TS_FEW_MAX = (1 << TS_COUNT_BITS) - 1
TS_MAP_WORD_OFFSET = TS_BODY_OFFSET + N_TC  # 64: type 100's charges
TS_FRAME_BITS = int(padded(TS_MAP_WORD_OFFSET + CHARGE_BITS * N_TC, WORD_BITS))  # 400: the longest frame
TS_NONE, TS_FEW, TS_MAP, TS_TRUNCATED = range(4)  # the type's top two bits: 00x, 01x, 10x, 11x
STC_HEADER_BITS = 4
SHARE_BITS = 12  # Q: a super trigger cell's share as q / 2^12, within 2^-13 of the arena's (4 decimals)


def field(bits: np.ndarray, start: int | np.ndarray, width: int) -> np.ndarray:
    """(n,) the ``width``-bit MSB-first fields at bit ``start`` (one for all rows, or one per row) of (n, frame
    bits) 0/1 rows."""
    if width == 0:
        return np.zeros(len(bits), dtype=np.int64)
    if isinstance(start, np.ndarray):
        window = bits[np.arange(len(bits))[:, None], start[:, None] + np.arange(width)].astype(np.int64)
    else:
        window = bits[:, start:start + width].astype(np.int64)
    return (window << np.arange(width - 1, -1, -1)).sum(axis=1)


def frame_matrix(frames: Frames | np.ndarray, width: int) -> np.ndarray:
    """(n, width) 0/1 int64: each frame's first ``width`` bits, zeros beyond its stored bits."""
    bits = frames.bits if isinstance(frames, Frames) else np.asarray(frames)
    out = np.zeros((len(bits), width), dtype=np.int64)
    out[:, :min(width, bits.shape[1])] = bits[:, :width]
    return out


def frame_hex(bits: np.ndarray) -> list[str]:
    """Each (n, width) 0/1 row as hex, its first bit the most significant (``width`` a multiple of 4)."""
    bits = np.asarray(bits, dtype=np.uint8)
    if bits.shape[1] % 4:
        raise ValueError(f"frames of {bits.shape[1]} bits: not a whole number of hex digits")
    nibbles = bits.reshape(len(bits), -1, 4) @ np.array([8, 4, 2, 1], dtype=np.uint8)
    return ["".join("0123456789abcdef"[d] for d in row) for row in nibbles.tolist()]


def fill_value(residual: np.ndarray, n_unsent: np.ndarray, cap: np.ndarray, *, rem_bits: int,
               frac_bits: int) -> np.ndarray:
    """min(floor(min(R, 2^rem_bits - 1) * 2^F / n), cap * 2^F); n = 0 divides to all ones (no unsent cell
    takes it)."""
    dividend = np.minimum(residual, (1 << rem_bits) - 1) << frac_bits
    quotient = np.where(n_unsent > 0, dividend // np.maximum(n_unsent, 1), (1 << (rem_bits + frac_bits)) - 1)
    return np.minimum(quotient, cap << frac_bits)


def _fixed_point_bits(charge_max: int) -> tuple[int, int]:
    """(integer bits of a cell, bits of the saturated leftover): R / 48 at the saturated R exceeds any cap."""
    return charge_max.bit_length(), (N_TC * charge_max).bit_length()


def _check_configuration(what: str, elinks: int, drop_lsb: int, frac_bits: int, post_of_tc: tuple[int, ...]) -> None:
    if not 1 <= elinks <= MAX_ELINKS or not 0 <= drop_lsb <= MAX_DROP_LSB or frac_bits < 0:
        raise ValueError(f"{what} decoder: elinks 1..{MAX_ELINKS}, drop_lsb 0..{MAX_DROP_LSB}, frac_bits >= 0, "
                         f"got {elinks}, {drop_lsb}, {frac_bits}")
    if sorted(post_of_tc) != list(range(N_TC)):
        raise ValueError(f"post_of_tc must be a permutation of 0..{N_TC - 1}")


def map_cells(flags: np.ndarray, words: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(selected, codes) of frames that flag their cells in a 48-bit map: the j-th flagged cell gets word j
    of the (n, k) ``words`` (none past the last word: 0)."""
    selected = flags.astype(bool)
    index = np.cumsum(selected, axis=1) - selected
    padded_words = np.pad(words, ((0, 0), (0, N_TC - words.shape[1] + 1)))
    return selected, np.where(selected, np.take_along_axis(padded_words, np.minimum(index, N_TC), axis=1), 0)


@dataclass(frozen=True)
class BestChoiceDecoder:
    """The back end of Best-Choice at ``elinks`` eLinks and ``drop_lsb`` (``use_sum`` off: the sum field is
    the unsent sum). ``post_of_tc``: the chip's mux (``TcMux.post_of_tc``): the frame's addresses are post-mux
    positions, the outputs are in this project's TC order.

    Frame (``codesign.econt.algorithms.best_choice``): header (4) | 5E3M unsent sum (8) | the cells' post-mux
    addresses, 6 bits each ascending, below 8 cells, else the 48-bit map | ``n_cells`` 7-bit 4E3M charge words.
    The chip leaves out the words of selected cells whose value is 0 (the rest shift up; zero padding
    follows), which the frame cannot tell apart: word i goes to the i-th flagged address, as in
    ``BackEnd(literal_best_choice=True)``. That differs from the default back end only on frames with a
    selected cell of value 0 below a non-zero one (fewer non-zero cells than ``n_cells``, unsent sum 0): on
    ``highpu_dev.csv`` with DropLSB 1, 8 % of the frames at 2 eLinks and 46 % at 5, and for most of those at 5
    eLinks several sets of zero cells give the same frame through the chip's sorting network.

    Any frame: address mode, a cell's word is the OR of the words whose address names it (addresses >= 48
    name none); map mode, the j-th flagged cell gets word j (none past the last word). ``cap``: the smallest
    word, over the words with an address < 48 in address mode (none: the largest charge). The fill is shared
    by 48 - ``n_cells`` cells (what a frame of the encoder leaves unsent)."""

    elinks: int
    drop_lsb: int
    post_of_tc: tuple[int, ...]
    frac_bits: int = FRAC_BITS

    def __post_init__(self) -> None:
        _check_configuration("Best-Choice", self.elinks, self.drop_lsb, self.frac_bits, self.post_of_tc)

    @property
    def n_cells(self) -> int:
        return BEST_CHOICE_CELLS[self.elinks - 1]

    @property
    def few(self) -> bool:
        """Addresses (True) or the map."""
        return self.n_cells < FEW_CELLS

    @property
    def frame_bits(self) -> int:
        return int(min(ELINK_BITS * self.elinks, padded(BEST_CHOICE_MAX_BITS, WORD_BITS)))

    @property
    def word_offset(self) -> int:
        return BC_ADDRESS_OFFSET + (ADDRESS_BITS * self.n_cells if self.few else N_TC)

    @property
    def charge_max(self) -> int:
        return int(E4M3.decode(np.array((1 << CHARGE_BITS) - 1), self.drop_lsb))

    @property
    def int_bits(self) -> int:
        return _fixed_point_bits(self.charge_max)[0]

    @property
    def rem_bits(self) -> int:
        return _fixed_point_bits(self.charge_max)[1]

    @property
    def out_bits(self) -> int:
        return self.int_bits + self.frac_bits

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """(n, 48) int64 cells (project TC order) from (n, >= frame_bits) 0/1 frame rows."""
        bits = frame_matrix(bits, self.frame_bits)
        n = len(bits)
        words = np.stack([field(bits, self.word_offset + CHARGE_BITS * i, CHARGE_BITS)
                          for i in range(self.n_cells)], axis=1)
        if self.few:
            addresses = np.stack([field(bits, BC_ADDRESS_OFFSET + ADDRESS_BITS * i, ADDRESS_BITS)
                                  for i in range(self.n_cells)], axis=1)
            hits = addresses[:, :, None] == np.arange(N_TC)[None, None, :]  # (n, word, lane)
            selected = hits.any(axis=1)
            codes = np.bitwise_or.reduce(np.where(hits, words[:, :, None], 0), axis=1)
            cap_code = np.where(addresses < N_TC, words, (1 << CHARGE_BITS) - 1).min(axis=1)
        else:
            selected, codes = map_cells(bits[:, BC_ADDRESS_OFFSET:BC_ADDRESS_OFFSET + N_TC], words)
            cap_code = words.min(axis=1)
        unsent_sum = E5M3.decode(field(bits, SUM_CODE_OFFSET, E5M3.bits), self.drop_lsb)
        cap = E4M3.decode(cap_code, self.drop_lsb)
        fill = fill_value(unsent_sum, np.full(n, N_TC - self.n_cells), cap, rem_bits=self.rem_bits,
                          frac_bits=self.frac_bits)
        cells = np.where(selected, E4M3.decode(codes, self.drop_lsb) << self.frac_bits, fill[:, None])
        return cells[:, list(self.post_of_tc)]


def _wrap(values: np.ndarray, bits: int) -> np.ndarray:
    """``values`` as ``bits``-bit two's complement numbers (what a register of that width holds)."""
    half = 1 << (bits - 1)
    return ((values + half) & ((1 << bits) - 1)) - half


@dataclass(frozen=True)
class CanonicalCode:
    """A complete canonical prefix code as the decoder reads it from a 15-bit window w (first bit the MSB):
    its length is the first used length l with w < ``limits[l]``; the symbol is
    ``order[(w >> (15 - l)) + offsets[l] mod 2^symbol_bits]``."""

    lengths: tuple[int, ...]  # the used code lengths, ascending
    limits: tuple[int, ...]  # per used length: (first code + count) << (15 - l)
    offsets: tuple[int, ...]  # per used length: (sorted index of its first symbol - its first code) mod 2^bits
    order: tuple[int, ...]  # symbol at each sorted index (by length, then symbol)
    symbol_bits: int

    @classmethod
    def of(cls, code_lengths: tuple[int, ...]) -> CanonicalCode:
        lengths = np.asarray(code_lengths, dtype=np.int64)
        symbol_bits = (len(lengths) - 1).bit_length()
        if len(lengths) != 1 << symbol_bits or (2.0 ** -lengths.astype(np.float64)).sum() != 1.0:
            raise ValueError("the decoder needs a complete prefix code of 2^b symbols (Kraft sum 1)")
        codes = canonical_codes(lengths)
        order = np.lexsort((np.arange(len(lengths)), lengths))
        used = sorted({int(x) for x in lengths})
        limits, offsets = [], []
        for length in used:
            members = [i for i, s in enumerate(order) if lengths[s] == length]
            first = int(codes[order[members[0]]])
            limits.append((first + len(members)) << (MAX_CODE_BITS - length))
            offsets.append((members[0] - first) % (1 << symbol_bits))
        return cls(tuple(used), tuple(limits), tuple(offsets), tuple(int(s) for s in order), symbol_bits)

    def decode(self, window: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(length, symbol) of each 15-bit window."""
        window = np.asarray(window, dtype=np.int64)
        slot = np.zeros(window.shape, dtype=np.int64)
        for limit in self.limits[:-1]:
            slot += window >= limit
        length = np.asarray(self.lengths)[slot]
        mask = (1 << self.symbol_bits) - 1
        index = ((window >> (MAX_CODE_BITS - length)) + np.asarray(self.offsets)[slot]) & mask
        return length, np.asarray(self.order)[index]


@dataclass(frozen=True)
class EntropyDecoder:
    """The back end of an entropy codec (``codesign.econt.entropy``), cells in this project's TC order.

    ``max_cells`` K: the most cells any frame of the codec can send (6 + A(k) + k times the shortest code fits
    the payload); the decoder has K Huffman stages and reads k as min(k, K). The address code is decoded
    greedily over addresses 47..0, address a taken when the rank left is at least C(a, left), without
    restoring: the trial difference t = rank - C(a, left) goes on as t - C(a - 1, left - 1) after a take and
    t + C(a - 1, left - 1) otherwise (Pascal's rule), cut after each step to the bits a valid frame needs. A
    rank >= C(48, k) (no encoder writes one) may place fewer than k cells (the decoder still subtracts all k
    charges and divides by 48 - k) or leave more cells to place than addresses (a cell a given symbol j > a gets
    0). ``cap``: the smallest of the k charges (k = 0: the largest charge).

    Sparse frames (a codec with ``sparse_cells``; k field 48 + k, read as min(k, K) cells): the same address
    code, then k raw 7-bit ``SPARSE_FORMAT`` charges of CALQ itself, and no fill (every non-zero cell was sent).
    A k field above 48 + ``sparse_cells`` (no encoder writes one) decodes as a sparse frame all the same.

    With a ``placement`` (``TablePlacement``, a learned back end) the leftover R (0 after a sparse frame) is
    not spread evenly but by ``TablePlacement.integer_cells`` over every cell, sent ones too, no cap, in
    quarter counts (P = ``PLACE_FRAC_BITS``, then shifted to F), each share saturated at M = 2^(int_bits + P) -
    1 (a cell has one more integer bit: a charge plus a share). A cell counts as sent when it takes a non-zero
    code. A table by distance to the strongest sent cell takes it as the first slot (ascending address) of the
    largest non-zero code among the k, its address the cell that takes that slot (none, or no non-zero code:
    TC 0); a table by distance to the nearest sent cell reads each cell's rings of sent cells, and its zero
    levels weigh 0, with the placement's even fallback. S is the sent sum of the k charges (as for R). A
    placement with ``charges`` decodes each symbol by that table (a ROM of 2^(4 + m) entries) instead of the
    bin's middle."""

    codec: EntropyCodec
    frac_bits: int = FRAC_BITS
    placement: TablePlacement | None = None

    def __post_init__(self) -> None:
        if self.frac_bits < (PLACE_FRAC_BITS if self.placement else 0):
            raise ValueError(f"frac_bits must be >= {PLACE_FRAC_BITS if self.placement else 0}, got {self.frac_bits}")
        if self.fitted_charges and len(self.fitted_charges) != 1 << self.fmt.bits:
            raise ValueError(f"the placement's charge table has {len(self.fitted_charges)} entries, the codec "
                             f"{1 << self.fmt.bits} symbols")
        _ = self.code  # a complete prefix code

    @cached_property
    def code(self) -> CanonicalCode:
        return CanonicalCode.of(self.codec.code_lengths)

    @property
    def fmt(self) -> FloatFormat:
        return self.codec.value_format

    @property
    def elinks(self) -> int:
        return self.codec.elinks

    @property
    def frame_bits(self) -> int:
        return ELINK_BITS * self.codec.elinks

    @cached_property
    def max_cells(self) -> int:
        shortest = min(self.codec.code_lengths)
        fits = [k for k in range(N_TC + 1) if COUNT_BITS + address_bits()[k] + k * shortest <= self.codec.payload_bits]
        return max(fits)

    @property
    def rank_bits(self) -> int:
        """Width of the rank field window: the longest address code of up to K cells."""
        return int(address_bits()[:self.max_cells + 1].max())

    def rank_width(self, address: int) -> int:
        """Bits of the rank entering the greedy step of ``address``: a valid rank is < C(address + 1, left)."""
        return max(comb(address + 1, left) - 1 for left in range(self.max_cells + 1)).bit_length()

    def trial_bits(self, address: int) -> int:
        """Bits (two's complement) of the trial difference rank - C(address, left) at the step of ``address``."""
        return self.rank_width(address) + 1

    def binomial(self, a: int, left: np.ndarray) -> np.ndarray:
        return np.array([comb(a, j) for j in range(self.max_cells + 1)], dtype=np.int64)[left]

    def stream_width(self, stage: int) -> int:
        """Bits of the Huffman stream that stage ``stage`` holds (at least a window at any offset below 8): from
        where its buffer starts at the earliest (8-bit steps, k > stage: after A(k) and ``stage`` shortest
        codes) to the frame's end, and no more than the stages left can read from a symbol within the first 8."""
        earliest = min(int(address_bits()[k]) for k in range(stage + 1, self.max_cells + 1)) \
            + stage * min(self.codec.code_lengths)
        to_end = self.frame_bits - RANK_OFFSET - ALIGN * (earliest // ALIGN)
        window = self.window_bits
        return max(ALIGN - 1 + window, min(to_end, ALIGN - 1 + window * (self.max_cells - stage)))

    @property
    def fitted_charges(self) -> tuple[int, ...]:
        """The placement's charge per symbol (``TablePlacement.charges``; empty: the bins' middles)."""
        return self.placement.charges if self.placement else ()

    @cached_property
    def charge_table(self) -> np.ndarray:
        """The CALQ each symbol decodes as: the placement's fitted charges, or each bin's middle."""
        if self.fitted_charges:
            return np.asarray(self.fitted_charges, dtype=np.int64)
        return self.fmt.decode(np.arange(1 << self.fmt.bits), self.codec.drop_lsb)

    @property
    def charge_max(self) -> int:
        return int(self.charge_table[-1])

    @property
    def sparse_max(self) -> int:
        """The largest charge of a sparse frame (0: the codec sends none)."""
        return int(SPARSE_FORMAT.decode(np.array((1 << SPARSE_FORMAT.bits) - 1), 0)) if self.codec.sparse_cells else 0

    @property
    def window_bits(self) -> int:
        """Bits a symbol stage looks at: the longest code, or a sparse frame's raw charge if longer."""
        return max(self.code.lengths[-1], SPARSE_FORMAT.bits if self.codec.sparse_cells else 0)

    @property
    def int_bits(self) -> int:
        return _fixed_point_bits(max(self.charge_max, self.sparse_max))[0]

    @property
    def rem_bits(self) -> int:
        return _fixed_point_bits(self.charge_max)[1]

    @property
    def out_bits(self) -> int:
        """A cell: a charge, a fill, or (placement) a charge plus a placed share of at most ``place_max``."""
        return self.int_bits + self.frac_bits + (1 if self.placement else 0)

    @property
    def sent_sum_bits(self) -> int:
        return (self.max_cells * self.charge_max).bit_length()

    @property
    def sum_bits(self) -> int:
        """The module sum saturates here: saturated, the sum minus any sent charges still saturates R."""
        return max(self.rem_bits, self.sent_sum_bits) + 1

    @property
    def weight_bits(self) -> int:
        assert self.placement is not None
        return self.placement.weight_bits

    @property
    def place_max(self) -> int:
        """M: a cell's placed share saturates here (quarter counts)."""
        return (1 << (self.int_bits + PLACE_FRAC_BITS)) - 1

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """(n, 48) int64 cells from (n, >= frame_bits) 0/1 frame rows."""
        bits = np.pad(frame_matrix(bits, self.frame_bits), ((0, 0), (0, self.rank_bits + MAX_CODE_BITS * N_TC)))
        n = len(bits)
        k_field = field(bits, COUNT_OFFSET, COUNT_BITS)
        sparse = (k_field > N_TC) & (self.codec.sparse_cells > 0)
        k = np.minimum(np.where(sparse, k_field - N_TC, k_field), self.max_cells)
        widths = address_bits()[k]
        rank = field(bits, RANK_OFFSET, self.rank_bits) >> (self.rank_bits - widths)
        selected = np.zeros((n, N_TC), dtype=bool)
        index = k - 1  # cells left to place, minus one
        trial = _wrap(rank - np.where(k > 0, self.binomial(N_TC - 1, k), 0), self.trial_bits(N_TC - 1))
        slots = np.zeros((n, N_TC), dtype=np.int64)
        for a in range(N_TC - 1, -1, -1):
            take = (index >= 0) & (trial >= 0)
            selected[:, a], slots[:, a] = take, index
            if a:
                step = np.where(index >= 0, self.binomial(a - 1, np.maximum(index, 0)), 0)
                trial = _wrap(trial + np.where(take, -step, step), self.trial_bits(a - 1))
                index = index - take
        position = RANK_OFFSET + widths
        rows = np.arange(n)[:, None]
        symbols = np.zeros((n, self.max_cells), dtype=np.int64)
        raw = np.zeros((n, self.max_cells), dtype=np.int64)  # a sparse frame's 7-bit charges
        for i in range(self.max_cells):
            window = (bits[rows, position[:, None] + np.arange(MAX_CODE_BITS)] << np.arange(MAX_CODE_BITS - 1, -1, -1))
            length, symbols[:, i] = self.code.decode(window.sum(axis=1))
            raw[:, i] = window.sum(axis=1) >> (MAX_CODE_BITS - SPARSE_FORMAT.bits)
            position = position + np.where(sparse, SPARSE_FORMAT.bits, length)
        sent = np.arange(self.max_cells)[None, :] < k[:, None]
        coded = self.charge_table[symbols]
        values = np.where(sparse[:, None], SPARSE_FORMAT.decode(raw, 0), coded)
        sent_sum = np.where(sent & ~sparse[:, None], coded, 0).sum(axis=1)
        top = (1 << self.fmt.bits) - 1
        cap = self.charge_table[np.where(sent, symbols, top).min(axis=1, initial=top)]
        module_sum = np.minimum(E5M4.decode(field(bits, HEADER_BITS, E5M4.bits)), (1 << self.sum_bits) - 1)
        # cell a takes symbol slot <= a (a valid frame never has more cells left than addresses; else 0)
        charges = np.where(slots <= np.arange(N_TC), np.take_along_axis(values, np.clip(slots, 0, None), axis=1), 0)
        if self.placement is not None:
            codes = np.where(sparse[:, None], raw, symbols)
            residual = np.where(sparse, 0, np.minimum(np.maximum(module_sum - sent_sum, 0), (1 << self.rem_bits) - 1))
            return self._placed(np.where(selected, charges, 0), np.where(sent, codes, 0), slots, selected, residual,
                                sent_sum)
        # a sparse frame sent every non-zero cell: nothing is left to place
        fill = np.where(sparse, 0, fill_value(np.maximum(module_sum - sent_sum, 0), N_TC - k, cap,
                                              rem_bits=self.rem_bits, frac_bits=self.frac_bits))
        return np.where(selected, charges << self.frac_bits, fill[:, None])

    def _placed(self, charges: np.ndarray, codes: np.ndarray, slots: np.ndarray, selected: np.ndarray,
                residual: np.ndarray, sent_sum: np.ndarray) -> np.ndarray:
        """The cells of a table placement (the class docstring) from each cell's charge (0 unless selected),
        the k slots' codes (0 past k), each cell's slot, R and S."""
        assert self.placement is not None
        best = codes.max(axis=1)
        first = np.argmax(codes == best[:, None], axis=1)
        holder = selected & (slots == first[:, None]) & (best > 0)[:, None]
        strongest = np.where(holder.any(axis=1), np.argmax(holder, axis=1), 0)
        cells = self.placement.integer_cells(charges, residual, sent_sum, strongest, placed_max=self.place_max)
        return cells << (self.frac_bits - PLACE_FRAC_BITS)


@dataclass(frozen=True)
class ThresholdSumDecoder:
    """The back end of Threshold-Sum at ``drop_lsb`` with ``threshold`` (one count or 48, as
    ``EcontSettings.threshold``; ``use_sum`` off: the sum field is the unsent sum), the whole frame at once
    (``TS_FRAME_BITS``, the longest; the buffer's words reassembled upstream). ``elinks`` changes no logic:
    without the buffer the frames do not depend on it. ``post_of_tc`` as for ``BestChoiceDecoder``.

    Frame (``codesign.econt.algorithms.threshold_sum``): header (5) | type (3) | 5E3M sum (8) | type 010: count
    N (3), N post-mux addresses (6 bits each), N 4E3M charge words (7 bits, DropLSB) | type 100: the 48-bit
    map, then the flagged cells' words. Type 000 sends nothing, and so does a frame the buffer truncated
    (type 110 or 111, the first 16 bits: the sum field then holds the full module sum, the rest is not
    read): its cells share the sum with no cap, as the float back end's (``leftover.cap`` inf). The golden
    model keeps the untruncated bits of a truncated BX (``ChipOutput.extra["truncated"]`` says which); a
    truncated frame's bits are header | 110 or 111 | E5M3 of the module sum (the tests write them so).

    Any frame: only the type's top two bits are read; type 010's first N addresses flag their cells
    (addresses >= 48 flag none), and in either type the j-th flagged cell (ascending) gets word j (one router
    for both: an encoder's addresses ascend); the fill is shared by the unflagged cells. Cap:
    max(threshold) - 1 (the model's cap: per-cell thresholds share their largest), a truncated frame's the
    largest cell value (which its fill never reaches)."""

    elinks: int
    drop_lsb: int
    post_of_tc: tuple[int, ...]
    threshold: int | tuple[int, ...] = DEFAULT_THRESHOLD
    frac_bits: int = FRAC_BITS

    def __post_init__(self) -> None:
        _check_configuration("Threshold-Sum", self.elinks, self.drop_lsb, self.frac_bits, self.post_of_tc)
        thresholds = np.atleast_1d(self.threshold)
        if thresholds.size not in (1, N_TC) or (thresholds < 0).any():
            raise ValueError(f"threshold must be one non-negative count or {N_TC}, got {self.threshold}")

    @property
    def cap(self) -> int:
        """What an unsent cell holds at most: the largest threshold - 1."""
        return max(int(np.max(self.threshold)) - 1, 0)

    @property
    def frame_bits(self) -> int:
        return TS_FRAME_BITS

    @property
    def charge_max(self) -> int:
        return int(E4M3.decode(np.array((1 << CHARGE_BITS) - 1), self.drop_lsb))

    @property
    def rem_bits(self) -> int:
        """R saturates here: above 48 caps, and above any module sum an encoder sends (truncated frames)."""
        module_max = int(E5M3.decode(E5M3.encode(np.array(N_TC * CALQ_MAX))))
        return max((N_TC * self.cap).bit_length(), module_max.bit_length())

    @property
    def int_bits(self) -> int:
        """A charge, the cap, or a truncated frame's fill: the saturated R / 48."""
        truncated_fill = -(-((1 << self.rem_bits) - 1) // N_TC)  # at least R / 48, rounded up
        return max(self.charge_max.bit_length(), self.cap.bit_length(), truncated_fill.bit_length())

    @property
    def out_bits(self) -> int:
        return self.int_bits + self.frac_bits

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """(n, 48) int64 cells (project TC order) from (n, >= frame_bits) 0/1 frame rows."""
        bits = frame_matrix(bits, self.frame_bits)
        kind = field(bits, TS_TYPE_OFFSET, TS_TYPE_BITS) >> 1
        count = field(bits, TS_BODY_OFFSET, TS_COUNT_BITS)
        addresses = np.stack([field(bits, TS_ADDRESS_OFFSET + ADDRESS_BITS * i, ADDRESS_BITS)
                              for i in range(TS_FEW_MAX)], axis=1)
        named = (addresses[:, :, None] == np.arange(N_TC)) & (np.arange(TS_FEW_MAX) < count[:, None])[:, :, None]
        few, many = (kind == TS_FEW)[:, None], (kind == TS_MAP)[:, None]
        flags = (few & named.any(axis=1)) | (many & bits[:, TS_BODY_OFFSET:TS_MAP_WORD_OFFSET].astype(bool))
        words = np.stack([field(bits, TS_MAP_WORD_OFFSET + CHARGE_BITS * j, CHARGE_BITS) for j in range(N_TC)], axis=1)
        words[:, :TS_FEW_MAX] = np.where(few, np.stack(
            [field(bits, TS_ADDRESS_OFFSET + ADDRESS_BITS * count + CHARGE_BITS * i, CHARGE_BITS)
             for i in range(TS_FEW_MAX)], axis=1), words[:, :TS_FEW_MAX])
        selected, codes = map_cells(flags, words)
        residual = E5M3.decode(field(bits, TS_SUM_OFFSET, E5M3.bits))
        cap = np.where(kind == TS_TRUNCATED, (1 << self.int_bits) - 1, self.cap)
        fill = fill_value(residual, N_TC - selected.sum(axis=1), cap, rem_bits=self.rem_bits, frac_bits=self.frac_bits)
        cells = np.where(selected, E4M3.decode(codes, self.drop_lsb) << self.frac_bits, fill[:, None])
        return cells[:, list(self.post_of_tc)]


@dataclass(frozen=True)
class SuperCellDecoder:
    """The back end of super trigger cells ``stc`` (``stc4_9``, ``stc16_9``, ``stc4_7``: the types that send
    their largest cell) at ``elinks`` and ``drop_lsb`` (read by ``stc4_7`` only), ``anchor_shares`` as in
    ``Spreading`` (empty: the naive back end, the whole sum on the largest cell), even weighting; ``post_of_tc``
    as for ``BestChoiceDecoder``.

    Frame (``codesign.econt.algorithms.super_trigger_cells``): header (4) | each group's index of its largest
    cell | each group's sum (5E4M, or 4E3M of the sum >> DropLSB); the groups it does not send decode to 0. Any
    frame: a sum above what G cells of CALQ add up to (no encoder sends one) saturates at ``int_bits``; each
    cell of a group gets keep (the indexed one) or fill (the module's docstring), from tables over the code."""

    stc: str
    elinks: int
    drop_lsb: int
    post_of_tc: tuple[int, ...]
    anchor_shares: tuple[float, ...] = ()
    frac_bits: int = FRAC_BITS
    share_bits: int = SHARE_BITS

    def __post_init__(self) -> None:
        if self.stc not in STC_TYPES or not STC_TYPES[self.stc].index_bits:
            raise ValueError(f"super trigger cell decoder: a type that sends indices "
                             f"({', '.join(t for t, k in STC_TYPES.items() if k.index_bits)}), got {self.stc!r}")
        _check_configuration(self.stc, self.elinks, self.drop_lsb, self.frac_bits, self.post_of_tc)
        if self.elinks > self.kind.max_elinks:
            raise ValueError(f"{self.stc} sends data at 1..{self.kind.max_elinks} eLinks, got {self.elinks}")
        object.__setattr__(self, "anchor_shares", Spreading(anchor_shares=self.anchor_shares).anchor_shares)
        if any(round(s * (1 << self.share_bits)) == 0 for s in self.anchor_shares):
            raise ValueError(f"an anchor share below 2^-{self.share_bits + 1} rounds to 0: {self.anchor_shares}")

    @property
    def kind(self) -> SuperCellType:
        return STC_TYPES[self.stc]

    @property
    def n_groups(self) -> int:
        return self.kind.cells(self.elinks)

    @property
    def fmt(self) -> FloatFormat:
        return E5M4 if self.kind.sum_bits == E5M4.bits else E4M3

    @property
    def sum_drop(self) -> int:
        """The DropLSB the sums decode with: raw 5E4M sums drop nothing."""
        return 0 if self.fmt == E5M4 else self.drop_lsb

    @property
    def frame_bits(self) -> int:
        return ELINK_BITS * self.elinks

    @property
    def sum_offset(self) -> int:
        return STC_HEADER_BITS + self.kind.index_bits * self.n_groups

    @property
    def int_bits(self) -> int:
        """The largest sum a code carries, or G cells of CALQ can add up to (its code decodes below 2^bits)."""
        largest = int(self.fmt.decode(np.array((1 << self.fmt.bits) - 1), self.sum_drop))
        return min(largest.bit_length(), (self.kind.group_size * CALQ_MAX).bit_length())

    @property
    def out_bits(self) -> int:
        return self.int_bits + self.frac_bits

    @cached_property
    def sums(self) -> np.ndarray:
        """(2^sum bits,) each code's group sum S, saturated."""
        return np.minimum(self.fmt.decode(np.arange(1 << self.fmt.bits), self.sum_drop), (1 << self.int_bits) - 1)

    @cached_property
    def shares(self) -> np.ndarray:
        """(2^sum bits,) each code's quantised share q (of 2^Q)."""
        share = Spreading(anchor_shares=self.anchor_shares).anchor_share(self.sums)
        return np.round(share * (1 << self.share_bits)).astype(np.int64)

    def quantised_rule(self) -> Spreading:
        """The float back end's rule this decoder follows (the shares as it rounds them)."""
        return Spreading(anchor_shares=tuple(round(s * (1 << self.share_bits)) / (1 << self.share_bits)
                                             for s in self.anchor_shares))

    @cached_property
    def keep_table(self) -> np.ndarray:
        """(2^sum bits,) the largest cell's value per code: floor(S q 2^F / 2^Q)."""
        return (self.sums * self.shares << self.frac_bits) >> self.share_bits

    @cached_property
    def fill_table(self) -> np.ndarray:
        """(2^sum bits,) each other cell's value per code: the even share of the rest, at most keep."""
        rest = (self.sums * ((1 << self.share_bits) - self.shares)) << self.frac_bits
        return np.minimum(rest // ((self.kind.group_size - 1) << self.share_bits), self.keep_table)

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """(n, 48) int64 cells (project TC order) from (n, >= frame_bits) 0/1 frame rows."""
        bits = frame_matrix(bits, self.frame_bits)
        size, index_bits, sum_bits = self.kind.group_size, self.kind.index_bits, self.fmt.bits
        cells = np.zeros((len(bits), N_TC), dtype=np.int64)
        for g in range(self.n_groups):
            index = field(bits, STC_HEADER_BITS + index_bits * g, index_bits)
            code = field(bits, self.sum_offset + sum_bits * g, sum_bits)
            anchor = index[:, None] == np.arange(size)[None, :]
            cells[:, g * size:(g + 1) * size] = np.where(anchor, self.keep_table[code][:, None],
                                                         self.fill_table[code][:, None])
        return cells[:, list(self.post_of_tc)]
