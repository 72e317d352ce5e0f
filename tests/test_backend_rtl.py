"""The back-end decoders (codesign/hardware/backend_rtl.py): the generated Verilog lints clean, the integer golden
model (codesign/hardware/backend_model.py) agrees with the float back end within the fixed-point step and moves
the exact EMD by < 1e-3, and (slow) the RTL equals the integer model bit for bit under Verilator on real wafers,
corner-case wafers and random frames."""

from __future__ import annotations

import dataclasses
import os
import subprocess

import numpy as np
import pytest

from codesign.arena import load_arena
from codesign.data.normalise import unit_or_uniform
from codesign.econt.algorithms import BEST_CHOICE_CELLS, BackEnd, EcontSettings, run_algorithm
from codesign.econt.backend import Spreading, spread
from codesign.econt.entropy import MAX_CODE_BITS, canonical_codes
from codesign.econt.mux import TcMux, load_tc_mux
from codesign.emd.exact import exact_emd
from codesign.hardware.backend_model import (
    BestChoiceDecoder,
    CanonicalCode,
    EntropyDecoder,
    fill_value,
    frame_matrix,
)
from codesign.hardware.backend_rtl import decoder_rtl, ge_const, write_backend_rtl
from codesign.hardware.rtl import RtlInfo, lint_rtl
from codesign.hardware.vectors import corner_cases
from codesign.tools import ToolNotFoundError, verilator_env

IDENTITY = tuple(range(48))
EVEN = Spreading("even")
DROP = 1  # the LD modules' DropLSB (the arena's `ld` codecs use it too)


@pytest.fixture(scope="module")
def arena():
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


LINT_CASES = [("bc", n, d) for n in (1, 2, 3, 4, 5) for d in (DROP,)] + [("bc", 3, 0), ("bc", 6, 4)] + \
    [("entropy", m, n) for m in ("ld", "hd") for n in (2, 5)]


@pytest.mark.parametrize(("kind", "a", "b"), LINT_CASES)
def test_decoders_lint_clean(tmp_path, arena, kind, a, b):
    env = _env()
    dec = BestChoiceDecoder(a, b, IDENTITY) if kind == "bc" else EntropyDecoder(arena.codec(a, b))
    rtl = decoder_rtl(dec)
    path = tmp_path / f"{rtl.module}.v"
    path.write_text(rtl.verilog)
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", "--top-module", rtl.module, path.name], cwd=tmp_path,
                          env=env, capture_output=True, text=True)
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[:3000]
    assert rtl.verilog.startswith("`timescale 1ns / 1ps\n`default_nettype none")


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
    calq = _wafers(highpu, 3000)
    codec = arena.codec(module, elinks)
    dec = EntropyDecoder(codec)
    frames = codec.encode(calq).frames
    parsed = codec.parse(frames)
    reco, leftover = codec.reconstruction(parsed)
    assert (parsed.n_cells <= dec.max_cells).all()
    _check_bound(dec.decode(frames.bits), spread(reco, leftover, EVEN, np.ones(48)), parsed.selected, dec.frac_bits)


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
        shift = exact_emd(calq, unit_or_uniform(cells / 2.0 ** frac), n_jobs=1) - \
            exact_emd(calq, unit_or_uniform(float_reco), n_jobs=1)
        assert np.abs(shift).mean() < 1e-3


RTL_CASES = [("bc", 2), ("bc", 5), ("entropy", 2), ("entropy", 5)]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "elinks"), RTL_CASES)
def test_rtl_equals_the_integer_model(tmp_path, highpu, mux, arena, kind, elinks):
    """1,000 real wafers, the corner cases (all zero, all saturated, one cell at each position, random),
    300 random frames (what no encoder writes), with random idle clocks between frames; after reset."""
    from codesign.hardware.sim.backend_harness import build_decoder_sim

    _env()
    calq = _wafers(highpu, 1000)
    if kind == "bc":
        dec: BestChoiceDecoder | EntropyDecoder = BestChoiceDecoder(elinks, DROP, tuple(int(p) for p in mux.post_of_tc))
        frames = _best_choice(calq, mux, elinks).frames
    else:
        dec = EntropyDecoder(arena.codec("ld", elinks))
        frames = dec.codec.encode(calq).frames
    rng = np.random.default_rng(elinks)
    bits = np.concatenate([frame_matrix(frames, dec.frame_bits), rng.integers(0, 2, (300, dec.frame_bits))])
    write_backend_rtl(dec, tmp_path / "rtl")
    sim = build_decoder_sim(tmp_path / "rtl", tmp_path / "sim")
    cells = sim.stream(bits, idle=rng.choice([0, 0, 0, 1, 4], len(bits)))
    want = dec.decode(bits)
    bad = np.flatnonzero((cells != want).any(axis=1))
    assert not bad.size, f"{bad.size} frames differ, first {bad[0]}: {cells[bad[0]]} != {want[bad[0]]}"
    assert cells.shape == (len(calq) + 300, 48) and len(calq) == 1000 + 130
