"""A quantized back-end decoder: the autoencoder's latents -> 48 unsigned integers, one per cell, that a
Stage-1 FPGA can compute (HGQ2 layers, fixed formats, the encoder's recipe that converts bit-exactly through
hls4ml and da4ml).

The float decoder of the reference systems (hundreds of thousands of parameters) is an unbounded back end;
this one is a small multilayer perceptron sized for the per-module budget (``codesign.arena.BackEndBudget``).
Its outputs are the cells' shares up to one scale: the reconstruction is the integers normalised to unit
sum (the charges follow from the transmitted module sum by one division), an all-zero output the uniform
wafer. The exact EMD is computed on those integers, not on a float stand-in.

A folder written by ``train_quantized_decoder`` holds ``decoder.keras`` (the hardware model, integers
out), ``decoder.yaml`` (``QuantizedDecoderConfig``, the autoencoder folder it decodes, its encoder config),
``metadata.json`` and ``history.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.data.geometry import N_TC
from codesign.data.normalise import unit_or_uniform
from codesign.models.encoder import EncoderConfig

DECODER_FILE = "decoder.keras"
DECODER_CONFIG_FILE = "decoder.yaml"
FIRMWARE_FILE = "firmware.json"  # written by codesign.fpga.decoder_firmware: checks and FPGA resources


@dataclass(frozen=True)
class QuantizedDecoderConfig:
    """Shapes and fixed-point formats of the back-end decoder (signed weights, unsigned activations)."""

    hidden: tuple[int, ...] = (32,)  # Dense + ReLU layers between the latents and the 48 cells
    weight_bits: int = 6  # sign included; weights and biases
    weight_frac_bits: int = 4
    act_bits: int = 8  # hidden activations after ReLU
    act_int_bits: int = 3
    out_bits: int = 8  # each cell's share
    out_int_bits: int = 2

    def __post_init__(self) -> None:
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"decoder hidden layers must be one or more widths of at least 1, got {list(self.hidden)}")
        for name, lo, hi in (("weight_bits", 2, 16), ("act_bits", 1, 16), ("out_bits", 1, 16)):
            if not lo <= getattr(self, name) <= hi:
                raise ValueError(f"decoder {name} must be in [{lo}, {hi}], got {getattr(self, name)}")
        if not 0 <= self.weight_frac_bits < self.weight_bits:
            raise ValueError(f"decoder weight_frac_bits must be in [0, weight_bits), got {self.weight_frac_bits}")
        for name, bits in (("act_int_bits", self.act_bits), ("out_int_bits", self.out_bits)):
            if not 0 <= getattr(self, name) <= bits:
                raise ValueError(f"decoder {name} must be in [0, {bits}], got {getattr(self, name)}")

    @property
    def out_frac_bits(self) -> int:
        return self.out_bits - self.out_int_bits


def build_quantized_decoder(cfg: QuantizedDecoderConfig, encoder: EncoderConfig, seed: int) -> Any:  # keras.Model
    """The decoder, seeded: latents on the encoder's latent grid in, 48 unsigned cell shares out."""
    import keras
    from hgq.config import QuantizerConfig, QuantizerConfigScope
    from hgq.layers import QDense, Quantizer

    def weights() -> QuantizerConfig:
        return QuantizerConfig("kbi", k0=1, b0=cfg.weight_bits - 1, i0=cfg.weight_bits - 1 - cfg.weight_frac_bits,
                               round_mode="RND", overflow_mode="SAT", trainable=False)

    def unsigned(int_bits: int, frac_bits: int, overflow: str = "SAT") -> QuantizerConfig:
        return QuantizerConfig("kif", k0=0, i0=int_bits, f0=frac_bits, round_mode="TRN", overflow_mode=overflow,
                               trainable=False)

    rng = np.random.default_rng(seed)
    widths = (*cfg.hidden, N_TC)
    with QuantizerConfigScope(default_q_type="dummy"):
        z = keras.Input((encoder.latent_dim,), name="latents")
        x = Quantizer(unsigned(encoder.latent_int_bits, encoder.latent_frac_bits, "WRAP"), name="latent_q")(z)
        for i, units in enumerate(widths):
            last = i == len(widths) - 1
            out = unsigned(cfg.out_int_bits, cfg.out_frac_bits) if last else \
                unsigned(cfg.act_int_bits, cfg.act_bits - cfg.act_int_bits)
            name = "cells" if last else f"hidden{i}"
            # a small positive bias keeps every ReLU alive at the start (the truncating quantizer sends a
            # value below one LSB to 0, where no gradient flows)
            x = QDense(units, name=name, kq_conf=weights(), bq_conf=weights(),
                       kernel_initializer=keras.initializers.GlorotUniform(seed=int(rng.integers(2**31))),
                       bias_initializer=keras.initializers.Constant(0.25), oq_conf=out,
                       enable_iq=False, enable_oq=True)(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
    return keras.Model(z, x, name="econt_decoder")


def cell_integers(outputs: np.ndarray, cfg: QuantizedDecoderConfig) -> np.ndarray:
    """Decoder outputs -> the unsigned integers the firmware computes (exact: outputs lie on the grid)."""
    scaled = np.asarray(outputs, dtype=np.float64) * (1 << cfg.out_frac_bits)
    ints = np.rint(scaled).astype(np.int64)
    if not np.array_equal(ints, scaled):
        raise ValueError("decoder outputs are not on the fixed-point grid of the output format")
    return ints


def wafers_from_cells(cells: np.ndarray) -> np.ndarray:
    """(n, 48) cell integers -> unit-sum wafers (all zero: the uniform wafer)."""
    return unit_or_uniform(cells)


@dataclass(frozen=True)
class QuantizedDecoder:
    """A trained decoder folder: the Keras model, its config, the encoder it decodes and where it came from."""

    model: Any
    config: QuantizedDecoderConfig
    encoder: EncoderConfig
    autoencoder: str  # the model folder whose encoder's latents it decodes (decoder.yaml: relative to ``folder``)
    folder: Path

    @property
    def shape(self) -> str:
        """``16-32-48``: the layer widths."""
        return "-".join(map(str, (self.encoder.latent_dim, *self.config.hidden, N_TC)))

    def firmware(self) -> dict[str, Any] | None:
        """The last ``firmware.json`` measured for this folder, if any."""
        import json

        path = self.folder / FIRMWARE_FILE
        return json.loads(path.read_text()) if path.is_file() else None

    def cells(self, latents: np.ndarray) -> np.ndarray:
        """(n, 48) cell integers for latent values (the encoder's outputs, on its latent grid)."""
        out = self.model.predict(np.asarray(latents, dtype=np.float32), batch_size=4096, verbose=0)
        return cell_integers(out, self.config)


def save_quantized_decoder(model: Any, cfg: QuantizedDecoderConfig, encoder: EncoderConfig, out_dir: str | Path, *,
                           autoencoder: str, **meta: Any) -> Path:
    """Write the decoder folder (``decoder.keras`` last but atomically, as every file)."""
    import yaml

    from codesign.artifacts import atomic_path, provenance, write_json, write_text
    from codesign.config import to_mapping
    from codesign.models.store import METADATA_FILE, claim_model_out

    out = claim_model_out(out_dir)
    # the autoencoder's folder relative to this one: the pair moves (or is committed) together
    where = os.path.relpath(Path(autoencoder).resolve(), out.resolve())
    write_text(out / DECODER_CONFIG_FILE, yaml.safe_dump(
        {"autoencoder": where, "decoder": to_mapping(cfg), "encoder": to_mapping(encoder)}, sort_keys=False))
    write_json(out / METADATA_FILE, provenance(autoencoder=autoencoder, **meta))
    with atomic_path(out / DECODER_FILE) as tmp:
        model.save(tmp)
    return out


def load_quantized_decoder(folder: str | Path) -> QuantizedDecoder:
    """A folder written by ``train_quantized_decoder``; a missing file or a bad key is named."""
    import hgq  # noqa: F401  (registers the quantized layers with Keras before loading)

    from codesign.artifacts import load_keras_file
    from codesign.config import from_mapping, read_yaml
    from codesign.models.store import ModelFolderError

    path = Path(folder)
    for name in (DECODER_CONFIG_FILE, DECODER_FILE):
        if not (path / name).is_file():
            raise ModelFolderError(f"{path}: not a decoder folder (no {name}); write one with "
                                   "`codesign train-decoder`")
    where = str(path / DECODER_CONFIG_FILE)
    data = read_yaml(path / DECODER_CONFIG_FILE, "decoder config")
    if not isinstance(data, dict) or not {"autoencoder", "decoder", "encoder"} <= set(data):
        raise ModelFolderError(f"{where}: expected the keys autoencoder, decoder and encoder")
    return QuantizedDecoder(model=load_keras_file(path / DECODER_FILE),
                            config=from_mapping(QuantizedDecoderConfig, data["decoder"], where=f"{where}: decoder"),
                            encoder=from_mapping(EncoderConfig, data["encoder"], where=f"{where}: encoder"),
                            autoencoder=str(path / str(data["autoencoder"])), folder=path)
