"""Named wafer sources shared by every training config: a real file or ``synth:PRESET``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.data.io import WaferFileError, count_wafers, read_calq, read_wafer_rows, real_data_dir
from codesign.data.splits import split_indices
from codesign.data.synth import generate_wafers, load_synth_config

SYNTH_PREFIX = "synth:"


def source_wafers(data: str, seed: int, n_synth: int = 20000) -> np.ndarray:
    """CALQ wafers of a source: ``synth:PRESET`` is generated with ``seed``; a bare file name is looked up
    in the real-data folder."""
    if data.startswith(SYNTH_PREFIX):
        return generate_wafers(load_synth_config(data[len(SYNTH_PREFIX):]), n_synth, seed)
    return read_calq(source_path(data))


def source_path(data: str) -> Path:
    """The file of a real source: ``data`` itself when it exists, else that name in the real-data folder."""
    path = Path(data)
    return path if path.exists() else real_data_dir() / data


def source_stem(data: str) -> str:
    """A file-name-safe short name of a source."""
    return Path(data.replace(SYNTH_PREFIX, "synth_")).stem


def test_split_wafers(data: str, fractions: tuple[float, float, float], seed: int, *, n_synth: int = 20000,
                      n_wafers: int = 0) -> np.ndarray:
    """The test split (``fractions``, ``seed``) of source ``data``: a real file read in two passes holding only
    the test rows (files larger than memory evaluate too), or ``synth:PRESET`` generated with ``seed``.
    ``n_wafers`` > 0 keeps the first ones."""
    if data.startswith(SYNTH_PREFIX):
        calq = source_wafers(data, seed, n_synth)
        n, test = len(calq), calq[split_indices(len(calq), fractions, seed=seed).test]
    else:
        path = source_path(data)
        n = count_wafers(path)
        if not n:
            raise WaferFileError(f"{path}: all its wafers are all-zero: no charge to normalise or compare")
        test = read_wafer_rows(path, split_indices(n, fractions, seed=seed).test)
    if not len(test):
        raise WaferFileError(f"{data}: its {n} non-zero wafers leave none for the test split ({fractions[2]:g} of "
                             "them); give a file with more wafers")
    return test[:n_wafers] if n_wafers else test
