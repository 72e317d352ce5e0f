"""The committed reference encoders (models/reference/): they load with no other setup, evaluate on any
wafer file, reproduce their committed held-out report (floats to 1e-6 relative), and beat the chip's frames
as the emulator decodes them (in the fair arena they lose: docs/econt.md; that verdict is in each committed report)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codesign.cli import main

REFERENCE = Path(__file__).parents[1] / "models" / "reference"
NAMES = sorted(p.name for p in REFERENCE.iterdir() if (p / "autoencoder.keras").is_file())

pytestmark = pytest.mark.slow


def test_there_is_a_reference_model_per_elink_count():
    assert {f"econt_{n}elink_hybrid" for n in (2, 3, 4, 5)} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_reference_model_reproduces_its_report(name, tmp_path, real_dir, assert_same_metrics):
    """Its held-out report, with its quantized back-end decoder (qdecoder:) beside the float one."""
    assert main(["evaluate", "--model", str(REFERENCE / name), "--decoder", str(REFERENCE / name / "qdecoder"),
                 "--out", str(tmp_path / "eval")]) == 0
    got = json.loads((tmp_path / "eval" / "metrics.json").read_text())["algorithms"]
    assert_same_metrics(got, json.loads((REFERENCE / name / "eval" / "metrics.json").read_text())["algorithms"])
    encoder = got[f"autoencoder:{name}"]["mean_emd"]
    assert got[f"qdecoder:{name}"]["back_end_cost"].endswith("(fits)")  # the decoder the budget affords
    for module in ("hd", "ld"):
        naive = min(v["mean_emd"] for k, v in got.items() if k.startswith("naive:chip:") and f":{module}:" in k)
        assert encoder < naive, f"{name}: {encoder:.4f} not below the naively decoded {module} chip {naive:.4f}"
        best = min(v["mean_emd"] for k, v in got.items() if k.startswith(("chip:", "codec:")) and f":{module}:" in k)
        assert best < naive  # the arena's best decodes better than the emulator


@pytest.mark.parametrize("name", NAMES)
def test_reference_model_evaluates_any_wafer_file(name, tmp_path, real_dir):
    data = real_dir.parent / "econt_conformance" / "dev200.csv"
    assert main(["evaluate", "--model", str(REFERENCE / name), "--data", str(data), "--out", str(tmp_path)]) == 0
    assert (tmp_path / "report.md").is_file()
