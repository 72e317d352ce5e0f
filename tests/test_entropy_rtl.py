"""The entropy codec's encoder RTL (``codesign.hardware.entropy_rtl``): lint-clean Verilog for every shape, the
configuration image, and (slow) Verilator + cocotb against ``EntropyCodec.encode`` on real and corner-case
wafers, frame by frame, bit for bit."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from codesign.arena import load_arena
from codesign.data.geometry import N_TC
from codesign.data.io import CALQ_MAX, read_calq
from codesign.econt.algorithms import SHIFTED_MAX
from codesign.econt.entropy import EntropyCodec, fit_code_lengths, limited_code_lengths
from codesign.hardware.entropy_rtl import (
    ENTRY_BITS,
    LENGTH_BITS,
    EntropyRtlSpec,
    codec_from_image,
    config_image,
    write_config_image,
    write_entropy_rtl,
)
from codesign.tools import ToolNotFoundError, verilator_env


def _need_verilator() -> None:
    try:
        verilator_env()
    except ToolNotFoundError as err:
        pytest.skip(str(err))


ARENA_CASES = [("ld", 2), ("ld", 3), ("hd", 4), ("hd", 5)]


@pytest.mark.parametrize(("elinks", "drop_lsb", "mantissa_bits", "sparse_cells"),
                         [(1, 0, 0, 15), (2, 1, 1, 0), (2, 1, 1, 15), (3, 1, 2, 4), (5, 3, 3, 15), (13, 4, 0, 0)])
def test_generated_verilog_has_no_lint_warnings(tmp_path, elinks, drop_lsb, mantissa_bits, sparse_cells):
    from codesign.hardware.rtl import lint_rtl

    _need_verilator()
    spec = EntropyRtlSpec(elinks, drop_lsb, mantissa_bits, sparse_cells)
    info = write_entropy_rtl(spec, tmp_path / "rtl")
    assert lint_rtl(tmp_path / "rtl") == []
    assert info.config_bits == ENTRY_BITS << (4 + mantissa_bits) and info.frame_bits == 32 * elinks
    for source in info.sources:
        assert (tmp_path / "rtl" / source).read_text().startswith("`timescale 1ns / 1ps\n`default_nettype none")


def test_shape_bounds():
    """K: the most cells a frame carries with 1-bit codes (6 + A(k) + k <= 32 n - 14); the rank register
    holds the longest A(k) up to K."""
    assert [(EntropyRtlSpec(n, 0, 0).max_cells, EntropyRtlSpec(n, 0, 0).rank_bits) for n in (1, 2, 3, 5)] == \
        [(1, 6), (10, 33), (48, 45), (48, 45)]
    with pytest.raises(ValueError, match="mantissa_bits"):
        EntropyRtlSpec(2, 1, 5)


def test_configuration_image_round_trips():
    arena = load_arena()
    for module, elinks in ARENA_CASES:
        codec = arena.codec(module, elinks)
        assert codec is not None
        image, n_bits = config_image(codec)
        spec = EntropyRtlSpec.of(codec)
        assert n_bits == spec.config_bits and 0 <= image < 1 << n_bits
        assert codec_from_image(image, spec) == codec
        # entry s: the length in the low 4 bits, the code left-aligned in the 15 above
        s = int(np.argmin(codec.code_lengths))
        entry = (image >> (ENTRY_BITS * s)) & ((1 << ENTRY_BITS) - 1)
        length = codec.code_lengths[s]
        assert entry & ((1 << LENGTH_BITS) - 1) == length
        assert entry >> (LENGTH_BITS + 15 - length) == codec.codes[s]
        with pytest.raises(ValueError, match="canonical"):
            codec_from_image(image ^ 1 << (ENTRY_BITS * s + LENGTH_BITS), spec)  # a one below the code


@pytest.mark.parametrize("tmr", [False, True])
def test_universal_block_is_lint_clean(tmp_path, tmr):
    from codesign.hardware.rtl import lint_rtl

    _need_verilator()
    block = EntropyRtlSpec.block(tmr=tmr)
    info = write_entropy_rtl(block, tmp_path / "rtl")
    assert lint_rtl(tmp_path / "rtl") == []
    # the largest table (4E3M: 128 entries), then 3 + 3 + 2 + 4 bits of settings; 7 eLinks of frame
    assert (info.config_bits, info.frame_bits, block.max_cells) == (ENTRY_BITS * 128 + 12, 224, 48)
    assert info.tmr == tmr and ("src/econt_cfg_copy.v" in info.sources) == tmr
    top = (tmp_path / "rtl" / "src" / "econt_entropy.v").read_text()
    assert ("majority" in top) == tmr and "cfg_sparse_cells = cfg[2440 +: 4]" in top


def test_universal_block_takes_every_arena_codec_by_its_image():
    """One image per codec of the arena (both module types, 1 to 7 eLinks) for the one universal block: the
    table, then the codec's eLink count, DropLSB, mantissa bits and sparse cell count; read back exactly."""
    block, arena = EntropyRtlSpec.block(), load_arena()
    images = set()
    for module in ("hd", "ld"):
        for elinks in range(1, 8):
            codec = arena.codec(module, elinks)
            assert codec is not None and block.serves_problem(codec) is None
            image, n_bits = config_image(codec, block)
            assert n_bits == block.config_bits and codec_from_image(image, block) == codec
            settings = {name: (image >> offset) & ((1 << bits) - 1) for name, (offset, bits) in block.settings.items()}
            assert settings == {"elinks": elinks, "drop_lsb": codec.drop_lsb, "mantissa_bits": codec.mantissa_bits,
                                "sparse_cells": codec.sparse_cells}
            images.add(image)
    assert len(images) == 14
    small = arena.codec("ld", 2)  # 4E1M: entries 32..127 unused
    assert small is not None
    image, _ = config_image(small, block)
    with pytest.raises(ValueError, match="unused entry"):
        codec_from_image(image | 1 << (ENTRY_BITS * 32), block)
    with pytest.raises(ValueError, match="elinks 1..13"):  # an eLink setting of 0
        codec_from_image(image & ~(7 << block.settings["elinks"][0]), block)
    with pytest.raises(ValueError, match="elinks 8 > 7"):
        config_image(replace(small, elinks=8), block)
    with pytest.raises(ValueError, match="is not this design's"):  # a fixed design runs its own shape only
        config_image(small, EntropyRtlSpec(3, 1, 1, 15))


