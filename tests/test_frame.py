from __future__ import annotations

import numpy as np
import pytest

from codesign.hardware.frame import FrameFormat, pack_frames, unpack_frame
from codesign.models.encoder import LATENT_BITS_BY_ELINKS


@pytest.mark.parametrize("elinks", sorted(LATENT_BITS_BY_ELINKS))
def test_every_elink_budget_fits_and_round_trips(elinks):
    fmt = FrameFormat(16, LATENT_BITS_BY_ELINKS[elinks], elinks)
    assert fmt.width == 32 * elinks and fmt.payload_bits == 16 * fmt.latent_bits + 9 <= fmt.width
    rng = np.random.default_rng(elinks)
    latents = rng.integers(0, 1 << fmt.latent_bits, (50, 16))
    codes = rng.integers(0, 512, 50)
    for frame, row, code in zip(pack_frames(latents, codes, fmt), latents, codes, strict=True):
        assert frame < 1 << fmt.payload_bits
        assert unpack_frame(frame, fmt) == (row.tolist(), code)


def test_bit_positions_of_the_5_elink_frame():
    fmt = FrameFormat(16, 9, 5)
    latents = np.zeros((1, 16), dtype=int)
    latents[0, 3] = 0b100000001
    (frame,) = pack_frames(latents, np.array([0b110000011]), fmt)
    assert frame == (0b100000001 << 27) | (0b110000011 << 144)
    assert fmt.sum_offset == 144 and fmt.hex_digits == 40


def test_out_of_range_and_bad_padding():
    fmt = FrameFormat(16, 3, 2)
    with pytest.raises(ValueError, match="unsigned 3-bit"):
        pack_frames(np.full((1, 16), 8), np.array([0]), fmt)
    with pytest.raises(ValueError, match="9-bit"):
        pack_frames(np.zeros((1, 16), dtype=int), np.array([512]), fmt)
    with pytest.raises(ValueError, match="non-zero padding"):
        unpack_frame(1 << 63, fmt)
    with pytest.raises(ValueError, match="do not fit 2 eLinks"):
        FrameFormat(16, 5, 2)
