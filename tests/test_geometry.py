from __future__ import annotations

import numpy as np
import pytest

from codesign.data.geometry import ground_distance, module_centre_cm, tc_centres_cm


def test_centres_match_published_table(real_dir):
    table = np.loadtxt(real_dir / "tc_coordinates.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(table[:, 0], np.arange(48))
    np.testing.assert_allclose(tc_centres_cm(), table[:, 1:], atol=1e-4)


def test_ground_distance_units_and_symmetry():
    d = ground_distance()
    assert d.shape == (48, 48)
    np.testing.assert_allclose(d, d.T)
    assert np.all(np.diag(d) == 0)
    # Neighbours inside a block are 2.0 apart; across block borders the published centres are 1.80 apart.
    assert d[0, 1] == pytest.approx(2.0) and d[0, 4] == pytest.approx(2.0) and d[16, 17] == pytest.approx(2.0)
    nearest = np.sort(d + np.eye(48) * 1e9, axis=1)[:, 0]
    assert nearest.min() == pytest.approx(1.803, abs=1e-3) and nearest.max() == pytest.approx(2.0)


def test_blocks_are_rotations_about_the_centre():
    xy = tc_centres_cm() - module_centre_cm()
    radii = np.linalg.norm(xy, axis=1).reshape(3, 16)
    np.testing.assert_allclose(radii[1], radii[0])
    np.testing.assert_allclose(radii[2], radii[0])
