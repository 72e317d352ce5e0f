"""The ECON-T output frame: one definition shared by the expected vectors, the RTL top and the testbenches.

Per bunch crossing the chip sends ``32 * elinks`` bits. Bit 0 is the least significant bit of the frame:

    bits [B*i + B-1 : B*i]          latent i (i = 0..15), unsigned, B = latent bits (3, 5, 7, 9 for 2..5 eLinks)
    bits [16*B + 8 : 16*B]          the 9-bit floating-point wafer-sum code
    bits [32*elinks - 1 : 16*B + 9] zero padding

For 5 eLinks: 16 x 9 = 144 latent bits, the sum code in bits 152..144, bits 159..153 zero.

A hybrid encoder (``sparse_mode``, see ``codesign.models.sparse``) uses the bit above the sum code as the mode
bit: 1 = the latent field holds the wafer's largest cells (``CellCoding``) from bit 0 up, instead of latents.
Charge cells (``sparse_values: charge``) use the padding above the mode bit too: cell payload bits from the
latent field's width up continue at bit 16*B + 10.

The **chip frame** (``pack_chip_frames``) is the same information as the ECON-T chip sends an autoencoder's
output (``codesign.econt.autoencoder``): 5-bit BX header, sum code, then the latents, latent 0 first. Each
B-bit latent is the top B bits of the chip's 9-bit output word, and the mask register KAEB picks exactly
those bits, so the frame is, from its most significant (first sent) bit down:
header, sum code, zero padding, latent 0, latent 1, ..., latent 15 (in bits B-1..0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.data.onchip import INPUT_BITS, SUM_CODE_BITS
from codesign.econt.algorithms import bx_counter
from codesign.econt.autoencoder import AE_OUTPUT_BITS, AE_OUTPUTS, autoencoder_frames, frame_bits, latent_mask
from codesign.econt.bits import bits_from_ints, fields_to_bits, ints_from_bits
from codesign.models.sparse import CellCoding

BITS_PER_ELINK = 32  # one 1.28 Gb/s eLink carries 32 bits per 25 ns bunch crossing


@dataclass(frozen=True)
class FrameFormat:
    n_latents: int
    latent_bits: int
    elinks: int
    sparse_mode: bool = False
    sparse_value_bits: int = INPUT_BITS  # bits per sparse-mode cell value
    sparse_values: str = "input"  # or "charge": EncoderConfig.sparse_values

    def __post_init__(self) -> None:
        if self.payload_bits > self.width:
            raise ValueError(f"{self.n_latents} latents x {self.latent_bits} bits + {SUM_CODE_BITS}-bit sum"
                             f"{' + mode bit' if self.sparse_mode else ''} do not fit {self.elinks} eLinks "
                             f"({self.width} bits)")

    @classmethod
    def of(cls, cfg: Any) -> FrameFormat:
        """The frame of an ``EncoderConfig``."""
        return cls(cfg.latent_dim, cfg.latent_bits, cfg.elinks, cfg.sparse_max_occupancy is not None,
                   cfg.sparse_value_bits, cfg.sparse_values)

    @property
    def width(self) -> int:
        return BITS_PER_ELINK * self.elinks

    @property
    def sum_offset(self) -> int:
        return self.n_latents * self.latent_bits

    @property
    def mode_bit(self) -> int:
        return self.sum_offset + SUM_CODE_BITS

    @property
    def payload_bits(self) -> int:
        """Bits up to the highest one a frame may use."""
        above_mode = max(self.cell_coding.bits - self.sum_offset, 0)
        return self.mode_bit + self.sparse_mode + above_mode

    @property
    def cell_field_bits(self) -> int:
        """Bits a sparse-mode frame has for its cells: the latent field, and for charge cells the padding."""
        charge = self.sparse_values == "charge"
        return self.width - SUM_CODE_BITS - 1 if charge else self.sum_offset

    @property
    def cell_coding(self) -> CellCoding:
        """How a sparse-mode frame carries cells (0 cells without the mode)."""
        if not self.sparse_mode:
            return CellCoding(0, self.sparse_value_bits)
        return CellCoding.for_field(self.cell_field_bits, self.sparse_value_bits,
                                    charge=self.sparse_values == "charge")

    @property
    def sparse_cells(self) -> int:
        return self.cell_coding.n_cells

    @property
    def hex_digits(self) -> int:
        return (self.width + 3) // 4


def pack_frames(latents: np.ndarray, sum_codes: np.ndarray, fmt: FrameFormat,
                *, sparse: Sequence[int | None] | None = None) -> list[int]:
    """(n, n_latents) unsigned latent integers and (n,) sum codes -> n frames as Python integers. With a
    hybrid format, ``sparse[i]`` is wafer i's packed cells when it goes in sparse mode, else None."""
    latents = np.asarray(latents, dtype=np.int64)
    sum_codes = np.asarray(sum_codes, dtype=np.int64)
    if latents.shape != (len(sum_codes), fmt.n_latents):
        raise ValueError(f"expected latents of shape ({len(sum_codes)}, {fmt.n_latents}), got {latents.shape}")
    if latents.min(initial=0) < 0 or latents.max(initial=0) >= 1 << fmt.latent_bits:
        raise ValueError(f"latents must be unsigned {fmt.latent_bits}-bit integers")
    if sum_codes.min(initial=0) < 0 or sum_codes.max(initial=0) >= 1 << SUM_CODE_BITS:
        raise ValueError(f"sum codes must be unsigned {SUM_CODE_BITS}-bit integers")
    if sparse is not None and (not fmt.sparse_mode or len(sparse) != len(sum_codes)):
        raise ValueError("sparse payloads need a hybrid frame format and one entry (or None) per wafer")
    bits = np.zeros((len(sum_codes), fmt.width), dtype=np.uint8)
    bits[:, fmt.sum_offset:fmt.mode_bit] = fields_to_bits(sum_codes[:, None], SUM_CODE_BITS)
    chosen = [(n, cells) for n, cells in enumerate(sparse or ()) if cells is not None]
    rows = np.array([n for n, _ in chosen], dtype=np.int64)
    dense = np.ones(len(sum_codes), dtype=bool)
    dense[rows] = False
    bits[dense, :fmt.sum_offset] = fields_to_bits(latents[dense], fmt.latent_bits)
    if rows.size:
        payloads = [cells for _, cells in chosen]
        too_wide = next((cells for cells in payloads if cells >> fmt.cell_field_bits), None)
        if too_wide is not None:
            raise ValueError(f"sparse payload {too_wide:#x} does not fit the {fmt.cell_field_bits}-bit cell field")
        # the cells fill the latent field, the rest goes above the mode bit (the sum code stays in place)
        cells = bits_from_ints(payloads, fmt.cell_field_bits)
        bits[rows, :fmt.sum_offset] = cells[:, :fmt.sum_offset]
        above = fmt.mode_bit + 1
        bits[rows, above:above + fmt.cell_field_bits - fmt.sum_offset] = cells[:, fmt.sum_offset:]
        bits[rows, fmt.mode_bit] = 1
    return ints_from_bits(bits)


