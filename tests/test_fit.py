"""Resumable fitting: a run killed while Keras writes its backup still resumes (or starts over) cleanly."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.nn.fit import BACKUP_FILES, PREVIOUS_SUFFIX, fit_resumable

keras = pytest.importorskip("keras")


class _Stop(Exception):
    pass


class _StopAfter(keras.callbacks.Callback):
    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.epochs:
            raise _Stop


def _model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), loss="mse")
    return model


def _data():
    x = np.random.default_rng(0).random((64, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _fit(out, epochs, stop_after=None):
    x, y = _data()
    model = _model()
    if stop_after:  # an interrupted run: the callback list of fit_resumable plus one that stops it
        real_fit = model.fit
        model.fit = lambda *a, callbacks, **k: real_fit(*a, callbacks=[*callbacks, _StopAfter(stop_after)], **k)
    return fit_resumable(model, x, y, validation_data=(x, y), out_dir=out, epochs=epochs, batch_size=16, patience=50,
                         progress=False)


def test_a_half_written_backup_falls_back_to_the_previous_epoch(tmp_path):
    with pytest.raises(_Stop):
        _fit(tmp_path, epochs=6, stop_after=3)
    backup = tmp_path / "backup"
    assert (backup / f"{BACKUP_FILES[0]}{PREVIOUS_SUFFIX}").is_file()
    (backup / BACKUP_FILES[0]).write_bytes(b"\x89HDF\r\n half written")  # killed while saving epoch 3
    history = _fit(tmp_path, epochs=6)
    assert len(history["loss"]) == 6  # epochs 0-1 kept, epoch 2 redone from its predecessor's state, 3-5 run


def test_a_kill_during_the_first_save_starts_over(tmp_path):
    with pytest.raises(_Stop):
        _fit(tmp_path, epochs=4, stop_after=1)
    backup = tmp_path / "backup"
    (backup / BACKUP_FILES[0]).write_bytes(b"")
    (backup / BACKUP_FILES[1]).unlink()
    history = _fit(tmp_path, epochs=4)
    assert len(history["loss"]) == 4 and not backup.exists()
