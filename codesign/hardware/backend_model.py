"""Integer golden models of the back-end decoders (``codesign.hardware.backend_rtl``): what the RTL computes,
bit for bit, from any frame, vectorised over frames.

Both decoders rebuild the 48 cells of a module from one frame as unsigned fixed-point integers: CALQ counts
with ``frac_bits`` (F) fractional bits and as many integer bits as the largest charge the frame can carry.
A sent cell gets its charge (the middle of its code's bin, an integer: exact); every unsent cell gets the
even spreading of what the frame says is left over (``codesign.econt.backend``, ``Spreading("even")``):

    fill = min(floor(R * 2^F / n_unsent), cap * 2^F)

with R the leftover (Best-Choice: the decoded unsent sum; entropy codec: the decoded module sum minus the
decoded sent charges, at least 0) and cap the smallest sent charge (nothing sent: the largest charge, where
the float back end has no bound; only frames no encoder writes come near it). With one cap and even weights
one round of water-filling is exact, so the float back end gives min(R / n_unsent, cap): the integer fill is
at most 2^-F below it and never above. The floor division is exact (a restoring divider in the RTL); R is
first saturated at ``rem_bits`` bits, which changes nothing (the saturated R / 48 already exceeds any cap).

Frames that no encoder writes (addresses out of range, an entropy count above what fits) decode by the same
rules (``BestChoiceDecoder``, ``EntropyDecoder`` say which); only frames the encoders write are compared with
the float back end.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import comb

import numpy as np

from codesign.data.floats import E4M3, E5M3, E5M4, FloatFormat
from codesign.data.geometry import ADDRESS_BITS, N_TC
from codesign.econt.algorithms import BEST_CHOICE_CELLS, BEST_CHOICE_MAX_BITS, MAX_DROP_LSB, MAX_ELINKS
from codesign.econt.bits import ELINK_BITS, WORD_BITS, Frames, padded
from codesign.econt.entropy import (
    COUNT_BITS,
    FIXED_BITS,
    HEADER_BITS,
    MAX_CODE_BITS,
    EntropyCodec,
    address_bits,
    canonical_codes,
)

FRAC_BITS = 8  # F: the exact EMD moves by <= 5e-4 on average (entropy, LD, 2 eLinks; 6 bits: 2e-3)
SUM_CODE_OFFSET = 4  # Best-Choice: after the 4-bit header, the 8-bit 5E3M sum
BC_ADDRESS_OFFSET = SUM_CODE_OFFSET + E5M3.bits  # 12: addresses or the 48-bit map
FEW_CELLS = 8  # Best-Choice sends addresses below this many cells, else the map
CHARGE_BITS = E4M3.bits
COUNT_OFFSET = FIXED_BITS  # entropy codec: k after the header and the 9-bit module sum
RANK_OFFSET = FIXED_BITS + COUNT_BITS  # 20: the enumerative address code, then the Huffman codes
ALIGN = 8  # the Huffman stream moves in steps of 8 bits; a symbol starts within the first 8 of its stage


def field(bits: np.ndarray, start: int, width: int) -> np.ndarray:
    """(n,) the ``width``-bit MSB-first fields at bit ``start`` of (n, frame bits) 0/1 rows."""
    if width == 0:
        return np.zeros(len(bits), dtype=np.int64)
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
        if not 1 <= self.elinks <= MAX_ELINKS or not 0 <= self.drop_lsb <= MAX_DROP_LSB or self.frac_bits < 0:
            raise ValueError(f"Best-Choice decoder: elinks 1..{MAX_ELINKS}, drop_lsb 0..{MAX_DROP_LSB}, "
                             f"frac_bits >= 0, got {self.elinks}, {self.drop_lsb}, {self.frac_bits}")
        if sorted(self.post_of_tc) != list(range(N_TC)):
            raise ValueError(f"post_of_tc must be a permutation of 0..{N_TC - 1}")

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
        lane = np.arange(N_TC)
        if self.few:
            addresses = np.stack([field(bits, BC_ADDRESS_OFFSET + ADDRESS_BITS * i, ADDRESS_BITS)
                                  for i in range(self.n_cells)], axis=1)
            hits = addresses[:, :, None] == lane[None, None, :]  # (n, word, lane)
            selected = hits.any(axis=1)
            codes = np.bitwise_or.reduce(np.where(hits, words[:, :, None], 0), axis=1)
            cap_code = np.where(addresses < N_TC, words, (1 << CHARGE_BITS) - 1).min(axis=1)
        else:
            selected = bits[:, BC_ADDRESS_OFFSET:BC_ADDRESS_OFFSET + N_TC].astype(bool)
            index = np.cumsum(selected, axis=1) - selected
            padded_words = np.pad(words, ((0, 0), (0, N_TC - self.n_cells + 1)))
            codes = np.where(selected, np.take_along_axis(padded_words, np.minimum(index, N_TC), axis=1), 0)
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
    0). ``cap``: the smallest of the k charges (k = 0: the largest charge)."""

    codec: EntropyCodec
    frac_bits: int = FRAC_BITS

    def __post_init__(self) -> None:
        if self.frac_bits < 0:
            raise ValueError(f"frac_bits must be >= 0, got {self.frac_bits}")
        _ = self.code  # a complete prefix code

    @cached_property
    def code(self) -> CanonicalCode:
        return CanonicalCode.of(self.codec.code_lengths)

    @property
    def fmt(self) -> FloatFormat:
        return self.codec.value_format

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
        window = self.code.lengths[-1]
        return max(ALIGN - 1 + window, min(to_end, ALIGN - 1 + window * (self.max_cells - stage)))

    @property
    def charge_max(self) -> int:
        return int(self.fmt.decode(np.array((1 << self.fmt.bits) - 1), self.codec.drop_lsb))

    @property
    def int_bits(self) -> int:
        return _fixed_point_bits(self.charge_max)[0]

    @property
    def rem_bits(self) -> int:
        return _fixed_point_bits(self.charge_max)[1]

    @property
    def out_bits(self) -> int:
        return self.int_bits + self.frac_bits

    @property
    def sent_sum_bits(self) -> int:
        return (self.max_cells * self.charge_max).bit_length()

    @property
    def sum_bits(self) -> int:
        """The module sum saturates here: saturated, the sum minus any sent charges still saturates R."""
        return max(self.rem_bits, self.sent_sum_bits) + 1

    def decode(self, bits: np.ndarray) -> np.ndarray:
        """(n, 48) int64 cells from (n, >= frame_bits) 0/1 frame rows."""
        bits = np.pad(frame_matrix(bits, self.frame_bits), ((0, 0), (0, self.rank_bits + MAX_CODE_BITS * N_TC)))
        n = len(bits)
        k = np.minimum(field(bits, COUNT_OFFSET, COUNT_BITS), self.max_cells)
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
        for i in range(self.max_cells):
            window = (bits[rows, position[:, None] + np.arange(MAX_CODE_BITS)] << np.arange(MAX_CODE_BITS - 1, -1, -1))
            length, symbols[:, i] = self.code.decode(window.sum(axis=1))
            position = position + length
        sent = np.arange(self.max_cells)[None, :] < k[:, None]
        values = self.fmt.decode(symbols, self.codec.drop_lsb)
        sent_sum = np.where(sent, values, 0).sum(axis=1)
        top = (1 << self.fmt.bits) - 1
        cap = self.fmt.decode(np.where(sent, symbols, top).min(axis=1, initial=top), self.codec.drop_lsb)
        module_sum = np.minimum(E5M4.decode(field(bits, HEADER_BITS, E5M4.bits)), (1 << self.sum_bits) - 1)
        fill = fill_value(np.maximum(module_sum - sent_sum, 0), N_TC - k, cap, rem_bits=self.rem_bits,
                          frac_bits=self.frac_bits)
        # cell a takes symbol slot <= a (a valid frame never has more cells left than addresses; else 0)
        charges = np.where(slots <= np.arange(N_TC), np.take_along_axis(values, np.clip(slots, 0, None), axis=1), 0)
        return np.where(selected, charges << self.frac_bits, fill[:, None])
