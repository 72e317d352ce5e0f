"""Exact-EMD pair labels for training and evaluating the learned EMD (EMD-CNN), cached in HDF5.

Two kinds of pairs are drawn from a set of wafers:
- ``random``: two different wafers of the set (the scale of real differences, EMD of a few units);
- ``perturbed``: a wafer against a degraded copy of itself (the regime of an autoencoder's output):
  smeared charges, dropped cells, charge moved to a neighbouring TC, coarse requantisation, or a mix with
  another wafer, at a log-uniform strength, so the true EMD spans about 0.02 to 5.

Pairs are made from one wafer set; to keep evaluation wafers out of training pairs, split the wafers
first (``codesign.data.splits``) and make labels for each split separately.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from codesign.artifacts import atomic_path, provenance
from codesign.data.geometry import N_TC, ground_distance
from codesign.data.normalise import normalise
from codesign.emd.exact import distinct_pairs, exact_emd

KINDS = ("random", "perturbed")
PERTURBATIONS = ("smear", "drop", "move", "requantise", "mix")
_LABELS_VERSION = 1
_MIN_STRENGTH = 0.02


@dataclass(frozen=True)
class PairLabels:
    a: np.ndarray  # (n, 48) float32, unit sum
    b: np.ndarray  # (n, 48) float32, unit sum
    emd: np.ndarray  # (n,) float64 exact EMD
    kind: np.ndarray  # (n,) int8 index into KINDS
    idx_a: np.ndarray  # (n,) source wafer of a
    idx_b: np.ndarray  # (n,) source wafer of b (== idx_a for unmixed perturbations)

    def __len__(self) -> int:
        return len(self.emd)


def _neighbours() -> list[np.ndarray]:
    dist = ground_distance()
    return [np.flatnonzero((dist[i] > 0) & (dist[i] < 2.01)) for i in range(N_TC)]


def perturb(rng: np.random.Generator, wafers: np.ndarray, others: np.ndarray, *, mode: np.ndarray,
            strength: np.ndarray) -> np.ndarray:
    """Degrade unit-sum ``wafers`` (n, 48) and return unit-sum copies.

    ``mode`` (n,) indexes ``PERTURBATIONS``; ``strength`` (n,) in (0, 1] sets how hard; ``others`` (n, 48)
    are the partners mixed in by the ``mix`` mode.
    """
    strength = np.asarray(strength, dtype=np.float64)[:, None]
    out = wafers.copy()
    smear = mode == PERTURBATIONS.index("smear")
    out[smear] *= np.exp(3.0 * strength[smear] * rng.normal(size=(int(smear.sum()), N_TC)))
    drop = mode == PERTURBATIONS.index("drop")
    out[drop] *= rng.random((int(drop.sum()), N_TC)) >= strength[drop]
    move = np.flatnonzero(mode == PERTURBATIONS.index("move"))
    neighbours = _neighbours()
    for row in move:
        moved = np.zeros(N_TC)
        for tc in np.flatnonzero(out[row]):
            share = out[row, tc] * strength[row, 0]
            moved[tc] += out[row, tc] - share
            moved[rng.choice(neighbours[tc])] += share
        out[row] = moved
    quant = mode == PERTURBATIONS.index("requantise")
    levels = np.round(2.0 ** (1 + 7 * (1 - strength[quant])))  # 2..256 levels over [0, max]
    top = out[quant].max(axis=1, keepdims=True)
    out[quant] = np.floor(out[quant] / top * levels) / levels * top
    mix = mode == PERTURBATIONS.index("mix")
    out[mix] = (1 - strength[mix]) * out[mix] + strength[mix] * others[mix]
    # A perturbation that removed everything falls back to the original wafer's leading cell.
    empty = out.sum(axis=1) <= 0
    out[empty, np.argmax(wafers[empty], axis=1)] = 1.0
    return normalise(out, "perturbed wafers")


def make_pair_labels(calq: np.ndarray, n_random: int, n_perturbed: int, *, seed: int,
                     n_jobs: int | None = None, progress: bool = False) -> PairLabels:
    """Draw ``n_random`` random pairs and ``n_perturbed`` wafer-vs-degraded pairs and label them."""
    rng = np.random.default_rng(seed)
    unit = normalise(calq, "wafers")
    ia, ib = distinct_pairs(rng, len(unit), n_random)
    pa, partner = distinct_pairs(rng, len(unit), n_perturbed)
    mode = rng.integers(0, len(PERTURBATIONS), n_perturbed)
    strength = np.exp(rng.uniform(np.log(_MIN_STRENGTH), 0.0, n_perturbed))
    perturbed = perturb(rng, unit[pa], unit[partner], mode=mode, strength=strength)
    mixed = mode == PERTURBATIONS.index("mix")
    a = np.concatenate([unit[ia], unit[pa]])
    b = np.concatenate([unit[ib], perturbed])
    return PairLabels(
        a=a.astype(np.float32),
        b=b.astype(np.float32),
        emd=exact_emd(a, b, n_jobs=n_jobs, progress=progress),
        kind=np.repeat(np.arange(2, dtype=np.int8), [n_random, n_perturbed]),
        idx_a=np.concatenate([ia, pa]),
        idx_b=np.concatenate([ib, np.where(mixed, partner, pa)]),
    )


def cache_key(calq: np.ndarray, n_random: int, n_perturbed: int, *, seed: int) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(calq, dtype=np.int64).tobytes())
    digest.update(f"{n_random},{n_perturbed},{seed},v{_LABELS_VERSION}".encode())
    return digest.hexdigest()


def write_pair_labels(path: str | Path, labels: PairLabels, key: str = "", **meta: object) -> None:
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name in ("a", "b", "emd", "kind", "idx_a", "idx_b"):
            f.create_dataset(name, data=getattr(labels, name), compression="gzip")
        f.attrs["kinds"] = ",".join(KINDS)
        f.attrs["key"] = key
        for k, v in provenance(**meta).items():
            f.attrs[k] = str(v)


def read_pair_labels(path: str | Path) -> PairLabels:
    with h5py.File(path, "r") as f:
        return PairLabels(**{name: f[name][...] for name in ("a", "b", "emd", "kind", "idx_a", "idx_b")})


def cached_pair_labels(path: str | Path, calq: np.ndarray, n_random: int, *, n_perturbed: int, seed: int,
                       n_jobs: int | None = None, progress: bool = False) -> PairLabels:
    """Labels for these wafers and settings, read from ``path`` if it already holds them, else computed
    and written there (a file made from other wafers or settings is recomputed and replaced)."""
    path = Path(path)
    key = cache_key(calq, n_random, n_perturbed, seed=seed)
    if path.is_file():
        with h5py.File(path, "r") as f:
            hit = f.attrs.get("key") == key
        if hit:
            return read_pair_labels(path)
    labels = make_pair_labels(calq, n_random, n_perturbed, seed=seed, n_jobs=n_jobs, progress=progress)
    write_pair_labels(path, labels, key=key, seed=seed, n_random=n_random, n_perturbed=n_perturbed)
    return labels
