"""Verilog of the hardware-faithful top: CALQ in, ECON-T frame out (a pure function returning text).

``econt_top`` takes the 48 CALQ integers of one wafer per clock (II = 1), registers them, and in the next
cycle adds the wafer sum S (adder tree), finds k = floor(log2 S) (priority encoder), shifts every TC to
``(CALQ << 7) >> k`` and forms the 9-bit sum code, exactly as ``codesign.data.onchip``. The converted
inputs go straight into the encoder core (``core_latency`` cycles), whose first edge registers them (da4ml's
cores and the reconfigurable core both do), in the model's image layout (masked pixels tied to zero); the
sum code travels alongside and the output frame is registered (``codesign.models.frame``). A hybrid encoder
(``sparse_max_occupancy``) also registers the inputs for the selector of the largest ones
(``codesign.hardware.sparse_select``) and, for a wafer with few enough non-zero inputs, sends them as cells
with the mode bit instead of the latents. A latents-only encoder whose format fits the chip's autoencoder
frame also has the input ``bx_cnt`` (the 5-bit BX_CNT of the wafer's bunch crossing, delayed with it) and the
parameter ``CHIP_FRAME``: 0 (default) emits the project frame, 1 the frame the ECON-T chip sends
(``codesign.models.frame.pack_chip_frames``). ``valid_in`` travels with the data; ``rst`` (synchronous,
active high) only clears the valid pipeline: the datapath needs no reset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from codesign.data.floats import E4M3
from codesign.data.onchip import INPUT_BITS, INPUT_FRAC_BITS, SUM_CODE_BITS, SUM_MANTISSA_BITS
from codesign.econt.algorithms import SHIFTED_MAX
from codesign.econt.autoencoder import HEADER_BITS
from codesign.hardware.sparse_select import SPARSE_MODULE
from codesign.hardware.verilog import verilog_module
from codesign.models.frame import FrameFormat, chip_frame_problem, chip_latent_offset

CONFIG_PORTS = ["input  wire cfg_en", "input  wire cfg_in", "output wire cfg_out"]
GENERATOR = "codesign/hardware/topgen.py"
TOP_MODULE = "econt_top"
CONVERT_MODULE = "econt_convert"
DELAY_MODULE = "econt_delay"  # in the RTL library (codesign/hardware/rtl_lib)
CONVERSION_STAGES = (1, 2, 3)
CHARGE_CLIP_BITS = SHIFTED_MAX.bit_length()  # the chip clips (CALQ >> DropLSB) to 18 bits before 4E3M


@dataclass(frozen=True)
class TopSpec:
    core_module: str
    core_latency: int  # clock edges from the core's model_inp to its model_out; the first registers model_inp
    pixel_tc: Sequence[int | None]  # for each core input (pixel), the TC feeding it, None = constant zero
    core_input_bits: int  # bits per core input in its packed model_inp
    frame: FrameFormat
    core_input_frac_bits: int = INPUT_FRAC_BITS  # fractional bits of a core input (the encoder's input format)
    # bits per core output and how far its LSB sits above the latent field's LSB: a trained core may carry
    # fewer bits than the latent format (outputs that never reach the top bits, or constant low bits)
    core_output_bits: int | None = None  # None: the latent width
    core_output_shift: int = 0
    calq_bits: int = 22
    n_tc: int = 48
    config_port: bool = False  # pass the core's serial configuration port (cfg_en, cfg_in, cfg_out) through
    # a time-multiplexed core (reuse factor): it takes rst and start, the valid of its model_inp
    core_control: bool = False
    sparse_max_occupancy: int | None = None  # hybrid encoder (codesign.models.sparse); None: latents only
    # clock cycles of the sparse selector (pipeline slices of its comparator networks): more slices make a
    # shorter critical path (an FPGA needs it) at the price of registers; beyond the core's latency minus one
    # the latents wait for it (latency grows)
    selector_stages: int = 1
    # clock cycles of the conversion: the input register, then (2) the wafer sum and (3) k registered before the
    # shifters; the conversion then feeds the core's own input register
    conversion_stages: int = 1

    def __post_init__(self) -> None:
        if (self.sparse_max_occupancy is not None) != self.frame.sparse_mode:
            raise ValueError("sparse_max_occupancy and the frame's sparse_mode must be set together")
        if self.selector_stages < 1:
            raise ValueError(f"selector_stages must be at least 1, got {self.selector_stages}")

    @property
    def sparse_cells(self) -> int:
        return self.frame.sparse_cells

    @property
    def chip_frame(self) -> bool:
        """Whether the top can also emit the chip's autoencoder frame (``CHIP_FRAME``, ``bx_cnt``)."""
        return chip_frame_problem(self.frame) is None

    @property
    def latents_delay(self) -> int:
        """Cycles the core's outputs wait for a selector with more stages than the core has cycles to spare."""
        if self.sparse_max_occupancy is None:
            return 0
        return max(0, self.selector_stages + 1 - self.core_latency)

    @property
    def side_delay(self) -> int:
        """Cycles the side word (sum code, cells, BX_CNT) waits for the core: the selector's input register
        and its pipeline take ``selector_stages`` of them."""
        return (self.core_latency + self.latents_delay
                - (self.selector_stages if self.sparse_max_occupancy is not None else 0))

    @property
    def latency(self) -> int:
        return self.conversion_stages + self.core_latency + self.latents_delay + 1


