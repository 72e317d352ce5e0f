"""The universal encoder block: one RTL that runs every hybrid encoder of one core shape by configuration.

``write_rtl`` and ``write_reconfigurable_rtl`` generate a top per trained encoder: the latent width and its
packing (its eLink count), the sparse selector's cell count, value bits, coding and occupancy threshold are
wired in. ``econt_block`` is generated once for a core shape (``EncoderBlockSpec``: the layers and their
fixed-point formats, the most eLinks served, the most sparse-mode cells) and takes everything else from its
configuration image, loaded through the reconfigurable core's serial port (``cfg_en``, ``cfg_in``,
``cfg_out``, bit 0 first): the weights and biases (``codesign.hardware.reconfig`` register map), then the
settings (``BlockSettings``, ``EncoderBlockSpec.settings_layout``):

    elinks         frame bits from 32 * elinks up are zero (the frame is LSB-aligned in the block's width)
    latent_bits    B: latent j in frame bits [B j + B - 1 : B j], the sum code above them, then the mode bit
    latent_shift   fraction bits the latent quantizer drops (floor), then clamped to [0, 2^B - 1]
    hybrid         the sparse mode is on
    max_occupancy  wafers with at most this many non-zero cell sources go in sparse mode
    charge         cells carry 7-bit 4E3M charge words (else the top value_bits of the 8-bit on-chip input)
    value_bits     bits per cell value
    use_map        the cells' places as a 48-bit map (else 6-bit addresses)
    n_cells        cells per sparse frame

so that, with an encoder's image loaded, every frame equals that encoder's (``codesign.hardware.vectors``),
zero-extended to the block's width. What stays fixed is the core's shape and formats (a block serves the
encoders ``EncoderBlockSpec.serves_problem`` accepts). The datapath keeps no state between wafers but the
valid pipeline, so an image is loaded, as for the fixed designs, while no wafer is in flight, and nothing but
the configuration has to survive a reload.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from codesign.artifacts import atomic_dir, provenance, write_json, write_text
from codesign.data.arrange import PIXEL_MASK, TC_OF_PIXEL
from codesign.data.floats import E4M3
from codesign.data.geometry import N_TC
from codesign.data.io import CALQ_BITS
from codesign.data.onchip import INPUT_BITS, SUM_CODE_BITS
from codesign.hardware import reconfig
from codesign.hardware.rtl import RTL_JSON, RtlInfo
from codesign.hardware.sparse_select import (
    BLOCK_SPARSE_MODULE,
    SOURCE_BITS,
    VALUE_BITS_FIELD,
    block_sparse_sources,
)
from codesign.hardware.topgen import (
    CONVERT_MODULE,
    DELAY_MODULE,
    convert_verilog,
    core_input,
    delay_lines,
    valid_pipeline_lines,
)
from codesign.hardware.verilog import verilog_module, write_library
from codesign.models.encoder import EncoderConfig
from codesign.models.frame import BITS_PER_ELINK, FrameFormat

BLOCK_TOP = "econt_block"
GENERATOR = "codesign/hardware/block.py"
# what a block's core shares with every encoder it serves: all of EncoderConfig but these
PER_ENCODER = ("elinks", "latent_int_bits", "latent_bias_init", "sparse_max_occupancy", "sparse_value_bits",
               "sparse_values")


@dataclass(frozen=True)
class BlockSettings:
    """The settings an encoder's image sets (module docstring); ``of`` derives them from its config."""

    elinks: int
    latent_bits: int
    latent_shift: int
    hybrid: bool
    max_occupancy: int
    charge: bool
    value_bits: int
    use_map: bool
    n_cells: int

    @classmethod
    def of(cls, cfg: EncoderConfig) -> BlockSettings:
        fmt = FrameFormat.of(cfg)
        coding = fmt.cell_coding
        act_frac = cfg.conv_act_bits - cfg.conv_act_int_bits
        return cls(elinks=cfg.elinks, latent_bits=cfg.latent_bits,
                   latent_shift=act_frac + cfg.weight_frac_bits - cfg.latent_frac_bits, hybrid=fmt.sparse_mode,
                   max_occupancy=cfg.sparse_max_occupancy or 0, charge=coding.charge, value_bits=coding.value_bits,
                   use_map=coding.use_map, n_cells=coding.n_cells if fmt.sparse_mode else 0)


