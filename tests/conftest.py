from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesign.data.io import read_calq, real_data_dir


@pytest.fixture(scope="session")
def real_dir() -> Path:
    path = real_data_dir()
    if not (path / "highpu_dev.csv").is_file():
        pytest.skip(f"real HGCAL data not found in {path} (set CODESIGN_DATA_DIR)")
    return path


@pytest.fixture(scope="session")
def highpu(real_dir: Path) -> np.ndarray:
    return read_calq(real_dir / "highpu_dev.csv")


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path
