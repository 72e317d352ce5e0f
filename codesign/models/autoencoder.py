"""The ECON-T autoencoder: the quantized on-chip encoder and a float off-chip decoder.

Decoder (published shape): Dense(128) -> 4x4x8 -> Conv2DTranspose(8, 3x3, stride 2) -> Conv2D(1, 3x3) on
the 8x8 image -> the 48 TCs read from their pixels -> softmax, so the output is a unit-sum wafer; the
transmitted 9-bit wafer sum restores the scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import keras

from codesign.models.encoder import EncoderConfig, build_encoder
from codesign.models.losses import LossConfig
from codesign.nn.layers import ImageToWafer


@dataclass(frozen=True)
class DecoderConfig:
    dense_units: int = 128
    filters: int = 8
    hidden: tuple[int, ...] = ()  # extra Dense(+ReLU) layers between the latent and dense_units (off chip)

    def __post_init__(self) -> None:
        for name, value in (("dense_units", self.dense_units), ("filters", self.filters),
                            *((f"hidden[{i}]", h) for i, h in enumerate(self.hidden))):
            if value < 1:
                raise ValueError(f"decoder.{name} must be at least 1 (a layer of {value} units has no output), "
                                 f"got {value}")


@dataclass(frozen=True)
class AeTrainingConfig:
    sources: tuple[str, ...] = ("highpu_dev.csv",)  # real files or synth:PRESET, each split by wafer
    n_synth_wafers: int = 20000
    split: tuple[float, float, float] = (0.7, 0.1, 0.2)
    epochs: int = 100
    batch_size: int = 256
    learning_rate: float = 3e-3
    patience: int = 10
    seed: int = 0
    # After the joint fit, the decoder alone goes on training on the frozen encoder for up to this many
    # epochs (same early stopping): without the straight-through noise of the quantized encoder it settles
    # onto the latents it will actually receive.
    decoder_epochs: int = 0
    decoder_learning_rate: float = 1e-3
    # An HDF5 wafer store (`codesign data store`) streamed as the training set instead of the sources'
    # training splits (which then give validation and test wafers only): for training sets beyond memory.
    stream_store: str | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"training.{name} must be at least 1, got {getattr(self, name)}")
        for name in ("patience", "decoder_epochs", "n_synth_wafers", "seed"):
            if getattr(self, name) < 0:
                raise ValueError(f"training.{name} must be non-negative, got {getattr(self, name)}")
        for name in ("learning_rate", "decoder_learning_rate"):
            rate = getattr(self, name)
            if not math.isfinite(rate) or rate <= 0:
                raise ValueError(f"training.{name} must be a finite positive number, got {rate}")
        fractions = self.split
        if (len(fractions) != 3 or not all(math.isfinite(f) and f >= 0 for f in fractions)
                or not math.isclose(sum(fractions), 1.0) or min(fractions[1:]) <= 0):
            raise ValueError(f"training.split must be three fractions (train, val, test) summing to 1, val and "
                             f"test above 0, got {list(fractions)}")


@dataclass(frozen=True)
class AutoencoderSpec:
    name: str
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    decoder: DecoderConfig = field(default_factory=DecoderConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    training: AeTrainingConfig = field(default_factory=AeTrainingConfig)


def build_decoder(cfg: DecoderConfig, latent_dim: int) -> keras.Model:
    z = keras.Input((latent_dim,), name="latent")
    x = z
    for i, units in enumerate(cfg.hidden):
        x = keras.layers.Dense(units, activation="relu", name=f"dec_hidden{i}")(x)
    x = keras.layers.Dense(cfg.dense_units, activation="relu", name="dec_dense")(x)
    x = keras.layers.Reshape((4, 4, cfg.dense_units // 16), name="dec_reshape")(x)
    x = keras.layers.Conv2DTranspose(cfg.filters, 3, strides=2, padding="same", activation="relu",
                                     name="dec_deconv")(x)
    x = keras.layers.Conv2D(1, 3, padding="same", name="dec_conv")(x)
    x = ImageToWafer("8x8", name="dec_tcs")(x)
    return keras.Model(z, keras.layers.Softmax(name="unit_sum")(x), name="decoder")


def build_autoencoder(spec: AutoencoderSpec, seed: int) -> tuple[keras.Model, keras.Model, keras.Model]:
    """(autoencoder, encoder, decoder); the autoencoder maps encoder images to unit-sum (n, 48) wafers."""
    if spec.decoder.dense_units % 16:
        raise ValueError("decoder.dense_units must be a multiple of 16 (reshaped to 4x4xC)")
    encoder = build_encoder(spec.encoder, seed, full_range_init=False)
    decoder = build_decoder(spec.decoder, spec.encoder.latent_dim)
    ae = keras.Model(encoder.input, decoder(encoder.output), name=f"autoencoder_{spec.name}")
    return ae, encoder, decoder
