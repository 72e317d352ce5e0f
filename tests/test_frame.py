from __future__ import annotations

import numpy as np
import pytest

from codesign.econt.algorithms import bx_counter
from codesign.econt.autoencoder import (
    autoencoder_frames,
    field_bits,
    field_positions,
    frame_bits,
    latent_mask,
    outputs_from_frames,
)
from codesign.models.encoder import LATENT_BITS_BY_ELINKS
from codesign.models.frame import FrameFormat, pack_chip_frames, pack_frames, unpack_frame
from codesign.models.sparse import CellCoding


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


# the chip's autoencoder frame (spec section 6; codesign.econt.autoencoder)


@pytest.mark.parametrize("elinks", sorted(LATENT_BITS_BY_ELINKS))
def test_chip_frame_layout_as_the_spec_states(elinks):
    """5-bit header, 9-bit sum, min(18 + 32 (n - 1), 146) latent bits; OUT_0 next to the sum (after the
    zero padding), each latent most significant bit first; wafer i at BX i."""
    bits = LATENT_BITS_BY_ELINKS[elinks]
    fmt = FrameFormat(16, bits, elinks)
    assert field_bits(elinks) == min(18 + 32 * (elinks - 1), 146) and frame_bits(elinks) == fmt.width
    latents = np.zeros((3, 16), dtype=int)
    latents[1, 0] = 1 << (bits - 1)  # OUT_0's top bit
    latents[2, 15] = 1  # OUT_15's lowest sent bit
    frames = [format(f, f"0{fmt.width}b") for f in pack_chip_frames(latents, np.array([0, 0b100000001, 3]), fmt)]
    pad = field_bits(elinks) - 16 * bits
    assert frames[0] == "11111" + "0" * (fmt.width - 5)  # BX 0: BX_CNT 31
    assert frames[1][:14] == "00001" + "100000001" and frames[1][14 + pad:] == "1" + "0" * (16 * bits - 1)
    assert frames[2][:14] == "00010" + "000000011" and frames[2].endswith("1") and frames[2].count("1") == 4


def test_chip_frame_round_trips_any_mask():
    """A back end reading the frame with the same KAEB recovers the picked bits; a mask picking more than
    the frame carries loses the first picked bits (the frame keeps the last L)."""
    rng = np.random.default_rng(3)
    outputs = rng.integers(0, 512, (40, 16))
    masks = [(5, (1 << 144) - 1), (2, latent_mask(3)), (2, latent_mask(4)), (3, int(rng.integers(1 << 62)))]
    for elinks, kaeb in masks:
        strings = autoencoder_frames(outputs, np.arange(40), bx_counter(40), elinks=elinks, kaeb=kaeb).strings()
        got, sums, headers = outputs_from_frames(strings, elinks=elinks, kaeb=kaeb)
        sent = sum(1 << w for w, _ in field_positions(kaeb, elinks))
        words = [sum(int(v) << (9 * i) for i, v in enumerate(row)) for row in outputs]
        assert [sum(int(v) << (9 * i) for i, v in enumerate(row)) for row in got] == [w & sent for w in words]
        assert (sums == np.arange(40)).all() and (headers == bx_counter(40)).all()
    lost = latent_mask(4) & ~sum(1 << w for w, _ in field_positions(latent_mask(4), 2))
    # 64 picked bits, 50 sent: the first 14 sent (OUT_0..OUT_2 and the top two of OUT_3's four) are lost
    assert lost == sum(1 << (9 * i + b) for i in range(3) for b in range(5, 9)) | (0b11 << 34)
    with pytest.raises(ValueError, match="144-bit mask"):
        field_positions(1 << 144, 5)
    with pytest.raises(ValueError, match="hybrid"):
        pack_chip_frames(np.zeros((1, 16), dtype=int), np.array([0]), FrameFormat(16, 9, 5, sparse_mode=True))


@pytest.mark.parametrize("fmt", [FrameFormat(16, 9, 5, sparse_mode=True), FrameFormat(16, 3, 2, sparse_mode=True),
                                 FrameFormat(16, 3, 2, sparse_mode=True, sparse_values="charge"),
                                 FrameFormat(8, 5, 2)], ids=["5elink", "2elink", "2elink-charge", "fixed"])
def test_frames_pack_as_the_layout_defines_field_by_field(fmt):
    """pack_frames fills numpy bit matrices; here each frame is built from the layout's definition: latent i
    at bits latent_bits * i, the sum code above them, and for a sparse wafer the mode bit and its cells (the
    latent field first, the rest above the mode bit)."""
    rng = np.random.default_rng(fmt.width)
    n = 300
    latents = rng.integers(0, 1 << fmt.latent_bits, (n, fmt.n_latents))
    codes = rng.integers(0, 512, n)
    sparse = ([int.from_bytes(rng.bytes(32), "little") % (1 << fmt.cell_field_bits) if rng.random() < 0.4 else None
               for _ in range(n)] if fmt.sparse_mode else None)
    want = []
    for i in range(n):
        word = int(codes[i]) << fmt.sum_offset
        cells = None if sparse is None else sparse[i]
        if cells is None:
            word |= sum(int(v) << (fmt.latent_bits * k) for k, v in enumerate(latents[i]))
        else:
            low = cells & ((1 << fmt.sum_offset) - 1)
            word |= low | (cells >> fmt.sum_offset) << (fmt.mode_bit + 1) | 1 << fmt.mode_bit
        want.append(word)
    assert pack_frames(latents, codes, fmt, sparse=sparse) == want


@pytest.mark.parametrize("coding", [CellCoding(9, 8), CellCoding(4, 6), CellCoding(12, 8, use_map=True),
                                    CellCoding(3, 7, use_map=True, charge=True)],
                         ids=["address-8bit", "address-6bit", "map-8bit", "map-charge"])
def test_cells_pack_as_the_coding_defines_cell_by_cell(coding):
    """CellCoding.pack against its docstring: address coding puts cell s's address above its value at
    s * cell_bits; map coding sets bit t for TC t and puts the values in TC order from bit 48."""
    rng = np.random.default_rng(coding.n_cells)
    addresses = np.array([rng.choice(48, coding.n_cells, replace=False) for _ in range(200)])
    values = rng.integers(0, 1 << coding.source_bits, addresses.shape)
    sent = coding.quantize(values)
    want = []
    for row_a, row_v in zip(addresses.tolist(), sent.tolist(), strict=True):
        if coding.use_map:
            in_order = sorted(zip(row_a, row_v, strict=True))
            word = sum(1 << a for a in row_a)
            word |= sum(v << (48 + coding.value_bits * s) for s, (_, v) in enumerate(in_order))
        else:
            word = sum(((a << coding.value_bits) | v) << (coding.cell_bits * s)
                       for s, (a, v) in enumerate(zip(row_a, row_v, strict=True)))
        want.append(word)
    assert coding.pack(addresses, values) == want