def sum_code_block(total: str, k: str, sum_bits: int, k_bits: int) -> list[str]:
    """Combinational 9-bit float ``code`` of the wafer sum ``total`` given its ``k``; see
    codesign.data.onchip.encode_sum."""
    small = 1 << SUM_MANTISSA_BITS
    eb = SUM_CODE_BITS - SUM_MANTISSA_BITS
    max_k = (1 << eb) - 1 + SUM_MANTISSA_BITS - 1  # e = k - 3 <= 31
    exponent = f"exp_c[{eb - 1}:0]" if k_bits >= eb else f"{{{eb - k_bits}'d0, exp_c}}"
    lines = [
        f"    reg [{k_bits - 1}:0] exp_c;",
        "    /* verilator lint_off UNUSEDSIGNAL */  // the mantissa is the 4 bits below the leading one",
        f"    reg [{sum_bits - 1}:0] mant_c;",
        "    /* verilator lint_on UNUSEDSIGNAL */",
        "    always @* begin",
        # e = k - 3 above the 4-bit mantissa, the 4 bits after the leading one below it
        f"        exp_c = {k} - {k_bits}'d{SUM_MANTISSA_BITS - 1};",
        f"        mant_c = {total} >> ({k} - {k_bits}'d{SUM_MANTISSA_BITS});",
        f"        if ({total} < {sum_bits}'d{small})",
        f"            code = {total}[{SUM_CODE_BITS - 1}:0];",
    ]
    if sum_bits - 1 > max_k:
        saturated = f"{SUM_CODE_BITS}'d{(1 << SUM_CODE_BITS) - 1}"
        lines += [f"        else if ({k} > {k_bits}'d{max_k})", f"            code = {saturated};"]
    lines += [
        "        else",
        f"            code = {{{exponent}, mant_c[{SUM_MANTISSA_BITS - 1}:0]}};",
        "    end",
    ]
    return lines


def adder_tree_lines(terms: list[str], bits: int, out: str) -> list[str]:
    """``out`` = the sum of ``terms`` (unsigned, ``bits`` each) as a balanced tree of two-input adders, each
    only as wide as its largest possible sum (1,123 adder bits for 48 TCs against 1,316 for a running sum)."""
    nodes = [(term, (1 << bits) - 1) for term in terms]
    lines, level = [], 0
    while len(nodes) > 1:
        level += 1
        paired = []
        for j, ((a, max_a), (b, max_b)) in enumerate(zip(nodes[::2], nodes[1::2], strict=False)):
            name, width = f"{out}{level}_{j}", (max_a + max_b).bit_length()
            operands = (f"{{{width - top.bit_length()}'d0, {x}}}" if width > top.bit_length() else x
                        for x, top in ((a, max_a), (b, max_b)))
            lines.append(f"    wire [{width - 1}:0] {name} = {' + '.join(operands)};")
            paired.append((name, max_a + max_b))
        nodes = paired + nodes[len(nodes) - len(nodes) % 2:]
    ((root, top),) = nodes
    return [*lines, f"    wire [{top.bit_length() - 1}:0] {out} = {root};"]


