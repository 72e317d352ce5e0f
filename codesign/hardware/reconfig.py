"""Reconfigurable encoder core: the datapath multiplies by weights held in configuration registers.

Unlike the da4ml core, whose weights are wired into the logic, this core keeps every weight and bias
(``weight_bits`` two's complement each) in a configuration shift register written at run time through a
serial port, so one chip serves every trained model of the same shape:

    cfg_en   shift enable; on each rising clock edge with cfg_en high the register shifts by one bit
    cfg_in   serial data in: the image is sent bit 0 first (after N shifts, bit i of the image is in cfg[i])
    cfg_out  serial data out = cfg[0]: shifting N more bits reads the image back in the order it was sent

Register map (word w occupies image bits [weight_bits*w + weight_bits-1 : weight_bits*w]):
    conv kernel [ky][kx][c_in][filter], conv bias [filter], dense kernel [input][latent], dense bias [latent]
(Keras' own weight order, flattened). The datapath reproduces the quantized Keras encoder exactly: exact
integer accumulation, then floor (truncation) and unsigned saturation into the activation formats.
Pipeline: input register, convolution register, output register: 3 cycles, one wafer per clock; with a reuse
factor R (``core_verilog``), 2R + 1 cycles of an R times faster clock, one wafer per R cycles.

Radiation hardening (``tmr=True``): the configuration register is triplicated (cfg_a, cfg_b, cfg_c); the
datapath and cfg_out use the bitwise majority, and every ``SCRUB_PERIOD`` clock edges the majority goes back
into all three copies (scrubbing), so a single upset in any copy never reaches an output and is repaired
within the period; between scrubs the copies' clock is gated. Each copy is its own ``econt_cfg_copy``
instance: synthesis merges identical flip-flops with identical inputs within a module and would otherwise keep
one copy of three. The registers carry ``verilator public_flat_rw`` so fault-injection tests can reach them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from codesign.data.arrange import IMAGE_SHAPE
from codesign.models.encoder import EncoderConfig

CORE_MODULE = "econt_reconfig_core"
MULTIPLIER = "econt_reconfig_mul"
COPY_MODULE = "econt_cfg_copy"


@dataclass(frozen=True)
class RegisterMap:
    conv_kernel: tuple[int, ...]  # Keras shapes
    conv_bias: tuple[int, ...]
    dense_kernel: tuple[int, ...]
    dense_bias: tuple[int, ...]
    weight_bits: int

    TENSORS = ("conv_kernel", "conv_bias", "dense_kernel", "dense_bias")  # register order

    def first_words(self) -> dict[str, int]:
        """Index of the first word of each tensor in the image: the one layout generator and images share."""
        offsets, at = {}, 0
        for name in self.TENSORS:
            offsets[name] = at
            at += int(np.prod(getattr(self, name)))
        return offsets

    @property
    def n_words(self) -> int:
        return int(sum(np.prod(getattr(self, name)) for name in self.TENSORS))

    @property
    def n_bits(self) -> int:
        return self.n_words * self.weight_bits


def conv_output_shape(cfg: EncoderConfig) -> tuple[int, int]:
    h, w, _ = IMAGE_SHAPE[cfg.layout]
    return -(-h // cfg.conv_stride), -(-w // cfg.conv_stride)  # 'same' padding


def register_map(cfg: EncoderConfig) -> RegisterMap:
    h, w, c = IMAGE_SHAPE[cfg.layout]
    oh, ow = conv_output_shape(cfg)
    return RegisterMap(conv_kernel=(cfg.conv_kernel, cfg.conv_kernel, c, cfg.conv_filters),
                       conv_bias=(cfg.conv_filters,), dense_kernel=(oh * ow * cfg.conv_filters, cfg.latent_dim),
                       dense_bias=(cfg.latent_dim,), weight_bits=cfg.weight_bits)


def register_words(model: Any, cfg: EncoderConfig) -> np.ndarray:
    """The trained encoder's quantized weights as signed integers in register-map order."""
    conv, dense = model.get_layer("conv"), model.get_layer("latent")
    scale = 2.0**cfg.weight_frac_bits
    parts = [np.asarray(x) for x in (conv.qkernel, conv.qbias, dense.qkernel, dense.qbias)]
    words = np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts]) * scale
    ints = np.rint(words).astype(np.int64)
    if not np.array_equal(ints, words):
        raise ValueError("quantized weights are not on the weight grid")
    lo, hi = -(1 << (cfg.weight_bits - 1)), (1 << (cfg.weight_bits - 1)) - 1
    if ints.min() < lo or ints.max() > hi:
        raise ValueError(f"weights outside the signed {cfg.weight_bits}-bit range")
    return ints


