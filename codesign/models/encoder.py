"""The on-chip ECON-T encoder as an HGQ2 quantized Keras model.

Layout as published: the 48 on-chip inputs (unsigned, 1 integer and 7 fractional bits) arranged as an
image, Conv2D(8, 3x3, stride 2) with one extra row and column of zeros at the bottom/right, ReLU, Flatten,
Dense(16), ReLU. Keras' ``padding='same'`` with stride 2 on an 8x8 image pads exactly that (0 before, 1
after), and unlike a ``ZeroPadding2D`` layer the da4ml tracer accepts it.

Recipe that converts bit-exactly through hls4ml and da4ml (see ../shared/TOOLCHAIN.md): every quantizer is
fixed (not trainable), with round-to-nearest (``RND``) weights and truncating (``TRN``) saturating
activations; the input quantizer wraps (da4ml requires it, and on-chip inputs are in range by
construction); layers take their input unquantized (``enable_iq=False``, the previous quantizer already
did it) and quantize their output (``enable_oq=True``); ReLU is a layer, not a function call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from codesign.data.arrange import IMAGE_SHAPE, Layout, to_image
from codesign.data.geometry import N_TC
from codesign.data.onchip import INPUT_BITS, INPUT_FRAC_BITS

LATENT_BITS_BY_ELINKS = {2: 3, 3: 5, 4: 7, 5: 9}


# (field, lowest, highest) of EncoderConfig's integer fields: what the quantizers, the hardware generators
# and the 8-bit on-chip inputs can represent (weights up to 16 bits: the RTL's multipliers grow with them)
_RANGES = (
    ("input_int_bits", 0, 8), ("input_frac_bits", 0, 16), ("conv_filters", 1, 64), ("conv_kernel", 1, 8),
    ("conv_stride", 1, 8), ("weight_bits", 2, 16), ("conv_act_bits", 1, 16), ("conv_act_int_bits", 0, 16),
    ("latent_dim", 1, 64), ("latent_int_bits", 0, 16),
)


@dataclass(frozen=True)
class EncoderConfig:
    """Shapes and fixed-point formats of the on-chip encoder (defaults: the published 5-eLink ECON-T)."""

    layout: Layout = "8x8"
    input_int_bits: int = 1  # unsigned on-chip inputs in [0, 2)
    input_frac_bits: int = 7
    conv_filters: int = 8
    conv_kernel: int = 3
    conv_stride: int = 2
    weight_bits: int = 6  # signed, sign bit included; weights and biases
    weight_frac_bits: int = 5
    conv_act_bits: int = 8  # unsigned, after ReLU
    conv_act_int_bits: int = 3
    latent_dim: int = 16
    elinks: Literal[2, 3, 4, 5] = 5  # output links; sets the latent width
    latent_int_bits: int = 5
    # training only: initial latent bias in units of the latent LSB. With 3-bit latents (2 eLinks) the LSB is
    # 0.5 and a zero bias truncates every latent of a fresh encoder to 0, where the ReLU passes no gradient:
    # nothing trains (training refuses to start then). 0 keeps the 5-eLink recipes' published weights.
    latent_bias_init: float = 0.0
    # hybrid encoder: wafers with at most this many non-zero inputs are sent as their largest cells instead of
    # latents (codesign.models.sparse); None: every wafer through the autoencoder
    sparse_max_occupancy: int | None = None
    # bits kept of each sparse-mode cell's 8-bit input (its top bits): fewer bits, more cells per frame
    sparse_value_bits: int = INPUT_BITS
    # what a sparse-mode cell carries: "input", the top ``sparse_value_bits`` bits of its 8-bit on-chip input
    # (sent in the latent field); or "charge", its CALQ as the chip's 7-bit 4E3M Best-Choice word (sent in
    # every frame bit but the sum code and mode bit; small cells that the on-chip conversion rounds to 0 stay)
    sparse_values: Literal["input", "charge"] = "input"

    def __post_init__(self) -> None:
        for name, lo, hi in _RANGES:
            value = getattr(self, name)
            if not lo <= value <= hi:
                raise ValueError(f"{name} must be in [{lo}, {hi}], got {value}")
        if self.elinks not in LATENT_BITS_BY_ELINKS:
            raise ValueError(f"elinks must be one of {sorted(LATENT_BITS_BY_ELINKS)}, got {self.elinks}")
        if not 0 <= self.weight_frac_bits < self.weight_bits:
            raise ValueError("weight_frac_bits must be in [0, weight_bits)")
        for name in ("conv_act_int_bits", "latent_int_bits"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be non-negative")
        if self.latent_bias_init < 0:
            raise ValueError(f"latent_bias_init must be non-negative, got {self.latent_bias_init}")
        if self.sparse_max_occupancy is not None and not 0 <= self.sparse_max_occupancy <= N_TC:
            raise ValueError(f"sparse_max_occupancy must be in [0, {N_TC}], got {self.sparse_max_occupancy}")
        if not 1 <= self.sparse_value_bits <= INPUT_BITS:
            raise ValueError(f"sparse_value_bits must be in [1, {INPUT_BITS}], got {self.sparse_value_bits}")
        if self.sparse_values not in ("input", "charge"):
            raise ValueError(f"sparse_values must be 'input' or 'charge', got {self.sparse_values!r}")
        if self.sparse_values == "charge" and self.sparse_value_bits != INPUT_BITS:
            raise ValueError("sparse_value_bits applies to input cells; charge cells are 7-bit 4E3M words")

    @property
    def latent_bits(self) -> int:
        return LATENT_BITS_BY_ELINKS[self.elinks]

    @property
    def latent_frac_bits(self) -> int:
        return self.latent_bits - self.latent_int_bits


def encoder_inputs(onchip_inputs: np.ndarray, cfg: EncoderConfig) -> np.ndarray:
    """(n, 48) on-chip input integers (units of 2**-7, the conversion's fixed format) -> float32 images for the
    model; the model's input quantizer then applies ``input_int_bits``/``input_frac_bits`` (floor, wrap)."""
    scaled = np.asarray(onchip_inputs, dtype=np.float64) / (1 << INPUT_FRAC_BITS)
    return np.ascontiguousarray(to_image(scaled, cfg.layout), dtype=np.float32)


def build_encoder(cfg: EncoderConfig, seed: int, full_range_init: bool = True) -> Any:  # keras.Model
    """The quantized encoder, seeded. ``full_range_init`` draws weights uniformly over the whole weight range,
    so an untrained model already exercises every bit of the datapath (the hardware stand-in); training
    starts from Glorot-uniform weights instead (``full_range_init=False``)."""
    import keras
    from hgq.config import QuantizerConfig, QuantizerConfigScope
    from hgq.layers import QConv2D, QDense, Quantizer

    def weights() -> QuantizerConfig:
        frac, bits = cfg.weight_frac_bits, cfg.weight_bits
        return QuantizerConfig("kbi", k0=1, b0=bits - 1, i0=bits - 1 - frac, round_mode="RND",
                               overflow_mode="SAT", trainable=False)

    def activation(int_bits: int, frac_bits: int, overflow: str = "SAT") -> QuantizerConfig:
        return QuantizerConfig("kif", k0=0, i0=int_bits, f0=frac_bits, round_mode="TRN",
                               overflow_mode=overflow, trainable=False)

    top = 2.0 ** (cfg.weight_bits - 1 - cfg.weight_frac_bits)
    rng = np.random.default_rng(seed)

    def init(bias: bool = False, bias_value: float = 0.0) -> keras.initializers.Initializer:
        seed = int(rng.integers(2**31))  # drawn in every case: the seeded weights do not depend on the mode
        if full_range_init:
            return keras.initializers.RandomUniform(-top, top, seed=seed)
        # constant biases for training: a Glorot-drawn negative bias switched a latent ReLU off for good (one
        # of the 16 latents of the first trained encoders was zero on every wafer)
        return keras.initializers.Constant(bias_value) if bias else keras.initializers.GlorotUniform(seed=seed)

    with QuantizerConfigScope(default_q_type="dummy"):
        inp = keras.Input(IMAGE_SHAPE[cfg.layout], name="onchip_inputs")
        x = Quantizer(activation(cfg.input_int_bits, cfg.input_frac_bits, "WRAP"), name="input_q")(inp)
        x = QConv2D(cfg.conv_filters, cfg.conv_kernel, strides=cfg.conv_stride, padding="same", name="conv",
                    kq_conf=weights(), bq_conf=weights(), kernel_initializer=init(), bias_initializer=init(bias=True),
                    oq_conf=activation(cfg.conv_act_int_bits, cfg.conv_act_bits - cfg.conv_act_int_bits),
                    enable_iq=False, enable_oq=True)(x)
        x = keras.layers.ReLU(name="conv_relu")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        x = QDense(cfg.latent_dim, name="latent", kq_conf=weights(), bq_conf=weights(),
                   kernel_initializer=init(),
                   bias_initializer=init(bias=True, bias_value=cfg.latent_bias_init * 2.0 ** -cfg.latent_frac_bits),
                   oq_conf=activation(cfg.latent_int_bits, cfg.latent_frac_bits), enable_iq=False, enable_oq=True)(x)
        out = keras.layers.ReLU(name="latent_relu")(x)
    return keras.Model(inp, out, name="econt_encoder")


def latent_integers(latent: np.ndarray, cfg: EncoderConfig) -> np.ndarray:
    """Model outputs -> the unsigned integers the chip transmits (exact: outputs lie on the latent grid)."""
    scaled = np.asarray(latent, dtype=np.float64) * (1 << cfg.latent_frac_bits)
    ints = np.rint(scaled).astype(np.int64)
    if not np.array_equal(ints, scaled):
        raise ValueError("latent values are not on the fixed-point grid of the latent format")
    return ints