def _input_shift_lines(n: int, calq_bits: int, k_bits: int, calq: str, k: str) -> list[str]:
    """``inputs``: the low 8 bits of (CALQ << 7) >> k for each TC. The shifter takes the largest step
    first and keeps only the bits the remaining steps can still move into the low 8: 5 stages of 39, 23, 15,
    11 and 9 bits narrow to 8 instead of 5 full-width stages."""
    after = [INPUT_BITS + (1 << b) - 1 for b in range(k_bits)]  # bits kept after the step of 2^b
    top = after[-1] + (1 << (k_bits - 1))
    data = calq_bits + INPUT_FRAC_BITS
    lines = [f"    reg [{top - 1}:0] shift{k_bits}_c;",
             *(f"    reg [{after[b] - 1}:0] shift{b}_c;" for b in reversed(range(k_bits))),
             "    always @* begin : shift_inputs",
             "        integer i;",
             f"        for (i = 0; i < {n}; i = i + 1) begin",
             f"            shift{k_bits}_c = {{{top - data}'d0, {calq}[i * {calq_bits} +: {calq_bits}], "
             f"{INPUT_FRAC_BITS}'d0}};"]
    for b in reversed(range(k_bits)):
        lines.append(f"            shift{b}_c = {k}[{b}] ? shift{b + 1}_c[{1 << b} +: {after[b]}] : "
                     f"shift{b + 1}_c[0 +: {after[b]}];")
    return [*lines, f"            inputs[i * {INPUT_BITS} +: {INPUT_BITS}] = shift0_c;", "        end", "    end"]


def _charge_lines(n: int, calq_bits: int, calq: str) -> list[str]:
    """``charges``: each registered CALQ as the chip's 7-bit 4E3M Best-Choice word
    (``codesign.econt.algorithms.charge_codes``): clipped to 18 bits, exponent e = bit length - 3 (0 below
    8), the 3 bits below the leading one as mantissa."""
    clip, e_bits, m_bits = CHARGE_CLIP_BITS, E4M3.exponent_bits, E4M3.mantissa_bits
    value = f"{calq}[i * {calq_bits} +: {calq_bits}]"
    clipped = (f"{value} > {calq_bits}'d{(1 << clip) - 1} ? {clip}'d{(1 << clip) - 1} : "
               f"{calq}[i * {calq_bits} +: {clip}]") if calq_bits > clip else f"{{{clip - calq_bits}'d0, {value}}}"
    return [
        f"    reg [{clip - 1}:0] clip_c;",
        f"    reg [{e_bits - 1}:0] cexp_c;",
        "    /* verilator lint_off UNUSEDSIGNAL */  // the mantissa is the 3 bits below the leading one",
        f"    reg [{clip - 1}:0] cmant_c;",
        "    /* verilator lint_on UNUSEDSIGNAL */",
        "    always @* begin : charge_words",
        "        integer i, j;",
        f"        for (i = 0; i < {n}; i = i + 1) begin",
        f"            clip_c = {clipped};",
        "            cexp_c = 0;",
        f"            for (j = {m_bits}; j < {clip}; j = j + 1) if (clip_c[j]) cexp_c = j[{e_bits - 1}:0] - "
        f"{e_bits}'d{m_bits - 1};",
        f"            cmant_c = cexp_c == 0 ? clip_c : clip_c >> (cexp_c - {e_bits}'d1);",
        f"            charges[i * {E4M3.bits} +: {E4M3.bits}] = {{cexp_c, cmant_c[{m_bits - 1}:0]}};",
        "        end",
        "    end",
    ]


