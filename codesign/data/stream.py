"""Out-of-memory training data: a wafer store in HDF5 read in a seeded, chunk-aware shuffled order.

The store is the framework's HDF5 wafer format (dataset ``calq``, (n, 48) int32, chunks of ``CHUNK_ROWS``
rows), written batch by batch so it can be larger than memory. ``WaferStream`` never holds more than a
window of chunks: for each epoch it pre-computes a global shuffled index (chunks in a seeded random order,
grouped into windows of ``window_chunks``; the rows of each window permuted together), reads every window
with whole-chunk reads in a background thread while the previous one is consumed, and yields batches in
that index order. The same seed and epoch give the same batches.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from codesign.artifacts import atomic_path
from codesign.data.geometry import N_TC
from codesign.data.io import CALQ_COLUMNS, HDF5_DATASET, WaferFileError
from codesign.progress import bar as progress_bar

CHUNK_ROWS = 4096


def write_wafer_store(path: str | Path, batches: Iterable[np.ndarray], compression: str | None = "lzf",
                      *, progress: bool = False, total: int | None = None) -> int:
    """Append (n, 48) CALQ batches to a new HDF5 store at ``path`` (atomically); returns the wafer count.
    ``lzf`` compresses about as well as gzip here at a fraction of the read cost."""
    n = 0
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f, \
            progress_bar(total or 0, "wafer store", "wafer", shown=progress) as bar:
        dset = f.create_dataset(HDF5_DATASET, shape=(0, N_TC), maxshape=(None, N_TC), dtype=np.int32,
                                chunks=(CHUNK_ROWS, N_TC), compression=compression)
        dset.attrs["columns"] = ",".join(CALQ_COLUMNS)
        dset.attrs["units"] = "CALQ counts (35 counts = 1 MIP_T)"
        for batch in batches:
            batch = np.asarray(batch)
            if batch.ndim != 2 or batch.shape[1] != N_TC:
                raise ValueError(f"{path}: batch of shape {batch.shape}, expected (n, {N_TC})")
            dset.resize(n + len(batch), axis=0)
            dset[n:] = batch
            n += len(batch)
            bar.update(len(batch))
    return n


def synthetic_batches(cfg: Any, n: int, seed: int, *, batch: int = 100_000) -> Iterator[np.ndarray]:
    """``n`` synthetic wafers (a ``SynthConfig``) in batches, batch ``i`` seeded from ``(seed, i)``: a store of
    any size is made in bounded memory, and the same seed gives the same store."""
    from codesign.data.synth import generate_wafers

    for i, start in enumerate(range(0, n, batch)):
        state = int(np.random.SeedSequence([seed, i]).generate_state(1)[0])
        yield generate_wafers(cfg, min(batch, n - start), state)


class WaferStream:
    """Batches of a wafer store, shuffled chunk-aware; ``transform(calq) -> anything`` runs in the reader
    thread (e.g. the on-chip conversion and image arrangement), off the training loop."""

    def __init__(self, path: str | Path, batch_size: int, seed: int = 0, window_chunks: int = 16,
                 transform: Callable[[np.ndarray], Any] | None = None, prefetch: int = 2) -> None:
        self.path, self.batch_size, self.seed = Path(path), batch_size, seed
        self.window_chunks, self.transform, self.prefetch = window_chunks, transform, prefetch
        try:
            with h5py.File(self.path, "r") as f:
                dset = f[HDF5_DATASET]
                self.n_wafers, self.chunk_rows = dset.shape[0], (dset.chunks or (CHUNK_ROWS,))[0]
        except (OSError, KeyError) as err:
            raise WaferFileError(f"{self.path}: not a wafer store with a {HDF5_DATASET!r} dataset ({err})") from err
        if self.n_wafers == 0:
            raise WaferFileError(f"{self.path}: the store holds no wafers")

    def __len__(self) -> int:
        return -(-self.n_wafers // self.batch_size)

    def epoch_index(self, epoch: int) -> list[np.ndarray]:
        """The shuffled global index of ``epoch`` as one array of row numbers per window."""
        rng = np.random.default_rng([self.seed, epoch])
        n_chunks = -(-self.n_wafers // self.chunk_rows)
        order = rng.permutation(n_chunks)
        windows = []
        for w in range(0, n_chunks, self.window_chunks):
            rows = np.concatenate([np.arange(c * self.chunk_rows, min((c + 1) * self.chunk_rows, self.n_wafers))
                                   for c in order[w:w + self.window_chunks]])
            windows.append(rng.permutation(rows))
        return windows

    def _read_window(self, dset: h5py.Dataset, rows: np.ndarray) -> np.ndarray:
        """The wafers of ``rows`` (in that order), read as whole contiguous chunks."""
        chunks = np.unique(rows // self.chunk_rows)
        blocks = [dset[c * self.chunk_rows:(c + 1) * self.chunk_rows] for c in chunks]
        starts = np.concatenate([[0], np.cumsum([len(b) for b in blocks])[:-1]])
        offset = dict(zip(chunks.tolist(), starts.tolist(), strict=True))
        local = np.array([offset[c] for c in (rows // self.chunk_rows).tolist()]) + rows % self.chunk_rows
        return np.concatenate(blocks)[local]

    def _produce(self, epoch: int, out: queue.Queue[Any], stop: threading.Event) -> None:
        try:
            with h5py.File(self.path, "r") as f:
                dset = f[HDF5_DATASET]
                carry = np.empty((0, N_TC), dtype=np.int32)
                for rows in self.epoch_index(epoch):
                    wafers = np.concatenate([carry, self._read_window(dset, rows)])
                    full = len(wafers) - len(wafers) % self.batch_size
                    for i in range(0, full, self.batch_size):
                        if stop.is_set():
                            return
                        batch = wafers[i:i + self.batch_size]
                        out.put(self.transform(batch) if self.transform else batch)
                    carry = wafers[full:]
                if len(carry):
                    out.put(self.transform(carry) if self.transform else carry)
            out.put(None)
        except BaseException as err:  # handed to the consumer, raised there
            out.put(err)

    def batches(self, epoch: int = 0) -> Iterator[Any]:
        """The batches of one epoch; the reader runs ahead by ``prefetch`` windows' worth of batches."""
        per_window = max(1, self.window_chunks * self.chunk_rows // self.batch_size)
        out: queue.Queue[Any] = queue.Queue(maxsize=self.prefetch * per_window)
        stop = threading.Event()
        reader = threading.Thread(target=self._produce, args=(epoch, out, stop), daemon=True)
        reader.start()
        try:
            while (item := out.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            stop.set()
            while reader.is_alive():  # unblock a reader waiting on a full queue
                try:
                    out.get_nowait()
                except queue.Empty:
                    reader.join(0.05)
