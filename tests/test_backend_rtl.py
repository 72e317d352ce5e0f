"""The back-end decoders (codesign/hardware/backend_rtl.py): Best-Choice, the entropy codec, Threshold-Sum and the
super trigger cells. The generated Verilog lints clean, the integer golden model (codesign/hardware/backend_model.py)
agrees with the float back end within the fixed-point step (and the super trigger cells' share quantisation) and
moves the exact EMD by < 1e-3, and (slow) the RTL equals the integer model bit for bit under Verilator on real
wafers, corner-case wafers and random frames."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from codesign.arena import load_arena
from codesign.data.floats import E5M3
from codesign.data.normalise import unit_or_uniform
from codesign.econt.algorithms import (
    BEST_CHOICE_CELLS,
    DEFAULT_THRESHOLD,
    MODULE_PRESETS,
    STC_TYPES,
    BackEnd,
    ChipOutput,
    EcontSettings,
    run_algorithm,
)
from codesign.econt.backend import Spreading, spread
from codesign.econt.bits import FrameWriter
from codesign.econt.entropy import MAX_CODE_BITS, canonical_codes
from codesign.econt.mux import TcMux, load_tc_mux
from codesign.emd.exact import exact_emd
from codesign.hardware.backend_model import (
    SHARE_BITS,
    TS_FRAME_BITS,
    TS_SUM_OFFSET,
    TS_TYPE_BITS,
    TS_TYPE_OFFSET,
    BestChoiceDecoder,
    CanonicalCode,
    EntropyDecoder,
    SuperCellDecoder,
    ThresholdSumDecoder,
    field,
    fill_value,
    frame_matrix,
)
from codesign.hardware.backend_rtl import (
    BRAM_SLICING,
    DEEP_SLICING,
    DEFAULT_SLICING,
    DELAY_LUTRAM_MACRO,
    DSP_SLICING,
    ECP5_MACROS,
    FINE_SLICING,
    FLOP_ATTRIBUTE,
    FLOP_RING_CLOCKS,
    RING_SLICING,
    SUM_SLICING,
    Decoder,
    DecoderSlicing,
    _Design,
    _ring_module,
    decoder_rtl,
    ge_const,
    saturation_thresholds,
    write_backend_rtl,
)
from codesign.hardware.rtl import RtlInfo, lint_rtl
from codesign.hardware.vectors import corner_cases
from codesign.hardware.verilog import verilog_module
from codesign.tools import ToolNotFoundError, verilator_env

IDENTITY = tuple(range(48))
EVEN = Spreading("even")
DROP = 1  # the LD modules' DropLSB (the arena's `ld` codecs use it too)


@pytest.fixture(scope="module")
def arena():
    """The committed arena (its codecs send sparse frames)."""
    return load_arena()


@pytest.fixture(scope="module")
def mux(real_dir) -> TcMux:
    return load_tc_mux(real_dir / "tc_mux.csv")


def _env() -> dict[str, str]:
    try:
        return {**os.environ, **verilator_env()}
    except ToolNotFoundError as err:
        pytest.skip(str(err))


def _best_choice(calq: np.ndarray, mux: TcMux, elinks: int, literal: bool = True):
    return run_algorithm("best-choice", calq, mux, settings=EcontSettings(elinks=elinks, drop_lsb=DROP),
                         back_end=BackEnd(literal_best_choice=literal))


def _check_bound(cells: np.ndarray, float_reco: np.ndarray, selected: np.ndarray, frac_bits: int) -> None:
    """Sent cells exact; an unsent cell at most 2^-F below the float back end, never above."""
    fixed = cells / 2.0 ** frac_bits
    gap = float_reco - fixed
    assert (gap[selected] == 0).all()
    scale = np.maximum(np.abs(float_reco), 1.0)
    assert (gap >= -1e-9 * scale).all() and (gap < 2.0 ** -frac_bits + 1e-9 * scale).all(), (gap.min(), gap.max())


def _threshold_sum(calq: np.ndarray, mux: TcMux, module: str, elinks: int,
                   threshold: int | tuple[int, ...] = DEFAULT_THRESHOLD) -> tuple[ChipOutput, np.ndarray]:
    """Threshold-Sum through the buffer, and its frames with each truncated BX's as the chip sends it (the golden
    model keeps the untruncated bits): header | 110 or 111 (alternately; the decoder reads neither's last bit) |
    the module sum's 5E3M code."""
    settings = EcontSettings(elinks=elinks, drop_lsb=MODULE_PRESETS[module].drop_lsb, threshold=threshold,
                             buffer=True)
    out = run_algorithm("threshold-sum", calq, mux, settings=settings)
    bits = frame_matrix(out.frames, TS_FRAME_BITS)
    rows = np.flatnonzero(out.extra["truncated"])
    writer = FrameWriter(len(rows), TS_SUM_OFFSET + E5M3.bits)
    writer.write(field(bits[rows], 0, TS_TYPE_OFFSET), TS_TYPE_OFFSET)  # the header
    writer.write(0b110 | (rows & 1), TS_TYPE_BITS)
    writer.write(E5M3.encode(calq[rows].sum(axis=1)), E5M3.bits)
    bits[rows] = 0
    bits[rows, :writer.bits.shape[1]] = writer.bits
    return out, bits


def _super_cells(calq: np.ndarray, mux: TcMux, stc: str, module: str, elinks: int) -> ChipOutput:
    settings = EcontSettings(elinks=elinks, drop_lsb=MODULE_PRESETS[module].drop_lsb)
    return run_algorithm(stc, calq, mux, settings=settings)


def _decoder(kind: str, module: str, elinks: int, arena, post_of_tc: tuple[int, ...] = IDENTITY,
             naive: bool = False) -> Decoder:
    """The decoder of ``kind`` (``threshold-sum`` or an STC type) for ``module`` at ``elinks``; an STC type with the
    arena's shares (even weighting where the arena chose "near"), or none (``naive``)."""
    drop = MODULE_PRESETS[module].drop_lsb
    if kind == "threshold-sum":
        return ThresholdSumDecoder(elinks, drop, post_of_tc)
    rule = arena.back_ends.rule(kind, module, elinks)
    return SuperCellDecoder(kind, elinks, drop, post_of_tc, () if naive or rule is None else rule.anchor_shares)


def _entropy_decoder(kind: str, module: str, elinks: int, arena) -> EntropyDecoder:
    """``entropy``: the codec with its even fill; ``entropy-table`` (``-deep``): with the arena's table placement;
    ``entropy-table-nearest``: that table, its entries for the unsent neighbours of sent cells raised by 20
    nats, read by the nearest sent cell with a span of 4 half octaves (the other entries at the zero level, so
    a frame that sends nothing, or no cell with an unsent neighbour, takes the even fallback)."""
    codec = arena.codec(module, elinks)
    if "table" not in kind:
        return EntropyDecoder(codec)
    table = arena.table(module, elinks)
    assert table is not None, f"the committed arena keeps a table placement for {module} at {elinks} eLinks"
    if kind.endswith("-nearest"):
        raised = tuple(tuple(x + (20.0 if d == 1 else 0.0) for d, x in enumerate(row)) for row in table.unsent)
        table = dataclasses.replace(table, unsent=raised, distance_to="nearest", span=4)
        assert table.has_zero_level
    return EntropyDecoder(codec, placement=table)


LINT_CASES = [("bc", n, d) for n in (1, 2, 3, 4, 5) for d in (DROP,)] + [("bc", 3, 0), ("bc", 6, 4)] + \
    [("entropy", m, n) for m in ("ld", "hd") for n in (2, 5)] + \
    [("entropy-table", "hd", 2), ("entropy-table", "ld", 4), ("entropy-table-nearest", "ld", 4)] + \
    [("entropy-fine", "ld", 4), ("entropy-table-fine", "hd", 5), ("entropy-table-rings", "hd", 3)] + \
    [("entropy-table-dsp", m, n) for m, n in (("ld", 4), ("hd", 5))] + [("entropy-table-bram", "hd", 5)] + \
    [("entropy-table-romsum", m, n) for m, n in (("hd", 5), ("ld", 5))] + \
    [("threshold-sum", m, n) for m, n in (("hd", 2), ("ld", 5))] + \
    [(stc, m, n) for stc, m, n in (("stc16_9", "ld", 2), ("stc4_9", "hd", 5), ("stc4_7", "ld", 4), ("stc4_7", "hd", 1),
                                   ("stc16_9", "hd", 1))] + [("naive-stc4_9", "hd", 5), ("per-cell-ts", "ld", 5)]


@pytest.mark.parametrize(("kind", "a", "b"), LINT_CASES)
def test_decoders_lint_clean(tmp_path, arena, kind, a, b):
    env = _env()
    dec: Decoder
    if kind == "bc":
        dec = BestChoiceDecoder(a, b, IDENTITY)
    elif kind.startswith("entropy"):
        dec = _entropy_decoder(kind.removesuffix("-fine").removesuffix("-rings").removesuffix("-dsp")
                               .removesuffix("-bram").removesuffix("-romsum"), a, b, arena)
    elif kind == "per-cell-ts":
        dec = ThresholdSumDecoder(b, MODULE_PRESETS[a].drop_lsb, IDENTITY, tuple(range(20, 68)))
    else:
        dec = _decoder(kind.removeprefix("naive-"), a, b, arena, naive=kind.startswith("naive-"))
    slicing = {"fine": FINE_SLICING, "rings": RING_SLICING, "dsp": DSP_SLICING,
               "bram": BRAM_SLICING, "romsum": SUM_SLICING}.get(kind.rsplit("-", 1)[-1], DEFAULT_SLICING)
    rtl = decoder_rtl(dec, slicing)
    path = tmp_path / f"{rtl.module}.v"
    path.write_text(rtl.verilog)
    for defines in [[], *([[f"+define+{m}" for m in ECP5_MACROS]] if slicing.rings else [])]:  # the ECP5's build
        proc = subprocess.run(["verilator", "--lint-only", "-Wall", *defines, "--top-module", rtl.module, path.name],
                              cwd=tmp_path, env=env, capture_output=True, text=True)
        assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[:3000]
    assert rtl.verilog.startswith("`timescale 1ns / 1ps\n`default_nettype none")


def test_time_multiplexed_top_lints_clean(tmp_path, arena):
    _env()
    dec = _entropy_decoder("entropy-table", "hd", 5, arena)
    info = write_backend_rtl(dec, tmp_path / "rtl", slicing=FINE_SLICING, modules_per_decoder=5)
    assert info.top.endswith("_tdm5") and info.core != info.top and len(info.sources) == 2
    assert lint_rtl(tmp_path / "rtl") == []


def test_rtl_folder_is_what_the_fpga_flow_reads(tmp_path, arena):
    _env()
    dec = EntropyDecoder(arena.codec("ld", 2))
    info = write_backend_rtl(dec, tmp_path / "rtl")
    loaded = RtlInfo.load(tmp_path / "rtl")
    assert np.isnan(loaded.estimated_luts)  # no da4ml core: no estimate
    assert dataclasses.replace(loaded, estimated_luts=0.0) == dataclasses.replace(info, estimated_luts=0.0)
    assert info.top == "entropy_decoder_2elink_m1" and info.frame_bits == 64 and info.initiation_interval == 1
    assert info.latency_cycles == decoder_rtl(dec).latency and lint_rtl(tmp_path / "rtl") == []


def test_fill_is_the_exact_floor_and_the_saturation_changes_nothing():
    rng = np.random.default_rng(3)
    residual = rng.integers(0, 1 << 36, 20000) >> rng.integers(0, 36, 20000)
    n_unsent = rng.integers(1, 49, 20000)
    cap = rng.integers(0, 507905, 20000)
    got = fill_value(residual, n_unsent, cap, rem_bits=25, frac_bits=8)
    want = [min((int(r) << 8) // int(n), int(c) << 8) for r, n, c in zip(residual, n_unsent, cap, strict=True)]
    assert got.tolist() == want
    assert fill_value(np.array([5]), np.array([0]), np.array([3]), rem_bits=25, frac_bits=8).tolist() == [3 << 8]


@pytest.mark.parametrize(("module", "elinks"), [("ld", 2), ("ld", 5), ("hd", 2), ("hd", 5)])
def test_canonical_code_reads_every_window(arena, module, elinks):
    codec = arena.codec(module, elinks)
    code = CanonicalCode.of(codec.code_lengths)
    window = np.arange(1 << MAX_CODE_BITS)
    length, symbol = code.decode(window)
    lengths = np.asarray(codec.code_lengths)
    assert (lengths[symbol] == length).all()
    assert (canonical_codes(lengths)[symbol] == window >> (MAX_CODE_BITS - length)).all()


def test_ge_const_is_a_comparison():
    for width in (1, 3, 5):
        for value in range((1 << width) + 1):
            expr = ge_const([f"b{i}" for i in range(width)], value)
            for x in range(1 << width):
                names = {f"b{i}": (x >> (width - 1 - i)) & 1 for i in range(width)}
                py = expr.replace("1'b1", "1").replace("1'b0", "0")
                assert eval(py, {}, names) == (x >= value), (width, value, x, expr)  # noqa: S307


def _wafers(highpu: np.ndarray, n: int) -> np.ndarray:
    return np.concatenate([highpu[:n], corner_cases(22)[0]])


def _sparse_wafers(n: int, seed: int) -> np.ndarray:
    """Wafers of 1..17 non-zero cells from 1 to just above 2^18: sparse frames, and the edges where one no longer
    fits (too many cells, a charge too large)."""
    rng = np.random.default_rng(seed)
    calq = np.zeros((n, 48), dtype=np.int64)
    for row, count in enumerate(rng.integers(1, 18, n)):
        calq[row, rng.choice(48, count, replace=False)] = np.exp2(rng.uniform(0, 18.01, count)).astype(np.int64)
    return calq


@pytest.mark.parametrize("elinks", [2, 3, 4, 5])
def test_best_choice_model_matches_the_float_back_end(highpu, mux, elinks):
    """Against the literal reading of the frame (what the frame says) within the fixed-point step everywhere;
    against the default back end only where a selected cell of value 0 lies below a non-zero one."""
    calq = _wafers(highpu, 3000)
    dec = BestChoiceDecoder(elinks, DROP, tuple(int(p) for p in mux.post_of_tc))
    literal = _best_choice(calq, mux, elinks)
    cells = dec.decode(literal.frames.bits)
    selected = ~literal.leftover.cells[:, 0, :]
    _check_bound(cells, literal.decoded(EVEN, np.ones(48)), selected, dec.frac_bits)
    default = _best_choice(calq, mux, elinks, literal=False)
    gap = np.abs(default.decoded(EVEN, np.ones(48)) - cells / 2.0 ** dec.frac_bits)
    differs = gap.max(axis=1) >= 2.0 ** -dec.frac_bits
    fewer = ((calq >> DROP) > 0).sum(axis=1) < BEST_CHOICE_CELLS[elinks - 1]
    assert not (differs & ~fewer).any() and differs.any()


@pytest.mark.parametrize(("module", "elinks"), [("ld", 2), ("ld", 5), ("hd", 2), ("hd", 5)])
def test_entropy_model_matches_the_float_back_end(highpu, arena, module, elinks):
    calq = np.concatenate([_wafers(highpu, 3000), _sparse_wafers(500, elinks)])
    codec = arena.codec(module, elinks)
    dec = EntropyDecoder(codec)
    frames = codec.encode(calq).frames
    parsed = codec.parse(frames)
    reco, leftover = codec.reconstruction(parsed)
    assert (parsed.n_cells <= dec.max_cells).all()
    _check_bound(dec.decode(frames.bits), spread(reco, leftover, EVEN, np.ones(48)), parsed.selected, dec.frac_bits)
    assert 100 < parsed.sparse.sum() < len(calq) - 100  # both kinds of frame


@pytest.mark.parametrize(("module", "elinks"), [("hd", 2), ("ld", 2), ("hd", 5), ("ld", 5)])
def test_threshold_sum_model_matches_the_float_back_end(highpu, mux, module, elinks):
    """Through the buffer: every frame type (000, 010, 100, and 11x: the module sum, no cap) within the step."""
    calq = _wafers(highpu, 3000)
    out, bits = _threshold_sum(calq, mux, module, elinks)
    dec = ThresholdSumDecoder(elinks, MODULE_PRESETS[module].drop_lsb, tuple(int(p) for p in mux.post_of_tc))
    assert out.leftover is not None
    _check_bound(dec.decode(bits), out.decoded(EVEN, np.ones(48)), ~out.leftover.cells[:, 0, :], dec.frac_bits)
    assert set((field(bits, TS_TYPE_OFFSET, TS_TYPE_BITS) >> 1).tolist()) == {0, 1, 2, 3}


def test_threshold_sum_per_cell_thresholds_cap_at_the_largest(highpu, mux):
    thresholds = tuple(int(t) for t in np.random.default_rng(5).integers(30, 80, 48))
    calq = _wafers(highpu, 1000)
    out, bits = _threshold_sum(calq, mux, "ld", 5, thresholds)
    dec = ThresholdSumDecoder(5, MODULE_PRESETS["ld"].drop_lsb, tuple(int(p) for p in mux.post_of_tc), thresholds)
    assert out.leftover is not None and dec.cap == max(thresholds) - 1
    _check_bound(dec.decode(bits), out.decoded(EVEN, np.ones(48)), ~out.leftover.cells[:, 0, :], dec.frac_bits)


STC_CASES = [("stc16_9", "ld", 1), ("stc16_9", "ld", 2), ("stc16_9", "hd", 2), ("stc4_9", "hd", 3), ("stc4_9", "hd", 5),
             ("stc4_9", "ld", 5), ("stc4_7", "ld", 4), ("stc4_7", "hd", 4), ("stc4_7", "hd", 2)]


@pytest.mark.parametrize(("stc", "module", "elinks"), STC_CASES)
def test_super_cell_model_matches_the_float_back_end(highpu, mux, arena, stc, module, elinks):
    """Within the step of the float back end with the quantised shares, S 2^-(Q+1) more from the arena's (S: the
    cell's group sum); the naive decoder (no shares) exactly as the naive back end."""
    calq = _wafers(highpu, 3000)
    out = _super_cells(calq, mux, stc, module, elinks)
    post = tuple(int(p) for p in mux.post_of_tc)
    dec = _decoder(stc, module, elinks, arena, post)
    assert isinstance(dec, SuperCellDecoder) and dec.anchor_shares and out.leftover is not None
    assert out.leftover.anchor is not None
    cells = dec.decode(out.frames.bits)
    _check_bound(cells, out.decoded(dec.quantised_rule(), np.ones(48)), np.zeros(cells.shape, dtype=bool),
                 dec.frac_bits)
    group_sum = np.zeros(cells.shape)
    for g in range(dec.n_groups):
        members = out.leftover.cells[:, g, :] | (np.arange(48) == out.leftover.anchor[:, g:g + 1])
        group_sum = np.where(members, out.leftover.amount[:, g:g + 1], group_sum)
    gap = np.abs(out.decoded(Spreading(anchor_shares=dec.anchor_shares), np.ones(48)) - cells / 2.0 ** dec.frac_bits)
    assert (gap <= group_sum * 2.0 ** -(SHARE_BITS + 1) + 2.0 ** -dec.frac_bits).all()
    assert (gap > 2.0 ** -dec.frac_bits).any()  # the quantisation shows
    naive = _decoder(stc, module, elinks, arena, post, naive=True)
    assert np.array_equal(naive.decode(out.frames.bits), out.reconstruction * 2 ** dec.frac_bits)


def test_super_cell_shares_quantise_within_half_a_step_and_never_add_energy(arena):
    for key, rule in arena.back_ends.rules.items():
        stc, module, elinks = key.split(":")
        if stc not in STC_TYPES or rule is None or not STC_TYPES[stc].index_bits:
            continue
        dec = _decoder(stc, module, int(elinks.removesuffix("elink")), arena)
        assert isinstance(dec, SuperCellDecoder)
        error = np.abs(np.subtract(dec.quantised_rule().anchor_shares, rule.anchor_shares))
        assert error.max() <= 2.0 ** -(SHARE_BITS + 1)
        keep, fill, size = dec.keep_table, dec.fill_table, dec.kind.group_size
        assert (fill <= keep).all() and (keep + (size - 1) * fill <= dec.sums << dec.frac_bits).all()


def _emd_shift(calq: np.ndarray, float_reco: np.ndarray, cells: np.ndarray, frac_bits: int) -> float:
    shift = exact_emd(calq, unit_or_uniform(cells / 2.0 ** frac_bits), n_jobs=1) - \
        exact_emd(calq, unit_or_uniform(float_reco), n_jobs=1)
    return float(np.abs(shift).mean())


def test_threshold_sum_and_super_cells_move_the_exact_emd_by_less_than_1e3(highpu, mux, arena):
    """Threshold-Sum through the buffer; the super trigger cells against the arena's shares, even weighting."""
    calq = highpu[:600]
    post = tuple(int(p) for p in mux.post_of_tc)
    for module, n in (("hd", 2), ("ld", 5)):
        out, bits = _threshold_sum(calq, mux, module, n)
        dec = _decoder("threshold-sum", module, n, arena, post)
        assert _emd_shift(calq, out.decoded(EVEN, np.ones(48)), dec.decode(bits), dec.frac_bits) < 1e-3
    for stc, module, n in (("stc16_9", "ld", 2), ("stc4_9", "hd", 5), ("stc4_7", "ld", 4)):
        out = _super_cells(calq, mux, stc, module, n)
        stc_dec = _decoder(stc, module, n, arena, post)
        assert isinstance(stc_dec, SuperCellDecoder)
        float_reco = out.decoded(Spreading(anchor_shares=stc_dec.anchor_shares), np.ones(48))
        assert _emd_shift(calq, float_reco, stc_dec.decode(out.frames.bits), stc_dec.frac_bits) < 1e-3


def test_fixed_point_moves_the_exact_emd_by_less_than_1e3(highpu, mux, arena):
    calq = highpu[:600]
    cases = []
    for n in (2, 5):
        out = _best_choice(calq, mux, n)
        dec = BestChoiceDecoder(n, DROP, tuple(int(p) for p in mux.post_of_tc))
        cases.append((out.decoded(EVEN, np.ones(48)), dec.decode(out.frames.bits), dec.frac_bits))
        codec = arena.codec("ld", n)
        sent = codec.encode(calq)
        entropy = EntropyDecoder(codec)
        cases.append((spread(*codec.reconstruction(sent), EVEN, np.ones(48)), entropy.decode(sent.frames.bits),
                      entropy.frac_bits))
    for float_reco, cells, frac in cases:
        assert _emd_shift(calq, float_reco, cells, frac) < 1e-3


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog not installed (make setup)")
def test_values_carried_long_go_through_rings_of_the_same_delay(tmp_path):
    """A value read 2 and 51 slices after it is made: 2 registers, then 49 clocks in two rings (32 + 16, each
    read-before-write on one LFSR pointer) and a register; under Icarus the far reader sees the input 51 clocks
    late, from reset on."""
    d = _Design(RING_SLICING, "carry")
    d.wire("x", 8, 0, "x_in")
    near, far = d.at("x", 2), d.at("x", 51)
    rings = d.rings()
    assert {r: c for r, (_, c) in rings.items() if c} == {"x_s34": 32, "x_s50": 16}
    assert rings["x_s34"][0] == near and rings["x_s50"][0] == "x_s34" and "x_s51" not in rings
    lines = d.registers()
    body = [*d.lines, *lines, f"    assign near = {near};", f"    assign far = {far};"]
    top = verilog_module("carry", ["input  wire clk", "input  wire rst", "input  wire [7:0] x_in",
                                   "output wire [7:0] near", "output wire [7:0] far"], body, generator="test",
                         comment="test") + d.helper_modules()
    assert [top.count(f"_ring{c} #(.W(8))") for c in (32, 16)] == [1, 1] and "reg [7:0] x_s3;" not in top
    assert "x_s51 <= x_s50;" in top and "x_s3 <=" not in top
    bench = """`timescale 1ns / 1ps
module bench;
    reg clk = 0, rst = 1;
    reg [7:0] x_in = 0;
    wire [7:0] near, far;
    integer t;
    carry dut (.clk(clk), .rst(rst), .x_in(x_in), .near(near), .far(far));
    always #5 clk = ~clk;
    initial begin
        for (t = 0; t < 150; t = t + 1) begin
            @(negedge clk);
            if (t == 3) rst = 0;
            $display("%0d %0d %0d", t, near, far);
            x_in = (t * 37 + 11) % 256;
        end
        $finish;
    end
endmodule
"""
    (tmp_path / "carry.v").write_text(top)
    (tmp_path / "bench.v").write_text(bench)
    given = (np.arange(150) * 37 + 11) % 256  # x_in from the clock after t
    for defines in ([], [f"-D{DELAY_LUTRAM_MACRO}"]):  # registers (Xilinx: shift-register LUTs), rings in LUT RAM
        subprocess.run(["iverilog", *defines, "-o", "sim", "carry.v", "bench.v"], cwd=tmp_path, check=True)
        out = subprocess.run(["vvp", "-n", "sim"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout
        seen = np.array([[int(v) if v.isdigit() else -1 for v in line.split()] for line in out.splitlines()
                         if line[:1].isdigit()])
        assert len(seen) == 150
        np.testing.assert_array_equal(seen[2:, 1], given[:148])  # near: 2 clocks late
        np.testing.assert_array_equal(seen[53:, 2], given[2:99])  # far: 51 clocks late, from what came after reset


def test_slicing_is_checked():
    with pytest.raises(ValueError, match="every step count must be >= 1"):
        DecoderSlicing(address_steps=0)
    for only_fine in ({"rings": True}, {"split_output": True}, {"multiplied_shares": True}, {"rom_values": True},
                      {"charge_blocks": 2}):
        with pytest.raises(ValueError, match="multiplied_shares, rom_values and charge_blocks need fine cuts"):
            DecoderSlicing(**only_fine)
    with pytest.raises(ValueError, match="one of them"):
        DecoderSlicing(1, 1, 1, fine=True, split_output=True, multiplied_shares=True)
    with pytest.raises(ValueError, match="rom_values comes with multiplied_shares"):
        DecoderSlicing(1, 1, 1, fine=True, rom_values=True)
    with pytest.raises(ValueError, match="power of two"):
        _ring_module("r", 12)
    with pytest.raises(ValueError, match="rom_sums comes with rom_values"):
        DecoderSlicing(1, 1, 1, fine=True, multiplied_shares=True, rom_sums=True)
    with pytest.raises(ValueError, match="flop_delays keeps what the rings leave"):
        DecoderSlicing(1, 1, 1, fine=True, flop_delays=True)


def test_saturation_thresholds_are_the_least_saturating_quotients():
    """``rom_sums``: a share floor(Q w / 2^Y) saturates at M bits from the threshold on, not one below it."""
    weights, share_bits, weight_bits = [16, 23, 32, 46, 64, 92, 128], 23, 8
    for w, t in zip(weights, saturation_thresholds(weights, share_bits=share_bits, weight_bits=weight_bits),
                    strict=True):
        assert (t * w) >> weight_bits >= 1 << share_bits > ((t - 1) * w) >> weight_bits


def test_flop_delays_mark_the_registers_outside_long_rings(arena):
    """``flop_delays``: every register the rings leave and the chains of the rings up to ``FLOP_RING_CLOCKS``
    carry Vivado's ``shreg_extract = "no"``; the longer rings stay shift registers; without it nothing does."""
    dec = _entropy_decoder("entropy-table", "ld", 4, arena)
    verilog = decoder_rtl(dec, SUM_SLICING).verilog
    declared = re.findall(r"^    (.*)reg \[\d+:0\] \w+_s\d+;$", verilog, flags=re.M)
    assert declared and set(declared) == {FLOP_ATTRIBUTE + " "}
    rings = re.findall(r"module \w+_ring(\d+) .*?\n`else\n    ([^\n]*?)reg \[W\*", verilog, flags=re.S)
    assert {int(c) for c, _ in rings} >= {4, 8, 16}
    for clocks, attribute in rings:
        assert attribute == (FLOP_ATTRIBUTE + " " if int(clocks) <= FLOP_RING_CLOCKS else ""), clocks
    assert FLOP_ATTRIBUTE not in decoder_rtl(dec, BRAM_SLICING).verilog


def test_table_decoder_model_is_the_arenas_integer_placement(highpu, arena):
    """The table decoder's golden model gives, on the codec's frames of real and sparse wafers, the bits the
    arena scores (``table_placed``), with the bins' middles (2 eLinks) and with fitted charges (ld 4); the
    corner cases' sums (up to 48 saturated cells) saturate in the decoder only."""
    from codesign.arena import table_placed

    for module, elinks in (("ld", 2), ("hd", 2), ("ld", 4)):
        codec, table = arena.codec(module, elinks), arena.table(module, elinks)
        assert table is not None, f"the committed arena keeps a table placement for {module} at {elinks} eLinks"
        assert table.charges or elinks != 4, "the committed arena keeps fitted charges at ld 4 eLinks"
        calq = np.concatenate([highpu[:2000], _sparse_wafers(300, elinks)])
        dec = EntropyDecoder(codec, placement=table)
        frames = codec.encode(calq)
        cells = dec.decode(frames.frames.bits)
        np.testing.assert_array_equal(cells, table_placed(table, codec, frames) * (1 << dec.frac_bits))


# every reference system's decoder (models/reference/econt_<n>elink_table: the arena's tables at hd and ld, 2-5
# eLinks), hd 2 with DEEP_SLICING, ld 2, hd 5 and hd 1 (a strongest-cell table) with FINE_SLICING, hd 3 with
# RING_SLICING, ld 4 with DSP_SLICING and with BRAM_SLICING in both builds (and hd 1 with BRAM_SLICING: no sparse
# frames), the even decoder at ld 4, ld 4 and ld 5 with a fitted charge per symbol
REFERENCE_DECODERS = [("entropy-table", m, n) for m in ("hd", "ld") for n in (2, 3, 4, 5) if (m, n) != ("hd", 2)]
RTL_CASES = [("bc", "ld", 2), ("bc", "ld", 5), ("entropy", "ld", 2), ("entropy", "ld", 5), *REFERENCE_DECODERS,
             ("entropy-table-deep", "hd", 2), ("entropy-table-fine", "ld", 2), ("entropy-table-fine", "hd", 5),
             ("entropy-table-fine", "hd", 1), ("entropy-table-rings", "hd", 3),
             ("entropy-table-dsp", "ld", 4), ("entropy-table-bram", "ld", 4), ("entropy-table-bram", "hd", 1),
             ("entropy-table-romsum", "hd", 4), ("entropy-table-romsum", "ld", 5),
             ("entropy-table-romsum", "hd", 1),
             ("entropy-fine", "ld", 4), ("entropy-table-nearest", "ld", 4), ("threshold-sum", "hd", 2),
             ("threshold-sum", "ld", 5), ("stc16_9", "ld", 2), ("stc4_9", "hd", 5), ("stc4_7", "ld", 4),
             ("naive-stc16_9", "ld", 2)]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "module", "elinks"), RTL_CASES)
def test_rtl_equals_the_integer_model(tmp_path, highpu, mux, arena, kind, module, elinks):
    """1,000 real wafers, the corner cases (all zero, all saturated, one cell at each position, random),
    300 random frames (what no encoder writes), with random idle clocks between frames; after reset.
    Threshold-Sum through the buffer (its truncated frames too)."""
    from codesign.hardware.sim.backend_harness import build_decoder_sim

    _env()
    calq = _wafers(highpu, 1000)
    post = tuple(int(p) for p in mux.post_of_tc)
    dec: Decoder
    if kind == "bc":
        dec = BestChoiceDecoder(elinks, DROP, post)
        frames = _best_choice(calq, mux, elinks).frames.bits
    elif kind.startswith("entropy"):
        dec = _entropy_decoder(kind.removesuffix("-deep").removesuffix("-fine").removesuffix("-rings")
                               .removesuffix("-dsp").removesuffix("-bram").removesuffix("-romsum"), module, elinks,
                               arena)
        calq = np.concatenate([calq, _sparse_wafers(300, elinks)])
        frames = dec.codec.encode(calq).frames.bits
        if elinks > 1:  # a 1-eLink frame has no room for a sparse cell's address and 7-bit charge
            assert dec.codec.encode(calq).sparse.sum() > 100
    elif kind == "threshold-sum":
        dec = _decoder(kind, module, elinks, arena, post)
        frames = _threshold_sum(calq, mux, module, elinks)[1]
    else:
        dec = _decoder(kind.removeprefix("naive-"), module, elinks, arena, post, naive=kind.startswith("naive-"))
        frames = _super_cells(calq, mux, kind.removeprefix("naive-"), module, elinks).frames.bits
    rng = np.random.default_rng(elinks)
    bits = np.concatenate([frame_matrix(frames, dec.frame_bits), rng.integers(0, 2, (300, dec.frame_bits))])
    slicing = {"deep": DEEP_SLICING, "fine": FINE_SLICING, "rings": RING_SLICING, "dsp": DSP_SLICING,
               "bram": BRAM_SLICING, "romsum": SUM_SLICING}.get(kind.rsplit("-", 1)[-1], DEFAULT_SLICING)
    write_backend_rtl(dec, tmp_path / "rtl", slicing=slicing)
    want = dec.decode(bits)
    assert len(np.unique(want[:len(calq)])) > 100  # not degenerate: charges and fills of many values
    if kind.endswith("-nearest"):  # the even fallback: every cell the same, non-zero
        assert ((want.min(axis=1) == want.max(axis=1)) & (want.max(axis=1) > 0)).sum() >= 3
    for defines in [(), *([ECP5_MACROS] if slicing.multiplied_shares else [])]:  # the products as the ECP5 builds them
        sim = build_decoder_sim(tmp_path / "rtl", tmp_path / f"sim{len(defines)}", defines=defines)
        cells = sim.stream(bits, idle=rng.choice([0, 0, 0, 1, 4], len(bits)))
        bad = np.flatnonzero((cells != want).any(axis=1))
        assert not bad.size, f"{defines}: {bad.size} frames differ, first {bad[0]}: {cells[bad[0]]} != {want[bad[0]]}"
        assert cells.shape == (len(calq) + 300, 48) and len(calq) in (1000 + 130, 1000 + 130 + 300)


@pytest.mark.slow
@pytest.mark.parametrize("ecp5", [False, True], ids=["xilinx", "ecp5"])
def test_time_multiplexed_decoder_serves_each_module(tmp_path, highpu, arena, ecp5):
    """Three modules through one ld 2-eLink table decoder sliced as the reference systems' (``BRAM_SLICING``) at
    three times the frame rate: every clock takes the frame of the module its counter points at, and the cells
    that come out, with their module number, are that frame's (real wafers' frames and random ones, idle clocks
    between them); built as for Xilinx (delay lines as registers, which it packs into shift-register LUTs; whole
    products) or as for the ECP5 (rings in LUT RAM, each product in two multipliers)."""
    from codesign.hardware.backend_rtl import time_multiplexed_rtl
    from codesign.hardware.sim.backend_harness import RESET_CLOCKS, build_decoder_sim

    modules, dec = 3, _entropy_decoder("entropy-table", "ld", 2, arena)
    rng = np.random.default_rng(3)
    frames = frame_matrix(dec.codec.encode(_wafers(highpu, 600)).frames.bits, dec.frame_bits)
    frames = np.concatenate([frames, rng.integers(0, 2, (150, dec.frame_bits))])
    bus = frames[rng.integers(0, len(frames), (len(frames), modules))]  # (n, module, bits)
    info = write_backend_rtl(dec, tmp_path / "rtl", slicing=BRAM_SLICING, modules_per_decoder=modules)
    assert info.clock_period_ns == pytest.approx(25.0 / modules) and info.frame_bits == modules * dec.frame_bits
    assert "_ring32 #(" in (tmp_path / "rtl" / "src" / f"{info.core}.v").read_text()
    sim = build_decoder_sim(tmp_path / "rtl", tmp_path / "sim", defines=ECP5_MACROS if ecp5 else ())
    idle = rng.choice([0, 0, 0, 1, 2], len(bus))
    cells, tags = sim.stream_tagged(bus[:, ::-1].reshape(len(bus), -1), idle=idle)  # module 0 in the low bits
    phase = (np.cumsum(idle + 1) - 1) % modules  # the clocks after reset, counted from 0
    np.testing.assert_array_equal(tags, phase)
    want = dec.decode(bus[np.arange(len(bus)), phase])
    bad = np.flatnonzero((cells != want).any(axis=1))
    assert not bad.size, f"{bad.size} frames differ, first {bad[0]} (module {phase[bad[0]]})"
    assert len(np.unique(phase)) == modules and RESET_CLOCKS > 0
    with pytest.raises(ValueError, match="at least 2 modules"):
        time_multiplexed_rtl(decoder_rtl(dec), 1)
