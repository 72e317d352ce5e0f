"""The quantized back-end decoder as Stage-1 FPGA firmware, checked and costed in one call.

``build_decoder_firmware(decoder, latents, out_dir)`` writes
    hls/   the hls4ml project (Vitis, io_parallel), its C simulation compiled and compared with Keras
    rtl/   the decoder as da4ml's (or alkaid's) pipelined Verilog, built with Verilator through the
           compiler's own harness and compared with Keras
    fpga/  Yosys ``synth_xilinx`` (UltraScale+) of that Verilog: LUT, FF, DSP, BRAM
    firmware.json, firmware.md   the checks and the resources against the per-module budget
and records firmware.json in the decoder's folder too (what ``codesign evaluate --decoder`` reports).
Every comparison is of the 48 cell integers per wafer; a difference raises ``VerificationError``. The
cost is one decoder per module, unfolded, one wafer per 25 ns; the final scaling by the module sum (one
division and 48 products) is not part of it and is said so in the report.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arena import BackEndBudget
from codesign.artifacts import atomic_dir, provenance, write_json
from codesign.document import Document
from codesign.errors import VerificationError
from codesign.fpga.synth import XilinxResources, synthesize_fpga
from codesign.hardware.hls import HlsSettings, compile_csim, write_hls_project
from codesign.hardware.rtl import CORE_BACKENDS, RTL_JSON, RtlInfo, trace_core, write_core
from codesign.models.qdecoder import FIRMWARE_FILE, QuantizedDecoder, cell_integers
from codesign.progress import heartbeat
from codesign.tools import verilator_environ

DECODER_MODULE = "econt_decoder"
CLOCK_NS = 25.0  # one wafer per bunch crossing, one decoder per module
LATENCY_CUTOFF = 5.0  # ns of logic per pipeline stage, as the encoder's ASIC pipelining


@dataclass(frozen=True)
class DecoderFirmware:
    """What ``build_decoder_firmware`` checked and measured."""

    folder: Path
    n_wafers: int  # latent vectors compared, each 48 cell integers
    hls_csim_equal: bool | None  # None: the hls4ml C simulation was not built
    rtl_equal: bool
    core_backend: str
    latency_cycles: int
    resources: XilinxResources
    luts: int  # LUTs including shift registers (they take LUT sites), as the arena counts them
    budget: BackEndBudget

    @property
    def fits(self) -> bool:
        return self.budget.fits(self.luts, self.resources.DSP, self.resources.BRAM36, self.resources.FF)

    def document(self) -> Document:
        r = self.resources
        doc = Document("Back-end decoder firmware")
        doc.paragraph(f"Quantized decoder of `{self.folder}` for one module at one wafer per {CLOCK_NS:g} ns "
                      f"(unfolded, {self.latency_cycles} clock cycles of latency), compiled by {self.core_backend}.")
        doc.table(["check", "wafers", "result"], [
            ["hls4ml C simulation == Keras (48 cell integers each)", str(self.n_wafers),
             "not built" if self.hls_csim_equal is None else "equal" if self.hls_csim_equal else "differs"],
            [f"{self.core_backend} Verilog under Verilator == Keras", str(self.n_wafers),
             "equal" if self.rtl_equal else "differs"]])
        doc.table(["LUT (incl. SRL and LUT RAM)", "FF", "CARRY", "DSP", "BRAM36", "budget LUT / DSP / BRAM36", "fits"],
                  [[f"{self.luts:,}", f"{r.FF:,}", f"{r.CARRY:,}", str(r.DSP), f"{r.BRAM36:g}",
                    f"{self.budget.luts:,.0f} / {self.budget.dsps:.0f} / {self.budget.brams:g}",
                    "yes" if self.fits else "no"]])
        doc.paragraph("Not counted: scaling the shares to charges with the module sum (one division, 48 "
                      "products), common to every decoder that normalises.")
        return doc

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in dataclasses.asdict(self).items() if k not in ("folder", "budget")},
                "folder": str(self.folder), "fits": self.fits,
                "budget": {"luts": self.budget.luts, "dsps": self.budget.dsps, "brams": self.budget.brams}}


def _compare(name: str, got: np.ndarray, expected: np.ndarray) -> None:
    differ = np.flatnonzero((got != expected).any(axis=1))
    if len(differ):
        i = int(differ[0])
        raise VerificationError(f"{name} differs from Keras on {len(differ)} of {len(expected)} wafers; first at "
                                f"wafer {i}: {got[i].tolist()} vs {expected[i].tolist()}")


def hls_csim_cells(decoder: QuantizedDecoder, latents: np.ndarray, out_dir: Path) -> np.ndarray:
    """The cell integers of the hls4ml project's compiled C simulation (project written into ``out_dir``)."""
    hls_model = write_hls_project(decoder.model, None, HlsSettings(clock_period_ns=CLOCK_NS), out_dir=out_dir,
                                  project_name=DECODER_MODULE)
    compile_csim(hls_model)
    out = hls_model.predict(np.ascontiguousarray(latents, dtype=np.float32)).reshape(len(latents), -1)
    return cell_integers(out, decoder.config)


