"""HLS projects with hls4ml: write, compile the bit-accurate C simulation, check it against Keras, and run
the vendor HLS synthesis when its tool is installed.

Two ways into hls4ml, both bit-exact (``check_csim`` proves it on real wafers):
- Vitis and Vivado read the HGQ2 quantizers directly (hls4ml's HGQ proxy-model pass);
- Catapult is not supported by that pass in hls4ml 1.3, so for it the encoder is rebuilt as a plain Keras
  model holding the quantized weights, with every precision stated explicitly from the EncoderConfig
  (exact accumulators, truncating/saturating activations) - ``explicit_precision_model``.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import provenance, write_json
from codesign.data.onchip import onchip_convert
from codesign.errors import VerificationError
from codesign.models.encoder import EncoderConfig, encoder_inputs, latent_integers
from codesign.progress import Level, heartbeat, level
from codesign.tools import ToolNotFoundError

BACKENDS = {"vitis": "Vitis", "vivado": "Vivado", "catapult": "Catapult"}
# Executables the hls4ml backends call to synthesise (any one of them is enough).
HLS_EXECUTABLES = {"vitis": ("vitis-run", "vitis_hls"), "vivado": ("vivado_hls",), "catapult": ("catapult",)}
# distributed_arithmetic: hls4ml 1.3's da4ml-backed strategy (constant multiplications as adder trees, no DSPs);
# its C simulation equals Keras like the others (HGQ2 backends only)
STRATEGIES = ("latency", "resource", "distributed_arithmetic")
# hls4ml 1.3 reads HGQ2 quantizers through its proxy-model pass, which only knows these backends
# (hls4ml/backends/fpga/passes/hgq_proxy_model.py asserts it); Catapult takes the explicit path.
HGQ_BACKENDS = ("vitis", "vivado")


@dataclass(frozen=True)
class HlsSettings:
    backend: str = "vitis"
    reuse_factor: int = 1
    strategy: str = "latency"
    clock_period_ns: float = 25.0
    part: str | None = None  # backend default when None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"unknown HLS backend {self.backend!r}; choose one of {list(BACKENDS)}")
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {list(STRATEGIES)}")
        if self.reuse_factor < 1:
            raise ValueError("reuse_factor must be at least 1")
        if self.strategy == "distributed_arithmetic" and self.backend not in HGQ_BACKENDS:
            raise ValueError(f"the distributed_arithmetic strategy needs an HGQ2 backend ({', '.join(HGQ_BACKENDS)}), "
                             f"not {self.backend}")


def _exact_accumulator(n_terms: int, in_int: int, in_frac: int, cfg: EncoderConfig) -> str:
    """A signed type that holds any sum of ``n_terms`` products plus a bias without rounding or overflow."""
    w_int = cfg.weight_bits - cfg.weight_frac_bits  # sign included
    bound = (n_terms + 1) * 2.0 ** in_int * 2.0 ** (w_int - 1)
    i = int(np.ceil(np.log2(bound))) + 1
    f = in_frac + cfg.weight_frac_bits
    return f"fixed<{i + f},{i}>"


def explicit_precision_model(model: Any, cfg: EncoderConfig) -> tuple[Any, dict[str, Any]]:
    """(plain Keras encoder with the quantized weights, hls4ml config with every precision explicit)."""
    import hls4ml
    import keras

    conv, dense = model.get_layer("conv"), model.get_layer("latent")
    inp = keras.Input(model.input.shape[1:], name="onchip_inputs")
    x = keras.layers.Conv2D(cfg.conv_filters, cfg.conv_kernel, strides=cfg.conv_stride, padding="same",
                            name="conv")(inp)
    x = keras.layers.ReLU(name="conv_relu")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(cfg.latent_dim, name="latent")(x)
    plain = keras.Model(inp, keras.layers.ReLU(name="latent_relu")(x), name="econt_encoder_plain")
    plain.get_layer("conv").set_weights([np.asarray(conv.qkernel), np.asarray(conv.qbias)])
    plain.get_layer("latent").set_weights([np.asarray(dense.qkernel), np.asarray(dense.qbias)])

    weight = f"fixed<{cfg.weight_bits},{cfg.weight_bits - cfg.weight_frac_bits}>"
    act = f"ufixed<{cfg.conv_act_bits},{cfg.conv_act_int_bits}"
    conv_acc = _exact_accumulator(cfg.conv_kernel**2 * inp.shape[-1], cfg.input_int_bits, cfg.input_frac_bits, cfg)
    dense_acc = _exact_accumulator(int(dense.kernel.shape[0]), cfg.conv_act_int_bits,
                                   cfg.conv_act_bits - cfg.conv_act_int_bits, cfg)
    config = hls4ml.utils.config_from_keras_model(plain, granularity="name")
    layers = config["LayerName"]
    layers["onchip_inputs"]["Precision"] = {"result": f"ufixed<{cfg.input_int_bits + cfg.input_frac_bits},"
                                                      f"{cfg.input_int_bits}>"}
    layers["conv"]["Precision"] = {"weight": weight, "bias": weight, "accum": conv_acc, "result": conv_acc}
    layers["conv_relu"]["Precision"] = {"result": f"{act},TRN,SAT>"}
    layers["flatten"]["Precision"] = {"result": f"{act}>"}
    layers["latent"]["Precision"] = {"weight": weight, "bias": weight, "accum": dense_acc, "result": dense_acc}
    layers["latent_relu"]["Precision"] = {"result": f"ufixed<{cfg.latent_bits},{cfg.latent_int_bits},TRN,SAT>"}
    return plain, config


def hls_config(model: Any, cfg: EncoderConfig | None, settings: HlsSettings) -> tuple[Any, dict[str, Any]]:
    """(the Keras model hls4ml converts, its hls4ml configuration dict) for ``settings``; ``cfg`` None: a
    model other than the encoder, which only the HGQ2 backends convert."""
    import hls4ml

    if cfg is None and settings.backend not in HGQ_BACKENDS:
        raise ValueError(f"only the {' and '.join(HGQ_BACKENDS)} backends read HGQ2 quantizers; "
                         f"{settings.backend} converts the encoder alone")
    if settings.backend in HGQ_BACKENDS or cfg is None:
        config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=BACKENDS[settings.backend])
    else:
        model, config = explicit_precision_model(model, cfg)
    config["Model"]["ReuseFactor"] = settings.reuse_factor
    config["Model"]["Strategy"] = settings.strategy.capitalize()
    return model, config


def write_hls_project(model: Any, cfg: EncoderConfig | None, settings: HlsSettings, *, out_dir: str | Path,
                      config: dict[str, Any] | None = None, project_name: str = "econt_encoder") -> Any:
    """Write the hls4ml project (io_parallel) into ``out_dir`` and return the hls4ml model graph; ``config``
    replaces the derived hls4ml configuration (``hls_config``), e.g. one edited by hand; ``cfg`` None for a
    model other than the encoder (HGQ2 backends only)."""
    import hls4ml

    backend = BACKENDS[settings.backend]
    model, derived = hls_config(model, cfg, settings)
    config = config if config is not None else derived
    extra = {"part": settings.part} if settings.part else {}
    with warnings.catch_warnings():
        if level() < Level.VERBOSE:  # the precisions above are set on purpose; hls4ml warns for each one
            warnings.filterwarnings("ignore", message="Overriding attribute", category=UserWarning)
        hls_model = hls4ml.converters.convert_from_keras_model(
            model, hls_config=config, backend=backend, io_type="io_parallel", output_dir=str(out_dir),
            project_name=project_name, clock_period=settings.clock_period_ns, **extra)
    hls_model.write()
    return hls_model


def compile_csim(hls_model: Any) -> None:
    """Compile the hls4ml project's bit-accurate C simulation with g++ (a heartbeat names the project)."""
    with heartbeat("g++ (hls4ml C simulation)", Path(hls_model.config.get_output_dir())):
        hls_model.compile()


