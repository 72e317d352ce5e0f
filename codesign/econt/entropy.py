"""The entropy-coded sparse codec: the strongest non-learned on-chip compression in the arena.

Per wafer (``EntropyCodec.encode``, vectorised over wafers): the 48 values v = min(CALQ >> DropLSB, 2^18 - 1)
are ranked largest first (ties to the lower TC, as the hybrid's sparse selector); the codec sends the k
largest non-zero ones, k as large as the frame allows. A frame of 32n bits (n eLinks) is

    header (5, BX_CNT) | module sum (9, 5E4M of the CALQ sum) | k (6) |
    the k addresses as one enumerative code (A(k) = ceil(log2 C(48, k)) bits) |
    each sent cell's charge, ascending address: a 4-bit-exponent float with m mantissa bits of v,
    written with a canonical Huffman code (lengths 1..15, fitted on training wafers) | zero padding

so every bunch crossing fits the links (fixed latency, no buffer). **Sparse frames** (``sparse_cells`` > 0):
when a wafer has 1..sparse_cells non-zero cells, all below 2^18, and they all fit as 7-bit 4E3M charges of
CALQ itself (no DropLSB) with their addresses, the k field says 48 + k (values the count never takes) and the
frame carries every non-zero cell at the chip's 7-bit precision: a 0-pileup wafer on a DropLSB-3 module
would otherwise lose every cell below 8 counts. The back end then places nothing (all was sent).

The enumerative code is the rank of the address set in the combinatorial number system: sum over the sent
addresses a_1 < ... < a_k of C(a_i, i).
The back end decodes the cells and spreads what the sum says is left (``codesign.econt.backend``).
The code tables are configuration: a chip would load them like the autoencoder's weights.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cache
from math import comb

import numpy as np

from codesign.data.floats import E4M3, E5M4, FloatFormat
from codesign.data.geometry import N_TC
from codesign.econt.algorithms import MAX_DROP_LSB, SHIFTED_MAX, ChipOutput, EcontSettings, bx_counter
from codesign.econt.backend import Leftover
from codesign.econt.bits import ELINK_BITS, Frames, FrameWriter

EXPONENT_BITS = 4
MAX_CODE_BITS = 15  # Huffman code lengths fit a 4-bit register
HEADER_BITS = 5
COUNT_BITS = 6  # k, 0..48
FIXED_BITS = HEADER_BITS + E5M4.bits  # 14: what every frame spends before its payload
MANTISSA_CHOICES = (0, 1, 2, 3)
SPARSE_MAX_CELLS = (1 << COUNT_BITS) - 1 - N_TC  # 15: k fields 49..63 say "sparse frame of k - 48 cells"
SPARSE_FORMAT = E4M3  # a sparse frame's charges: 7 bits each, of CALQ itself (no DropLSB), no Huffman code


@cache
def binomials() -> np.ndarray:
    """(49, 49) int64: C(a, j) for a, j in 0..48 (0 where j > a); C(48, 24) < 2^45."""
    return np.array([[comb(a, j) for j in range(N_TC + 1)] for a in range(N_TC + 1)], dtype=np.int64)


@cache
def address_bits() -> np.ndarray:
    """(49,) A(k): bits of the enumerative code of k addresses out of 48 (0 for k = 0 and k = 48)."""
    return np.array([(comb(N_TC, k) - 1).bit_length() for k in range(N_TC + 1)], dtype=np.int64)


def limited_code_lengths(weights: np.ndarray, max_bits: int = MAX_CODE_BITS) -> np.ndarray:
    """Optimal prefix-code lengths for positive ``weights`` with no code longer than ``max_bits``
    (package-merge, Larmore and Hirschberg); deterministic for equal weights (lower symbol first)."""
    weights = np.asarray(weights, dtype=np.int64)
    n = len(weights)
    if n < 2 or (weights <= 0).any() or n > 1 << max_bits:
        raise ValueError(f"need 2..{1 << max_bits} positive weights, got {n} (min {weights.min(initial=0)})")
    leaves: list[tuple[int, tuple[int, ...]]] = sorted((int(w), (i,)) for i, w in enumerate(weights))
    items = list(leaves)
    for _ in range(max_bits - 1):
        packages = [(items[i][0] + items[i + 1][0], items[i][1] + items[i + 1][1]) for i in range(0, len(items) - 1, 2)]
        items = list(heapq.merge(leaves, packages))
    lengths = np.zeros(n, dtype=np.int64)
    for _, symbols in items[: 2 * n - 2]:
        np.add.at(lengths, list(symbols), 1)
    return lengths


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """The canonical Huffman code of each symbol (ordered by length, then symbol), as integers."""
    lengths = np.asarray(lengths, dtype=np.int64)
    codes = np.zeros(len(lengths), dtype=np.int64)
    code, previous = 0, 0
    for symbol in np.lexsort((np.arange(len(lengths)), lengths)):
        code <<= int(lengths[symbol]) - previous
        codes[symbol], previous = code, int(lengths[symbol])
        code += 1
    return codes


@dataclass(frozen=True)
class EntropyFrames:
    """What the codec sends for n wafers: the frames and, decoded, what they carry (this project's TC
    order): ``selected`` (n, 48) cells sent, ``symbols`` (n, 48) their float codes (0 where not sent),
    ``sum_code`` (n,) the 9-bit module sum; ``sparse`` (n,) the sparse frames (symbols in ``SPARSE_FORMAT``)."""

    frames: Frames
    selected: np.ndarray
    symbols: np.ndarray
    sum_code: np.ndarray
    sparse: np.ndarray

    @property
    def n_cells(self) -> np.ndarray:
        return self.selected.sum(axis=1)


@dataclass(frozen=True)
class EntropyCodec:
    """One codec setting: eLinks, DropLSB, mantissa bits, the Huffman code lengths of the 2^(4 + m) float
    symbols, and the most cells of a sparse frame (0: no sparse frames)."""

    elinks: int
    drop_lsb: int
    mantissa_bits: int
    code_lengths: tuple[int, ...]
    sparse_cells: int = 0

    def __post_init__(self) -> None:
        lengths = np.asarray(self.code_lengths)
        if (not 1 <= self.elinks <= 13 or not 0 <= self.drop_lsb <= MAX_DROP_LSB
                or self.mantissa_bits not in MANTISSA_CHOICES):
            raise ValueError(f"entropy codec: elinks 1..13, drop_lsb 0..{MAX_DROP_LSB}, mantissa_bits in "
                             f"{MANTISSA_CHOICES}, got {self.elinks}, {self.drop_lsb}, {self.mantissa_bits}")
        if len(lengths) != 1 << self.value_format.bits or lengths.min() < 1 or lengths.max() > MAX_CODE_BITS:
            raise ValueError(f"entropy codec: {1 << self.value_format.bits} code lengths of 1..{MAX_CODE_BITS} "
                             f"bits needed, got {len(lengths)}")
        if not 0 <= self.sparse_cells <= SPARSE_MAX_CELLS:
            raise ValueError(f"entropy codec: sparse_cells 0..{SPARSE_MAX_CELLS}, got {self.sparse_cells}")
        if (2.0 ** -lengths.astype(np.float64)).sum() > 1 + 1e-12:
            raise ValueError("entropy codec: the code lengths break Kraft's inequality (not a prefix code)")

    @property
    def value_format(self) -> FloatFormat:
        return FloatFormat(EXPONENT_BITS, self.mantissa_bits)

    @property
    def payload_bits(self) -> int:
        return ELINK_BITS * self.elinks - FIXED_BITS

    @property
    def codes(self) -> np.ndarray:
        return canonical_codes(np.asarray(self.code_lengths))

    def values(self, calq: np.ndarray) -> np.ndarray:
        return np.minimum(np.asarray(calq, dtype=np.int64) >> self.drop_lsb, SHIFTED_MAX)

    def cell_order(self, calq: np.ndarray) -> np.ndarray:
        """(n, 48) addresses, largest value first, ties to the lower TC."""
        return np.argsort(-self.values(calq), axis=1, kind="stable")

    def cells_sent(self, calq: np.ndarray) -> np.ndarray:
        """(n,) k: the most of the largest non-zero cells whose codes fit the payload."""
        values = self.values(calq)
        order = self.cell_order(calq)
        lengths = np.asarray(self.code_lengths)[self.value_format.encode(np.take_along_axis(values, order, axis=1))]
        cost = COUNT_BITS + address_bits()[None, :] + np.pad(np.cumsum(lengths, axis=1), ((0, 0), (1, 0)))
        k = np.arange(N_TC + 1)[None, :]
        fits = (cost <= self.payload_bits) & (k <= (values > 0).sum(axis=1, keepdims=True))
        return N_TC - np.argmax(fits[:, ::-1], axis=1)

    def sparse_fits(self, count: np.ndarray | int) -> np.ndarray:
        """Whether a sparse frame of ``count`` cells (0..48) fits: 1..sparse_cells cells whose addresses and
        7-bit charges fit the payload."""
        count = np.asarray(count, dtype=np.int64)
        cost = COUNT_BITS + address_bits()[count] + SPARSE_FORMAT.bits * count
        return (count >= 1) & (count <= self.sparse_cells) & (cost <= self.payload_bits)

    def sparse_wafers(self, calq: np.ndarray) -> np.ndarray:
        """(n,) the wafers sent as sparse frames: their non-zero cells fit one (``sparse_fits``), all below 2^18."""
        calq = np.asarray(calq, dtype=np.int64)
        return self.sparse_fits((calq > 0).sum(axis=1)) & (calq.max(axis=1, initial=0) <= SHIFTED_MAX)

    def encode(self, calq: np.ndarray, first_bx: int = 0) -> EntropyFrames:
        calq = np.asarray(calq, dtype=np.int64)
        if calq.ndim != 2 or calq.shape[1] != N_TC:
            raise ValueError(f"expected CALQ of shape (n, {N_TC}), got {calq.shape}")
        sparse = self.sparse_wafers(calq)
        k = self.cells_sent(calq)
        selected = np.zeros(calq.shape, dtype=bool)
        np.put_along_axis(selected, self.cell_order(calq), np.arange(N_TC)[None, :] < k[:, None], axis=1)
        selected[sparse] = calq[sparse] > 0
        k = np.where(sparse, selected.sum(axis=1), k)
        symbols = np.where(sparse[:, None], SPARSE_FORMAT.encode(np.minimum(calq, SHIFTED_MAX)),
                           self.value_format.encode(self.values(calq)))
        symbols = np.where(selected, symbols, 0)
        sum_code = E5M4.encode(calq.sum(axis=1))
        rank = np.where(selected, binomials()[np.arange(N_TC)[None, :], np.cumsum(selected, axis=1)], 0).sum(axis=1)
        writer = FrameWriter(len(calq), ELINK_BITS * self.elinks)
        writer.write(bx_counter(len(calq), first_bx), HEADER_BITS)
        writer.write(sum_code, E5M4.bits)
        writer.write(np.where(sparse, N_TC + k, k), COUNT_BITS)
        writer.write_varying(rank, address_bits()[k])
        lengths, codes = np.asarray(self.code_lengths), self.codes
        for a in range(N_TC):
            symbol = symbols[:, a]
            code = np.where(sparse, symbol, codes[np.where(sparse, 0, symbol)])
            length = np.where(sparse, SPARSE_FORMAT.bits, lengths[np.where(sparse, 0, symbol)])
            writer.write_varying(code, np.where(selected[:, a], length, 0))
        frames = writer.frames(np.full(len(calq), ELINK_BITS * self.elinks))
        return EntropyFrames(frames, selected, symbols, sum_code, sparse)

    def parse(self, frames: Frames) -> EntropyFrames:
        """The back end's reading of frame bits (vectorised over frames): cells, symbols, sum."""
        bits = np.pad(frames.bits.astype(np.int64), ((0, 0), (0, MAX_CODE_BITS + 64)))
        n = len(bits)
        reader = _BitReader(bits)
        reader.skip(HEADER_BITS)
        sum_code = reader.read(np.full(n, E5M4.bits))
        k = reader.read(np.full(n, COUNT_BITS))
        sparse = k > N_TC
        k = np.where(sparse, k - N_TC, k)
        if (sparse & (k > self.sparse_cells)).any():
            bad = int(np.argmax(sparse & (k > self.sparse_cells)))
            raise ValueError(f"entropy frame {bad}: a sparse frame of {int(k[bad])} cells, this codec sends at "
                             f"most {self.sparse_cells}")
        rank = reader.read(address_bits()[k])
        selected = np.zeros((n, N_TC), dtype=bool)
        left, c = k.copy(), binomials()
        for a in range(N_TC - 1, -1, -1):
            take = (left > 0) & (c[a, np.maximum(left, 0)] <= rank)
            rank -= np.where(take, c[a, np.maximum(left, 0)], 0)
            selected[:, a] = take
            left -= take
        symbol_of_prefix, length_of_prefix = self._decode_table()
        symbols = np.zeros((n, N_TC), dtype=np.int64)
        for a in range(N_TC):
            prefix = reader.peek(MAX_CODE_BITS)
            symbol = np.where(sparse, prefix >> (MAX_CODE_BITS - SPARSE_FORMAT.bits), symbol_of_prefix[prefix])
            length = np.where(sparse, SPARSE_FORMAT.bits, length_of_prefix[prefix])
            symbols[:, a] = np.where(selected[:, a], symbol, 0)
            reader.skip(np.where(selected[:, a], length, 0))
        return EntropyFrames(frames, selected, symbols, sum_code, sparse)

    def _decode_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Symbol and code length of every ``MAX_CODE_BITS``-bit prefix."""
        lengths, codes = np.asarray(self.code_lengths), self.codes
        symbol_of_prefix = np.zeros(1 << MAX_CODE_BITS, dtype=np.int64)
        length_of_prefix = np.zeros(1 << MAX_CODE_BITS, dtype=np.int64)
        for s, (length, code) in enumerate(zip(lengths, codes, strict=True)):
            lo = int(code) << (MAX_CODE_BITS - int(length))
            symbol_of_prefix[lo : lo + (1 << (MAX_CODE_BITS - int(length)))] = s
            length_of_prefix[lo : lo + (1 << (MAX_CODE_BITS - int(length)))] = length
        return symbol_of_prefix, length_of_prefix

    def run(self, calq: np.ndarray, first_bx: int = 0) -> ChipOutput:
        """The codec as a chip algorithm ("entropy"): frames, naive reconstruction, leftover."""
        sent = self.encode(calq, first_bx)
        reco, leftover = self.reconstruction(sent)
        settings = EcontSettings(elinks=self.elinks, drop_lsb=self.drop_lsb, first_bx=first_bx)
        return ChipOutput("entropy", settings, sent.frames, reco, {"cells_sent": sent.n_cells}, leftover)

    def symbol_bins(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, width) of every symbol's bin in CALQ, both (2^(4 + m),): the symbol holds the integers
        low .. low + width - 1 (width 0: the value is exact, low itself)."""
        symbols = np.arange(1 << self.value_format.bits)
        low = self.value_format.decode(symbols, self.drop_lsb, edge=True)
        return low, 2 * (self.value_format.decode(symbols, self.drop_lsb) - low)

    def reconstruction(self, sent: EntropyFrames, charges: tuple[int, ...] | np.ndarray = ()
                       ) -> tuple[np.ndarray, Leftover]:
        """The back end's (n, 48) CALQ of the sent cells and what the sum leaves (nothing after a sparse frame:
        it sent every non-zero cell). A symbol decodes as ``charges[symbol]`` (a table per symbol, a learned
        back end's) or, when ``charges`` is empty, as its bin's middle (the naive back end)."""
        coded = (np.asarray(charges, dtype=np.int64)[np.where(sent.sparse[:, None], 0, sent.symbols)] if len(charges)
                 else self.value_format.decode(sent.symbols, self.drop_lsb))
        values = np.where(sent.sparse[:, None], SPARSE_FORMAT.decode(sent.symbols, 0), coded)
        reco = np.where(sent.selected, values, 0).astype(np.float64)
        amount = np.where(sent.sparse, 0.0, E5M4.decode(sent.sum_code) - reco.sum(axis=1))
        cap = np.where(sent.selected, reco, np.inf).min(axis=1)
        return reco, Leftover((~sent.selected)[:, None, :], amount[:, None], cap[:, None])


