"""The ECON-T output frame: one definition shared by the expected vectors, the RTL top and the testbenches.

Per bunch crossing the chip sends ``32 * elinks`` bits. Bit 0 is the least significant bit of the frame:

    bits [B*i + B-1 : B*i]          latent i (i = 0..15), unsigned, B = latent bits (3, 5, 7, 9 for 2..5 eLinks)
    bits [16*B + 8 : 16*B]          the 9-bit floating-point wafer-sum code
    bits [32*elinks - 1 : 16*B + 9] zero padding

For 5 eLinks: 16 x 9 = 144 latent bits, the sum code in bits 152..144, bits 159..153 zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codesign.data.onchip import SUM_CODE_BITS

BITS_PER_ELINK = 32  # one 1.28 Gb/s eLink carries 32 bits per 25 ns bunch crossing


@dataclass(frozen=True)
class FrameFormat:
    n_latents: int
    latent_bits: int
    elinks: int

    def __post_init__(self) -> None:
        if self.payload_bits > self.width:
            raise ValueError(f"{self.n_latents} latents x {self.latent_bits} bits + {SUM_CODE_BITS}-bit sum do "
                             f"not fit {self.elinks} eLinks ({self.width} bits)")

    @property
    def width(self) -> int:
        return BITS_PER_ELINK * self.elinks

    @property
    def sum_offset(self) -> int:
        return self.n_latents * self.latent_bits

    @property
    def payload_bits(self) -> int:
        return self.sum_offset + SUM_CODE_BITS

    @property
    def hex_digits(self) -> int:
        return (self.width + 3) // 4


def pack_frames(latents: np.ndarray, sum_codes: np.ndarray, fmt: FrameFormat) -> list[int]:
    """(n, n_latents) unsigned latent integers and (n,) sum codes -> n frames as Python integers."""
    latents = np.asarray(latents, dtype=np.int64)
    sum_codes = np.asarray(sum_codes, dtype=np.int64)
    if latents.shape != (len(sum_codes), fmt.n_latents):
        raise ValueError(f"expected latents of shape ({len(sum_codes)}, {fmt.n_latents}), got {latents.shape}")
    if latents.min(initial=0) < 0 or latents.max(initial=0) >= 1 << fmt.latent_bits:
        raise ValueError(f"latents must be unsigned {fmt.latent_bits}-bit integers")
    if sum_codes.min(initial=0) < 0 or sum_codes.max(initial=0) >= 1 << SUM_CODE_BITS:
        raise ValueError(f"sum codes must be unsigned {SUM_CODE_BITS}-bit integers")
    frames = []
    for row, code in zip(latents.tolist(), sum_codes.tolist(), strict=True):
        word = code << fmt.sum_offset
        for i, value in enumerate(row):
            word |= value << (fmt.latent_bits * i)
        frames.append(word)
    return frames


def unpack_frame(frame: int, fmt: FrameFormat) -> tuple[list[int], int]:
    """One frame -> (latent integers, sum code); the padding must be zero."""
    if frame >> fmt.payload_bits:
        raise ValueError(f"frame {frame:#x} has non-zero padding above bit {fmt.payload_bits - 1}")
    mask = (1 << fmt.latent_bits) - 1
    latents = [(frame >> (fmt.latent_bits * i)) & mask for i in range(fmt.n_latents)]
    return latents, (frame >> fmt.sum_offset) & ((1 << SUM_CODE_BITS) - 1)
