"""Reading and writing wafer files: the ECON-T CALQ CSV and its HDF5 equivalent.

A wafer file holds one row per silicon module per bunch crossing and 48 non-negative integer trigger-cell
charges (CALQ). CSV files have the header ``CALQ_0,...,CALQ_47`` or no header at all; HDF5 files hold a
dataset ``calq`` of shape (n, 48). A charge is a CALQ word: an integer in [0, 2^22 - 1]. CSV is UTF-8 (a
byte-order mark is accepted). Bad input raises ``WaferFileError`` naming the file, the line and the column;
an empty file is an error. All-zero wafers carry no shape information and cannot be normalised:
``load_wafers`` drops them and reports how many.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from codesign.artifacts import atomic_path
from codesign.data.geometry import N_TC
from codesign.errors import InputError
from codesign.paths import SHARED_DATA_DIR

# The real high-pileup development sample: default held-out evaluation and hardware-verification set.
REFERENCE_FILE = "highpu_dev.csv"
CALQ_COLUMNS = tuple(f"CALQ_{i}" for i in range(N_TC))
HDF5_DATASET = "calq"
HDF5_SUFFIXES = (".h5", ".hdf5")
CALQ_BITS = 22  # the CALQ word of the chip
CALQ_MAX = (1 << CALQ_BITS) - 1
GZIP_MAGIC = b"\x1f\x8b"
CSV_CHUNK_ROWS = 16384  # rows parsed at once: ~40 MB of strings, whatever the file's size


class WaferFileError(InputError):
    """A wafer file is missing, empty or malformed; the message names the file, line and column."""


@dataclass(frozen=True)
class WaferSet:
    """Wafers read from one file: ``calq`` is (n, 48) int64; all-zero rows already removed."""

    calq: np.ndarray
    n_dropped_zero: int
    source: str

    def __len__(self) -> int:
        return len(self.calq)


def is_hdf5(path: str | Path) -> bool:
    return Path(path).suffix.lower() in HDF5_SUFFIXES


def load_wafers(path: str | Path, drop_zero: bool = True) -> WaferSet:
    """Read a CSV or HDF5 wafer file, validate it and (by default) drop all-zero wafers. A CSV is parsed in
    chunks of ``CSV_CHUNK_ROWS`` into one preallocated array: memory is the int64 result plus one chunk."""
    path = _existing_file(path)
    if is_hdf5(path):
        calq = _read_hdf5(path)
        keep = calq.any(axis=1) if drop_zero else np.ones(len(calq), dtype=bool)
        calq, dropped = (calq, 0) if keep.all() else (calq[keep], int(np.count_nonzero(~keep)))
    else:
        calq, dropped = _read_csv(path, drop_zero)
    if drop_zero and not len(calq):
        raise WaferFileError(f"{path}: all {dropped} wafers are all-zero: no charge to normalise or compare")
    return WaferSet(calq, dropped, str(path))


def read_calq(path: str | Path) -> np.ndarray:
    """The (n, 48) CALQ array of a wafer file with all-zero wafers dropped."""
    return load_wafers(path).calq


def iter_wafers(path: str | Path, chunk_rows: int = CSV_CHUNK_ROWS) -> Iterator[np.ndarray]:
    """Every row of a wafer file (all-zero ones too), validated, as (k, 48) int64 chunks in file order: for
    row-wise work on files larger than memory (``emd exact``)."""
    path = _existing_file(path)
    yield from _hdf5_chunks(path, chunk_rows) if is_hdf5(path) else _csv_chunks(path, chunk_rows)


def count_wafers(path: str | Path, chunk_rows: int = CSV_CHUNK_ROWS) -> int:
    """Wafers with charge in a file (what ``read_calq`` would return), counted chunk by chunk."""
    return sum(int(np.count_nonzero(chunk.any(axis=1))) for chunk in iter_wafers(path, chunk_rows))


def read_wafer_rows(path: str | Path, rows: np.ndarray, chunk_rows: int = CSV_CHUNK_ROWS) -> np.ndarray:
    """``read_calq(path)[rows]`` for sorted ``rows``, read chunk by chunk: memory is the rows kept (a test
    split of a file larger than memory)."""
    rows = np.asarray(rows)
    kept, start = [], 0
    for chunk in iter_wafers(path, chunk_rows):
        chunk = chunk[chunk.any(axis=1)]
        lo, hi = np.searchsorted(rows, [start, start + len(chunk)])
        kept.append(chunk[rows[lo:hi] - start])
        start += len(chunk)
    if len(rows) and rows[-1] >= start:
        raise IndexError(f"{path}: row {rows[-1]} asked, the file holds {start} wafers with charge")
    return np.concatenate(kept) if kept else np.empty((0, N_TC), dtype=np.int64)


def _existing_file(path: str | Path) -> Path:
    path = Path(path)
    if path.is_dir():
        raise WaferFileError(f"{path}: is a folder, expected a wafer file (.csv, .h5)")
    if not path.is_file():
        why = "not a regular file (a device or pipe), expected a wafer file (.csv, .h5)" if path.exists() \
            else "no such file"
        raise WaferFileError(f"{path}: {why}")
    return path


def _csv_chunks(path: Path, chunk_rows: int = CSV_CHUNK_ROWS) -> Iterator[np.ndarray]:
    """Validated int64 CALQ per chunk of non-blank rows of a CSV wafer file (errors name the file's line)."""
    with path.open("rb") as handle:
        if handle.read(len(GZIP_MAGIC)) == GZIP_MAGIC:
            raise WaferFileError(f"{path}: gzip-compressed; decompress it first (gunzip), wafer files are plain CSV")
    reader = None
    n_rows, header = 0, False
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            lines: list[int] = []
            cells: list[list[str]] = []
            for row in reader:
                if reader.line_num == 1 and row and not _is_number(row[0]):
                    _check_header(path, row)
                    header = True
                    continue
                if not row:  # blank lines (e.g. a trailing newline pair) are not wafers
                    continue
                if len(row) != N_TC:
                    raise WaferFileError(f"{path}, line {reader.line_num}: expected {N_TC} columns, found {len(row)}")
                lines.append(reader.line_num)
                cells.append(row)
                if len(cells) == chunk_rows:
                    n_rows += len(cells)
                    yield _parsed(path, lines, cells)
                    lines, cells = [], []
            if cells:
                n_rows += len(cells)
                yield _parsed(path, lines, cells)
    except UnicodeDecodeError as err:
        bad = err.object[err.start:err.start + 1]
        raise WaferFileError(f"{path}: not a UTF-8 text file (byte {err.start}: {bad!r}); wafer files are UTF-8 "
                             "CSV") from None
    except csv.Error as err:
        line = reader.line_num if reader is not None else "?"
        raise WaferFileError(f"{path}, line {line}: unreadable CSV ({err})") from None
    if not n_rows:
        empty = path.stat().st_size == 0
        raise WaferFileError(f"{path}: empty file (expected a CALQ_0..CALQ_47 header or 48 columns)" if empty else
                             f"{path}: file has a header but no wafers" if header else
                             f"{path}: no wafers (only blank lines)")


def _parsed(path: Path, lines: list[int], cells: list[list[str]]) -> np.ndarray:
    numbers = np.array(lines)
    try:
        values = np.array(cells, dtype=np.float64)
    except ValueError:
        _raise_first_unparsable(path, numbers, cells)
    return _validated_integers(path, numbers, values)


def _read_csv(path: Path, drop_zero: bool) -> tuple[np.ndarray, int]:
    """(CALQ, all-zero rows dropped): chunks copied into one array sized by the file's line count."""
    with path.open("rb") as handle:
        max_rows = sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) + 1
    calq = np.empty((max_rows, N_TC), dtype=np.int64)
    n = dropped = 0
    for values in _csv_chunks(path):
        if drop_zero:
            keep = values.any(axis=1)
            dropped += int(np.count_nonzero(~keep))
            values = values[keep]
        calq[n:n + len(values)] = values
        n += len(values)
    return calq[:n], dropped


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _check_header(path: Path, header: list[str]) -> None:
    names = [h.strip() for h in header]
    if len(names) != N_TC:
        raise WaferFileError(f"{path}, line 1: header has {len(names)} columns, expected {N_TC} (CALQ_0..CALQ_47)")
    for col, (got, want) in enumerate(zip(names, CALQ_COLUMNS, strict=True)):
        if got != want:
            raise WaferFileError(f"{path}, line 1, column {col}: header {got!r}, expected {want!r}")


