"""Named wafer sources shared by every training config: a real file or ``synth:PRESET``."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.data.io import read_calq, real_data_dir
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
