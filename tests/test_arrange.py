from __future__ import annotations

import numpy as np
import pytest

from codesign.data.arrange import LAYOUTS, MASK_8X8, from_image, to_image


@pytest.mark.parametrize("layout", LAYOUTS)
def test_round_trip(layout):
    wafers = np.random.default_rng(0).random((20, 48))
    np.testing.assert_array_equal(from_image(to_image(wafers, layout), layout), wafers)


def test_4x4x3_places_block_c_in_channel_c():
    image = to_image(np.arange(48)[None, :], "4x4x3")[0]
    for tc in range(48):
        i, c = tc % 16, tc // 16
        assert image[i // 4, i % 4, c] == tc
    # the README's flattening order
    np.testing.assert_array_equal(image.ravel()[:6], [0, 16, 32, 1, 17, 33])


def test_8x8_published_map_and_mask():
    image = to_image(np.arange(48)[None, :] + 1, "8x8")[0, :, :, 0] - 1  # +1 so masked pixels show -1
    np.testing.assert_array_equal(image[0], [28, 29, 30, 31, 0, 4, 8, 12])
    np.testing.assert_array_equal(image[7, :4], [44, 40, 36, 32])
    assert (image[4:, 4:] == -1).all() and MASK_8X8.sum() == 48
    assert sorted(image[image >= 0].tolist()) == list(range(48))  # every TC exactly once


def test_bad_layout_and_shape():
    with pytest.raises(ValueError, match="unknown layout"):
        to_image(np.zeros((1, 48)), "9x9")
    with pytest.raises(ValueError, match=r"shape \(n, 48\)"):
        to_image(np.zeros((1, 47)), "8x8")