@dataclass(frozen=True)
class EncoderBlockSpec:
    """What the block is generated for: the core shape ``core`` (its ``elinks`` the most a served encoder has,
    its latent width the widest), up to ``max_cells`` sparse-mode cells, TMR of the configuration register,
    and the core's reuse factor (its clock runs ``reuse`` times the wafer rate)."""

    core: EncoderConfig
    max_cells: int
    tmr: bool = False
    reuse: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.max_cells <= N_TC:
            raise ValueError(f"max_cells must be in 1..{N_TC}, got {self.max_cells}")
        if self.reuse < 1:
            raise ValueError(f"reuse factor must be >= 1, got {self.reuse}")

    @classmethod
    def for_encoders(cls, cfgs: list[EncoderConfig], *, tmr: bool = False, reuse: int = 1) -> EncoderBlockSpec:
        """The smallest block that serves every encoder of ``cfgs`` (one core shape)."""
        if not cfgs:
            raise ValueError("a block needs at least one encoder to serve")
        widest = max(cfgs, key=lambda c: c.elinks)
        core = replace(widest, sparse_max_occupancy=None, sparse_value_bits=INPUT_BITS, sparse_values="input")
        spec = cls(core, max(1, *(BlockSettings.of(c).n_cells for c in cfgs)), tmr, reuse)
        for cfg in cfgs:
            problem = spec.serves_problem(cfg)
            if problem:
                raise ValueError(problem)
        return spec

    def serves_problem(self, cfg: EncoderConfig) -> str | None:
        """Why the block cannot run ``cfg`` (None: it can)."""
        differ = [f.name for f in fields(EncoderConfig)
                  if f.name not in PER_ENCODER and getattr(cfg, f.name) != getattr(self.core, f.name)]
        if differ:
            return f"the block's core has another {', '.join(differ)} than this encoder"
        s = BlockSettings.of(cfg)
        if cfg.elinks > self.core.elinks:
            return f"the block sends at most {self.core.elinks} eLinks, the encoder {cfg.elinks}"
        if s.n_cells > self.max_cells:
            return f"the block sends at most {self.max_cells} sparse-mode cells, the encoder {s.n_cells}"
        if not 0 <= s.latent_shift < 1 << reconfig.LATENT_SHIFT_BITS:
            return f"the latent format drops {s.latent_shift} fraction bits; the block's shifter 0-15"
        return None

    @property
    def settings_layout(self) -> dict[str, tuple[int, int]]:
        """Setting -> (offset in the image, bits): after the weights, in ``BlockSettings`` order."""
        widths = {"elinks": self.core.elinks.bit_length(), "latent_bits": self.core.latent_bits.bit_length(),
                  "latent_shift": reconfig.LATENT_SHIFT_BITS, "hybrid": 1, "max_occupancy": N_TC.bit_length(),
                  "charge": 1, "value_bits": VALUE_BITS_FIELD, "use_map": 1,
                  "n_cells": max(self.max_cells.bit_length(), 1)}
        at, layout = reconfig.register_map(self.core).n_bits, {}
        for f in fields(BlockSettings):
            layout[f.name] = (at, widths[f.name])
            at += widths[f.name]
        return layout

    @property
    def settings_bits(self) -> int:
        return sum(bits for _, bits in self.settings_layout.values())

    @property
    def config_bits(self) -> int:
        return reconfig.register_map(self.core).n_bits + self.settings_bits

    @property
    def frame_bits(self) -> int:
        return BITS_PER_ELINK * self.core.elinks

    @property
    def payload_bits(self) -> int:
        """The most bits sparse-mode cells can take: every frame bit but the sum code and the mode bit."""
        return self.frame_bits - SUM_CODE_BITS - 1

    @property
    def core_latency(self) -> int:
        return reconfig.core_latency(self.reuse)

    @property
    def latency(self) -> int:
        """Input register, the core (its input register first), the frame register."""
        return 1 + self.core_latency + 1


