"""Exact EMD between wafers: optimal transport between unit-sum TC distributions (POT ``emd2``).

The ground distance is the Euclidean distance between TC centres in units of half a TC pitch (the ECON-T
convention; neighbours are 2.0 apart). Pairs are solved on their supports only (TCs with charge), which
is exact (zero-mass rows and columns carry no flow) and much faster on sparse wafers. Batches are spread
over processes in chunks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

# POT probes every array backend it can import; TensorFlow alone costs seconds and log noise per worker.
os.environ.setdefault("POT_BACKEND_DISABLE_TENSORFLOW", "1")
import ot  # noqa: E402

from codesign.artifacts import atomic_path  # noqa: E402
from codesign.data.geometry import N_TC, ground_distance  # noqa: E402
from codesign.data.io import WaferFileError, iter_wafers  # noqa: E402
from codesign.data.normalise import ZeroSumError, normalise  # noqa: E402
from codesign.progress import bar as progress_bar  # noqa: E402

PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h)
_CHUNK = 512


def _on_supports(p: np.ndarray, q: np.ndarray, dist: np.ndarray) -> tuple[np.ndarray, ...]:
    """(p, q, ground distance) restricted to the TCs with charge, and q's support indices."""
    sp, sq = np.flatnonzero(p), np.flatnonzero(q)
    return p[sp], q[sq], dist[np.ix_(sp, sq)], sq


def _emd_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """EMD of each row pair of two unit-sum (n, 48) float64 arrays, in this process."""
    dist = ground_distance()
    out = np.empty(len(a))
    for i, (p, q) in enumerate(zip(a, b, strict=True)):
        p, q, d, _ = _on_supports(p, q, dist)
        out[i] = ot.emd2(p, q, d, numItermax=1_000_000)
    return out