def register_image(words: np.ndarray, weight_bits: int) -> int:
    """Signed words -> the configuration image as one integer (word 0 in the least significant bits)."""
    image = 0
    mask = (1 << weight_bits) - 1
    for i, w in enumerate(np.asarray(words, dtype=np.int64).tolist()):
        image |= (w & mask) << (weight_bits * i)
    return image


I2C_REGISTERS = 12  # the ECON-T's autoencoder weight registers
I2C_REGISTER_BITS = 1072


def check_i2c_shape(cfg: EncoderConfig) -> None:
    """The chip's I2C registers hold the published shape only: 12,864 bits of 6-bit words, 5 fractional."""
    rmap = register_map(cfg)
    if rmap.n_bits != I2C_REGISTERS * I2C_REGISTER_BITS or (cfg.weight_bits, cfg.weight_frac_bits) != (6, 5):
        raise ValueError(f"the ECON-T I2C registers hold {I2C_REGISTERS} x {I2C_REGISTER_BITS} bits of 6-bit words "
                         f"with 5 fractional bits (the published encoder shape); this encoder has {rmap.n_bits} "
                         f"bits of {cfg.weight_bits}-bit words with {cfg.weight_frac_bits} fractional bits")


def i2c_registers(image: int) -> list[int]:
    """The configuration image as the chip's 12 I2C register values, register 0 the least significant
    1,072 bits. The chip's layout (conv kernel at bit 0, conv bias at 432, dense kernel at 480, dense bias at
    12,768; word i of a tensor at its offset + 6i; Keras element order) is this register map's."""
    mask = (1 << I2C_REGISTER_BITS) - 1
    return [(image >> (I2C_REGISTER_BITS * k)) & mask for k in range(I2C_REGISTERS)]


def image_from_i2c(registers: list[int]) -> int:
    """The inverse of ``i2c_registers``: the chip prepends each register value, so value 0 ends lowest."""
    if len(registers) != I2C_REGISTERS or any(not 0 <= r < 1 << I2C_REGISTER_BITS for r in registers):
        raise ValueError(f"expected {I2C_REGISTERS} register values of {I2C_REGISTER_BITS} bits")
    return sum(r << (I2C_REGISTER_BITS * k) for k, r in enumerate(registers))


def _floor_clamp(name: str, bits: int, in_bits: int, shift: int) -> list[str]:
    """Verilog function ``name``: drop ``shift`` fraction bits (floor), clamp to [0, 2^bits - 1]."""
    top = (1 << bits) - 1
    return [f"    function [{bits - 1}:0] {name}(input signed [{in_bits - 1}:0] a);  // floor, clamp to [0, {top}]",
            f"        reg signed [{in_bits - 1}:0] t;",
            f"        begin t = a >>> {shift}; {name} = t < 0 ? {bits}'d0 : (t > {top} ? {bits}'d{top} : "
            f"t[{bits - 1}:0]); end",
            "    endfunction"]


LATENT_SHIFT_BITS = 4  # the configured latent quantizer's shift: up to 15 fraction bits dropped


def _configured_floor_clamp(bits: int, in_bits: int) -> list[str]:
    """Verilog function ``lat_q`` of a core whose latent format is set at run time: drop ``s`` fraction bits
    (floor), clamp to [0, ``top``] (``top`` = 2^B - 1 for B-bit latents, B <= ``bits``)."""
    return [f"    function [{bits - 1}:0] lat_q(input signed [{in_bits - 1}:0] a, "
            f"input [{LATENT_SHIFT_BITS - 1}:0] s, input [{bits - 1}:0] top);",
            f"        reg signed [{in_bits - 1}:0] t;",
            # t is compared with top only when it is not negative, so the unsigned comparison is exact
            f"        begin t = a >>> s; lat_q = t < 0 ? {bits}'d0 : (t > {{{in_bits - bits}'d0, top}} ? top : "
            f"t[{bits - 1}:0]); end",
            "    endfunction"]


def _bias(word: int, bits: int, shift: int, to_bits: int) -> str:
    """Configuration word ``word`` (signed, ``bits`` wide) times 2^``shift``, as a ``to_bits``-wide term."""
    lsb = word * bits
    sign = f"{{{to_bits - bits - shift}{{cfg[{lsb + bits - 1}]}}}}"
    return "{" + ", ".join([sign, f"cfg[{lsb} +: {bits}]", *([f"{shift}'b0"] if shift else [])]) + "}"


