"""Autoencoder training, evaluation against the baselines, and the trained encoder through hls4ml."""

from __future__ import annotations

import json

import numpy as np
import pytest

from codesign.cli import main

pytestmark = pytest.mark.slow

TINY = """
name: tiny_{loss}
encoder: {{layout: 8x8, elinks: 5}}
loss: {{telescope: {tele}, emd: {emd}, emd_model: models/emd_cnn}}
training: {{sources: [highpu_dev.csv], epochs: 2, batch_size: 256, seed: 0}}
"""


@pytest.fixture(scope="module", params=["telescope", "emd"])
def trained(request, tmp_path_factory, real_dir):
    root = tmp_path_factory.mktemp(request.param)
    config = root / "spec.yaml"
    config.write_text(TINY.format(loss=request.param, tele=float(request.param == "telescope"),
                                  emd=float(request.param == "emd")))
    assert main(["train", "--config", str(config), "--out", str(root / "model")]) == 0
    return root


def test_training_writes_a_complete_model_folder(trained):
    folder = trained / "model"
    for name in ("autoencoder.keras", "encoder.keras", "config.yaml", "spec.yaml", "history.json"):
        assert (folder / name).is_file(), name
    assert len(json.loads((folder / "history.json").read_text())["loss"]) == 2


def test_evaluation_covers_every_algorithm(trained, capsys):
    assert main(["evaluate", "--model", str(trained / "model"), "--out", str(trained / "eval")]) == 0
    metrics = json.loads((trained / "eval" / "metrics.json").read_text())["algorithms"]
    assert {"best_choice_9", "best_choice_11", "super_trigger_cell", "threshold_35", "uniform"} < set(metrics)
    ae = next(m for name, m in metrics.items() if name.startswith("autoencoder:"))
    assert 0 < ae["mean_emd"] < metrics["uniform"]["mean_emd"]
    assert ae["bits_per_bx"] == 153 and ae["by_occupancy"]
    assert (trained / "eval" / "emd.png").is_file()


def test_trained_encoder_is_bit_exact_in_hls4ml(trained, capsys):
    assert main(["hls", "--model", str(trained / "model"), "--out", str(trained / "hls")]) == 0
    assert ": 0 of 50080 latents differ" in capsys.readouterr().out


def test_same_seed_same_weights(trained, tmp_path):
    import keras

    import codesign.models.layers  # noqa: F401

    spec = trained / "spec.yaml"
    assert main(["train", "--config", str(spec), "--out", str(tmp_path / "again")]) == 0
    a = keras.models.load_model(trained / "model" / "autoencoder.keras", compile=False).get_weights()
    b = keras.models.load_model(tmp_path / "again" / "autoencoder.keras", compile=False).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_killed_training_resumes_where_it_stopped(tmp_path, real_dir):
    import csv
    import signal
    import subprocess
    import sys
    import time

    config = tmp_path / "spec.yaml"
    config.write_text(TINY.format(loss="resume", tele=1.0, emd=0.0).replace("epochs: 2", "epochs: 8"))
    out = tmp_path / "model"
    cmd = [sys.executable, "-m", "codesign.cli", "train", "--config", str(config), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _epochs(out) < 2:
        assert proc.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline, "no epoch finished in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = _epochs(out)
    assert 2 <= done_before < 8 and (out / "backup").is_dir()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    with (out / "history.csv").open() as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == list(range(8)), f"resumed run repeated or skipped epochs: {epochs}"
    assert len(json.loads((out / "history.json").read_text())["loss"]) == 8


def _epochs(out) -> int:
    path = out / "history.csv"
    return max(len(path.read_text().splitlines()) - 1, 0) if path.is_file() else 0
