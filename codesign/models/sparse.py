"""Sparse mode of the hybrid on-chip encoder: few-cell wafers sent as cells instead of latents.

Best-Choice is exact on wafers with fewer cells than it sends, where the autoencoder spreads energy over empty
cells; on dense wafers the autoencoder wins. With ``EncoderConfig.sparse_max_occupancy = T`` the chip sends a
wafer with at most T non-zero on-chip inputs in sparse mode: the latent field of the frame then holds the
wafer's largest on-chip inputs (ties to the lower TC index), each cut to its top ``sparse_value_bits`` bits
(``CellCoding``), and one mode bit above the sum code says which mode the frame is in. The cells' places go
either as a 6-bit TC address per cell or, when that carries more cells in the field, as one 48-bit map
(the chip's Best-Choice coding: above 8 cells of 8 bits a map is cheaper). With ``sparse_values: charge``
a cell carries its CALQ as the chip's own 7-bit 4E3M Best-Choice word instead (``charge_codes``), chosen
and counted on those words, so cells the on-chip conversion rounds to zero still go. Every other wafer goes through
the autoencoder as before. On chip the decoder thus only receives dense wafers, but the autoencoder trains
on all of them: trained on the dense ones alone it lost most of its data and measured worse.

These integer functions are the golden model of the RTL in ``codesign.hardware.topgen``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.data.floats import E4M3
from codesign.data.geometry import ADDRESS_BITS, N_TC
from codesign.data.normalise import unit_or_uniform
from codesign.data.onchip import INPUT_BITS
from codesign.econt.algorithms import charge_codes
from codesign.econt.bits import fields_to_bits, ints_from_bits


@dataclass(frozen=True)
class CellCoding:
    """How a sparse-mode frame carries its cells. Address coding: cell s at bits [c s + c - 1 : c s],
    c = 6 + ``value_bits``, its value below its TC address, largest cell first. Map coding: bit t of the
    48-bit map (bits 47..0) says TC t is sent; the values follow from bit 48 up, ``value_bits`` each, in
    TC order. A value is the top ``value_bits`` bits of the 8-bit on-chip input (floor), or with ``charge``
    the cell's 7-bit 4E3M charge word (``charge_codes``)."""

    n_cells: int
    value_bits: int = INPUT_BITS
    use_map: bool = False
    charge: bool = False

    @classmethod
    def for_field(cls, field_bits: int, value_bits: int = INPUT_BITS, *, charge: bool = False) -> CellCoding:
        """The coding that carries the most cells in ``field_bits`` (addresses on a tie)."""
        value_bits = E4M3.bits if charge else value_bits
        by_address = field_bits // (ADDRESS_BITS + value_bits)
        by_map = max(field_bits - N_TC, 0) // value_bits
        use_map = by_map > by_address
        return cls(by_map if use_map else by_address, value_bits, use_map, charge)

    @property
    def source_bits(self) -> int:
        """Bits of the values the cells are chosen from (``cell_values``)."""
        return E4M3.bits if self.charge else INPUT_BITS

    @property
    def cell_bits(self) -> int:
        """Bits per cell in address coding."""
        return ADDRESS_BITS + self.value_bits

    @property
    def bits(self) -> int:
        return N_TC + self.n_cells * self.value_bits if self.use_map else self.n_cells * self.cell_bits

    def describe(self) -> str:
        places = "a 48-bit map" if self.use_map else "6-bit addresses"
        kind = "7-bit 4E3M charges" if self.charge else f"{self.value_bits} bits"
        return f"{self.n_cells} cells of {kind} with {places}"

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """The sent bits of ``cell_values``."""
        return np.asarray(values, dtype=np.int64) >> (self.source_bits - self.value_bits)

    def pack(self, addresses: np.ndarray, values: np.ndarray) -> list[int]:
        """Payloads (Python integers) of the cells ``best_cells`` chose."""
        addresses, values = np.asarray(addresses, dtype=np.int64), self.quantize(values)
        if self.use_map:  # a bit per TC, then the values in TC order
            order = np.argsort(addresses, axis=1)
            addresses, values = (np.take_along_axis(a, order, axis=1) for a in (addresses, values))
            bits = np.zeros((len(addresses), self.bits), dtype=np.uint8)
            np.put_along_axis(bits, addresses, 1, axis=1)
            bits[:, N_TC:] = fields_to_bits(values, self.value_bits)
        else:  # each cell its address above its value
            bits = fields_to_bits(addresses << self.value_bits | values, self.cell_bits)
        return ints_from_bits(bits)

    def wafers(self, addresses: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Off-chip reconstruction: (n, 48) unit-sum wafers (uniform when every sent value is 0)."""
        sent = self.quantize(values)
        decoded = E4M3.decode(sent) if self.charge else sent  # a charge at the middle of its bin, code 0 as 0
        wafers = np.zeros((len(values), N_TC))
        np.put_along_axis(wafers, np.asarray(addresses), decoded.astype(np.float64), axis=1)
        return unit_or_uniform(wafers)


def cell_values(calq: np.ndarray, inputs: np.ndarray, coding: CellCoding) -> np.ndarray:
    """What the sparse mode chooses cells from and counts: the on-chip inputs, or the charge words of
    the CALQ with ``coding.charge``; (n, 48) each."""
    return charge_codes(calq) if coding.charge else np.asarray(inputs)


def occupancy(values: np.ndarray) -> np.ndarray:
    """Non-zero values (on-chip inputs or ``cell_values``) per wafer, (n, 48) -> (n,)."""
    return (np.asarray(values) > 0).sum(axis=1)


def is_sparse(values: np.ndarray, max_occupancy: int | None) -> np.ndarray:
    """Which wafers the chip sends in sparse mode (none when ``max_occupancy`` is None), from their
    ``cell_values``."""
    if max_occupancy is None:
        return np.zeros(len(values), dtype=bool)
    return occupancy(values) <= max_occupancy


def best_cells(values: np.ndarray, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """(addresses, values), each (n, n_cells): the largest ``cell_values``, largest first, ties to the lower
    TC index (what the hardware's selection network gives)."""
    inputs = np.asarray(values, dtype=np.int64)
    tc = np.broadcast_to(np.arange(N_TC), inputs.shape)
    order = np.lexsort((tc, -inputs), axis=1)[:, :n_cells]
    return order, np.take_along_axis(inputs, order, axis=1)