def convert_verilog(n_tc: int, calq_bits: int, *, charges: bool = False, stages: int = 1) -> str:
    """``econt_convert``: the input register, then (combinational) the wafer sum S, k = floor(log2 S), the
    inputs (CALQ << 7) >> k and the 9-bit sum code of the registered wafer; with ``charges`` also each
    CALQ's 4E3M word (a hybrid encoder's charge cells). More ``stages`` shorten the critical path for an
    FPGA, one clock cycle each: 2 registers the sum (and a copy of the CALQ) after the adder tree, 3 also k
    after the priority encoder, whose 5 bits steer all 48 shifters."""
    if stages not in CONVERSION_STAGES:
        raise ValueError(f"the conversion has 1 to {max(CONVERSION_STAGES)} stages, got {stages}")
    sb = calq_bits + (n_tc - 1).bit_length()
    kb = max(sb - 1, 1).bit_length()
    ports = ["input  wire clk", f"input  wire [{n_tc * calq_bits - 1}:0] calq",
             f"output reg  [{n_tc * INPUT_BITS - 1}:0] inputs", f"output reg  [{SUM_CODE_BITS - 1}:0] code",
             *([f"output reg  [{n_tc * E4M3.bits - 1}:0] charges"] if charges else [])]
    calq, total, k = f"calq_s{stages}", "sum_c" if stages == 1 else "sum_s2", "k_c" if stages < 3 else "k_s3"
    registers = [(f"calq_s{s}", n_tc * calq_bits, f"calq_s{s - 1}") for s in range(2, stages + 1)]
    registers += [("sum_s2", sb, "sum_c")] if stages >= 2 else []
    registers += [("sum_s3", sb, "sum_s2"), ("k_s3", kb, "k_c")] if stages == 3 else []
    code_sum = "sum_s3" if stages == 3 else total
    return verilog_module(CONVERT_MODULE, ports, [
        f"    reg [{n_tc * calq_bits - 1}:0] calq_s1;",
        "    always @(posedge clk) calq_s1 <= calq;",
        *adder_tree_lines([f"calq_s1[{i * calq_bits} +: {calq_bits}]" for i in range(n_tc)], calq_bits, "sum_c"),
        f"    reg [{kb - 1}:0] k_c;",
        "    always @* begin : leading_one",
        "        integer i;",
        "        k_c = 0;",
        f"        for (i = 0; i < {sb}; i = i + 1) if ({total}[i]) k_c = i[{kb - 1}:0];",
        "    end",
        *([f"    reg [{bits - 1}:0] {name};" for name, bits, _ in registers]),
        *(["    always @(posedge clk) begin  // between the stages",
           *(f"        {name} <= {source};" for name, _, source in registers), "    end"] if registers else []),
        *sum_code_block(code_sum, k, sb, kb),
        *_input_shift_lines(n_tc, calq_bits, kb, calq, k),
        *(_charge_lines(n_tc, calq_bits, calq) if charges else []),
    ], generator=GENERATOR, comment="the on-chip conversion (codesign.data.onchip)"
       + ("." if stages == 1 else f", in {stages} stages."))