def exact_emd_with_gradient(a: np.ndarray, b: np.ndarray, n_jobs: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """EMD between row i of ``a`` and row i of ``b`` and its gradient with respect to ``b``: the dual
    potential of each pair on ``b``'s charged TCs, centred (the gradient is defined up to a constant, which
    cancels for unit-sum ``b``), zero elsewhere. Same checks as ``exact_emd``; ``n_jobs`` worker processes
    (1: this one) give the same bits, each pair being solved alone."""
    a, b = _check_pairs(a, b)
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    chunks = _chunked(a, b, max(16, len(a) // n_jobs + 1))
    if n_jobs == 1 or len(chunks) == 1:
        return _emd_rows_with_gradient(a, b)
    with _worker_pool(n_jobs) as pool:
        parts = list(pool.map(_emd_rows_with_gradient, *zip(*chunks, strict=True)))
    return np.concatenate([c for c, _ in parts]), np.concatenate([g for _, g in parts])


def _emd_rows_with_gradient(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exact_emd_with_gradient`` of checked, unit-sum rows, in this process."""
    dist = ground_distance()
    cost, grad = np.empty(len(a)), np.zeros(b.shape)
    for i, (p, q) in enumerate(zip(a, b, strict=True)):
        p, q, d, support = _on_supports(p, q, dist)
        _, log = ot.emd(p, q, d, numItermax=1_000_000, log=True)
        cost[i] = log["cost"]
        grad[i, support] = log["v"] - log["v"].mean()
    return cost, grad


def _worker_pool(n_jobs: int) -> ProcessPoolExecutor:
    """Processes for pairs of wafers, gone with this one. Fork starts them in milliseconds; they run only
    numpy and POT, never TensorFlow, so forking a parent that has imported TensorFlow (and its threads) is safe."""
    return ProcessPoolExecutor(max_workers=n_jobs, mp_context=multiprocessing.get_context("fork"),
                               initializer=die_with_parent, initargs=(os.getpid(),))


def _chunked(a: np.ndarray, b: np.ndarray, chunk: int) -> list[tuple[np.ndarray, np.ndarray]]:
    return [(a[s : s + chunk], b[s : s + chunk]) for s in range(0, len(a), chunk)]


def _check_pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.atleast_2d(np.asarray(a)), np.atleast_2d(np.asarray(b))
    for name, x in (("a", a), ("b", b)):
        if x.ndim != 2 or x.shape[1] != N_TC:
            raise ValueError(f"{name}: expected wafers of shape (n, {N_TC}), got {x.shape}")
    if len(a) != len(b):
        raise ValueError(f"a and b must hold the same number of wafers, got {len(a)} and {len(b)}")
    return normalise(a, "a"), normalise(b, "b")


def exact_emd(a: np.ndarray, b: np.ndarray, n_jobs: int | None = None, *, progress: bool = False) -> np.ndarray:
    """EMD between row i of ``a`` and row i of ``b`` for every i.

    Parameters
    ----------
    a, b : (n, 48) arrays of non-negative charges (any scale: each row is normalised to unit sum).
    n_jobs : worker processes; None uses every core, 1 stays in this process.
    progress : show a progress bar over chunks of pairs.

    Raises ``ZeroSumError`` naming the first wafer (``a`` or ``b``, row index) that sums to zero.
    """
    a, b = _check_pairs(a, b)
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else n_jobs
    if n_jobs < 1:
        raise ValueError(f"n_jobs must be at least 1, got {n_jobs}")
    chunks = _chunked(a, b, _CHUNK if n_jobs == 1 else max(16, min(_CHUNK, len(a) // (4 * n_jobs) + 1)))
    bar = progress_bar(len(a), "exact EMD", "pair", shown=progress)
    results = []
    with bar:
        if n_jobs == 1 or len(chunks) == 1:
            for ca, cb in chunks:
                results.append(_emd_rows(ca, cb))
                bar.update(len(ca))
        else:
            with _worker_pool(n_jobs) as pool:
                for res in pool.map(_emd_rows, *zip(*chunks, strict=True)):
                    results.append(res)
                    bar.update(len(res))
    return np.concatenate(results) if results else np.empty(0)


@dataclass(frozen=True)
class EmdColumn:
    """What ``exact_emd_files`` wrote: ``n`` EMDs (header ``emd``, one per line) with this mean."""

    path: str
    n: int
    mean: float


def exact_emd_files(a_path: str | Path, b_path: str | Path, out_path: str | Path, *, n_jobs: int | None = None,
                    progress: bool = False, chunk_rows: int = 20_000) -> EmdColumn:
    """Row i of wafer file A against row i of B, streamed ``chunk_rows`` at a time into ``out_path`` (written
    atomically): memory stays that of one chunk whatever the files' size."""
    total, count = 0.0, 0
    bar = progress_bar(0, "exact EMD", "pair", shown=progress)
    with atomic_path(out_path) as tmp, tmp.open("w") as out, bar:
        out.write("emd\n")
        chunks_b = iter_wafers(b_path, chunk_rows)
        for a in iter_wafers(a_path, chunk_rows):
            b = next(chunks_b, np.empty((0, N_TC), dtype=np.int64))
            if len(b) != len(a):
                raise WaferFileError(f"{b_path} holds {count + len(b)} wafers where {a_path} holds at least "
                                     f"{count + len(a)}: row i of A is compared with row i of B")
            for path, wafers in ((a_path, a), (b_path, b)):
                zero = np.flatnonzero(~wafers.any(axis=1))
                if zero.size:
                    raise ZeroSumError(f"{path}: wafer {count + zero[0]} (0-based) has no charge ({zero.size} in "
                                       "its chunk): drop such rows from both files first")
            emd = exact_emd(a, b, n_jobs=n_jobs)
            np.savetxt(out, emd, fmt="%.6f")
            total, count = total + float(emd.sum()), count + len(emd)
            bar.update(len(emd))
        extra = sum(len(b) for b in chunks_b)
        if extra:
            raise WaferFileError(f"{b_path} holds {count + extra} wafers, {a_path} {count}: row i of A is compared "
                                 "with row i of B")
    return EmdColumn(str(out_path), count, total / count if count else float("nan"))


def die_with_parent(parent_pid: int) -> None:
    """Pool worker initializer: end this worker when the process that started it dies, even by SIGKILL
    (a worker left running held ~550 MB for ever). Linux delivers SIGTERM on the parent's death
    (``PR_SET_PDEATHSIG``); elsewhere a daemon thread polls the parent id once a second."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent_pid:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def distinct_pairs(rng: np.random.Generator, n_wafers: int, n_pairs: int) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` random index pairs (i, j) into ``n_wafers`` wafers with i != j in every pair."""
    if n_wafers < 2:
        raise ValueError("need at least two wafers to draw pairs")
    first = rng.integers(0, n_wafers, n_pairs)
    return first, (first + rng.integers(1, n_wafers, n_pairs)) % n_wafers


def reference_emds(calq: np.ndarray, n_pairs: int, seed: int, *, n_jobs: int | None = None) -> dict[str, np.ndarray]:
    """The two scales a compressor is judged against: EMD of random pairs of distinct wafers and EMD of
    each wafer against a uniform wafer (``n_pairs`` of each, drawn with ``seed``)."""
    ia, ib = distinct_pairs(np.random.default_rng(seed), len(calq), n_pairs)
    return {
        "random_pairs": exact_emd(calq[ia], calq[ib], n_jobs=n_jobs),
        "vs_uniform": exact_emd(calq[ia], np.ones((n_pairs, N_TC)), n_jobs=n_jobs),
    }
