from __future__ import annotations

import numpy as np
import pytest

from codesign.data.geometry import ground_distance
from codesign.data.normalise import ZeroSumError
from codesign.emd.exact import exact_emd, exact_emd_with_gradient, reference_emds


@pytest.fixture(scope="module")
def wafers() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 100, (64, 48)) * (rng.random((64, 48)) < 0.4) + np.eye(64, 48, dtype=int)


def test_identical_wafers_have_zero_emd(wafers):
    np.testing.assert_allclose(exact_emd(wafers, wafers, n_jobs=1), 0.0, atol=1e-12)


def test_symmetric_and_scale_invariant(wafers):
    a, b = wafers, np.roll(wafers, 1, axis=0)
    ab = exact_emd(a, b, n_jobs=1)
    np.testing.assert_allclose(ab, exact_emd(b, a, n_jobs=1), rtol=1e-9)
    np.testing.assert_allclose(ab, exact_emd(7 * a, b, n_jobs=1), rtol=1e-9)
    assert (ab > 0).all()


def test_single_hot_wafers_give_the_ground_distance():
    i, j = np.triu_indices(48, k=1)
    a = np.eye(48)[i]
    b = np.eye(48)[j]
    np.testing.assert_allclose(exact_emd(a, b, n_jobs=1), ground_distance()[i, j], rtol=1e-12)


def test_parallel_equals_serial(wafers):
    a, b = np.tile(wafers, (20, 1)), np.tile(np.roll(wafers, 3, axis=0), (20, 1))
    np.testing.assert_array_equal(exact_emd(a, b, n_jobs=2), exact_emd(a, b, n_jobs=1))


def test_gradient_in_parallel_gives_the_same_bits(wafers):
    """The table fits' L-BFGS runs its exact EMDs in processes: the bits must not depend on how many."""
    a, b = np.tile(wafers, (10, 1)), np.tile(np.roll(wafers, 5, axis=0), (10, 1))
    cost, grad = exact_emd_with_gradient(a, b)
    np.testing.assert_array_equal(cost, exact_emd(a, b, n_jobs=1))
    for jobs in (2, 3):
        parallel = exact_emd_with_gradient(a, b, n_jobs=jobs)
        np.testing.assert_array_equal(parallel[0], cost)
        np.testing.assert_array_equal(parallel[1], grad)


def test_zero_sum_wafer_is_rejected_by_name(wafers):
    b = wafers.copy()
    b[5] = 0
    with pytest.raises(ZeroSumError, match="b: row 5 sums to zero"):
        exact_emd(wafers, b)


def test_shape_mismatch(wafers):
    with pytest.raises(ValueError, match="same number of wafers"):
        exact_emd(wafers, wafers[:3])


def test_reference_scales_on_real_wafers(highpu):
    scales = reference_emds(highpu, 1000, seed=0)
    assert 4.0 < scales["random_pairs"].mean() < 4.8  # README: about 4.3-4.4
    assert 2.9 < scales["vs_uniform"].mean() < 3.5  # README: about 3.2


def test_bad_job_count(wafers):
    with pytest.raises(ValueError, match="n_jobs must be at least 1"):
        exact_emd(wafers, wafers, n_jobs=0)


def test_exact_emd_of_files_streams_in_chunks_and_keeps_rows(tmp_path, highpu):
    """issue 19 item 14: `emd exact` holds one chunk at a time; same numbers as in one piece, rows aligned."""
    from codesign.data.io import WaferFileError, write_wafers
    from codesign.emd.exact import exact_emd_files

    a, b = highpu[:50], highpu[50:100]
    write_wafers(tmp_path / "a.csv", a)
    write_wafers(tmp_path / "b.h5", b)
    result = exact_emd_files(tmp_path / "a.csv", tmp_path / "b.h5", tmp_path / "emd.csv", n_jobs=1, chunk_rows=7)
    written = np.loadtxt(tmp_path / "emd.csv", skiprows=1)
    assert result.n == 50 and np.allclose(written, exact_emd(a, b, n_jobs=1), atol=1e-6)
    assert (tmp_path / "emd.csv").read_text().startswith("emd\n")
    write_wafers(tmp_path / "short.csv", b[:49])
    with pytest.raises(WaferFileError, match="holds 49 wafers"):
        exact_emd_files(tmp_path / "a.csv", tmp_path / "short.csv", tmp_path / "x.csv", n_jobs=1, chunk_rows=7)
    zero = b.copy()
    zero[23] = 0
    write_wafers(tmp_path / "zero.csv", zero)
    with pytest.raises(ZeroSumError, match="wafer 23 "):
        exact_emd_files(tmp_path / "a.csv", tmp_path / "zero.csv", tmp_path / "x.csv", n_jobs=1, chunk_rows=7)
    assert not (tmp_path / "x.csv").exists()