class _BitReader:
    """Reads MSB-first fields at a per-row cursor from (n, bits) 0/1 arrays."""

    def __init__(self, bits: np.ndarray) -> None:
        self.bits, self.cursor = bits, np.zeros(len(bits), dtype=np.int64)
        self.rows = np.arange(len(bits))[:, None]

    def peek(self, width: int) -> np.ndarray:
        window = self.bits[self.rows, self.cursor[:, None] + np.arange(width)]
        return (window << np.arange(width - 1, -1, -1)).sum(axis=1)

    def read(self, widths: np.ndarray) -> np.ndarray:
        widest = int(widths.max(initial=0))
        if widest == 0:
            return np.zeros(len(widths), dtype=np.int64)
        value = self.peek(widest) >> (widest - widths)
        self.skip(widths)
        return value

    def skip(self, widths: np.ndarray | int) -> None:
        self.cursor = self.cursor + widths


def fit_code_lengths(calq: np.ndarray, *, elinks: int, drop_lsb: int, mantissa_bits: int,
                     rounds: int = 3, sparse_cells: int = 0) -> EntropyCodec:
    """A codec whose Huffman code is fitted on ``calq`` (training wafers): first on every non-zero cell,
    then on the cells that codec actually sends outside sparse frames, ``rounds`` times. Every symbol keeps a
    code (counts + 1)."""
    fmt = FloatFormat(EXPONENT_BITS, mantissa_bits)
    values = np.minimum(np.asarray(calq, dtype=np.int64) >> drop_lsb, SHIFTED_MAX)
    symbols = fmt.encode(values[values > 0])
    codec = None
    for _ in range(rounds):
        counts = np.bincount(symbols, minlength=1 << fmt.bits) + 1
        codec = EntropyCodec(elinks, drop_lsb, mantissa_bits, tuple(int(x) for x in limited_code_lengths(counts)),
                             sparse_cells)
        sent = codec.encode(calq)
        symbols = sent.symbols[sent.selected & ~sent.sparse[:, None]]
    assert codec is not None
    return codec