def _column(col: int) -> str:
    return f"column {col} ({CALQ_COLUMNS[col]})"


def _raise_first_unparsable(path: Path, lines: np.ndarray, cells: list[list[str]]) -> None:
    for line, row in zip(lines, cells, strict=True):
        for col, text in enumerate(row):
            if text.strip() == "":
                raise WaferFileError(f"{path}, line {line}, {_column(col)}: empty cell")
            if not _is_number(text):
                raise WaferFileError(f"{path}, line {line}, {_column(col)}: not a number: {text!r}")
    raise AssertionError("numpy rejected the table but every cell parses")  # pragma: no cover


def _validated_integers(path: Path, lines: np.ndarray, values: np.ndarray, unit: str = "line") -> np.ndarray:
    checks = (
        (~np.isfinite(values), "NaN or infinite charge"),
        (values < 0, "negative charge"),
        (values != np.floor(values), "non-integer charge"),
        (values > CALQ_MAX, f"charge above the {CALQ_BITS}-bit CALQ range (at most {CALQ_MAX})"),
    )
    for bad, what in checks:
        if bad.any():
            row, col = np.argwhere(bad)[0]
            value = values[row, col]
            shown = str(int(value)) if np.isfinite(value) and value == np.floor(value) else f"{value:g}"
            raise WaferFileError(f"{path}, {unit} {lines[row]}, {_column(col)}: {what}: {shown}")
    return values.astype(np.int64)