def write_decoder_rtl(decoder: QuantizedDecoder, folder: Path, core_backend: str = "da4ml") -> tuple[Any, RtlInfo]:
    """(the compiler's RTL model, the folder's RtlInfo): the pipelined decoder ``econt_decoder_wrapper``."""
    comb = trace_core(decoder.model, core_backend)
    rtl = write_core(comb, core_backend, folder, latency_cutoff=LATENCY_CUTOFF, clock_period_ns=CLOCK_NS, vhdl=False,
                     module=DECODER_MODULE)
    meta = json.loads((folder / "metadata.json").read_text())
    top = f"{DECODER_MODULE}_wrapper"
    latency = int(meta["latency"]) + 1
    info = RtlInfo(top=top, core=top, calq_bits=0, clock_period_ns=CLOCK_NS, initiation_interval=1,
                   latency_cycles=latency, core_latency_cycles=latency, conversion_cycles=0, frame_bits=0,
                   latent_bits=decoder.encoder.latent_bits, n_latents=decoder.encoder.latent_dim,
                   elinks=decoder.encoder.elinks, sum_code_offset=0, core_registers=int(meta["reg_bits"]),
                   estimated_luts=float(meta["cost"]), core_backend=core_backend,
                   sources=sorted(str(p.relative_to(folder)) for p in (folder / "src").rglob("*.v")))
    write_json(folder / RTL_JSON, {**dataclasses.asdict(info), "meta": provenance(decoder=str(decoder.folder))})
    return rtl, info


def check_latents(decoder: QuantizedDecoder, *, data: str | None = None, n_random: int = 1000,
                  seed: int = 0) -> tuple[np.ndarray, str]:
    """(latent vectors, where they come from) to check firmware on: the encoder's latents of every held-out
    wafer of ``data`` (the autoencoder's test split; default the real reference sample), the all-zero and
    all-full latents and ``n_random`` latents drawn uniformly over the latent grid (``seed``)."""
    import keras

    from codesign.training import held_out_wafers, load_autoencoder, model_arrays

    ae, spec = load_autoencoder(decoder.autoencoder)
    calq = held_out_wafers(spec, data)
    encoder = keras.Model(ae.input, ae.get_layer("latent_relu").output)
    real = encoder.predict(model_arrays(spec, calq)[0], batch_size=4096, verbose=0)
    cfg, lsb = decoder.encoder, 2.0 ** -decoder.encoder.latent_frac_bits
    top = (1 << cfg.latent_bits) - 1
    grid = np.random.default_rng(seed).integers(0, top + 1, size=(n_random, cfg.latent_dim))
    corners = np.stack([np.zeros(cfg.latent_dim), np.full(cfg.latent_dim, top)])
    latents = np.concatenate([real, (np.concatenate([corners, grid]) * lsb).astype(np.float32)])
    return latents, (f"{len(real)} held-out wafers of {data or 'the reference sample'}, 2 corner and {n_random} "
                     f"random latent vectors (seed {seed})")


def build_decoder_firmware(decoder: QuantizedDecoder, latents: np.ndarray, out_dir: str | Path, *,
                           core_backend: str = "da4ml", hls: bool = True, budget: BackEndBudget | None = None,
                           force: bool = False) -> DecoderFirmware:
    """hls4ml project and C simulation (``hls``), Verilog under Verilator, UltraScale+ resources of
    ``decoder``; the two simulations compared with Keras on ``latents`` (the encoder's outputs, e.g. of the
    held-out wafers). Writes ``out_dir`` as one folder (replaced only if codesign wrote it, or ``force``)."""
    if core_backend not in CORE_BACKENDS:
        raise ValueError(f"core backend {core_backend!r}: choose one of {', '.join(CORE_BACKENDS)}")
    latents = np.asarray(latents, dtype=np.float32)
    expected = decoder.cells(latents)
    with atomic_dir(Path(out_dir), force) as tmp:
        csim_equal = None
        if hls:
            _compare("hls4ml C simulation", hls_csim_cells(decoder, latents, tmp / "hls"), expected)
            csim_equal = True
        rtl, info = write_decoder_rtl(decoder, tmp / "rtl", core_backend)
        with heartbeat("Verilator (decoder)", tmp / "rtl"), verilator_environ():
            rtl.compile()
        _compare(f"{core_backend} Verilog", cell_integers(rtl.predict(latents), decoder.config), expected)
        report = synthesize_fpga(tmp / "rtl", tmp / "fpga")
        r = report.resources
        firmware = DecoderFirmware(folder=decoder.folder, n_wafers=len(latents), hls_csim_equal=csim_equal,
                                   rtl_equal=True, core_backend=core_backend, latency_cycles=info.latency_cycles,
                                   resources=r, luts=r.lut_sites, budget=budget or BackEndBudget())
        write_json(tmp / FIRMWARE_FILE, {**firmware.to_dict(), "meta": provenance()})
        firmware.document().write(tmp / "firmware.md")
    # the decoder folder keeps its last measured cost: `codesign evaluate --decoder` puts it in its table
    write_json(decoder.folder / FIRMWARE_FILE, {**firmware.to_dict(), "meta": provenance(firmware=str(out_dir))})
    return firmware
