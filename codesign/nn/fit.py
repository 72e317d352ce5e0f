"""One resumable Keras fit for every trained model (learned EMD, autoencoder).

Early stopping with the best weights restored, learning-rate halving on plateaus, and resumption: the
state after every epoch is kept in ``OUT/backup`` (Keras BackupAndRestore) and every epoch is appended to
``OUT/history.csv``, so rerunning an interrupted command continues where it stopped and the returned
history covers all epochs of both runs. Keras writes the backup in place, so a run killed while saving
leaves a half-written file: the previous epoch's copy (``double_checkpoint``) is then used instead, or, when
the kill hit the very first save, the fit starts over.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

from codesign.errors import VerificationError
from codesign.progress import Level, level


class TrainingFailed(VerificationError):
    """Training cannot produce a usable model (e.g. every latent is the same on every wafer)."""


def stream_batches(stream: Any) -> Any:
    """A ``keras.utils.PyDataset`` over a ``codesign.data.stream.WaferStream`` whose transform gives
    ``(x, y)`` batches: Keras asks for batches 0, 1, 2... of an epoch, which the stream yields in order."""
    import keras

    class StreamBatches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch, self._iter, self._next = 0, None, 0

        def __len__(self) -> int:
            return len(stream)

        @property
        def n_wafers(self) -> int:
            return stream.n_wafers

        def __getitem__(self, index: int) -> Any:
            batches = self._iter
            if batches is None or index != self._next:  # out of order: restart the epoch and skip ahead
                batches = self._iter = stream.batches(self.epoch)
                for _ in range(index):
                    next(batches)
            self._next = index + 1
            return next(batches)

        def on_epoch_end(self) -> None:
            self.epoch, self._iter = self.epoch + 1, None

    return StreamBatches()


BACKUP_FILES = ("latest.weights.h5", "training_metadata.json")  # what keras.callbacks.BackupAndRestore writes
PREVIOUS_SUFFIX = ".bkp"  # its double_checkpoint copy of the epoch before


def _backup_epoch(backup: Path, suffix: str = "") -> int | None:
    """The epoch a backup resumes at, or None when its weights or metadata are missing or half-written."""
    import h5py

    weights, metadata = (backup / f"{name}{suffix}" for name in BACKUP_FILES)
    try:
        with h5py.File(weights, "r"):
            pass
        return int(json.loads(metadata.read_text())["epoch"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def repair_backup(backup: Path, log: Path) -> None:
    """Make an interrupted run's backup loadable: fall back to the previous epoch's copy when the latest is
    broken (and drop log rows beyond it), or remove it when there is nothing to resume from (the caller then
    starts a fresh fit)."""
    if not backup.exists() or _backup_epoch(backup) is not None:
        return
    epoch = _backup_epoch(backup, PREVIOUS_SUFFIX)
    if epoch is None:
        shutil.rmtree(backup)
        return
    for name in BACKUP_FILES:
        shutil.copyfile(backup / f"{name}{PREVIOUS_SUFFIX}", backup / name)
    if log.is_file():
        lines = log.read_text().splitlines(keepends=True)
        log.write_text("".join(lines[: epoch + 1]))  # header + one row per finished epoch


def fit_resumable(model: Any, x: Any, y: Any, *, validation_data: tuple[Any, Any], out_dir: str | Path, epochs: int,
                  batch_size: int, patience: int, progress: bool = True) -> dict[str, list[float]]:
    """Fit on arrays ``x, y`` or on a ``keras.utils.PyDataset`` ``x`` (``y`` None, it makes its own batches).
    ``progress``: a bar per epoch (else one line per epoch); nothing with ``--quiet``."""
    import keras

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    backup, log = out / "backup", out / "history.csv"
    repair_backup(backup, log)
    if not backup.exists():  # a fresh run: forget the curves of an earlier, finished one
        log.unlink(missing_ok=True)
    batched = isinstance(x, keras.utils.PyDataset)
    model.fit(x, y, validation_data=validation_data, epochs=epochs, batch_size=None if batched else batch_size,
              shuffle=not batched,
              verbose=0 if level() == Level.QUIET else 1 if progress else 2, callbacks=[
                  keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True),
                  keras.callbacks.CSVLogger(str(log), append=True),
                  keras.callbacks.ReduceLROnPlateau(patience=max(patience // 3, 1), factor=0.5),
                  keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)])
    shutil.rmtree(backup, ignore_errors=True)
    with log.open() as handle:
        rows = list(csv.DictReader(handle))
    return {key: [float(row[key]) for row in rows] for key in rows[0]} if rows else {}
