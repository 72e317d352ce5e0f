"""Out-of-memory training data: samples/s of the streamed HDF5 wafer store vs the same store loaded into
memory, and vs the rate the autoencoder's training step consumes samples, measured in one run.

    python benchmarks/wafer_stream.py [--n 2000000] [--store out/bench/store.h5]

Both loaders deliver training-ready batches (on-chip conversion, 8x8 images, unit-sum targets); the
in-memory one gathers shuffled rows from a numpy array, the stream reads chunk windows in a thread.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import h5py
import numpy as np

from codesign.data.io import HDF5_DATASET
from codesign.data.stream import WaferStream, synthetic_batches, write_wafer_store
from codesign.data.synth import load_synth_config
from codesign.training import load_ae_spec, model_arrays

SPEC = "models/econt_sweep_base.yaml"


def _store(path: Path, n: int) -> float:
    if path.is_file():
        with h5py.File(path, "r") as f:
            if f[HDF5_DATASET].shape[0] == n:
                return 0.0
    t0 = time.perf_counter()
    write_wafer_store(path, synthetic_batches(load_synth_config("highpu"), n, seed=0), progress=True, total=n)
    return time.perf_counter() - t0


def _rate(batches, limit: int) -> tuple[float, int]:
    t0, n = time.perf_counter(), 0
    for x, _ in batches:
        n += len(x)
        if n >= limit:
            break
    return n / (time.perf_counter() - t0), n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2_000_000, help="wafers in the store")
    parser.add_argument("--store", default="out/bench/store_2M.h5")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--samples", type=int, default=500_000, help="samples timed per loader")
    args = parser.parse_args()
    spec = load_ae_spec(SPEC)
    store = Path(args.store)
    made = _store(store, args.n)
    size_mb = store.stat().st_size / 1e6
    print(f"store: {args.n} wafers, {size_mb:.0f} MB on disk ({48 * 4 * args.n / 1e6:.0f} MB as int32), "
          f"written in {made:.0f} s" if made else f"store: {args.n} wafers, {size_mb:.0f} MB (reused)")

    def transform(calq):
        return model_arrays(spec, calq)

    stream = WaferStream(store, args.batch, seed=0, transform=transform)
    stream_rate, n_stream = _rate(stream.batches(0), args.samples)

    t0 = time.perf_counter()
    with h5py.File(store, "r") as f:
        calq = f[HDF5_DATASET][...]
    load_s = time.perf_counter() - t0
    order = np.random.default_rng(0).permutation(len(calq))
    memory_rate, _ = _rate((transform(calq[order[i:i + args.batch]]) for i in range(0, len(order), args.batch)),
                           args.samples)
    del calq

    import keras

    from codesign.models.autoencoder import build_autoencoder
    from codesign.models.losses import combined_loss
    from codesign.training import PROJECT_ROOT

    ae, _, _ = build_autoencoder(spec, 0)
    ae.compile(keras.optimizers.Adam(1e-3), loss=combined_loss(spec.loss, None, PROJECT_ROOT))
    x, y = next(iter(stream.batches(1)))
    for _ in range(5):
        ae.train_on_batch(x, y)
    steps, t0 = 100, time.perf_counter()
    for _ in range(steps):
        ae.train_on_batch(x, y)
    train_rate = steps * len(x) / (time.perf_counter() - t0)

    print(f"in memory: load {load_s:.1f} s, then {memory_rate:,.0f} samples/s (shuffled gather + transform)")
    print(f"streamed:  {stream_rate:,.0f} samples/s over {n_stream:,} samples "
          f"({stream_rate / memory_rate:.2f}x in-memory), no load step, memory: one window of chunks")
    print(f"training step ({SPEC}, batch {args.batch}): {train_rate:,.0f} samples/s -> the stream delivers "
          f"{stream_rate / train_rate:.1f}x what training consumes")


if __name__ == "__main__":
    main()