SCRUB_PERIOD = 16  # clock cycles between two self-corrections of a TMR configuration register


def config_register(n_bits: int, tmr: bool) -> list[str]:
    """The serial configuration register (and with ``tmr`` its three copies, their majority ``cfg``). The
    copies are written only while shifting and once every ``SCRUB_PERIOD`` cycles, when the majority goes
    back into all three: that repairs any single upset within the period, and the rest of the time their
    enable lets synthesis gate the clock of all 3 x ``n_bits`` flip-flops (the clock energy they cost)."""
    public = " /*verilator public_flat_rw*/"
    if not tmr:
        return [f"    reg [{n_bits - 1}:0] cfg{public};",
                "    always @(posedge clk) if (cfg_en) cfg <= {cfg_in, cfg[" + f"{n_bits - 1}:1" + "]};",
                "    assign cfg_out = cfg[0];"]
    sb = (SCRUB_PERIOD - 1).bit_length()
    copies = [f"    {COPY_MODULE} #(.N({n_bits})) copy_{c} (.clk(clk), .en(cfg_write), .d(cfg_next), .q(cfg_{c}));"
              for c in "abc"]
    return [f"    wire [{n_bits - 1}:0] cfg_a, cfg_b, cfg_c;",
            f"    wire [{n_bits - 1}:0] cfg = (cfg_a & cfg_b) | (cfg_b & cfg_c) | (cfg_a & cfg_c);  // majority",
            f"    wire [{n_bits - 1}:0] cfg_next = cfg_en ? {{cfg_in, cfg[{n_bits - 1}:1]}} : cfg;",
            # cleared by shifting, so it needs no reset: an image's load starts the count
            f"    reg [{sb - 1}:0] scrub_count;",
            f"    always @(posedge clk) scrub_count <= cfg_en ? {sb}'d0 : scrub_count + {sb}'d1;",
            f"    wire cfg_write = cfg_en || scrub_count == {sb}'d0;  // shift, or write the majority back (scrub)",
            *copies,
            "    assign cfg_out = cfg[0];"]


def _select(phase: str, options: list[str], default: str) -> str:
    """``options[phase]`` as a conditional chain (``default`` for the phases without an option)."""
    expr = default
    for p in reversed(range(len(options))):
        expr = f"({phase} == {p} ? {options[p]} : {expr})"
    return expr


def _phase_counter(prefix: str, reuse: int, go: str) -> list[str]:
    """``{prefix}_run`` high for ``reuse`` cycles after ``go``, ``{prefix}_ph`` counting them from 0."""
    pb = max(reuse.bit_length(), 1)
    return [f"    reg [{pb - 1}:0] {prefix}_ph;",
            f"    reg {prefix}_run;",
            f"    wire {prefix}_last = {prefix}_run && {prefix}_ph == {pb}'d{reuse - 1};",
            "    always @(posedge clk) begin",
            f"        if (rst) {prefix}_run <= 1'b0;",
            f"        else if ({go}) {prefix}_run <= 1'b1;",
            f"        else if ({prefix}_last) {prefix}_run <= 1'b0;",
            f"        {prefix}_ph <= {go} ? {pb}'d0 : {prefix}_ph + {pb}'d1;",
            "    end"]


def core_latency(reuse: int = 1) -> int:
    """Clock edges from model_inp to model_out: the input register, then ``reuse`` cycles per layer."""
    return 2 * reuse + 1


