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
    algorithms = ("threshold-sum", "best-choice", "stc4_9", "repeater")  # the ones sending data at 5 eLinks
    chip = {f"chip:{a}:{m}:5elink" for a in algorithms for m in ("hd", "ld")}
    arena = {f"naive:chip:best-choice:{m}:5elink" for m in ("hd", "ld")} | {"codec:entropy:ld:5elink", "floor:hd"}
    assert chip | arena | {"uniform"} < set(metrics) and not any(name.startswith("ideal_") for name in metrics)
    assert "Best non-learned system for hd modules" in (trained / "eval" / "report.md").read_text()
    ae = next(m for name, m in metrics.items() if name.startswith("autoencoder:"))
    assert 0 < ae["mean_emd"] < metrics["uniform"]["mean_emd"]
    assert ae["bits_per_bx"] == 153 and ae["by_occupancy"]
    assert (trained / "eval" / "emd.png").is_file()
    page = (trained / "eval" / "report.html").read_text()  # the same report as a page, the plot inline
    assert "<li>autoencoder:" in page and "data:image/png;base64," in page


def test_trained_encoder_is_bit_exact_in_hls4ml(trained, capsys):
    assert main(["hls", "--model", str(trained / "model"), "--out", str(trained / "hls")]) == 0
    assert ": 0 of 50080 latents differ" in capsys.readouterr().out


def test_same_seed_same_weights_whatever_the_sparse_mode(trained, tmp_path):
    """Same seed, same weights; the hybrid's sparse mode (decided on chip per wafer) does not enter training,
    so a reference model's sparse settings can be retuned on the validation split without retraining."""
    import keras
    import yaml

    import codesign.nn.layers  # noqa: F401

    spec = yaml.safe_load((trained / "spec.yaml").read_text())
    spec["encoder"] |= {"sparse_max_occupancy": 31, "sparse_values": "charge"}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert main(["train", "--config", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "again")]) == 0
    a = keras.models.load_model(trained / "model" / "autoencoder.keras", compile=False).get_weights()
    b = keras.models.load_model(tmp_path / "again" / "autoencoder.keras", compile=False).get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_decoder_stage_trains_the_decoder_alone(trained, tmp_path):
    import keras
    import yaml

    import codesign.nn.layers  # noqa: F401

    spec = yaml.safe_load((trained / "spec.yaml").read_text())
    spec["training"]["decoder_epochs"] = 2
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    assert main(["train", "--config", str(tmp_path / "spec.yaml"), "--out", str(tmp_path / "model")]) == 0
    joint, staged = (keras.models.load_model(d / "autoencoder.keras", compile=False)
                     for d in (trained / "model", tmp_path / "model"))
    for name in ("conv", "latent"):  # same seed, same joint fit; the frozen encoder kept its weights
        for a, b in zip(joint.get_layer(name).get_weights(), staged.get_layer(name).get_weights(), strict=True):
            assert np.array_equal(a, b), name
    decoders = [m.get_layer("decoder").get_weights() for m in (joint, staged)]
    assert not all(np.array_equal(a, b) for a, b in zip(*decoders, strict=True))
    assert len(json.loads((tmp_path / "model" / "history.json").read_text())["loss"]) == 4
    assert not (tmp_path / "model" / "joint.keras").exists()


@pytest.mark.parametrize("stage", ["joint", "decoder"])
def test_killed_training_resumes_where_it_stopped(tmp_path, real_dir, stage):
    import signal
    import subprocess
    import sys
    import time

    config = tmp_path / "spec.yaml"
    epochs = "epochs: 8" if stage == "joint" else "epochs: 2, decoder_epochs: 8"
    config.write_text(TINY.format(loss="resume", tele=1.0, emd=0.0).replace("epochs: 2", epochs))
    out = tmp_path / "model"
    watched = out / "history.csv" if stage == "joint" else out / "decoder_stage" / "history.csv"
    cmd = [sys.executable, "-m", "codesign.cli", "train", "--config", str(config), "--out", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _epochs(watched) < 2:
        assert proc.poll() is None, "training ended before it could be interrupted"
        assert time.time() < deadline, "no epoch finished in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 2 <= _epochs(watched) < 8 and (watched.parent / "backup").is_dir()
    assert subprocess.run(cmd, capture_output=True).returncode == 0
    epochs = [int(e) for e in json.loads((out / "history.json").read_text())["epoch"]]
    expected = list(range(8)) if stage == "joint" else [0, 1, *range(8)]
    assert epochs == expected, f"resumed run repeated or skipped epochs: {epochs}"


def _epochs(path) -> int:
    return max(len(path.read_text().splitlines()) - 1, 0) if path.is_file() else 0


def test_a_dead_encoder_is_refused_and_latent_bias_init_revives_it(tmp_path, real_dir, capsys):
    """2 eLinks: 3-bit latents with 2 integer bits truncate every latent of a zero-bias encoder to 0; training
    used to 'succeed' with a constant loss and save a model that outputs one wafer shape for all."""
    spec = tmp_path / "two.yaml"
    base = ("name: two\nencoder: {{layout: 8x8, elinks: 2, latent_int_bits: 2{extra}}}\n"
            "loss: {{telescope: 0.0, emd: 1.0, emd_model: models/emd_cnn}}\n"
            "training: {{sources: [highpu_dev.csv], epochs: 2, batch_size: 256, seed: 1}}\n")
    spec.write_text(base.format(extra=""))
    assert main(["train", "--config", str(spec), "--out", str(tmp_path / "dead")]) == 1
    assert "all 16 latents are constant (0)" in capsys.readouterr().err
    assert not (tmp_path / "dead" / "encoder.keras").exists()
    spec.write_text(base.format(extra=", latent_bias_init: 1.0"))
    assert main(["train", "--config", str(spec), "--out", str(tmp_path / "alive")]) == 0
    loss = json.loads((tmp_path / "alive" / "history.json").read_text())["loss"]
    assert loss[1] < loss[0]