def unpack_frame(frame: int, fmt: FrameFormat) -> tuple[list[int], int]:
    """One frame -> (latent field split into latent-sized integers, sum code); the padding must be zero."""
    if frame >> fmt.payload_bits:
        raise ValueError(f"frame {frame:#x} has non-zero padding above bit {fmt.payload_bits - 1}")
    mask = (1 << fmt.latent_bits) - 1
    latents = [(frame >> (fmt.latent_bits * i)) & mask for i in range(fmt.n_latents)]
    return latents, (frame >> fmt.sum_offset) & ((1 << SUM_CODE_BITS) - 1)


FRAME_KINDS = ("project", "chip")  # the RTL top's CHIP_FRAME parameter: 0 = project frame, 1 = chip frame


def chip_frame_problem(fmt: FrameFormat) -> str | None:
    """Why the chip's autoencoder frame cannot carry this format (None when it can)."""
    if fmt.sparse_mode:
        return "a hybrid encoder's sparse mode has no place in the chip's autoencoder frame"
    if fmt.n_latents != AE_OUTPUTS or fmt.latent_bits > AE_OUTPUT_BITS:
        return (f"the chip frame carries {AE_OUTPUTS} outputs of at most {AE_OUTPUT_BITS} bits, not "
                f"{fmt.n_latents} x {fmt.latent_bits}")
    if frame_bits(fmt.elinks) != fmt.width:
        return f"at {fmt.elinks} eLinks the chip's autoencoder frame ({frame_bits(fmt.elinks)} bits) leaves links idle"
    return None


def pack_chip_frames(latents: np.ndarray, sum_codes: np.ndarray, fmt: FrameFormat, *, first_bx: int = 0) -> list[int]:
    """Frames as the ECON-T chip sends them (wafer i at bunch crossing ``first_bx + i``), as integers whose
    most significant bit is sent first."""
    problem = chip_frame_problem(fmt)
    if problem:
        raise ValueError(problem)
    outputs = np.asarray(latents, dtype=np.int64) << (AE_OUTPUT_BITS - fmt.latent_bits)
    frames = autoencoder_frames(outputs, sum_codes, bx_counter(len(outputs), first_bx), elinks=fmt.elinks,
                                kaeb=latent_mask(fmt.latent_bits))
    return [int(f, 2) for f in frames.strings()]


def chip_latent_offset(fmt: FrameFormat, latent: int) -> int:
    """Bit offset of ``latent`` in a chip frame integer (latent 15 at bit 0, latent 0 next to the sum)."""
    return (AE_OUTPUTS - 1 - latent) * fmt.latent_bits