def core_verilog(cfg: EncoderConfig, tmr: bool = False, reuse: int = 1, *, settings_bits: int = 0,
                 latent_ports: bool = False) -> str:
    """Verilog text of the reconfigurable core for ``cfg`` (same ports as the da4ml core plus cfg_*).

    ``reuse`` R > 1 shares each multiplier among R products in time: the datapath clock runs at R times the
    wafer rate, a wafer comes at most every R cycles with ``start`` high (the top's valid), and each layer
    computes 1/R of its outputs per cycle (ports ``rst`` and ``start`` added): the convolution 1/R of its
    positions with every weight in place, the dense layer 1/R of its latents from activations held for the
    wafer. Both orders keep a multiplier's operands still where they can, which is where the switching
    energy goes (``docs/hardware.md``); integer sums are exact, so the order does not change a bit. For the
    universal block (``codesign.hardware.block``): ``settings_bits`` more configuration bits follow the
    weights in the same register and leave on the port ``settings``; with ``latent_ports`` the latent format
    comes from the ports ``lat_shift`` (fraction bits dropped) and ``lat_max`` (2^B - 1) instead of ``cfg``'s,
    the outputs ``cfg.latent_bits`` wide."""
    if reuse < 1:
        raise ValueError(f"reuse factor must be >= 1, got {reuse}")
    rmap = register_map(cfg)
    wb, h, w = cfg.weight_bits, *IMAGE_SHAPE[cfg.layout][:2]
    c_in = IMAGE_SHAPE[cfg.layout][2]
    oh, ow = conv_output_shape(cfg)
    ib, fi = cfg.input_int_bits + cfg.input_frac_bits, cfg.input_frac_bits
    ab, fa = cfg.conv_act_bits, cfg.conv_act_bits - cfg.conv_act_int_bits
    lb, fl = cfg.latent_bits, cfg.latent_frac_bits
    fw = cfg.weight_frac_bits
    if fi + fw < fa or fa + fw < fl:
        raise ValueError("activation formats with more fractional bits than their products are not supported")
    first = rmap.first_words()
    kbase, cbias, dbase, dbias = (first[name] for name in rmap.TENSORS)
    n_act = oh * ow * cfg.conv_filters
    # exact accumulator widths (product of an unsigned input and a signed weight, plus one bit per doubling
    # of the number of terms): no overflow is possible, and synthesis builds no wider adders than needed
    taps = cfg.conv_kernel * cfg.conv_kernel * c_in + 1
    acc_c = ib + 1 + wb + int(np.ceil(np.log2(taps))) + 1
    acc_d = max(ab + 1 + wb, wb + fa) + int(np.ceil(np.log2(n_act + 1))) + 1
    shared = reuse > 1
    header = [
        "`timescale 1ns / 1ps",
        "`default_nettype none",
        "// Generated by codesign (codesign/hardware/reconfig.py): encoder with run-time loadable weights"
        + (f", each multiplier shared by {reuse} products in time." if shared else "."),
        f"module {CORE_MODULE} (",
        "    input  wire clk,",
        *(["    input  wire rst,", "    input  wire start,  // model_inp holds a wafer"] if shared else []),
        f"    input  wire [{h * w * c_in * ib - 1}:0] model_inp,",
        f"    output reg  [{cfg.latent_dim * lb - 1}:0] model_out,",
        "    input  wire cfg_en,",
        "    input  wire cfg_in,",
        *([f"    input  wire [{LATENT_SHIFT_BITS - 1}:0] lat_shift,", f"    input  wire [{lb - 1}:0] lat_max,"]
          if latent_ports else []),
        *([f"    output wire [{settings_bits - 1}:0] settings,"] if settings_bits else []),
        "    output wire cfg_out",
        ");",
        *config_register(rmap.n_bits + settings_bits, tmr),
        *([f"    assign settings = cfg[{rmap.n_bits} +: {settings_bits}];"] if settings_bits else []),
        "",
        f"    reg [{h * w * c_in * ib - 1}:0] x_r;",
        "    always @(posedge clk) " + ("if (start) " if shared else "") + "x_r <= model_inp;",
        *(_phase_counter("conv", reuse, "start") + _phase_counter("dense", reuse, "conv_last") if shared else []),
        *_floor_clamp("act_q", ab, acc_c, fi + fw - fa),
        *(_configured_floor_clamp(lb, acc_d) if latent_ports else _floor_clamp("lat_q", lb, acc_d, fa + fw - fl)),
        "",
    ]
    layers = [*_conv_layer(cfg, reuse, acc_c=acc_c, kbase=kbase, cbias=cbias),
              *_dense_layer(cfg, reuse, n_act=n_act, acc_d=acc_d, dbase=dbase, dbias=dbias,
                            latent_args=", lat_shift, lat_max" if latent_ports else "")]
    return "\n".join([*header, *layers, "endmodule", "`default_nettype wire", ""])


def library_modules(tmr: bool) -> list[str]:
    """The RTL library's modules the core instantiates (``codesign/hardware/rtl_lib``)."""
    return [MULTIPLIER, *([COPY_MODULE] if tmr else [])]


@dataclass(frozen=True)
class Product:
    wire: str  # the operand times the weight's low bits
    operand: str
    sign: str  # the weight's sign bit


