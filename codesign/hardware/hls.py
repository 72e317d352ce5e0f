"""HLS projects with hls4ml: write, compile the bit-accurate C simulation, check it against Keras, and run
the vendor HLS synthesis when its tool is installed.

Precisions come from the quantized model itself (hls4ml reads the HGQ2 quantizers), so the C simulation
is bit-exact by construction; ``csim_mismatches`` proves it on real wafers.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import provenance, write_json
from codesign.models.encoder import EncoderConfig, latent_integers
from codesign.tools import ToolNotFoundError

BACKENDS = {"vitis": "Vitis", "vivado": "Vivado", "catapult": "Catapult"}
# Executables the hls4ml backends call to synthesise (any one of them is enough).
HLS_EXECUTABLES = {"vitis": ("vitis-run", "vitis_hls"), "vivado": ("vivado_hls",), "catapult": ("catapult",)}
STRATEGIES = ("latency", "resource")
# hls4ml 1.3 reads HGQ2 quantizers through its proxy-model pass, which only knows these backends
# (hls4ml/backends/fpga/passes/hgq_proxy_model.py asserts it); Catapult needs another import path.
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


def write_hls_project(model: Any, settings: HlsSettings, out_dir: str | Path) -> Any:
    """Write the hls4ml project (io_parallel) into ``out_dir`` and return the hls4ml model graph."""
    import hls4ml

    if settings.backend not in HGQ_BACKENDS:
        raise ValueError(f"hls4ml 1.3 cannot convert HGQ2-quantized models for the {settings.backend} backend "
                         f"(its HGQ proxy pass supports {list(HGQ_BACKENDS)} only); use --backend vitis or vivado")
    backend = BACKENDS[settings.backend]
    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    config["Model"]["ReuseFactor"] = settings.reuse_factor
    config["Model"]["Strategy"] = settings.strategy.capitalize()
    extra = {"part": settings.part} if settings.part else {}
    hls_model = hls4ml.converters.convert_from_keras_model(
        model, hls_config=config, backend=backend, io_type="io_parallel", output_dir=str(out_dir),
        project_name="econt_encoder", clock_period=settings.clock_period_ns, **extra)
    hls_model.write()
    return hls_model


def csim_mismatches(hls_model: Any, x: np.ndarray, expected: np.ndarray, cfg: EncoderConfig) -> int:
    """Compile the C simulation (g++) and count latent integers that differ from ``expected``."""
    hls_model.compile()
    got = latent_integers(hls_model.predict(np.ascontiguousarray(x)).reshape(expected.shape), cfg)
    return int(np.count_nonzero(got != expected))


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