def _symbol_ranges(codec: EntropyCodec) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) v of each symbol; lowest > highest where no v has it (the code is monotonic in v)."""
    symbols = codec.value_format.encode(np.arange(SHIFTED_MAX + 1))
    every = np.arange(1 << codec.value_format.bits)
    return np.searchsorted(symbols, every, "left"), np.searchsorted(symbols, every, "right") - 1


def corner_wafers(codec: EntropyCodec, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """Wafers at the edges of what the encoder computes. The largest CALQ sum (every cell 2^22 - 1) is the
    largest 5E4M sum code there is: 48 x 22-bit CALQ never saturate the 5-bit exponent (at most 24 of 31)."""
    rng = np.random.default_rng(seed)
    drop = codec.drop_lsb
    low, high = _symbol_ranges(codec)
    used = np.flatnonzero((low > 0) & (low <= high))  # the symbols of non-zero v
    edges = np.unique(np.concatenate([low[used], high[used]]))

    def calq_of(v: np.ndarray) -> np.ndarray:  # a CALQ with that v, random in the dropped bits
        return np.minimum((v << drop) + rng.integers(0, 1 << drop, v.shape), CALQ_MAX)

    magnitudes = np.array([1 << drop, 35, 1 << 16, CALQ_MAX])
    cases = [
        (np.zeros((1, N_TC), dtype=np.int64), "zero"),
        (np.full((1, N_TC), CALQ_MAX), "saturated"),
        (np.concatenate([np.eye(N_TC, dtype=np.int64) * m for m in magnitudes]), "one_hot"),
        # all 48 equal: ties everywhere, at each symbol's edges and at the clip of v
        (np.repeat(np.minimum(np.append(edges, SHIFTED_MAX + 1) << drop, CALQ_MAX)[:, None], N_TC, axis=1),
         "all_equal"),
        (calq_of(rng.choice(edges, (64, N_TC))), "bin_edges"),
        # two or three values over a random number of cells: ties across the cut
        (np.where(rng.random((100, N_TC)) < rng.random((100, 1)),
                  np.take_along_axis(calq_of(rng.choice(edges, (100, 3))), rng.integers(0, 3, (100, N_TC)), 1),
                  0), "few_values"),
    ]
    # many cells whose codes fill the frame to its last bit: random symbols (likely ones more often, as the
    # code expects), kept where the frame's used bits are exactly its width
    p = 2.0 ** -np.asarray(codec.code_lengths, dtype=np.float64)[used]
    symbols = rng.choice(used, (20000, N_TC), p=p / p.sum())
    v = rng.integers(low[symbols], high[symbols] + 1)
    candidates = calq_of(np.where(rng.random((20000, N_TC)) < rng.random((20000, 1)), v, 0))
    sent = codec.encode(candidates)
    full = np.flatnonzero(sent.frames.used == sent.frames.lengths)
    counts = sent.n_cells[full]
    chosen = [i for k in sorted(set(counts.tolist()), reverse=True) for i in full[counts == k][:10]][:80]
    cases.append((candidates[chosen], "budget_edge"))
    if codec.sparse_cells:  # sparse frames: around the most cells, the fit of the budget and 2^18
        counts = rng.integers(1, codec.sparse_cells + 3, 200)
        few = np.zeros((200, N_TC), dtype=np.int64)
        for row, c in enumerate(counts):
            few[row, rng.choice(N_TC, c, replace=False)] = np.exp2(rng.uniform(0, 18, c)).astype(np.int64) + 1
        few[:20, 0] = SHIFTED_MAX + rng.integers(0, 2, 20)  # 2^18 - 1 is a sparse frame's largest charge
        cases.append((np.minimum(few, CALQ_MAX), "sparse_edge"))
    calq = np.concatenate([c for c, _ in cases]).astype(np.int64)
    return calq, [kind for c, kind in cases for _ in range(len(c))]


def test_corner_wafers_reach_the_edges():
    codec = load_arena().codec("hd", 5)
    assert codec is not None
    calq, kinds = corner_wafers(codec)
    sent = codec.encode(calq)
    edge = np.array(kinds) == "budget_edge"
    assert edge.sum() >= 40 and (sent.frames.used[edge] == 160).all() and sent.n_cells[edge].max() >= 20
    sparse = np.array(kinds) == "sparse_edge"
    most = max(c for c in range(49) if EntropyRtlSpec.of(codec).sparse_fits(c))  # 14 here: 15 do not fit
    assert 0 < sent.sparse[sparse].mean() < 1 and sent.n_cells[sparse & sent.sparse].max() == most
    assert calq.max() == CALQ_MAX and calq.min() == 0


@pytest.fixture(scope="module")
def ttbar(real_dir):
    return read_calq(real_dir / "ttbar_0PU.csv")


def _one_bit_codec(codec: EntropyCodec, calq: np.ndarray) -> EntropyCodec:
    """A second table of the codec's shape: Huffman on ``calq``'s symbols, the commonest given a 1-bit code,
    so that a frame can carry as many cells as the hardware allows (K: 10 at 2 eLinks, all 48 from 3)."""
    values = codec.values(calq)
    counts = np.bincount(codec.value_format.encode(values[values > 0]), minlength=1 << codec.value_format.bits) + 1
    counts[np.argmax(counts)] = 4 * counts.sum()
    lengths = tuple(int(x) for x in limited_code_lengths(counts))
    assert min(lengths) == 1
    return EntropyCodec(codec.elinks, codec.drop_lsb, codec.mantissa_bits, lengths, codec.sparse_cells)


def _check_against_golden(codec: EntropyCodec, highpu: np.ndarray, ttbar: np.ndarray, out: Path) -> None:
    """One Verilator build for the codec's shape: its table, 3,000 high-pileup + 500 ttbar wafers + the corner
    cases back to back; then another table of the same shape with a 1-bit code (loaded without rebuilding) on
    300 more ttbar wafers and its own corner cases, with idle cycles between wafers. Every frame equal, bit
    for bit, to ``EntropyCodec.encode``'s."""
    from codesign.hardware.sim.entropy_runner import EntropyPhase, verify_entropy_rtl

    _need_verilator()
    corners, kinds = corner_wafers(codec)
    calq = np.concatenate([highpu[:3000], ttbar[:500], corners])
    kinds = ["highpu"] * len(highpu[:3000]) + ["ttbar"] * 500 + kinds
    other = _one_bit_codec(codec, ttbar[1000:3000])
    other_corners, _ = corner_wafers(other, seed=1)
    second = np.concatenate([ttbar[500:800], other_corners])
    start = time.perf_counter()
    check = verify_entropy_rtl([EntropyPhase(codec, calq, kinds), EntropyPhase(other, second, idle_seed=7)], out)
    assert check.wafers == (len(calq), len(second))
    print(f"{EntropyRtlSpec.of(codec)}: {sum(check.wafers)} wafers bit-exact; build {check.build_seconds:.0f} s, "
          f"simulation {check.test_seconds:.0f} s, total {time.perf_counter() - start:.0f} s")