def csim_latents(hls_model: Any, x: np.ndarray, cfg: EncoderConfig) -> np.ndarray:
    """(n, latents) integers from the compiled C simulation on encoder images ``x``."""
    return latent_integers(hls_model.predict(np.ascontiguousarray(x)).reshape(len(x), -1), cfg)


@dataclass(frozen=True)
class CsimCheck:
    """The hls4ml C simulation against Keras, latent integer by latent integer."""

    n_wafers: int
    source: str
    n_latents: int
    mismatches: int

    def __str__(self) -> str:
        return (f"C simulation vs Keras on {self.n_wafers} wafers ({self.source}): {self.mismatches} of "
                f"{self.n_latents} latents differ")


def check_csim(hls_model: Any, model: Any, cfg: EncoderConfig, *, calq: np.ndarray, source: str) -> CsimCheck:
    """Run ``calq`` through the on-chip conversion into Keras and the compiled C simulation; raise
    ``VerificationError`` if any latent integer differs."""
    x = encoder_inputs(onchip_convert(calq).inputs, cfg)
    expected = latent_integers(model.predict(x, verbose=0, batch_size=1024), cfg)
    compile_csim(hls_model)
    differ = int(np.count_nonzero(csim_latents(hls_model, x, cfg) != expected))
    check = CsimCheck(len(calq), source, expected.size, differ)
    if check.mismatches:
        raise VerificationError(f"HLS C simulation differs from Keras on {check.mismatches} of {check.n_latents} "
                                "latents")
    return check


def hls_tool(backend: str) -> str | None:
    return next((exe for exe in HLS_EXECUTABLES[backend] if shutil.which(exe)), None)


def run_hls_synthesis(hls_model: Any, settings: HlsSettings, out_dir: str | Path) -> dict[str, Any]:
    """Run the vendor C synthesis through hls4ml and save its parsed report as ``hls_report.json``."""
    if hls_tool(settings.backend) is None:
        raise ToolNotFoundError(
            f"no {' or '.join(HLS_EXECUTABLES[settings.backend])} on PATH: the {settings.backend} HLS tool is not "
            f"installed here. The project in {out_dir} is complete; run its build_prj.tcl where the tool is.")
    report = hls_model.build(csim=False, synth=True) or {}
    write_json(Path(out_dir) / "hls_report.json", {"report": report, "meta": provenance(**vars(settings))})
    return report