def block_image(model: Any, cfg: EncoderConfig, spec: EncoderBlockSpec) -> int:
    """The configuration image that makes ``spec``'s block run the trained encoder ``model`` (``cfg``)."""
    problem = spec.serves_problem(cfg)
    if problem:
        raise ValueError(problem)
    image = reconfig.register_image(reconfig.register_words(model, cfg), cfg.weight_bits)
    settings = asdict(BlockSettings.of(cfg))
    for name, (offset, bits) in spec.settings_layout.items():
        if not 0 <= int(settings[name]) < 1 << bits:
            raise ValueError(f"setting {name} = {settings[name]} does not fit its {bits} bits")
        image |= int(settings[name]) << offset
    return image


def settings_of_image(image: int, spec: EncoderBlockSpec) -> BlockSettings:
    """The settings an image sets (read back through ``cfg_out``, or from a file)."""
    values: dict[str, Any] = {name: (image >> offset) & ((1 << bits) - 1)
                              for name, (offset, bits) in spec.settings_layout.items()}
    return BlockSettings(**{f.name: bool(values[f.name]) if f.type == "bool" else values[f.name]
                            for f in fields(BlockSettings)})


def write_block_image(model: Any, cfg: EncoderConfig, spec: EncoderBlockSpec, path: str | Path) -> int:
    """Write ``block_image`` (hex, bit 0 = first bit shifted in) and ``<path>.json`` (settings, register map,
    protocol)."""
    image = block_image(model, cfg, spec)
    path = Path(path)
    write_text(path, f"{image:0{-(-spec.config_bits // 4)}x}\n")
    rmap, settings = reconfig.register_map(spec.core), BlockSettings.of(cfg)
    write_json(path.with_suffix(path.suffix + ".json"), {
        "n_bits": spec.config_bits, "block": {"core": asdict(spec.core), "max_cells": spec.max_cells},
        "weights": {name: {"first_word": first, "shape": list(getattr(rmap, name)), "word_bits": rmap.weight_bits}
                    for name, first in rmap.first_words().items()},
        "fields": {name: {"offset": offset, "bits": bits, "value": int(getattr(settings, name))}
                     for name, (offset, bits) in spec.settings_layout.items()},
        "protocol": "hold cfg_en high for n_bits clock edges, presenting image bit i on cfg_in before edge i "
                    "(idle clocks with cfg_en low may come between bits); cfg_out shows register bit 0",
        "meta": provenance(encoder=asdict(cfg))})
    return image


def block_description(spec: EncoderBlockSpec) -> dict[str, Any]:
    return {"core": asdict(spec.core), "max_cells": spec.max_cells, "tmr": spec.tmr, "reuse": spec.reuse}


def _frame_bit(p: int, b: int, lb: int, n_latents: int) -> str:
    """Frame bit ``p`` for ``n_latents`` latents of ``b`` bits (``lb``: the core's latent width): a latent bit
    or a cell bit, the sum code, the mode bit, or a cell bit above it."""
    field = n_latents * b
    if p < field:
        j, r = divmod(p, b)
        return f"(sparse ? cells[{p}] : core_out[{j * lb + r}])"
    if p < field + SUM_CODE_BITS:
        return f"code[{p - field}]"
    if p == field + SUM_CODE_BITS:
        return "sparse"
    return f"(sparse & cells[{p - SUM_CODE_BITS - 1}])"