def top_verilog(spec: TopSpec) -> str:
    """The complete ``econt_top`` module as Verilog-2001 text."""
    cb, n, fr = spec.calq_bits, spec.n_tc, spec.frame
    ib = spec.core_input_bits
    lb = fr.latent_bits
    core_in = len(spec.pixel_tc) * ib
    ob = lb if spec.core_output_bits is None else spec.core_output_bits
    if ob + spec.core_output_shift > lb or ob < 1:
        raise ValueError(f"core outputs of {ob} bits at offset {spec.core_output_shift} do not fit {lb}-bit latents")
    core_out = fr.n_latents * ob
    cells = fr.cell_coding.bits
    hb = HEADER_BITS if spec.chip_frame else 0
    side = SUM_CODE_BITS + (cells + 1 if spec.sparse_cells else 0) + hb
    ports = ["input  wire clk", "input  wire rst", "input  wire valid_in", f"input  wire [{n * cb - 1}:0] calq",
             *([f"input  wire [{hb - 1}:0] bx_cnt"] if hb else []), "output wire valid_out",
             f"output reg  [{fr.width - 1}:0] frame", *(CONFIG_PORTS if spec.config_port else [])]
    lines = [
        *valid_pipeline_lines(spec.latency),
        "",
        "    // stage 1: input register; stage 2: the on-chip conversion, into the core's input register"
        if spec.conversion_stages == 1 else
        "    // stages 1-2: input register, wafer sum and k; stage 3: the shifters, into the core's input register",
        f"    wire [{n * INPUT_BITS - 1}:0] inputs_c;",
        f"    wire [{SUM_CODE_BITS - 1}:0] code_c;",
        *([f"    wire [{n * E4M3.bits - 1}:0] charges_c;"] if fr.cell_coding.charge else []),
        f"    {CONVERT_MODULE} convert (.clk(clk), .calq(calq), .inputs(inputs_c), .code(code_c)"
        + (", .charges(charges_c));" if fr.cell_coding.charge else ");"),
        *(delay_lines("bx_c", "bx_cnt", hb, spec.conversion_stages) if hb else []),  # with the conversion
        "",
        "    // encoder core (da4ml): pixels in the model's image layout",
        f"    wire [{core_in - 1}:0] core_in;",
        f"    wire [{core_out - 1}:0] {'core_q' if spec.latents_delay else 'core_out'};  // as the core gives them",
    ]
    for p, tc in enumerate(spec.pixel_tc):
        src = f"{ib}'d0" if tc is None else core_input(tc * INPUT_BITS, ib, spec.core_input_frac_bits)
        lines.append(f"    assign core_in[{p * ib} +: {ib}] = {src};")
    delay = spec.latents_delay
    lines += [
        f"    {spec.core_module} core (.clk(clk), "
        + (".rst(rst), .start(valid_pipe[0]), " if spec.core_control else "")
        + f".model_inp(core_in), .model_out({'core_q' if delay else 'core_out'})"
        + (", .cfg_en(cfg_en), .cfg_in(cfg_in), .cfg_out(cfg_out));" if spec.config_port else ");"),
        *([f"    // the latents wait {delay} cycle(s) for the sparse selector",
           *delay_lines("core_out", "core_q", core_out, delay)] if delay else []),
        "",
        *(_sparse_instance(spec) if spec.sparse_cells else
          [f"    wire [{side - 1}:0] side_c = " + ("{code_c, bx_c};" if hb else "code_c;")]),
        "",
        "    // what travels beside the core: the sum code (and the sparse-mode cells and mode bit, or the BX_CNT)",
        *delay_lines("side", "side_c", side, spec.side_delay),
        "",
        "    // output frame: latents (or sparse cells) from bit 0 up, the sum code, the mode bit, zero padding",
        *(_chip_frame_lines(spec, ob) if hb else []),
        "    always @(posedge clk) begin",
        "        frame <= 0;",
        *(["        if (CHIP_FRAME) frame <= chip_frame;", "        else begin"] if hb else []),
        *(["        if (side[0]) begin",
           *_cell_frame_lines(fr),
           f"            frame[{fr.mode_bit}] <= 1'b1;",
           "        end else begin"] if spec.sparse_cells else []),
        *(f"        {'    ' if spec.sparse_cells or hb else ''}frame[{j * lb + spec.core_output_shift} +: {ob}] <= "
          f"core_out[{j * ob} +: {ob}];" for j in range(fr.n_latents)),
        *(["        end"] if spec.sparse_cells else []),
        f"        {'    ' if hb else ''}frame[{fr.sum_offset} +: {SUM_CODE_BITS}] <= "
        f"side[{side - SUM_CODE_BITS} +: {SUM_CODE_BITS}];",
        *(["        end"] if hb else []),
        "    end",
    ]
    return verilog_module(TOP_MODULE, ports, lines, generator=GENERATOR, parameters="#(parameter CHIP_FRAME = 0) "
                          if hb else "", comment="CALQ -> on-chip conversion -> encoder -> frame.\n"
                          f"// Latency {spec.latency} clock cycles, one wafer per clock.")


def _cell_frame_lines(fr: FrameFormat) -> list[str]:
    """The sparse-mode cells from ``side[1 +: bits]`` into the frame: the latent field, then (charge cells)
    the bits above the mode bit (as ``pack_frames`` places them)."""
    cells, low = fr.cell_coding.bits, min(fr.cell_coding.bits, fr.sum_offset)
    lines = [f"            frame[0 +: {low}] <= side[1 +: {low}];"]
    if cells > low:
        lines.append(f"            frame[{fr.mode_bit + 1} +: {cells - low}] <= side[{1 + low} +: {cells - low}];")
    return lines


