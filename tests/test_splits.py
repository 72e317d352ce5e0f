from __future__ import annotations

import numpy as np
import pytest

from codesign.data.splits import split_indices


def test_splits_partition_by_wafer_and_are_seeded():
    s = split_indices(1000, (0.7, 0.2, 0.1), seed=5)
    assert (len(s.train), len(s.val), len(s.test)) == (700, 200, 100)
    union = np.concatenate([s.train, s.val, s.test])
    assert sorted(union.tolist()) == list(range(1000))
    again = split_indices(1000, (0.7, 0.2, 0.1), seed=5)
    np.testing.assert_array_equal(s.test, again.test)
    assert (split_indices(1000, (0.7, 0.2, 0.1), seed=6).test != s.test).any()


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.5), (1.2, -0.1, -0.1), (1.0, 0.0)])
def test_bad_fractions(fractions):
    with pytest.raises(ValueError, match="fractions"):
        split_indices(10, fractions)