def _checked_dataset(path: Path, f: h5py.File) -> h5py.Dataset:
    """The file's wafer dataset, its kind and shape checked (nothing read yet)."""
    if HDF5_DATASET not in f:
        raise WaferFileError(f"{path}: no dataset {HDF5_DATASET!r} (found {sorted(f.keys())})")
    node = f[HDF5_DATASET]
    if not isinstance(node, h5py.Dataset):
        raise WaferFileError(f"{path}: {HDF5_DATASET!r} is a group, expected a dataset of shape (n, {N_TC})")
    if node.dtype.kind not in "iuf":
        raise WaferFileError(f"{path}: dataset {HDF5_DATASET!r} holds {node.dtype}, expected numbers")
    if node.ndim != 2 or node.shape[1] != N_TC:
        raise WaferFileError(f"{path}: dataset {HDF5_DATASET!r} has shape {node.shape}, expected (n, {N_TC})")
    if node.shape[0] == 0:
        raise WaferFileError(f"{path}: dataset {HDF5_DATASET!r} holds no wafers")
    return node


def _hdf5_chunks(path: Path, chunk_rows: int = CSV_CHUNK_ROWS) -> Iterator[np.ndarray]:
    """The dataset's rows, validated, ``chunk_rows`` at a time: memory is one chunk, whatever the store's
    size. HDF5 errors name the 0-based row of the dataset; CSV errors name the 1-based line of the file."""
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise WaferFileError(f"{path}: not a readable HDF5 file ({err})") from err
    with f:
        node = _checked_dataset(path, f)
        for start in range(0, node.shape[0], chunk_rows):
            values = node[start:start + chunk_rows]
            # integers above 2^53 lose bits as float64 but stay above the CALQ range: the check still fires
            yield _validated_integers(path, np.arange(start, start + len(values)), values.astype(np.float64),
                                      unit="row")


def _read_hdf5(path: Path) -> np.ndarray:
    """The whole dataset, validated, read chunk by chunk into one preallocated array."""
    try:
        with h5py.File(path, "r") as f:
            n = _checked_dataset(path, f).shape[0]
    except OSError as err:
        raise WaferFileError(f"{path}: not a readable HDF5 file ({err})") from err
    calq = np.empty((n, N_TC), dtype=np.int64)
    start = 0
    for chunk in _hdf5_chunks(path):
        calq[start:start + len(chunk)] = chunk
        start += len(chunk)
    return calq


def write_int_csv(path: str | Path, header: tuple[str, ...] | list[str],
                  table: np.ndarray | Iterable[np.ndarray]) -> int:
    """Write an integer table with a header, atomically: one array, or chunks of rows written as they come
    (memory stays one chunk for any length). Returns the rows written."""
    chunks = [table] if isinstance(table, np.ndarray) else table
    rows = 0
    with atomic_path(path) as tmp, tmp.open("w") as out:
        out.write(",".join(header) + "\n")
        for chunk in chunks:
            chunk = np.asarray(chunk)
            if chunk.ndim != 2 or chunk.shape[1] != len(header):
                raise ValueError(f"table shape {chunk.shape} does not match {len(header)} header columns")
            np.savetxt(out, chunk, fmt="%d", delimiter=",")
            rows += len(chunk)
    return rows


def write_wafers(path: str | Path, calq: np.ndarray) -> None:
    """Write (n, 48) CALQ integers as CSV or HDF5 (chosen by suffix), atomically."""
    calq = np.asarray(calq)
    if calq.ndim != 2 or calq.shape[1] != N_TC:
        raise ValueError(f"expected wafers of shape (n, {N_TC}), got {calq.shape}")
    if not is_hdf5(path):
        write_int_csv(path, CALQ_COLUMNS, calq)
        return
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        dset = f.create_dataset(
            HDF5_DATASET, data=calq.astype(np.int32), chunks=(min(len(calq), 4096), N_TC), compression="gzip"
        )
        dset.attrs["columns"] = ",".join(CALQ_COLUMNS)
        dset.attrs["units"] = "CALQ counts (35 counts = 1 MIP_T)"


def convert_wafers(src: str | Path, dst: str | Path) -> int:
    """Convert between CSV and HDF5 keeping every row (all-zero wafers too); returns the row count."""
    calq = load_wafers(src, drop_zero=False).calq
    write_wafers(dst, calq)
    return len(calq)


def real_data_dir() -> Path:
    """Folder of the real HGCAL CSVs: ``$CODESIGN_DATA_DIR`` or ``../shared/data/hgcal`` beside the repo."""
    env = os.environ.get("CODESIGN_DATA_DIR")
    if env:
        return Path(env)
    return SHARED_DATA_DIR
