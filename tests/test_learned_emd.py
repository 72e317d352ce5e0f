from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from codesign.config import ConfigError, from_mapping
from codesign.emd.learned import EmdLoss, LearnedEmdConfig, build_learned_emd, predict_emd
from codesign.emd.training import LearnedEmdSpec, load_spec

ROOT = Path(__file__).parents[1]
REFERENCE = ROOT / "models" / "emd_cnn"


@pytest.fixture(scope="module")
def wafers() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((64, 48)) * (rng.random((64, 48)) < 0.5), rng.random((64, 48))


@pytest.mark.parametrize("architecture", ["difference_mlp", "published_cnn"])
def test_symmetric_and_scale_free(wafers, architecture, tmp_path):
    import keras

    a, b = wafers
    model = build_learned_emd(LearnedEmdConfig(architecture=architecture), seed=0)
    ab = predict_emd(model, a, b)
    np.testing.assert_allclose(ab, predict_emd(model, b, a), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ab, predict_emd(model, 10 * a, b), rtol=1e-4, atol=1e-6)
    model.save(tmp_path / "m.keras")
    np.testing.assert_array_equal(predict_emd(keras.models.load_model(tmp_path / "m.keras"), a, b), ab)


def test_difference_mlp_is_exactly_zero_on_identical_wafers(wafers):
    model = build_learned_emd(LearnedEmdConfig(), seed=3)
    assert (predict_emd(model, wafers[0], wafers[0]) == 0).all()


@pytest.mark.parametrize("layout", ["flat", "8x8", "4x4x3"])
def test_emd_loss_gradients_are_finite_and_non_zero(wafers, layout):
    import tensorflow as tf

    from codesign.data.arrange import to_image

    loss = EmdLoss(build_learned_emd(LearnedEmdConfig(), seed=1), layout=layout)
    a, b = (x.astype("float32") for x in wafers)
    if layout != "flat":
        a, b = to_image(a, layout), to_image(b, layout)
    recon = tf.Variable(b)
    with tf.GradientTape() as tape:
        value = loss(tf.constant(a), recon)
    grad = tape.gradient(value, recon).numpy()
    assert np.isfinite(value.numpy()) and value.numpy() > 0
    assert np.isfinite(grad).all() and np.abs(grad).sum() > 0


def test_spec_yaml_loads_and_validates(tmp_path):
    spec = load_spec(ROOT / "models" / "emd_cnn.yaml")
    assert spec.model.architecture == "difference_mlp" and len(spec.training.sources) == 3
    assert spec.training.sources[1].data == "synth:highpu"
    with pytest.raises(ConfigError, match=r"model\.architecture: 'resnet' is not one of"):
        from_mapping(LearnedEmdSpec, {"model": {"architecture": "resnet"}})


@pytest.mark.slow
def test_tiny_training_run(tmp_path, capsys):
    from codesign.cli import main

    config = tmp_path / "tiny.yaml"
    config.write_text("""
model: {architecture: difference_mlp, hidden: [32]}
training:
  sources: [{data: "synth:highpu", n_random: 2000, n_perturbed: 2000, n_synth_wafers: 1000}]
  epochs: 3
  batch_size: 256
""")
    assert main(["emd", "train", "--config", str(config), "--out", str(tmp_path / "m")]) == 0
    assert "'epochs': 3" in capsys.readouterr().out
    assert not (tmp_path / "m" / "backup").exists() or not any((tmp_path / "m" / "backup").iterdir())
    from codesign.data.io import write_wafers
    from codesign.data.synth import generate_wafers, load_synth_config

    calq = generate_wafers(load_synth_config("highpu"), 400, seed=5)
    write_wafers(tmp_path / "w.csv", calq)
    assert main(["emd", "eval", "--model", str(tmp_path / "m"), "--data", str(tmp_path / "w.csv"),
                 "--pairs", "200", "--out", str(tmp_path / "eval")]) == 0
    assert (tmp_path / "eval" / "scatter.png").is_file()
    assert main(["emd", "predict", "--model", str(tmp_path / "m"), "--a", str(tmp_path / "w.csv"),
                 "--b", str(tmp_path / "w.csv"), "--out", str(tmp_path / "p.csv")]) == 0
    assert (np.loadtxt(tmp_path / "p.csv", skiprows=1) == 0).all()  # identical rows


@pytest.mark.skipif(not (REFERENCE / "model.keras").is_file(), reason="reference model not trained yet")
def test_reference_model_meets_the_targets_on_held_out_real_pairs(highpu, real_dir):
    from codesign.data.io import read_calq
    from codesign.emd.report import evaluate, evaluation_sets
    from codesign.emd.training import load_learned_emd

    model, spec = load_learned_emd(REFERENCE)
    sets = evaluation_sets("highpu", highpu, spec.training.split, seed=spec.training.seed, n_pairs=1000)
    sets += evaluation_sets("ttbar", read_calq(real_dir / "ttbar_0PU.csv"), spec.training.split,
                            seed=spec.training.seed, n_pairs=1000)[:1]
    results, _ = evaluate(model, sets)
    hp, deg, same, sparse = (results[s.name] for s in sets)
    assert abs(hp["bias"]) <= 0.02 and hp["std_rel"] <= 0.05
    assert sparse["std_rel"] <= 0.15
    assert same["mean_pred"] <= 0.05
    assert deg["mae"] <= 0.08
