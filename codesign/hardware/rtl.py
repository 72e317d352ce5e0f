"""RTL from a quantized encoder: the da4ml core plus the hardware-faithful top (``topgen``).

``write_rtl`` produces a folder:
    src/econt_top.v, src/econt_convert.v, src/econt_encoder*.v, src/static/*.v   Verilog (top, on-chip
        conversion, da4ml pipelined core; src/econt_sparse.v for a hybrid encoder)
    vhdl/                                                   the da4ml core in VHDL (with ``vhdl=True``)
    rtl.json                                                latency, frame layout, registers, LUT estimate
    metadata.json                                           da4ml's own metadata
plus da4ml's Vivado/Quartus project scripts. The folder is written atomically.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.arrange import PIXEL_MASK, TC_OF_PIXEL
from codesign.data.onchip import INPUT_BITS
from codesign.hardware.sparse_select import sparse_sources
from codesign.hardware.topgen import (
    CONVERSION_STAGES,
    CONVERT_MODULE,
    DELAY_MODULE,
    TOP_MODULE,
    TopSpec,
    convert_verilog,
    top_verilog,
)
from codesign.hardware.verilog import write_library
from codesign.models.encoder import EncoderConfig
from codesign.models.frame import FrameFormat, chip_frame_problem
from codesign.tools import run_tool, verilator_env

CORE_MODULE = "econt_encoder"
MAX_CALQ_BITS = 32  # the CALQ port width per cell the top accepts (the chip: 22)
RTL_JSON = "rtl.json"


@dataclass(frozen=True)
class Pipelining:
    """How deeply ``write_rtl`` pipelines the top: more registers for a shorter critical path. The core's
    ``latency_cutoff`` is da4ml's delay per stage; ``selector_stages`` are the clock cycles of a hybrid's
    sparse selector (None: every cycle the core leaves it, i.e. the core's latency minus one, at no cost in
    latency; more delay the latents to match); ``conversion_stages`` (1 to 3) those of the on-chip
    conversion (a cycle of latency each). Presets in ``PIPELINES``: "asic" (the fewest registers, for a chip
    at 40 MHz) and "fpga" (for 40 MHz on an ECP5 of speed grade 6: a 1-filter and the full 8-filter encoder
    route at 58-59 MHz, the full hybrid at 52.6 MHz with 14 selector stages, docs/hardware.md).
    ``dense_by_position``: the core's Dense layer as one product per convolution position, summed in a tree
    (``trace_encoder``): without it the full-size core does not route on an ECP5."""

    latency_cutoff: float = 5.0
    selector_stages: int | None = 1
    conversion_stages: int = 1
    dense_by_position: bool = False

    def __post_init__(self) -> None:
        if self.latency_cutoff <= 0:
            raise ValueError(f"latency_cutoff must be positive, got {self.latency_cutoff}")
        if self.selector_stages is not None and self.selector_stages < 1:
            raise ValueError(f"selector_stages must be at least 1 (or None: as many as the core allows), got "
                             f"{self.selector_stages}")
        if self.conversion_stages not in CONVERSION_STAGES:
            raise ValueError(f"conversion_stages must be one of {CONVERSION_STAGES}, got {self.conversion_stages}")

    @classmethod
    def of(cls, pipelining: Pipelining | str) -> Pipelining:
        """A ``Pipelining``, or the preset of that name."""
        if isinstance(pipelining, Pipelining):
            return pipelining
        if pipelining not in PIPELINES:
            raise ValueError(f"unknown pipelining preset {pipelining!r}: choose from {', '.join(PIPELINES)}")
        return PIPELINES[pipelining]


PIPELINES = {"asic": Pipelining(),
             "fpga": Pipelining(latency_cutoff=2.0, selector_stages=None, conversion_stages=3, dense_by_position=True)}


@dataclass(frozen=True)
class RtlInfo:
    top: str
    core: str
    calq_bits: int
    clock_period_ns: float
    initiation_interval: int
    latency_cycles: int
    core_latency_cycles: int
    conversion_cycles: int
    frame_bits: int
    latent_bits: int
    n_latents: int
    elinks: int
    sum_code_offset: int
    core_registers: int
    estimated_luts: float
    sources: list[str]
    config_bits: int = 0  # > 0: weights are loaded at run time through the serial configuration port
    tmr: bool = False  # configuration register triplicated with majority voting
    sparse_max_occupancy: int | None = None  # hybrid encoder: sparse mode up to this many non-zero inputs
    sparse_cells: int = 0  # cells per sparse-mode frame
    sparse_value_bits: int = INPUT_BITS  # bits per sparse-mode cell value
    sparse_values: str = "input"  # or "charge" (EncoderConfig.sparse_values)
    selector_stages: int = 1  # clock cycles of the sparse selector's comparator networks (TopSpec)
    latency_cutoff: float | None = None  # da4ml's delay per core stage (None: not a da4ml core)
    dense_by_position: bool = False  # the core's Dense layer summed per convolution position (Pipelining)
    bx_in_frame: bool = False  # the frame carries each wafer's BX_CNT, which the top takes on bx_cnt
    core_backend: str = "da4ml"  # what wrote the core: CORE_BACKENDS, or "codesign" (the reconfigurable core)
    # the universal block (codesign.hardware.block): the frame format fields above are its widest; each
    # encoder's own comes with its configuration image, its frames LSB-aligned in frame_bits
    universal: bool = False
    modules_per_decoder: int = 1  # a back-end decoder: modules time-multiplexed through it (time_multiplexed_rtl)

    @classmethod
    def load(cls, rtl_dir: str | Path) -> RtlInfo:
        path = Path(rtl_dir) / RTL_JSON
        if not path.is_file():
            raise FileNotFoundError(f"{rtl_dir}: not an RTL folder (no {RTL_JSON}); run `codesign rtl` first")
        data = json.loads(path.read_text())
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def sources_sha256(self, rtl_dir: str | Path) -> str:
        """SHA-256 of the Verilog sources (each file's name and text, in order): ties a report to the RTL it
        was made from, wherever that folder was."""
        digest = hashlib.sha256()
        for source in self.sources:
            path = Path(rtl_dir) / source
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()

    def module(self, part: str) -> str:
        """The module to synthesise: ``"top"`` (CALQ in, frame out) or ``"core"`` (the encoder alone)."""
        if part not in ("top", "core"):
            raise ValueError(f"part must be 'top' (CALQ in, frame out) or 'core' (the encoder alone), got {part!r}")
        return self.top if part == "top" else self.core

    def frame_format(self) -> FrameFormat:
        return FrameFormat(self.n_latents, self.latent_bits, self.elinks, self.sparse_max_occupancy is not None,
                           self.sparse_value_bits, self.sparse_values)

    @property
    def chip_frame(self) -> bool:
        """Whether the top has the ``CHIP_FRAME`` parameter (and the ``bx_cnt`` input)."""
        return not self.universal and chip_frame_problem(self.frame_format()) is None


CORE_BACKENDS = ("da4ml", "alkaid")  # da4ml 0.6 (the default), alkaid 0.8 (what hls4ml's main branch uses)


def trace_core(model: Any, backend: str, *, dense_by_position: bool = False) -> Any:
    """The encoder as the chosen compiler's combinational program (da4ml's or alkaid's ``CombLogic``; both
    ``predict`` integers-as-floats and carry ``inp_kifs`` / ``out_kifs``)."""
    if backend == "da4ml":
        return trace_encoder(model, dense_by_position=dense_by_position)
    if backend != "alkaid":
        raise ValueError(f"core backend {backend!r}: choose one of {', '.join(CORE_BACKENDS)}")
    if dense_by_position:
        raise ValueError("dense_by_position (the FPGA pipelining) is built for da4ml's tracer only")
    from alkaid.converter import trace_model
    from alkaid.trace import HWConfig, trace

    # alkaid's own Keras plugin replays HGQ2's layers; HWConfig(1, 1, -1) and hard_dc = 5 are its CLI's defaults
    return trace(*trace_model(model, HWConfig(1, 1, -1), {"hard_dc": 5}))


def write_core(comb: Any, backend: str, folder: Path, *, latency_cutoff: float, clock_period_ns: float,
                vhdl: bool, module: str = CORE_MODULE) -> Any:
    """The core (``module`` and its ``_wrapper``: registered ``model_inp`` -> ``model_out``) and metadata.json
    (latency, reg_bits, cost) into ``folder``, as da4ml and alkaid both write them; returns the compiler's RTL
    model (``compile()`` builds it with Verilator, ``predict()`` runs it)."""
    if backend == "da4ml":
        from da4ml.codegen import VerilogModel, VHDLModel

        rtl = VerilogModel(comb, module, folder, latency_cutoff=latency_cutoff, clock_period=clock_period_ns)
        rtl.write()
        if vhdl:
            VHDLModel(comb, module, folder / "vhdl", latency_cutoff=latency_cutoff,
                      clock_period=clock_period_ns).write()
        return rtl
    from alkaid.codegen import RTLModel

    rtl = RTLModel(comb, folder, module, latency_cutoff=latency_cutoff, clock_period=clock_period_ns)
    rtl.write()
    if vhdl:
        RTLModel(comb, folder / "vhdl", module, flavor="vhdl", latency_cutoff=latency_cutoff,
                 clock_period=clock_period_ns).write()
    return rtl


def trace_encoder(model: Any, *, dense_by_position: bool = False) -> Any:  # da4ml CombLogic
    """The encoder as da4ml's combinational program. ``dense_by_position`` computes the latent Dense layer as
    one constant-matrix product per convolution position (its filters' outputs), summed in a balanced tree,
    instead of one product over the whole flattened image: da4ml then shares subexpressions only within a
    position, so each position's adders sit together and only the tree crosses the die (a third less placed
    wire on the ECP5; docs/hardware.md), for about a fifth more adders. The sums are exact, so the outputs
    are the same bits."""
    from da4ml.converter import trace_model
    from da4ml.trace import comb_trace

    if not dense_by_position:
        return comb_trace(*trace_model(model))
    import keras
    from da4ml.trace.ops import einsum

    # HGQ2's replay operations (its da4ml tracer plugin): each layer's quantizers exactly as traced
    from hgq._dais_tracer.layers.activation import ReplayReLU
    from hgq._dais_tracer.layers.dense import ReplayQDense

    class LatentDenseByPosition(ReplayQDense):
        """HGQ2's QDense replay (input and output quantizers as traced) with the product summed by position.
        ``handles = ()`` registers it for no layer type: it is built here for the one latent layer."""

        handles = ()

        def __init__(self, layer: Any, group: int) -> None:
            self.op, self.group = layer, group  # HGQ2's __init__ only checks the layer type against handles

        def call(self, x: Any) -> Any:
            kernel, bias, group = np.asarray(self.op.qkernel), np.asarray(self.op.qbias), self.group
            parts = [einsum("...c,cC->...C", x[None, i:i + group], kernel[i:i + group])[0]
                     for i in range(0, kernel.shape[0], group)]
            while len(parts) > 1:
                parts = [parts[i] + parts[i + 1] if i + 1 < len(parts) else parts[i] for i in range(0, len(parts), 2)]
            return parts[0] + bias

    # the layers as build_encoder names them: trace up to Flatten, then the Dense layer by position
    inputs, flat = trace_model(keras.Model(model.inputs, model.get_layer("flatten").output))
    dense = LatentDenseByPosition(model.get_layer("latent"), group=model.get_layer("conv").filters)
    latents = ReplayReLU(model.get_layer("latent_relu"))(dense(flat)["final"][0])["final"][0]
    return comb_trace(inputs, latents)


def regular_format(kifs: np.ndarray) -> tuple[int, int]:
    """(bits, fractional bits) of the regular layout da4ml's ``*_wrapper`` module gives a set of ports: every
    port in the widest integer and finest fractional format among them (zero-padded)."""
    k, i, f = (np.asarray(a) for a in kifs)
    if k.max() > 0:
        raise ValueError("signed encoder inputs or outputs are not supported by the CALQ-to-frame top")
    return int(i.max() + f.max()), int(f.max())


@dataclass(frozen=True)
class CoreDesign:
    """What the top and rtl.json need of an encoder core (da4ml's, alkaid's or the reconfigurable one): its
    module and who wrote it, cycles from ``model_inp`` to ``model_out``, the formats of its ports, its
    flip-flops and LUT estimate, its clock and serial configuration port, and how it was pipelined."""

    module: str
    latency: int
    input_bits: int
    input_frac_bits: int
    clock_period_ns: float
    registers: int
    estimated_luts: float  # da4ml's estimate; NaN where `codesign fpga synth` is the only count
    output_bits: int | None = None  # None: the latent width
    output_shift: int = 0  # the outputs' LSB above the latent field's LSB
    config_bits: int = 0  # the serial configuration register (0: weights fixed in the logic)
    tmr: bool = False
    initiation_interval: int = 1  # clock cycles per wafer (the reuse factor)
    backend: str = "da4ml"  # CORE_BACKENDS, or "codesign" (the reconfigurable core)
    latency_cutoff: float | None = None  # the compiler's delay per stage (None: not a compiled core)
    dense_by_position: bool = False  # the Dense layer summed per convolution position (Pipelining)


def write_rtl(model: Any, cfg: EncoderConfig, out_dir: str | Path, *, clock_period_ns: float = 25.0,
              pipelining: Pipelining | str = "asic", calq_bits: int = 22, vhdl: bool = False,
              core_backend: str = "da4ml", force: bool = False) -> RtlInfo:
    """Generate the RTL folder for ``model`` and return what ``rtl.json`` records. ``pipelining``: a
    ``Pipelining`` or a preset name ("asic", "fpga"); ``core_backend``: the compiler of the encoder core
    (``CORE_BACKENDS``). An existing ``out_dir`` is replaced only if codesign wrote it (or ``force``)."""
    # the command line's ranges, for the Python API too (a 0-bit CALQ port, a negative clock were written)
    if not isinstance(calq_bits, int) or not 1 <= calq_bits <= MAX_CALQ_BITS:
        raise ValueError(f"calq_bits must be an integer in 1..{MAX_CALQ_BITS}, got {calq_bits!r}")
    if not math.isfinite(clock_period_ns) or clock_period_ns <= 0:
        raise ValueError(f"clock_period_ns must be a finite positive number of ns, got {clock_period_ns!r}")
    pipe = Pipelining.of(pipelining)
    comb = trace_core(model, core_backend, dense_by_position=pipe.dense_by_position)
    in_bits, in_frac = regular_format(comb.inp_kifs)
    out_bits, out_frac = regular_format(comb.out_kifs)
    shift = cfg.latent_frac_bits - out_frac
    if shift < 0 or out_bits + shift > cfg.latent_bits:
        raise ValueError(f"encoder outputs ({out_bits} bits, {out_frac} fractional) do not fit the "
                         f"{cfg.latent_bits}-bit latent format of {cfg.elinks} eLinks")
    out = Path(out_dir)
    with atomic_dir(out, force) as tmp:
        write_core(comb, core_backend, tmp, latency_cutoff=pipe.latency_cutoff, clock_period_ns=clock_period_ns,
                    vhdl=vhdl)
        core_meta = json.loads((tmp / "metadata.json").read_text())  # da4ml and alkaid write the same keys
        core_latency = int(core_meta["latency"]) + 1
        # the wrapper presents every port in one regular format; registered input and output around it
        core_design = CoreDesign(module=f"{CORE_MODULE}_wrapper", latency=core_latency, input_bits=in_bits,
                                 input_frac_bits=in_frac, clock_period_ns=clock_period_ns,
                                 registers=int(core_meta["reg_bits"]), estimated_luts=float(core_meta["cost"]),
                                 output_bits=out_bits, output_shift=shift, backend=core_backend,
                                 latency_cutoff=pipe.latency_cutoff, dense_by_position=pipe.dense_by_position)
        return _write_top(tmp, cfg, core_design, calq_bits=calq_bits,
                          selector_stages=pipe.selector_stages or max(core_latency - 1, 1),
                          conversion_stages=pipe.conversion_stages)


def write_reconfigurable_rtl(cfg: EncoderConfig, out_dir: str | Path, clock_period_ns: float = 25.0,
                             *, calq_bits: int = 22, tmr: bool = False, reuse: int = 1,
                             force: bool = False) -> RtlInfo:
    """RTL folder of the run-time reconfigurable encoder (``codesign.hardware.reconfig``) behind the same top;
    ``tmr`` triplicates the configuration register with majority voting and self-correction. ``reuse`` R
    shares each multiplier among R products: the clock period becomes ``clock_period_ns`` / R (still one
    wafer per ``clock_period_ns``) and the initiation interval R cycles."""
    from codesign.hardware import reconfig

    text = reconfig.core_verilog(cfg, tmr, reuse)
    with atomic_dir(Path(out_dir), force) as tmp:
        write_text(tmp / "src" / f"{reconfig.CORE_MODULE}.v", text)
        write_library(tmp / "src", reconfig.library_modules(tmr))
        n_bits = reconfig.register_map(cfg).n_bits
        core_design = CoreDesign(module=reconfig.CORE_MODULE, latency=reconfig.core_latency(reuse),
                                 input_bits=cfg.input_int_bits + cfg.input_frac_bits,
                                 input_frac_bits=cfg.input_frac_bits, clock_period_ns=clock_period_ns / reuse,
                                 registers=n_bits * (3 if tmr else 1), estimated_luts=0.0, config_bits=n_bits,
                                 tmr=tmr, initiation_interval=reuse, backend="codesign")  # LUTs: `fpga synth`
        return _write_top(tmp, cfg, core_design, calq_bits=calq_bits, selector_stages=1, conversion_stages=1)


def top_constraints(spec: TopSpec, clock_period_ns: float) -> str:
    """Timing constraints of ``econt_top`` (SDC; the same commands are valid XDC): the clock, and 40 % / 20 % of
    the period as the maximum / minimum delay outside every other port, as da4ml does for its core."""
    inputs = ["rst", "valid_in", "calq[*]", *(["bx_cnt[*]"] if spec.chip_frame else []),
              *(["cfg_en", "cfg_in"] if spec.config_port else [])]
    outputs = ["valid_out", "frame[*]", *(["cfg_out"] if spec.config_port else [])]
    lines = ["# Generated by codesign (codesign/hardware/rtl.py): constraints of the CALQ-to-frame top econt_top.",
             f"set clock_period {clock_period_ns:g}",
             "create_clock -period $clock_period -name clk [get_ports {clk}]",
             "set_clock_uncertainty -setup [expr {$clock_period * 0.1}] [get_clocks clk]",
             "set_clock_uncertainty -hold [expr {$clock_period * 0.1}] [get_clocks clk]"]
    for kind, ports in (("input", inputs), ("output", outputs)):
        for port in ports:
            lines += [f"set_{kind}_delay -clock clk -max [expr {{$clock_period * 0.4}}] [get_ports {{{port}}}]",
                      f"set_{kind}_delay -clock clk -min [expr {{$clock_period * 0.2}}] [get_ports {{{port}}}]"]
    return "\n".join(lines) + "\n"


def _retarget_vendor_scripts(folder: Path) -> None:
    """da4ml's Vivado and Quartus project scripts build its core; point them at ``econt_top`` (they take the
    top module and the constraint file from ``project_name``) so they implement what the chip would hold."""
    for script in ("build_vivado_prj.tcl", "build_quartus_prj.tcl"):
        path = folder / script
        if path.is_file():
            text = path.read_text()
            retargeted = re.sub(r'^set project_name "[^"]*"', f'set project_name "{TOP_MODULE}"', text, count=1,
                                flags=re.M)
            if retargeted == text:
                raise ValueError(f"{path}: no `set project_name` line to point at {TOP_MODULE} (da4ml changed?)")
            write_text(path, retargeted)


def _write_top(folder: Path, cfg: EncoderConfig, core: CoreDesign, *, calq_bits: int, selector_stages: int,
               conversion_stages: int) -> RtlInfo:
    """Write src/econt_top.v around the core (with the conversion, the sparse selector and the RTL library's
    delay line) and rtl.json into ``folder``."""
    fmt = FrameFormat.of(cfg)
    mask, tc_of_pixel = PIXEL_MASK[cfg.layout], TC_OF_PIXEL[cfg.layout]
    spec = TopSpec(
        core_module=core.module,
        core_latency=core.latency,
        pixel_tc=[int(t) if m else None for t, m in zip(tc_of_pixel, mask, strict=True)],
        core_input_bits=core.input_bits,
        core_input_frac_bits=core.input_frac_bits,
        core_output_bits=core.output_bits,
        core_output_shift=core.output_shift,
        frame=fmt,
        calq_bits=calq_bits,
        config_port=core.config_bits > 0,
        core_control=core.initiation_interval > 1,
        sparse_max_occupancy=cfg.sparse_max_occupancy,
        selector_stages=selector_stages,
        conversion_stages=conversion_stages,
    )
    write_text(folder / "src" / f"{TOP_MODULE}.v", top_verilog(spec))
    write_library(folder / "src", [DELAY_MODULE])
    write_text(folder / "src" / f"{CONVERT_MODULE}.v", convert_verilog(spec.n_tc, calq_bits,
                                                                           charges=fmt.cell_coding.charge,
                                                                           stages=conversion_stages))
    if spec.sparse_max_occupancy is not None:
        for module, text in sparse_sources(spec.n_tc, fmt.cell_coding, spec.sparse_max_occupancy,
                                           stages=selector_stages).items():
            write_text(folder / "src" / f"{module}.v", text)
    constraints = top_constraints(spec, core.clock_period_ns)
    for suffix in ("sdc", "xdc"):
        write_text(folder / "src" / f"{TOP_MODULE}.{suffix}", constraints)
    _retarget_vendor_scripts(folder)
    sources = sorted(str(p.relative_to(folder)) for p in (folder / "src").rglob("*.v"))
    info = RtlInfo(
        top=TOP_MODULE, core=core.module, calq_bits=calq_bits, clock_period_ns=core.clock_period_ns,
        initiation_interval=core.initiation_interval, latency_cycles=spec.latency,
        core_latency_cycles=spec.core_latency, conversion_cycles=conversion_stages, frame_bits=fmt.width,
        latent_bits=fmt.latent_bits, n_latents=fmt.n_latents, elinks=fmt.elinks, sum_code_offset=fmt.sum_offset,
        core_registers=core.registers, estimated_luts=core.estimated_luts, sources=sources,
        config_bits=core.config_bits, tmr=core.tmr, sparse_max_occupancy=cfg.sparse_max_occupancy,
        sparse_cells=spec.sparse_cells,
        sparse_value_bits=fmt.sparse_value_bits, sparse_values=fmt.sparse_values,
        selector_stages=selector_stages if spec.sparse_max_occupancy is not None else 1,
        latency_cutoff=core.latency_cutoff, dense_by_position=core.dense_by_position, core_backend=core.backend,
    )
    write_json(folder / RTL_JSON, {**asdict(info), "meta": provenance(encoder=asdict(cfg))})
    return info


def lint_rtl(rtl_dir: str | Path) -> list[str]:
    """The ``%Warning`` lines of ``verilator --lint-only -Wall`` on an RTL folder's sources under its top (the
    whole log is kept as ``lint.log``)."""
    folder = Path(rtl_dir)
    info = RtlInfo.load(folder)
    log = folder / "lint.log"
    run_tool(["verilator", "--lint-only", "-Wall", "-Wno-fatal", "--top-module", info.top, *info.sources],
             cwd=folder, log=log, env=verilator_env())
    return [line for line in log.read_text().splitlines() if line.startswith("%Warning")]
