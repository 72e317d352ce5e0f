"""The hybrid encoder's sparse mode: golden model, frame layout, evaluation and the training selection."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.config import ConfigError, from_mapping
from codesign.data.onchip import onchip_convert
from codesign.models.encoder import EncoderConfig
from codesign.models.frame import FrameFormat, pack_frames
from codesign.models.sparse import CellCoding, best_cells, cell_values, is_sparse, occupancy


def test_best_cells_rank_by_value_then_lower_index():
    inputs = np.zeros((1, 48), dtype=np.int64)
    inputs[0, [40, 7, 3, 12]] = [9, 200, 9, 50]
    addresses, values = best_cells(inputs, 6)
    assert addresses.tolist() == [[7, 12, 3, 40, 0, 1]]  # equal values (9, and the zeros) by TC index
    assert values.tolist() == [[200, 50, 9, 9, 0, 0]]


def test_cells_pack_value_below_address():
    (word,) = CellCoding(2).pack(np.array([[7, 47]]), np.array([[200, 1]]))
    assert word == ((7 << 8) | 200) | (((47 << 8) | 1) << 14)
    (word,) = CellCoding(2, value_bits=6).pack(np.array([[7, 47]]), np.array([[203, 7]]))
    assert word == ((7 << 6) | (203 >> 2)) | (((47 << 6) | 1) << 12)


def test_map_coding_sends_a_48_bit_map_and_values_in_tc_order():
    coding = CellCoding(3, value_bits=7, use_map=True)
    (word,) = coding.pack(np.array([[40, 2, 9]]), np.array([[255, 100, 3]]))  # largest first, as best_cells
    assert word == (1 << 2 | 1 << 9 | 1 << 40) | (50 << 48) | (1 << 55) | (127 << 62) and coding.bits == 69
    wafer = coding.wafers(np.array([[40, 2, 9]]), np.array([[255, 100, 3]]))[0]
    assert wafer[[2, 9, 40]].tolist() == [50 / 178, 1 / 178, 127 / 178]


@pytest.mark.parametrize(("field", "value_bits", "expected"), [
    (144, 8, CellCoding(12, 8, True)), (144, 7, CellCoding(13, 7, True)), (48, 6, CellCoding(4, 6, False)),
    (48, 8, CellCoding(3, 8, False)), (112, 8, CellCoding(8, 8, False)), (80, 6, CellCoding(6, 6, False))])
def test_the_coding_with_more_cells_is_chosen(field, value_bits, expected):
    """A map costs 48 bits and saves 6 per cell: it wins above 8 cells of 8 bits (addresses on a tie)."""
    assert CellCoding.for_field(field, value_bits) == expected and expected.bits <= field


def test_sparse_mode_is_lossless_up_to_the_cells_it_sends(highpu):
    inputs = onchip_convert(highpu).inputs
    coding = CellCoding.for_field(16 * 9)
    few = inputs[(inputs > 0).sum(axis=1) <= coding.n_cells]
    assert len(few) > 100
    wafers = coding.wafers(*best_cells(few, coding.n_cells))
    np.testing.assert_allclose(wafers, few / few.sum(axis=1, keepdims=True), rtol=0, atol=1e-15)
    zero = coding.wafers(*best_cells(np.zeros((1, 48)), coding.n_cells))
    np.testing.assert_array_equal(zero, np.full((1, 48), 1 / 48))


def test_mode_selection_by_occupancy():
    inputs = np.zeros((3, 48), dtype=np.int64)
    inputs[1, :20] = 1
    inputs[2, :21] = 1
    assert is_sparse(inputs, 20).tolist() == [True, True, False]
    assert not is_sparse(inputs, None).any()


def test_hybrid_frame_sets_the_mode_bit_and_carries_cells():
    fmt = FrameFormat(16, 9, 5, sparse_mode=True)
    assert fmt.mode_bit == 153 and fmt.payload_bits == 154
    latents = np.full((2, 16), 5)
    frames = pack_frames(latents, np.array([3, 4]), fmt, sparse=[0x3fff, None])
    assert frames[0] == 0x3fff | (3 << 144) | (1 << 153)
    assert frames[1] == pack_frames(latents[1:], np.array([4]), FrameFormat(16, 9, 5))[0]
    with pytest.raises(ValueError, match="does not fit the 144-bit cell field"):
        pack_frames(latents[:1], np.array([0]), fmt, sparse=[1 << 144])
    with pytest.raises(ValueError, match="need a hybrid frame format"):
        pack_frames(latents[:1], np.array([0]), FrameFormat(16, 9, 5), sparse=[1])


def test_config_range_is_checked_by_key():
    cfg = from_mapping(EncoderConfig, {"sparse_max_occupancy": 20})
    assert FrameFormat.of(cfg).sparse_mode and not FrameFormat.of(EncoderConfig()).sparse_mode
    with pytest.raises(ConfigError, match="enc: sparse_max_occupancy must be in \\[0, 48\\], got 49"):
        from_mapping(EncoderConfig, {"sparse_max_occupancy": 49}, where="enc")


def test_hybrid_evaluation_sends_sparse_wafers_as_cells(highpu):
    from codesign.evaluation import autoencoder_reconstruction
    from codesign.models.autoencoder import AutoencoderSpec, build_autoencoder

    spec = AutoencoderSpec("hybrid", encoder=EncoderConfig(sparse_max_occupancy=12))
    ae, _, _ = build_autoencoder(spec, seed=0)
    calq = highpu[:300]
    inputs = onchip_convert(calq).inputs
    sparse = (inputs > 0).sum(axis=1) <= 12
    reco = autoencoder_reconstruction(ae, spec, calq)
    assert reco.bits_per_bx == 154 and reco.extra == {"sparse_fraction": sparse.mean()}
    coding = CellCoding(12, 8, use_map=True)
    np.testing.assert_array_equal(reco.wafers[sparse], coding.wafers(*best_cells(inputs[sparse], 12)))
    plain = autoencoder_reconstruction(ae, AutoencoderSpec("plain"), calq)
    np.testing.assert_array_equal(reco.wafers[~sparse], plain.wafers[~sparse])


def test_charge_cells_are_the_chips_best_choice_words(highpu):
    """sparse_values: charge: cells chosen from and counted on the chip's 4E3M words of the CALQ (small cells the
    on-chip conversion rounds to zero stay), decoded at their bin middle, placed above the mode bit too."""
    from codesign.econt.algorithms import charge_codes

    fmt = FrameFormat.of(EncoderConfig(sparse_max_occupancy=31, sparse_values="charge"))
    coding = fmt.cell_coding
    assert (coding.n_cells, coding.value_bits, coding.use_map, coding.charge) == (14, 7, True, True)
    assert fmt.cell_field_bits == 150 and coding.bits == 146 and fmt.payload_bits == 156
    calq = highpu[:500]
    values = cell_values(calq, onchip_convert(calq).inputs, coding)
    np.testing.assert_array_equal(values, charge_codes(calq))
    assert (occupancy(values) == (calq > 0).sum(axis=1)).all()  # a code is 0 only for a zero CALQ
    assert (occupancy(values) > occupancy(onchip_convert(calq).inputs)).any()
    addresses, codes = best_cells(values, 14)
    wafers = coding.wafers(addresses, codes)
    few = occupancy(values) <= 14  # all cells sent: only the 4E3M rounding (at most 1/16 of a cell) remains
    exact = calq[few] / calq[few].sum(axis=1, keepdims=True)
    assert np.abs(wafers[few] - exact).max() < 0.07 and (wafers[few] > 0).sum() == (calq[few] > 0).sum()
    payload = (1 << 145) | 1  # the last value bit and map bit 0
    frame = pack_frames(np.zeros((1, 16), dtype=int), np.array([5]), fmt, sparse=[payload])[0]
    assert frame == 1 | (5 << 144) | (1 << 153) | (1 << 155)
    with pytest.raises(ValueError, match="does not fit the 150-bit cell field"):
        pack_frames(np.zeros((1, 16), dtype=int), np.array([5]), fmt, sparse=[1 << 150])
    with pytest.raises(ValueError, match="sparse_value_bits applies to input cells"):
        EncoderConfig(sparse_max_occupancy=31, sparse_values="charge", sparse_value_bits=6)
