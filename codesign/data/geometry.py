"""Geometry of the 48 trigger cells (TCs) of an HGCAL silicon module.

The module is a hexagon made of three rhombic blocks of 4x4 TCs (TCs 0-15, 16-31, 32-47). Block 0 sits on
a triangular lattice of pitch ``TC_PITCH_CM``; blocks 1 and 2 are block 0 rotated by 120 and 240 degrees
around the hexagon centre. Deriving the centres from this construction (rather than shipping a table)
keeps the package self-contained; ``tests/test_geometry.py`` checks the result against the published
``tc_coordinates.csv`` to 1e-4 cm.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

N_TC = 48
ADDRESS_BITS = (N_TC - 1).bit_length()  # a TC index: 6 bits
N_BLOCKS = 3
TC_PER_BLOCK = 16
TC_PITCH_CM = 2.4168015
# The ECON-T EMD studies measure distances in units of half a pitch, so neighbouring TCs are 2.0 apart.
EMD_LENGTH_UNIT_CM = 0.5 * TC_PITCH_CM

# Hexagon centre in block-0 lattice coordinates (row, column): the corner shared by the three blocks.
_CENTRE_ROW_COL = (-7.0 / 12.0, 41.0 / 12.0)


def _lattice_to_cm(row: np.ndarray | float, col: np.ndarray | float) -> np.ndarray:
    """Block-0 lattice coordinates -> (x, y) in cm. Rows step by 30 degrees below +x, columns by -y."""
    x = np.asarray(row) * TC_PITCH_CM * np.sqrt(3.0) / 2.0
    y = -(np.asarray(col) + np.asarray(row) / 2.0) * TC_PITCH_CM
    return np.stack([x, y], axis=-1)


def _rotation(degrees: float) -> np.ndarray:
    t = np.deg2rad(degrees)
    return np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])


@cache
def module_centre_cm() -> np.ndarray:
    """(x, y) of the hexagon centre in cm."""
    return _lattice_to_cm(*_CENTRE_ROW_COL)


@cache
def tc_centres_cm() -> np.ndarray:
    """(48, 2) array of TC centres in cm, in the ECON-T TC order (same frame as ``tc_coordinates.csv``)."""
    idx = np.arange(TC_PER_BLOCK)
    block0 = _lattice_to_cm(idx // 4, idx % 4)
    centre = module_centre_cm()
    blocks = [(block0 - centre) @ _rotation(120.0 * k).T + centre for k in range(N_BLOCKS)]
    out = np.concatenate(blocks)
    out.setflags(write=False)
    return out


@cache
def ground_distance() -> np.ndarray:
    """(48, 48) Euclidean distance between TC centres in EMD units (neighbours are 2.0 apart)."""
    xy = tc_centres_cm() / EMD_LENGTH_UNIT_CM
    d = np.linalg.norm(xy[:, None, :] - xy[None, :, :], axis=-1)
    d.setflags(write=False)
    return d


def module_radius_cm() -> float:
    """Distance from the module centre to the farthest TC centre (used to place showers near the module)."""
    return float(np.max(np.linalg.norm(tc_centres_cm() - module_centre_cm(), axis=1)))


@dataclass(frozen=True)
class TcGroups:
    """The 36 published 2x2 groups of neighbouring TCs (telescope loss, super trigger cells)."""

    members: np.ndarray  # (36, 4) TC indices
    weights: np.ndarray  # (36,) telescope weights (every TC counts equally overall)
    tiles_module: np.ndarray  # (36,) bool: the 12 groups that tile the module without overlap

    def membership(self) -> np.ndarray:
        """(48, 36) 0/1 matrix: TC t belongs to group g."""
        m = np.zeros((N_TC, len(self.members)))
        for g, tcs in enumerate(self.members):
            m[tcs, g] = 1.0
        return m


def load_tc_groups(path: str | Path) -> TcGroups:
    """Read ``tc_groups_2x2.csv`` (group, tc_a..tc_d, telescope_weight, tiles_module), validated."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: TC group table not found (it ships with the real data, see "
                                "CODESIGN_DATA_DIR)")
    table = np.loadtxt(path, delimiter=",", skiprows=1)
    if table.ndim != 2 or table.shape[1] != 7:
        raise ValueError(f"{path}: expected 7 columns (group, tc_a..tc_d, telescope_weight, tiles_module)")
    members = table[:, 1:5].astype(int)
    if members.min() < 0 or members.max() >= N_TC:
        raise ValueError(f"{path}: TC indices must be in 0..{N_TC - 1}")
    tiles = table[:, 6].astype(bool)
    if sorted(members[tiles].ravel().tolist()) != list(range(N_TC)):
        raise ValueError(f"{path}: the tiles_module groups must cover every TC exactly once")
    return TcGroups(members=members, weights=table[:, 5], tiles_module=tiles)


def find_tc_groups() -> TcGroups | None:
    """The group table from the real-data folder, or None when that folder is absent."""
    from codesign.data.io import real_data_dir

    path = real_data_dir() / "tc_groups_2x2.csv"
    return load_tc_groups(path) if path.is_file() else None


def block_membership() -> np.ndarray:
    """(48, 3) 0/1 matrix: TC t lies in 16-TC block b."""
    return np.repeat(np.eye(N_BLOCKS), TC_PER_BLOCK, axis=0)