def _phase_slots(n: int, reuse: int) -> list[list[int | None]]:
    """``n`` outputs computed ceil(n / R) at a time: slot q computes output q * R + p in phase p (None where
    that is past ``n``). Each output is complete in its phase, so no partial sum is kept between cycles."""
    return [[q * reuse + p if q * reuse + p < n else None for p in range(reuse)] for q in range(-(-n // reuse))]


def _phase_writes(outputs: list[tuple[int, str, str]], reuse: int, counter: str, bits: int) -> list[str]:
    """Registers ``target`` <= ``value`` for (phase, target, value): with R = 1 on every edge; with R > 1
    each output lands in a staging register in its phase and all move together on ``{counter}_last``, so a
    layer's outputs change once per wafer and the next layer reads them for R cycles."""
    if reuse == 1:
        return ["    always @(posedge clk) begin", *(f"        {t} <= {v};" for _, t, v in outputs), "    end"]
    lines, last = [], []
    for p in range(reuse):
        writes = [(t, v) for phase, t, v in outputs if phase == p]
        if p == reuse - 1:
            last += writes
            continue
        staged = [(t, f"{counter}_s{k}_{p}") for k, (t, _) in enumerate(writes)]
        lines += [f"    reg [{bits - 1}:0] {s};" for _, s in staged]
        lines += [f"    always @(posedge clk) if ({counter}_run && {counter}_ph == {p}) begin",
                  *(f"        {s} <= {v};" for (_, s), (_, v) in zip(staged, writes, strict=True)), "    end"]
        last += staged
    return [*lines, f"    always @(posedge clk) if ({counter}_last) begin", *(f"        {t} <= {v};" for t, v in last),
            "    end"]


def _conv_layer(cfg: EncoderConfig, reuse: int, *, acc_c: int, kbase: int, cbias: int) -> list[str]:
    """Weight-stationary convolution: multiplier (slot, tap, filter) holds its weight for good and takes the
    tap's pixel of the slot's position in each phase (zero outside the image), so only the input side of a
    multiplier ever switches, and not at all where the pixels are zero."""
    wb, ib, fi = cfg.weight_bits, cfg.input_int_bits + cfg.input_frac_bits, cfg.input_frac_bits
    h, w, c_in = IMAGE_SHAPE[cfg.layout]
    oh, ow = conv_output_shape(cfg)
    k, stride, filters = cfg.conv_kernel, cfg.conv_stride, cfg.conv_filters
    pad = max((oh - 1) * stride + k - h, 0) // 2
    taps = [(ky, kx, c) for ky in range(k) for kx in range(k) for c in range(c_in)]

    def pixel(pos: int | None, ky: int, kx: int, c: int) -> str | None:
        if pos is None:
            return None
        y, x = (pos // ow) * stride + ky - pad, (pos % ow) * stride + kx - pad
        return f"x_r[{((y * w + x) * c_in + c) * ib} +: {ib}]" if 0 <= y < h and 0 <= x < w else None

    lines = [f"    // convolution {k}x{k}, stride {stride}, 'same' (zero row/column below/right): "
             f"{-(-oh * ow // reuse)} positions x {filters} filters per cycle",
             f"    reg [{cfg.conv_act_bits - 1}:0] act [0:{oh * ow * filters - 1}];"]
    outputs = []
    for q, positions in enumerate(_phase_slots(oh * ow, reuse)):
        products: dict[int, list[Product]] = {f: [] for f in range(filters)}
        for t, (ky, kx, c) in enumerate(taps):
            pixels = [pixel(pos, ky, kx, c) for pos in positions]
            if all(px is None for px in pixels):
                continue
            operand, zero = f"xq{q}_{t}", f"{ib}'d0"
            options = [px or zero for px in pixels]
            lines.append(f"    wire [{ib - 1}:0] {operand} = "
                         + (_select("conv_ph", options, zero) if reuse > 1 else options[0]) + ";")
            for f in range(filters):
                word = kbase + ((ky * k + kx) * c_in + c) * filters + f
                products[f].append(_product(f"pc{q}_{f}_{t}", operand, _cfg_weight(word, wb), ib, wb, lines))
        for f in range(filters):
            total = f"conv_sum{q}_{f}"
            lines += _dot(total, _bias(cbias + f, wb, fi, acc_c), products[f], ib, wb, acc_c)
            outputs += [(p, f"act[{pos * filters + f}]", f"act_q({total})")
                        for p, pos in enumerate(positions) if pos is not None]
    return [*lines, *_phase_writes(outputs, reuse, "conv", cfg.conv_act_bits)]


def _dense_layer(cfg: EncoderConfig, reuse: int, *, n_act: int, acc_d: int, dbase: int, dbias: int,
                 latent_args: str) -> list[str]:
    """Input-stationary dense layer: multiplier (slot, input) holds its activation for the R cycles of a
    wafer and takes the weight of the slot's latent in each phase, so a zero activation keeps its multiplier
    still; each slot's one adder tree completes a latent per cycle."""
    wb, ab, fa, lb = cfg.weight_bits, cfg.conv_act_bits, cfg.conv_act_bits - cfg.conv_act_int_bits, cfg.latent_bits
    lines = [f"    // dense {n_act} -> {cfg.latent_dim}: {-(-cfg.latent_dim // reuse)} latents per cycle"]
    outputs = []
    for s, latents in enumerate(_phase_slots(cfg.latent_dim, reuse)):
        zero = f"{wb}'d0"
        products = []
        for i in range(n_act):
            if reuse == 1:  # slot s computes latent s
                weight = _cfg_weight(dbase + i * cfg.latent_dim + s, wb)
            else:
                name = f"wd{s}_{i}"
                words = [f"cfg[{(dbase + i * cfg.latent_dim + j) * wb} +: {wb}]" if j is not None else zero
                         for j in latents]
                lines.append(f"    wire [{wb - 1}:0] {name} = {_select('dense_ph', words, zero)};")
                weight = (f"{name}[{wb - 2}:0]", f"{name}[{wb - 1}]")
            products.append(_product(f"pd{s}_{i}", f"act[{i}]", weight, ab, wb, lines))
        biases = [_bias(dbias + j, wb, fa, acc_d) if j is not None else f"{acc_d}'d0" for j in latents]
        total = f"dense_sum{s}"
        lines += _dot(total, _select("dense_ph", biases, f"{acc_d}'d0") if reuse > 1 else biases[0], products, ab, wb,
                      acc_d)
        outputs += [(p, f"model_out[{j * lb} +: {lb}]", f"lat_q({total}{latent_args})")
                    for p, j in enumerate(latents) if j is not None]
    return [*lines, *_phase_writes(outputs, reuse, "dense", lb)]


def _cfg_weight(word: int, wb: int) -> tuple[str, str]:
    """Configuration word ``word``'s magnitude bits (all but the top) and its sign bit."""
    return f"cfg[{word * wb} +: {wb - 1}]", f"cfg[{word * wb + wb - 1}]"


def _product(wire: str, a: str, weight: tuple[str, str], a_bits: int, wb: int, lines: list[str]) -> Product:
    """``a`` (unsigned) x the low ``wb`` - 1 bits of a two's complement weight on one library multiplier,
    declared as ``wire``; the weight's sign bit, worth -2^(wb-1), is left to ``_dot``."""
    lines += [f"    wire [{a_bits + wb - 2}:0] {wire};",
              f"    {MULTIPLIER} #(.A({a_bits}), .B({wb - 1})) u_{wire} (.a({a}), .b({weight[0]}), .p({wire}));"]
    return Product(wire, a, weight[1])


def _dot(total: str, bias: str, products: list[Product], a_bits: int, wb: int, bits: int) -> list[str]:
    """``total`` = ``bias`` + sum of operand x weight, as two sums of non-negative terms: the products with
    the weights' low bits, and the operands whose weight is negative (times 2^(wb-1), subtracted). Neither
    sum has sign bits to extend, so its high bits stay still while small terms change: summing the signed
    products flipped every high bit of the adders at each change of sign. Exact in ``bits`` (no overflow)."""
    grow = int(np.ceil(np.log2(len(products))))
    pb, nb = a_bits + wb - 1 + grow, a_bits + grow
    low = " + ".join(_zero_extend(p.wire, a_bits + wb - 1, pb) for p in products)
    negative = " + ".join(_zero_extend(f"({{{a_bits}{{{p.sign}}}}} & {p.operand})", a_bits, nb) for p in products)
    negative_weight = "{" + f"{total}_n, {wb - 1}'d0" + "}"  # the sign bits' weight: x 2^(wb-1)
    return [f"    wire [{pb - 1}:0] {total}_p = {low};",
            f"    wire [{nb - 1}:0] {total}_n = {negative};",
            f"    wire signed [{bits - 1}:0] {total} = {bias} + {_zero_extend(f'{total}_p', pb, bits)} - "
            f"{_zero_extend(negative_weight, nb + wb - 1, bits)};"]


def _zero_extend(expr: str, bits: int, to_bits: int) -> str:
    return f"{{{to_bits - bits}'d0, {expr}}}" if to_bits > bits else expr
