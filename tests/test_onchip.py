from __future__ import annotations

import numpy as np
import pytest

from codesign.data.onchip import decode_sum, encode_sum, onchip_convert


def _wafer_with(cells: dict[int, int]) -> np.ndarray:
    calq = np.zeros((1, 48), dtype=np.int64)
    for tc, value in cells.items():
        calq[0, tc] = value
    return calq


@pytest.mark.parametrize(("total", "code"), [(2011, 127), (1488, 119), (1866, 125), (3610, 140)])
def test_sum_code_readme_examples(total, code):
    assert encode_sum(np.array([total]))[0] == code


def test_readme_input_examples():
    # S = 2011 -> k = 10: 104 -> 13, 224 -> 28 ; S = 3610 -> k = 11: 35 -> 2, 60 -> 3
    w = onchip_convert(_wafer_with({0: 104, 1: 224, 2: 2011 - 104 - 224}))
    assert w.inputs[0, 0] == 13 and w.inputs[0, 1] == 28 and w.sum_code[0] == 127
    w = onchip_convert(_wafer_with({5: 35, 6: 60, 7: 3610 - 95}))
    assert w.inputs[0, 5] == 2 and w.inputs[0, 6] == 3 and w.sum_code[0] == 140


def test_first_real_wafer(highpu):
    w = onchip_convert(highpu[:1])
    assert highpu[0].sum() == 2011
    assert w.inputs[0, 0] == 13 and w.inputs[0, 4] == 28 and w.sum_code[0] == 127


def test_small_sums_are_exact_codes():
    sums = np.arange(32)
    np.testing.assert_array_equal(encode_sum(sums), sums)  # below 16 by definition, 16..31 by continuity


def test_single_cell_is_one_point_zero_or_just_below_two():
    for value in (1, 2, 3, 35, 1000, 4194303):
        w = onchip_convert(_wafer_with({17: value}))
        k = value.bit_length() - 1
        assert w.inputs[0, 17] == (value << 7) >> k
        assert 128 <= w.inputs[0, 17] <= 255


def test_large_sums_saturate_the_code():
    assert encode_sum(np.array([1 << 34]))[0] == 16 * 31  # bit length 35: e = 31, the largest exponent
    assert encode_sum(np.array([(1 << 35) - 1]))[0] == 511  # e = 31, mantissa 15
    assert (encode_sum(np.array([1 << 35, 1 << 40])) == 511).all()  # e = 32 would overflow: saturate
    big = onchip_convert(np.full((1, 48), 4194303))  # every cell at the 22-bit maximum
    assert big.sum_code[0] == encode_sum(np.array([48 * 4194303]))[0] < 511
    assert (big.inputs == big.inputs[0, 0]).all() and 0 < big.inputs[0, 0] < 8


def test_all_zero_wafer_gives_zero_words():
    w = onchip_convert(np.zeros((1, 48), dtype=np.int64))
    assert (w.inputs == 0).all() and w.sum_code[0] == 0


def test_inputs_fit_8_bits_and_decode_bounds(highpu):
    w = onchip_convert(highpu)
    assert w.inputs.min() >= 0 and w.inputs.max() <= 255
    sums = highpu.sum(axis=1)
    assert (w.inputs.sum(axis=1) <= 255).all()
    est = decode_sum(w.sum_code)
    assert (est <= sums).all() and (sums < est * (1 + 1 / 16)).all()  # 4-bit truncated mantissa


def test_rejects_floats_and_negatives():
    with pytest.raises(TypeError):
        onchip_convert(np.ones((1, 48)))
    with pytest.raises(ValueError, match="non-negative"):
        onchip_convert(-np.ones((1, 48), dtype=int))
