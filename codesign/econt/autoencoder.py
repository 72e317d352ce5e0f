"""The autoencoder's output frame as the chip sends it (spec section 6), bit for bit.

The chip's encoder writes 16 outputs OUT_0..OUT_15 of 9 bits each (the 144-bit latent word); the 144-bit
mask register KAEB picks which of those bits leave the chip. The frame is, first transmitted bit first:

    5-bit BX header | 9-bit 5E4M module sum | latent field of L = min(18 + 32 (n - 1), 146) bits

The latent field holds the last L of the picked bits, zero-padded in front. The spec fixes that OUT_0 sits
next to the sum; within an output it leaves the order open, and this model sends each output most
significant bit first (as every other field of the chip's frames). So the picked bits go in the order
OUT_0 bit 8 .. OUT_0 bit 0, OUT_1 bit 8, ..., OUT_15 bit 0, skipping the bits KAEB masks off, and when KAEB
picks more than L bits the first ones are dropped. ``field_positions`` is that order, the one place to
change should the chip's order turn out otherwise. The frame is 5 + 9 + L bits: 32 n for n <= 5, 160 above.
"""

from __future__ import annotations

import numpy as np

from codesign.data.onchip import SUM_CODE_BITS
from codesign.econt.algorithms import MAX_ELINKS
from codesign.econt.bits import Frames, FrameWriter

AE_OUTPUTS = 16
AE_OUTPUT_BITS = 9
KAEB_BITS = AE_OUTPUTS * AE_OUTPUT_BITS  # 144
HEADER_BITS = 5
MAX_FIELD_BITS = 146


def field_bits(elinks: int) -> int:
    """L: latent bits the frame carries at ``elinks`` eLinks (1..13)."""
    if not 1 <= elinks <= MAX_ELINKS:
        raise ValueError(f"the chip has 1..{MAX_ELINKS} output eLinks, got {elinks}")
    return min(18 + 32 * (elinks - 1), MAX_FIELD_BITS)


def frame_bits(elinks: int) -> int:
    return HEADER_BITS + SUM_CODE_BITS + field_bits(elinks)


def check_kaeb(kaeb: int) -> None:
    if not 0 <= kaeb < 1 << KAEB_BITS:
        raise ValueError(f"KAEB is a {KAEB_BITS}-bit mask, got {kaeb:#x}")


def field_positions(kaeb: int, elinks: int) -> list[tuple[int, int]]:
    """(latent-word bit, field bit) of every picked bit that the frame carries. Latent-word bit 9 i + b is
    bit b of OUT_i; field bit L - 1 is sent first (right after the sum), field bit 0 last."""
    check_kaeb(kaeb)
    picked = [AE_OUTPUT_BITS * i + b for i in range(AE_OUTPUTS) for b in range(AE_OUTPUT_BITS - 1, -1, -1)
              if kaeb >> (AE_OUTPUT_BITS * i + b) & 1]
    kept = picked[-field_bits(elinks):]
    return [(word_bit, len(kept) - 1 - t) for t, word_bit in enumerate(kept)]


def latent_mask(latent_bits: int) -> int:
    """The KAEB that sends the top ``latent_bits`` of every output (an encoder with narrower latents)."""
    if not 1 <= latent_bits <= AE_OUTPUT_BITS:
        raise ValueError(f"latents of 1..{AE_OUTPUT_BITS} bits fit the chip's outputs, got {latent_bits}")
    per_output = ((1 << latent_bits) - 1) << (AE_OUTPUT_BITS - latent_bits)
    return sum(per_output << (AE_OUTPUT_BITS * i) for i in range(AE_OUTPUTS))


def autoencoder_frames(outputs: np.ndarray, sum_codes: np.ndarray, counter: np.ndarray, *, elinks: int,
                       kaeb: int) -> Frames:
    """Frames of (n, 16) 9-bit outputs OUT_0..OUT_15, (n,) 9-bit sum codes and (n,) 5-bit BX_CNT headers."""
    outputs = np.asarray(outputs, dtype=np.int64)
    if outputs.ndim != 2 or outputs.shape[1] != AE_OUTPUTS:
        raise ValueError(f"expected outputs of shape (n, {AE_OUTPUTS}), got {outputs.shape}")
    if outputs.min(initial=0) < 0 or outputs.max(initial=0) >= 1 << AE_OUTPUT_BITS:
        raise ValueError(f"outputs must be unsigned {AE_OUTPUT_BITS}-bit integers")
    length = frame_bits(elinks)
    writer = FrameWriter(len(outputs), length)
    writer.write(counter, HEADER_BITS)
    writer.write(sum_codes, SUM_CODE_BITS)
    positions = field_positions(kaeb, elinks)
    writer.write(0, field_bits(elinks) - len(positions))
    for word_bit, _ in positions:  # field bits from the first sent to the last
        writer.write(outputs[:, word_bit // AE_OUTPUT_BITS] >> (word_bit % AE_OUTPUT_BITS), 1)
    return writer.frames(np.full(len(outputs), length))


def outputs_from_frames(frames: list[str], *, elinks: int, kaeb: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What a back end reads from frame strings: (outputs (n, 16) with the unsent bits zero, sum codes,
    headers)."""
    length = frame_bits(elinks)
    bits = np.array([[c == "1" for c in f] for f in frames], dtype=np.int64).reshape(len(frames), -1)
    if bits.shape[1] != length:
        raise ValueError(f"autoencoder frames at {elinks} eLinks have {length} bits, got {bits.shape[1]}")
    weights = 1 << np.arange(SUM_CODE_BITS - 1, -1, -1)
    headers = bits[:, :HEADER_BITS] @ (1 << np.arange(HEADER_BITS - 1, -1, -1))
    sums = bits[:, HEADER_BITS:HEADER_BITS + SUM_CODE_BITS] @ weights
    outputs = np.zeros((len(frames), AE_OUTPUTS), dtype=np.int64)
    for word_bit, field_bit in field_positions(kaeb, elinks):
        column = length - 1 - field_bit  # field bit 0 is the last character
        outputs[:, word_bit // AE_OUTPUT_BITS] |= bits[:, column] << (word_bit % AE_OUTPUT_BITS)
    return outputs, sums, headers