def block_top_verilog(spec: EncoderBlockSpec) -> str:
    """``econt_block``: CALQ in, frame out, everything but the core's shape from the configuration."""
    core, n = spec.core, N_TC
    lb, ib = core.latent_bits, core.input_int_bits + core.input_frac_bits
    layout = spec.settings_layout
    base = reconfig.register_map(core).n_bits
    pixels = [int(t) if m else None for t, m in zip(TC_OF_PIXEL[core.layout], PIXEL_MASK[core.layout], strict=True)]
    w, payload, zero = spec.frame_bits, spec.payload_bits, f"{ib}'d0"
    shared = spec.reuse > 1
    side = SUM_CODE_BITS + payload + 1
    charge_bits = E4M3.bits
    lines = [
        *valid_pipeline_lines(spec.latency),
        "",
        "    // the settings: the configuration register's bits above the weights (in the core)",
        f"    wire [{spec.settings_bits - 1}:0] settings;",
        *(f"    wire {'' if bits == 1 else f'[{bits - 1}:0] '}{name} = settings[{offset - base}"
          f"{'' if bits == 1 else f' +: {bits}'}];" for name, (offset, bits) in layout.items()),
        f"    wire [{lb - 1}:0] lat_max = ~({lb}'h{(1 << lb) - 1:x} << latent_bits);  // 2^B - 1",
        "",
        "    // stage 1: input register; stage 2: the on-chip conversion, into the core's and the selector's registers",
        f"    wire [{n * INPUT_BITS - 1}:0] inputs_c;",
        f"    wire [{SUM_CODE_BITS - 1}:0] code_c;",
        f"    wire [{n * charge_bits - 1}:0] charges_c;",
        f"    {CONVERT_MODULE} convert (.clk(clk), .calq(calq), .inputs(inputs_c), .code(code_c), "
        ".charges(charges_c));",
        "",
        f"    wire [{len(pixels) * ib - 1}:0] core_in;",
        f"    wire [{core.latent_dim * lb - 1}:0] core_out;",
        *(f"    assign core_in[{p * ib} +: {ib}] = "
          f"{zero if tc is None else core_input(tc * INPUT_BITS, ib, core.input_frac_bits)};"
          for p, tc in enumerate(pixels)),
        f"    {reconfig.CORE_MODULE} core (.clk(clk), " + (".rst(rst), .start(valid_pipe[0]), " if shared else "")
        + ".model_inp(core_in), .model_out(core_out), .cfg_en(cfg_en), .cfg_in(cfg_in), .cfg_out(cfg_out), "
        ".lat_shift(latent_shift), .lat_max(lat_max), .settings(settings));",
        "",
        "    // sparse mode: the cells' sources (on-chip inputs, or charge words), registered for the selector",
        f"    reg [{n * SOURCE_BITS - 1}:0] sources_s2;",
        "    always @(posedge clk) sources_s2 <= charge ? {"
        + ", ".join(f"1'b0, charges_c[{i * charge_bits} +: {charge_bits}]" for i in reversed(range(n)))
        + "} : inputs_c;",
        *delay_lines("code_s2", "code_c", SUM_CODE_BITS, 1),
        "    wire sparse_selected;",
        f"    wire [{payload - 1}:0] cells_c;",
        f"    {BLOCK_SPARSE_MODULE} sparse_select (.inputs(sources_s2), .max_occupancy(max_occupancy), "
        ".n_cells(n_cells), .value_bits(value_bits), .charge(charge), .use_map(use_map), .sparse(sparse_selected), "
        ".cells(cells_c));",
        f"    wire [{side - 1}:0] side_c = {{code_s2, cells_c, hybrid & sparse_selected}};",
        *delay_lines("side", "side_c", side, spec.core_latency - 1),
        f"    wire [{SUM_CODE_BITS - 1}:0] code = side[{side - SUM_CODE_BITS} +: {SUM_CODE_BITS}];",
        f"    wire [{payload - 1}:0] cells = side[1 +: {payload}];",
        "    wire sparse = side[0];",
        "",
        "    // the frame for B-bit latents (bsel[B - 1]), its words from 32 * elinks up zero",
        f"    wire [{lb - 1}:0] bsel;",
        *(f"    assign bsel[{b - 1}] = latent_bits == {layout['latent_bits'][1]}'d{b};" for b in range(1, lb + 1)),
        f"    wire [{w - 1}:0] frame_c;",
    ]
    for p in range(w):
        options = ", ".join(_frame_bit(p, b, lb, core.latent_dim) for b in range(lb, 0, -1))
        word = f"{layout['elinks'][1]}'d{p // BITS_PER_ELINK}"
        lines.append(f"    assign frame_c[{p}] = elinks > {word} && |(bsel & {{{options}}});")
    lines += ["    always @(posedge clk) frame <= frame_c;"]
    ports = ["input  wire clk", "input  wire rst", "input  wire valid_in", f"input  wire [{n * CALQ_BITS - 1}:0] calq",
             "output wire valid_out", f"output reg  [{w - 1}:0] frame", "input  wire cfg_en", "input  wire cfg_in",
             "output wire cfg_out"]
    return verilog_module(BLOCK_TOP, ports, lines, generator=GENERATOR,
                          comment="the universal encoder block: CALQ -> conversion -> configured encoder -> frame.\n"
                          f"// Latency {spec.latency} clock cycles, one wafer per {spec.reuse} clock(s).")