def _chip_frame_lines(spec: TopSpec, ob: int) -> list[str]:
    """``chip_frame``: the BX_CNT, the sum code and latent 0..15 from the top down (``pack_chip_frames``)."""
    fr = spec.frame
    lines = [
        "    // the chip's autoencoder frame (CHIP_FRAME = 1): BX_CNT, sum code, zero padding, latent 0 .. latent 15",
        f"    wire [{fr.width - 1}:0] chip_frame;",
        f"    assign chip_frame[{fr.width - 1} -: {HEADER_BITS}] = side[0 +: {HEADER_BITS}];",
        f"    assign chip_frame[{fr.width - 1 - HEADER_BITS} -: {SUM_CODE_BITS}] = "
        f"side[{HEADER_BITS} +: {SUM_CODE_BITS}];",
    ]
    latent_field = fr.n_latents * fr.latent_bits
    pad = fr.width - HEADER_BITS - SUM_CODE_BITS - latent_field
    if pad:
        lines.append(f"    assign chip_frame[{latent_field} +: {pad}] = {pad}'d0;")
    for j in range(fr.n_latents):
        base = chip_latent_offset(fr, j)
        lines.append(f"    assign chip_frame[{base + spec.core_output_shift} +: {ob}] = core_out[{j * ob} +: {ob}];")
        low, high = spec.core_output_shift, fr.latent_bits - ob - spec.core_output_shift
        if low:
            lines.append(f"    assign chip_frame[{base} +: {low}] = {low}'d0;")
        if high:
            lines.append(f"    assign chip_frame[{base + low + ob} +: {high}] = {high}'d0;")
    return lines


def valid_pipeline_lines(latency: int) -> list[str]:
    """``valid_out`` = ``valid_in`` ``latency`` clock edges later; ``rst`` clears the pipeline."""
    return [f"    reg [{latency - 1}:0] valid_pipe;",
            f"    assign valid_out = valid_pipe[{latency - 1}];",
            "    always @(posedge clk) begin",
            "        if (rst) valid_pipe <= 0;",
            f"        else valid_pipe <= {{valid_pipe[{latency - 2}:0], valid_in}};" if latency > 1
            else "        else valid_pipe <= valid_in;",
            "    end"]


def delay_lines(out: str, source: str, bits: int, cycles: int) -> list[str]:
    """``out`` = ``source`` ``cycles`` clock edges later (the RTL library's ``econt_delay``)."""
    return [f"    wire [{bits - 1}:0] {out};",
            f"    {DELAY_MODULE} #(.WIDTH({bits}), .CYCLES({cycles})) {out}_delay (.clk(clk), .d({source}), "
            f".q({out}));"]


def _sparse_instance(spec: TopSpec) -> list[str]:
    """The sparse-mode selector on the converted inputs (or the charge words), registered first (the core
    registers its own copy): ``side_c = {code_s2, cells, mode}``, ``selector_stages`` cycles behind the core's
    input (the sum code waits beside a pipelined selector)."""
    coding, stages = spec.frame.cell_coding, spec.selector_stages
    values = "charges" if coding.charge else "inputs"
    return [
        "",
        f"    // sparse mode: the {coding.describe()}; at most {spec.sparse_max_occupancy} non-zero {values} "
        "selects it",
        f"    reg [{spec.n_tc * coding.source_bits - 1}:0] inputs_s2;",
        f"    always @(posedge clk) inputs_s2 <= {values}_c;",
        *delay_lines("code_s2", "code_c", SUM_CODE_BITS, stages),  # beside the selector's input and pipeline
        "    wire sparse_c;",
        f"    wire [{coding.bits - 1}:0] cells_c;",
        f"    {SPARSE_MODULE} sparse_select ({'.clk(clk), ' if stages > 1 else ''}.inputs(inputs_s2), "
        ".sparse(sparse_c), .cells(cells_c));",
        f"    wire [{SUM_CODE_BITS + coding.bits}:0] side_c = {{code_s2, cells_c, sparse_c}};",
    ]


def core_input(base: int, bits: int, frac: int) -> str:
    """The on-chip input at bit ``base`` of ``inputs_c`` (INPUT_BITS, INPUT_FRAC_BITS fractional) in the
    core's format (``bits``, ``frac`` fractional), as the encoder's input quantizer does it: fewer fractional
    bits floor (drop LSBs, TRN), fewer integer bits wrap (drop MSBs, WRAP), more bits are zeros."""
    drop = max(INPUT_FRAC_BITS - frac, 0)
    low_zeros = max(frac - INPUT_FRAC_BITS, 0)
    keep = min(INPUT_BITS - drop, bits - low_zeros)
    if keep <= 0:
        return f"{bits}'d0"
    expr = f"inputs_c[{base + drop} +: {keep}]"
    if low_zeros:
        expr = f"{{{expr}, {low_zeros}'d0}}"
    if bits > keep + low_zeros:
        expr = f"{{{bits - keep - low_zeros}'d0, {expr}}}"
    return expr
