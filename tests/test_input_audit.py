"""Regression tests for defects of the hostile-input audit: rows kept, nonsense refused, failures not exit 0."""

from __future__ import annotations

import math

import numpy as np
import pytest

from codesign.cli import main
from codesign.config import ConfigError, from_mapping
from codesign.models.autoencoder import AeTrainingConfig


def test_onchip_keeps_all_zero_wafers_in_place(tmp_path):
    src = tmp_path / "w.csv"
    rows = np.zeros((4, 48), dtype=int)
    rows[0, 3], rows[2, 7], rows[3, 0] = 100, 50, 9
    np.savetxt(src, rows, fmt="%d", delimiter=",")
    assert main(["data", "onchip", str(src), "--out", str(tmp_path / "o.csv")]) == 0
    out = np.loadtxt(tmp_path / "o.csv", delimiter=",", skiprows=1, dtype=int)
    assert out.shape == (4, 49) and not out[1].any()  # the zero wafer: zero inputs and sum code 0
    assert out[0, 3] == out[2, 7] == 200  # a lone cell of S: (S << 7) >> floor(log2 S)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("epochs", 0, "training.epochs must be at least 1"),
    ("epochs", -3, "training.epochs must be at least 1"),
    ("batch_size", 0, "training.batch_size must be at least 1"),
    ("learning_rate", math.nan, "training.learning_rate must be a finite positive number"),
    ("learning_rate", -1.0, "training.learning_rate must be a finite positive number"),
    ("seed", -1, "training.seed must be non-negative"),
])
def test_training_config_ranges(key, value, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(AeTrainingConfig, {key: value}, where="spec.yaml: training")


def test_train_epochs_zero_on_the_command_line_is_an_input_error(tmp_path, capsys):
    assert main(["train", "--config", "models/econt_demo.yaml", "--epochs", "0", "--out", str(tmp_path)]) == 2
    assert "training.epochs must be at least 1" in capsys.readouterr().err
