from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from codesign.config import ConfigError, from_mapping, to_mapping
from codesign.data.stats import compare_wafer_sets, wafer_stats
from codesign.data.synth import PRESETS, SynthConfig, generate_wafers, load_synth_config


@pytest.fixture(scope="module")
def highpu_cfg() -> SynthConfig:
    return load_synth_config("highpu")


def test_same_seed_same_bits_other_seed_differs(highpu_cfg):
    a = generate_wafers(highpu_cfg, 500, seed=3)
    b = generate_wafers(highpu_cfg, 500, seed=3)
    c = generate_wafers(highpu_cfg, 500, seed=4)
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()


@pytest.mark.parametrize("preset", PRESETS)
def test_the_in_place_shower_profile_keeps_the_formulas_bits(preset):
    """`_cell_fractions` works in place for speed; it must give the plain formula's bits, or every seed's
    synthetic wafers (and the models pretrained on them) would change."""
    from codesign.data.geometry import N_TC, TC_PITCH_CM
    from codesign.data.synth import _cell_fractions, _cell_sample_points

    cfg, points = load_synth_config(preset).em, _cell_sample_points()
    centres = np.random.default_rng(0).normal(0.0, 10.0, (500, 2))
    r = np.linalg.norm(points[None, :, :] - centres[:, None, :], axis=-1)
    core = np.exp(-r / cfg.core_radius_cm) / (2 * np.pi * cfg.core_radius_cm**2)
    halo = np.exp(-r / cfg.halo_radius_cm) / (2 * np.pi * cfg.halo_radius_cm**2)
    density = cfg.core_fraction * core + (1 - cfg.core_fraction) * halo
    plain = density.reshape(len(centres), N_TC, -1).mean(axis=-1) * (TC_PITCH_CM**2 * np.sqrt(3.0) / 2.0)
    assert np.array_equal(_cell_fractions(centres, cfg, points), plain)


@pytest.mark.parametrize("preset", PRESETS)
def test_format_and_selection(preset):
    cfg = load_synth_config(preset)
    calq = generate_wafers(cfg, 3000, seed=0)
    assert calq.shape == (3000, 48) and calq.dtype == np.int64
    assert calq.min() == 0 and calq.max() <= cfg.saturation
    assert calq[calq > 0].min() >= cfg.threshold
    assert (calq.sum(axis=1) >= cfg.min_wafer_sum).all()


def test_saturation_and_threshold_are_applied(highpu_cfg):
    cfg = dataclasses.replace(highpu_cfg, saturation=100, threshold=10, zs_turn_on=0.0)
    calq = generate_wafers(cfg, 1000, seed=0)
    assert calq.max() == 100
    assert calq[calq > 0].min() >= 10


def test_highpu_preset_matches_real_data(highpu_cfg, highpu):
    synth = generate_wafers(highpu_cfg, 20000, seed=0)
    s, r = wafer_stats(synth), wafer_stats(highpu)
    assert abs(s["mean_occupancy"] / r["mean_occupancy"] - 1) <= 0.10
    assert abs(s["median_sum"] / r["median_sum"] - 1) <= 0.15
    cmp = compare_wafer_sets(synth, highpu)
    for name in ("occupancy", "wafer_sum", "cell_charge"):
        assert cmp[name]["ks_statistic"] < 0.15, name


def test_ttbar_preset_is_sparse(real_dir):
    from codesign.data.io import read_calq

    real = read_calq(real_dir / "ttbar_0PU.csv")
    synth = generate_wafers(load_synth_config("ttbar"), 20000, seed=0)
    s, r = wafer_stats(synth), wafer_stats(real)
    assert abs(s["mean_occupancy"] / r["mean_occupancy"] - 1) <= 0.15
    assert abs(s["median_sum"] / r["median_sum"] - 1) <= 0.30


def test_config_errors_name_the_key(highpu_cfg):
    mapping = to_mapping(highpu_cfg)
    assert from_mapping(SynthConfig, mapping) == highpu_cfg
    bad = {**mapping, "pileup": {**mapping["pileup"], "densty_median": 1.0}}
    with pytest.raises(ConfigError, match=r"config\.pileup: unknown key\(s\) \['densty_median'\]; valid keys"):
        from_mapping(SynthConfig, bad)
    with pytest.raises(ConfigError, match=r"config\.em\.rate: expected float, got 'many'"):
        from_mapping(SynthConfig, {**mapping, "em": {**mapping["em"], "rate": "many"}})
    missing = {k: v for k, v in mapping.items() if k != "noise_sigma"}
    with pytest.raises(ConfigError, match=r"config\.noise_sigma: missing required key"):
        from_mapping(SynthConfig, missing)
    with pytest.raises(ConfigError, match="energy_min < energy_max"):
        from_mapping(SynthConfig, {**mapping, "em": {**mapping["em"], "energy_max": 1.0}})


def test_unknown_preset_lists_choices():
    with pytest.raises(ValueError, match=r"choose one of \['highpu', 'ttbar'\]"):
        load_synth_config("lowpu")
