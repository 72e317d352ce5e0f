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


def _differences(got: object, want: object, where: str, rel: float) -> list[str]:
    """Where two JSON values differ: keys, lists, strings and integers exactly, floats to ``rel``."""
    if isinstance(want, dict) and isinstance(got, dict):
        if got.keys() != want.keys():
            return [f"{where}: keys {sorted(set(got) ^ set(want))} in one only"]
        return [d for k in want for d in _differences(got[k], want[k], f"{where}.{k}", rel)]
    if isinstance(want, list) and isinstance(got, list):
        if len(got) != len(want):
            return [f"{where}: {len(got)} items, committed {len(want)}"]
        pairs = enumerate(zip(got, want, strict=True))
        return [d for i, (g, w) in pairs for d in _differences(g, w, f"{where}[{i}]", rel)]
    if isinstance(want, float) and isinstance(got, (int, float)) and not isinstance(got, bool):
        return [] if got == pytest.approx(want, rel=rel, abs=1e-12) else [f"{where}: {got!r}, committed {want!r}"]
    return [] if got == want and type(got) is type(want) else [f"{where}: {got!r}, committed {want!r}"]


@pytest.fixture(scope="session")
def assert_same_metrics():
    """Compare a fresh evaluation with a committed one. Float means of EMDs agree to 1e-6 relative, not to the
    last bit: numpy's and TensorFlow's reductions sum in an order that depends on the build and the CPU's
    vector width (a fresh install moved the reference reports' means by 4e-9 relative). Everything else,
    keys, counts, labels, bits, must be equal."""

    def check(got: object, want: object, rel: float = 1e-6) -> None:
        differences = _differences(got, want, "metrics", rel)
        assert not differences, "\n".join(differences[:20])

    return check