@pytest.mark.slow
@pytest.mark.parametrize(("module", "elinks"), ARENA_CASES)
def test_rtl_frames_equal_the_golden_model(tmp_path, highpu, ttbar, module, elinks):
    """The committed arena's codecs (2 to 5 eLinks, DropLSB 1 and 3, 4E1M to 4E3M)."""
    codec = load_arena().codec(module, elinks)
    assert codec is not None
    _check_against_golden(codec, highpu, ttbar, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize(("elinks", "drop_lsb", "mantissa_bits"), [(1, 0, 0), (7, 4, 2)])
def test_rtl_frames_equal_the_golden_model_at_other_shapes(tmp_path, highpu, ttbar, elinks, drop_lsb, mantissa_bits):
    """What the arena does not use: DropLSB 0 (v clipped from 22 bits) and 4, 4E0M (exponent only) and 4E2M
    (their exponents saturate, from v = 2^15 and 2^17), one cell a frame at most (1 eLink), 7 eLinks."""
    codec = fit_code_lengths(highpu[:2100], elinks=elinks, drop_lsb=drop_lsb, mantissa_bits=mantissa_bits,
                             sparse_cells=4 if elinks == 7 else 15)
    _check_against_golden(codec, highpu, ttbar, tmp_path)


def _block_phases(arena_codecs: list[EntropyCodec], highpu: np.ndarray, ttbar: np.ndarray):
    from codesign.hardware.sim.entropy_runner import EntropyPhase

    phases = []
    for i, codec in enumerate(arena_codecs):
        corners, kinds = corner_wafers(codec, seed=i)
        real = ttbar[300 * i % 2400:][:300]
        phases.append(EntropyPhase(codec, np.concatenate([highpu[:3000], real, corners]),
                                   ["highpu"] * len(highpu[:3000]) + ["ttbar"] * len(real) + kinds,
                                   idle_seed=i if i % 2 else None))
    return phases


@pytest.mark.slow
def test_universal_block_runs_every_arena_codec_on_one_build(tmp_path, highpu, ttbar):
    """One Verilator build of the universal block; the arena's 14 codecs (hd and ld, 1 to 7 eLinks: DropLSB 1
    and 3, 4E0M to 4E3M; at 2-5 eLinks read from the reference systems' folders, whose codecs they are) loaded
    in turn through the serial port, no reset between them, each followed by 3,000 high-pileup + 300 ttbar
    wafers and its corner cases (every other codec with idle cycles between wafers); every frame equal, bit
    for bit, to that codec's ``EntropyCodec.encode`` left-aligned in 7 eLinks."""
    from codesign.hardware.sim.entropy_runner import verify_entropy_rtl
    from codesign.table_system import load_table_system

    _need_verilator()
    arena, reference = load_arena(), Path(__file__).parents[1] / "models" / "reference"
    systems = [load_table_system(reference / f"econt_{n}elink_table") for n in (2, 3, 4, 5)]
    codecs = [s.codec(module) for s in systems for module in ("hd", "ld")]
    codecs += [arena.codec(module, n) for n in (1, 6, 7) for module in ("hd", "ld")]
    phases = _block_phases([c for c in codecs if c is not None], highpu, ttbar)
    assert len(phases) == 14
    start = time.perf_counter()
    check = verify_entropy_rtl(phases, tmp_path, spec=EntropyRtlSpec.block())
    assert check.wafers == tuple(len(p.calq) for p in phases)
    print(f"universal block: {sum(check.wafers)} wafers of 14 codecs bit-exact; build {check.build_seconds:.0f} s, "
          f"simulation {check.test_seconds:.0f} s, total {time.perf_counter() - start:.0f} s")


@pytest.mark.slow
def test_universal_block_check_catches_a_wrong_setting(tmp_path, highpu, ttbar, monkeypatch):
    """The same check fails, naming the wafer, when the image loaded says DropLSB 3 for an ld codec (DropLSB 1)."""
    from codesign.errors import VerificationError
    from codesign.hardware.sim import entropy_runner

    _need_verilator()
    codec = load_arena().codec("ld", 3)
    assert codec is not None
    monkeypatch.setattr(entropy_runner, "write_config_image",
                        lambda c, spec, path: write_config_image(replace(c, drop_lsb=3), spec, path))
    phase = entropy_runner.EntropyPhase(codec, highpu[:200])
    with pytest.raises(VerificationError, match=r"frames differ from EntropyCodec.encode .* first at wafer \d+"):
        entropy_runner.verify_entropy_rtl([phase], tmp_path, spec=EntropyRtlSpec.block())


@pytest.mark.slow
def test_universal_block_upsets_need_tmr(tmp_path, highpu):
    """1,000 single-bit upsets in the block's configuration register while hd 2-eLink wafers stream: frames go
    wrong without TMR, none with it (the majority is written back into the three copies every scrub period)."""
    from codesign.hardware.sim.entropy_runner import entropy_fault_campaign

    _need_verilator()
    codec = load_arena().codec("hd", 2)
    assert codec is not None
    reports = entropy_fault_campaign(codec, highpu[:1000], tmp_path, spec=EntropyRtlSpec.block(), n_faults=1000)
    assert reports["tmr"] == {"tmr": True, "injections": 1000, "frames": 16032, "wrong_frames": 0}
    assert reports["no_tmr"]["injections"] == 1000 and reports["no_tmr"]["wrong_frames"] > 100


def test_block_and_its_images_from_the_command_line(tmp_path, capsys):
    """`codesign asic block` writes the universal block; `codesign asic config --codec` the image of an arena
    codec for it (the same bits as ``config_image``) and its register map; a codec the block cannot run, or
    one the arena does not have, exits 2 naming the option."""
    from codesign.cli import main

    assert main(["asic", "block", "--out", str(tmp_path / "block"), "--tmr"]) == 0
    info = json.loads((tmp_path / "block" / "rtl.json").read_text())
    assert info["universal"] and info["tmr"] and info["frame_bits"] == 224
    out = tmp_path / "hd2.hex"
    assert main(["asic", "config", "--codec", "hd:2", "--out", str(out)]) == 0
    codec = load_arena().codec("hd", 2)
    assert codec is not None
    assert int(out.read_text(), 16) == config_image(codec, EntropyRtlSpec.block())[0]
    fields = json.loads((tmp_path / "hd2.hex.json").read_text())["fields"]
    assert fields["elinks"] == {"offset": 2432, "bits": 3, "value": 2} and fields["table"]["bits"] == 2432
    assert main(["asic", "config", "--codec", "hd:9", "--out", str(tmp_path / "x.hex")]) == 2
    assert main(["asic", "config", "--codec", "ld:5", "--block-elinks", "3", "--out", str(tmp_path / "x.hex")]) == 2
    err = capsys.readouterr().err
    assert "--codec hd:9" in err and "elinks 5 > 3" in err and not (tmp_path / "x.hex").exists()
