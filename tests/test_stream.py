"""Out-of-memory wafer store: batch-wise writing, chunk-aware shuffled streaming, streamed training."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from codesign.data.io import WaferFileError, read_calq
from codesign.data.stream import WaferStream, synthetic_batches, write_wafer_store
from codesign.data.synth import load_synth_config


def _numbered_store(path, n: int) -> None:
    """Wafer i carries i in its first cell, so the stream's order can be read back."""
    rows = np.ones((n, 48), dtype=np.int64)
    rows[:, 0] = np.arange(n)
    write_wafer_store(path, (rows[i:i + 1000] for i in range(0, n, 1000)))


def test_store_is_written_in_batches_and_reproducible(tmp_path):
    cfg = load_synth_config("highpu")
    write_wafer_store(tmp_path / "a.h5", synthetic_batches(cfg, 2500, seed=3, batch=1000))
    write_wafer_store(tmp_path / "b.h5", synthetic_batches(cfg, 2500, seed=3, batch=1000))
    a = read_calq(tmp_path / "a.h5")
    assert a.shape == (2500, 48) and (a.sum(axis=1) > 0).all()
    assert np.array_equal(a, read_calq(tmp_path / "b.h5"))
    with h5py.File(tmp_path / "a.h5") as f:
        assert f["calq"].chunks == (4096, 48)


def test_every_wafer_once_per_epoch_in_the_precomputed_order(tmp_path):
    _numbered_store(tmp_path / "n.h5", 20_000)
    stream = WaferStream(tmp_path / "n.h5", batch_size=300, seed=1, window_chunks=2)
    assert len(stream) == 67
    batches = list(stream.batches(epoch=0))
    seen = np.concatenate([b[:, 0] for b in batches])
    index = np.concatenate(stream.epoch_index(0))
    assert np.array_equal(seen, index)  # batches follow the global index exactly, across window borders
    assert np.array_equal(np.sort(seen), np.arange(20_000))
    assert [len(b) for b in batches[:-1]] == [300] * 66 and len(batches[-1]) == 20_000 - 66 * 300
    # chunk-aware: a window spans at most window_chunks chunks of the file
    assert all(len(np.unique(w // stream.chunk_rows)) <= 2 for w in stream.epoch_index(0))
    again = np.concatenate([b[:, 0] for b in WaferStream(tmp_path / "n.h5", 300, seed=1, window_chunks=2).batches(0)])
    assert np.array_equal(seen, again)
    assert not np.array_equal(seen, np.concatenate(stream.epoch_index(1)))
    assert not np.array_equal(seen[:4096], np.sort(seen[:4096]))  # rows are mixed inside a window


def test_transform_runs_in_the_reader_and_early_stop_is_clean(tmp_path):
    _numbered_store(tmp_path / "n.h5", 5000)
    stream = WaferStream(tmp_path / "n.h5", batch_size=100, transform=lambda c: (c[:, 0] * 2, None))
    first = next(iter(stream.batches(0)))
    assert first[0].shape == (100,) and (first[0] % 2 == 0).all()
    for i, _ in enumerate(stream.batches(0)):  # leaving the loop early stops the reader thread
        if i == 3:
            break


def test_bad_store_is_named(tmp_path):
    with h5py.File(tmp_path / "x.h5", "w") as f:
        f["other"] = np.zeros(3)
    with pytest.raises(WaferFileError, match="x.h5: not a wafer store"):
        WaferStream(tmp_path / "x.h5", 10)


@pytest.mark.slow
def test_training_streams_the_store(tmp_path):
    from codesign.training import load_ae_spec, train_autoencoder

    cfg = load_synth_config("highpu")
    write_wafer_store(tmp_path / "s.h5", synthetic_batches(cfg, 3000, seed=0, batch=1000))
    spec = load_ae_spec("models/econt_demo.yaml")
    spec = dataclasses.replace(spec, training=dataclasses.replace(
        spec.training, n_synth_wafers=600, epochs=2, stream_store=str(tmp_path / "s.h5")))
    train_autoencoder(spec, tmp_path / "model", progress=False)
    meta = (tmp_path / "model" / "metadata.json").read_text()
    assert '"n_train": 3000' in meta
