from __future__ import annotations

import numpy as np
import pytest

from codesign.data.synth import generate_wafers, load_synth_config
from codesign.emd.exact import exact_emd
from codesign.emd.labels import PERTURBATIONS, cached_pair_labels, make_pair_labels, perturb, read_pair_labels


@pytest.fixture(scope="module")
def calq() -> np.ndarray:
    return generate_wafers(load_synth_config("highpu"), 400, seed=0)


def test_labels_are_exact_and_span_the_range(calq):
    labels = make_pair_labels(calq, 200, 1000, seed=0, n_jobs=1)
    assert len(labels) == 1200
    np.testing.assert_allclose(labels.a.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(labels.emd[:50], exact_emd(labels.a[:50], labels.b[:50], n_jobs=1), atol=1e-5)
    random, perturbed = labels.emd[labels.kind == 0], labels.emd[labels.kind == 1]
    assert (labels.idx_a[labels.kind == 0] != labels.idx_b[labels.kind == 0]).all()
    assert 3.0 < np.median(random) < 6.0
    assert np.percentile(perturbed, 10) < 0.05 and np.percentile(perturbed, 98) > 4.0 and perturbed.max() > 5.0
    assert ((perturbed > 0.05) & (perturbed < 1.5)).mean() > 0.3  # the autoencoder's regime is well covered


@pytest.mark.parametrize("mode", PERTURBATIONS)
def test_each_perturbation_grows_with_strength(calq, mode):
    unit = calq / calq.sum(axis=1, keepdims=True)
    modes = np.full(len(unit), PERTURBATIONS.index(mode))
    others = np.roll(unit, 1, axis=0)
    weak = perturb(np.random.default_rng(1), unit, others, mode=modes, strength=np.full(len(unit), 0.05))
    strong = perturb(np.random.default_rng(1), unit, others, mode=modes, strength=np.full(len(unit), 0.8))
    assert np.allclose(weak.sum(axis=1), 1.0) and (weak >= 0).all()
    assert exact_emd(unit, strong, n_jobs=1).mean() > 2 * exact_emd(unit, weak, n_jobs=1).mean() > 0


def test_cache_is_reused_and_invalidated(calq, tmp_path):
    path = tmp_path / "labels.h5"
    first = cached_pair_labels(path, calq, 50, n_perturbed=50, seed=1, n_jobs=1)
    stamp = path.stat().st_mtime_ns
    again = cached_pair_labels(path, calq, 50, n_perturbed=50, seed=1, n_jobs=1)
    assert path.stat().st_mtime_ns == stamp
    np.testing.assert_array_equal(first.emd, again.emd)
    other = cached_pair_labels(path, calq, 50, n_perturbed=50, seed=2, n_jobs=1)
    assert path.stat().st_mtime_ns != stamp and (other.emd != first.emd).any()


@pytest.mark.slow
def test_sharded_labels_on_two_dask_workers_match_direct_computation(tmp_path, highpu):
    """Shards computed in two worker processes equal the same shards computed here; the virtual index reads
    as one label file; a rerun recomputes nothing."""
    from codesign.emd.sharded import plan_shards, sharded_pair_labels
    from codesign.sweep.engine import open_client
    from codesign.sweep.spec import ClusterSpec

    calq = highpu[:300]
    with open_client(ClusterSpec(n_workers=2)) as client:
        first = sharded_pair_labels(client, calq, 120, n_perturbed=80, seed=4, out_dir=tmp_path, shard_size=50,
                                    progress=False)
        again = sharded_pair_labels(client, calq, 120, n_perturbed=80, seed=4, out_dir=tmp_path, shard_size=50,
                                    progress=False)
    assert first["workers"] == 2 and first["shards"] == 5 and first["computed_pairs"] == 200
    assert again["computed_pairs"] == 0
    merged = read_pair_labels(tmp_path / "labels.h5")
    assert len(merged) == 200 and (merged.kind[:120] == 0).all() and (merged.kind[120:] == 1).all()
    direct = [make_pair_labels(calq, s.n_random, s.n_perturbed, seed=s.seed, n_jobs=1)
              for s in plan_shards(120, 80, 50, seed=4)]
    assert np.array_equal(merged.emd, np.concatenate([d.emd for d in direct]))
    assert np.array_equal(merged.a, np.concatenate([d.a for d in direct]))