def block_sources(spec: EncoderBlockSpec) -> dict[str, str]:
    """Verilog of the block (module name -> text), the RTL library's modules not included."""
    return {
        BLOCK_TOP: block_top_verilog(spec),
        CONVERT_MODULE: convert_verilog(N_TC, CALQ_BITS, charges=True),
        reconfig.CORE_MODULE: reconfig.core_verilog(spec.core, spec.tmr, spec.reuse,
                                                    settings_bits=spec.settings_bits, latent_ports=True),
        **block_sparse_sources(N_TC, spec.max_cells, spec.payload_bits),
    }


def write_encoder_block(spec: EncoderBlockSpec, out_dir: str | Path, *, clock_period_ns: float = 25.0,
                        force: bool = False) -> RtlInfo:
    """Write the block's RTL folder (src/*.v and rtl.json, as ``write_rtl`` does) and return its ``RtlInfo``;
    ``clock_period_ns`` is one wafer's (the clock runs ``spec.reuse`` times faster)."""
    with atomic_dir(Path(out_dir), force) as tmp:
        for module, text in block_sources(spec).items():
            write_text(tmp / "src" / f"{module}.v", text)
        write_library(tmp / "src", [DELAY_MODULE, *reconfig.library_modules(spec.tmr)])
        core = spec.core
        info = RtlInfo(
            top=BLOCK_TOP, core=reconfig.CORE_MODULE, calq_bits=CALQ_BITS, clock_period_ns=clock_period_ns / spec.reuse,
            initiation_interval=spec.reuse, latency_cycles=spec.latency, core_latency_cycles=spec.core_latency,
            conversion_cycles=1, frame_bits=spec.frame_bits, latent_bits=core.latent_bits, n_latents=core.latent_dim,
            elinks=core.elinks, sum_code_offset=core.latent_dim * core.latent_bits,
            core_registers=spec.config_bits * (3 if spec.tmr else 1), estimated_luts=0.0,
            sources=sorted(str(p.relative_to(tmp)) for p in (tmp / "src").glob("*.v")), config_bits=spec.config_bits,
            tmr=spec.tmr, core_backend="codesign", universal=True)
        write_json(tmp / RTL_JSON, {**asdict(info), "block": block_description(spec), "meta": provenance()})
    return info
