"""The chip's input mux: this project's TC order (``CALQ_i`` columns) -> the ECON-T post-mux order.

Every ECON-T algorithm sees the 48 charges in post-mux order: its 2x2 super trigger cells are the quads
{4s..4s+3} and its 4x4 ones the blocks {0..15}, {16..31}, {32..47}. The table ``tc_mux.csv`` lives with
the real data (columns ``tc, post_mux, stc4, stc4_idx, stc16, stc16_idx``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from codesign.data.geometry import N_TC
from codesign.data.io import WaferFileError, real_data_dir

MUX_FILE = "tc_mux.csv"
MUX_COLUMNS = ("tc", "post_mux", "stc4", "stc4_idx", "stc16", "stc16_idx")


@dataclass(frozen=True)
class TcMux:
    """``post_of_tc[t]``: post-mux position of TC t; ``tc_of_post[p]``: the TC at post-mux position p."""

    post_of_tc: np.ndarray
    tc_of_post: np.ndarray

    def to_chip(self, calq: np.ndarray) -> np.ndarray:
        """(n, 48) charges in this project's TC order -> post-mux order."""
        return np.asarray(calq)[:, self.tc_of_post]

    def from_chip(self, chip_order: np.ndarray) -> np.ndarray:
        """(n, 48) values in post-mux order -> this project's TC order."""
        return np.asarray(chip_order)[:, self.post_of_tc]


def load_tc_mux(path: str | Path | None = None) -> TcMux:
    """Read the mux table (default: ``tc_mux.csv`` in the real-data folder) and check it is a permutation
    whose super-trigger-cell columns follow the post-mux quads and blocks."""
    path = Path(path) if path is not None else real_data_dir() / MUX_FILE
    if not path.is_file():
        raise WaferFileError(f"{path}: no such file (the ECON-T TC mux table; set CODESIGN_DATA_DIR "
                             "to the folder of the real HGCAL data)")
    header = path.read_text().splitlines()[0].strip().split(",")
    if tuple(header) != MUX_COLUMNS:
        raise WaferFileError(f"{path}: line 1: expected the header {','.join(MUX_COLUMNS)}")
    table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.int64, ndmin=2)
    tc, post = table[:, 0], table[:, 1]
    if len(table) != N_TC or sorted(tc) != list(range(N_TC)) or sorted(post) != list(range(N_TC)):
        raise WaferFileError(f"{path}: columns tc and post_mux must each be a permutation of 0..{N_TC - 1}")
    expected = np.stack([post // 4, post % 4, post // 16, post % 16], axis=1)
    bad = np.flatnonzero((table[:, 2:] != expected).any(axis=1))
    if bad.size:
        raise WaferFileError(f"{path}: line {bad[0] + 2}: stc4/stc16 columns disagree with post_mux "
                             f"(expected {expected[bad[0]].tolist()})")
    post_of_tc = np.empty(N_TC, dtype=np.int64)
    post_of_tc[tc] = post
    return TcMux(post_of_tc=post_of_tc, tc_of_post=np.argsort(post_of_tc))


def find_tc_mux() -> TcMux | None:
    """The mux table from the real-data folder, or None when that folder is absent."""
    path = real_data_dir() / MUX_FILE
    return load_tc_mux(path) if path.is_file() else None
