"""The quantized back-end decoder: its formats, its folder, and (slow) training on a reference encoder into
firmware whose hls4ml C simulation and Verilog equal Keras cell integer by cell integer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from codesign.errors import VerificationError
from codesign.models.encoder import EncoderConfig
from codesign.models.qdecoder import (
    QuantizedDecoderConfig,
    build_quantized_decoder,
    cell_integers,
    load_quantized_decoder,
    save_quantized_decoder,
    wafers_from_cells,
)
from codesign.models.store import ModelFolderError

REFERENCE = Path(__file__).parents[1] / "models" / "reference"
ENCODER = EncoderConfig(elinks=2, latent_int_bits=1)


@pytest.mark.parametrize("kwargs, message", [
    ({"hidden": ()}, "hidden"), ({"hidden": (0,)}, "hidden"), ({"weight_bits": 1}, "weight_bits"),
    ({"weight_frac_bits": 6}, "weight_frac_bits"), ({"act_int_bits": 9}, "act_int_bits"),
    ({"out_bits": 0}, "out_bits"),
])
def test_bad_decoder_formats_are_refused_by_name(kwargs, message):
    with pytest.raises(ValueError, match=message):
        QuantizedDecoderConfig(**kwargs)


def test_decoder_outputs_are_unsigned_integers_on_its_grid():
    cfg = QuantizedDecoderConfig(hidden=(8,))
    model = build_quantized_decoder(cfg, ENCODER, seed=1)
    lsb = 2.0 ** -ENCODER.latent_frac_bits
    latents = np.random.default_rng(0).integers(0, 1 << ENCODER.latent_bits, size=(64, 16)) * lsb
    cells = cell_integers(model.predict(latents.astype(np.float32), verbose=0), cfg)
    assert cells.shape == (64, 48)
    assert cells.min() >= 0 and cells.max() < 1 << cfg.out_bits
    assert cells.any()  # a seeded decoder is not dead: its biases start above one LSB
    with pytest.raises(ValueError, match="grid"):
        cell_integers(np.full((1, 48), 0.001), cfg)


def test_all_zero_cells_decode_to_the_uniform_wafer():
    wafers = wafers_from_cells(np.array([[0] * 48, [2] + [0] * 46 + [6]]))
    assert np.allclose(wafers[0], 1 / 48)
    assert wafers[1, 0] == 0.25 and wafers[1, 47] == 0.75


def test_a_decoder_folder_round_trips_and_a_missing_file_is_named(tmp_path):
    cfg = QuantizedDecoderConfig(hidden=(4, 4), weight_bits=4, weight_frac_bits=2)
    model = build_quantized_decoder(cfg, ENCODER, seed=0)
    save_quantized_decoder(model, cfg, ENCODER, tmp_path / "dec", autoencoder=str(tmp_path / "ae"))
    (tmp_path / "dec").rename(tmp_path / "moved")  # the pair moves together: the autoencoder is found relatively
    (tmp_path / "ae").mkdir()
    loaded = load_quantized_decoder(tmp_path / "moved")
    assert (loaded.config, loaded.encoder) == (cfg, ENCODER)
    assert Path(loaded.autoencoder).resolve() == (tmp_path / "ae").resolve()
    assert loaded.shape == "16-4-4-48" and loaded.firmware() is None
    latents = np.full((3, 16), 0.5, dtype=np.float32)
    assert np.array_equal(loaded.cells(latents), cell_integers(model.predict(latents, verbose=0), cfg))
    (tmp_path / "moved" / "decoder.keras").unlink()
    with pytest.raises(ModelFolderError, match="decoder.keras"):
        load_quantized_decoder(tmp_path / "moved")


def test_a_firmware_difference_names_the_first_wafer():
    from codesign.fpga.decoder_firmware import _compare

    expected = np.zeros((5, 48), dtype=np.int64)
    got = expected.copy()
    got[3, 7] = 1
    with pytest.raises(VerificationError, match="1 of 5 wafers; first at wafer 3"):
        _compare("Verilog", got, expected)
    _compare("Verilog", expected, expected.copy())


@pytest.mark.slow
def test_a_trained_decoder_becomes_bit_exact_firmware_and_is_scored(tmp_path, real_dir):
    """Train a tiny decoder for one epoch on the 2-eLink reference encoder; its hls4ml C simulation and its
    da4ml Verilog (Verilator) equal Keras on held-out, corner and random latents; Yosys counts its LUTs; the
    evaluation scores its integer outputs and reports that cost."""
    from codesign.evaluation import evaluate_model
    from codesign.fpga.decoder_firmware import build_decoder_firmware, check_latents
    from codesign.training import held_out_wafers, load_autoencoder, train_quantized_decoder

    reference = REFERENCE / "econt_2elink_hybrid"
    decoder = train_quantized_decoder(reference, tmp_path / "dec", QuantizedDecoderConfig(hidden=(4,)), epochs=1,
                                      progress=False)
    latents, source = check_latents(decoder, n_random=200)
    assert "held-out" in source and len(latents) > 600
    firmware = build_decoder_firmware(decoder, latents, tmp_path / "fw")
    assert firmware.hls_csim_equal and firmware.rtl_equal and firmware.n_wafers == len(latents)
    assert 0 < firmware.luts < 5760 and firmware.fits
    assert json.loads((tmp_path / "dec" / "firmware.json").read_text())["luts"] == firmware.luts
    assert (tmp_path / "fw" / "hls" / "firmware").is_dir() and (tmp_path / "fw" / "firmware.md").is_file()

    ae, spec = load_autoencoder(reference)
    calq = held_out_wafers(spec, n_wafers=60)
    metrics, _ = evaluate_model(ae, spec, calq, modules=("ld",), decoder=load_quantized_decoder(tmp_path / "dec"))
    row = metrics["qdecoder:econt_2elink_hybrid"]
    assert row["back_end_cost"].endswith("(fits)") and 0 < row["mean_emd"] < 10
    assert row["sparse_fraction"] == metrics["autoencoder:econt_2elink_hybrid"]["sparse_fraction"]
