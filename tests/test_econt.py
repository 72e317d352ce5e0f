"""The ECON-T golden models against the chip's conformance frames (434 wafers, every algorithm, eLink count
and DropLSB they hold), bit for bit, plus the corner cases they leave out."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.data.floats import E4M3, E5M3, E5M4
from codesign.data.io import load_wafers
from codesign.econt import BackEnd, EcontSettings, load_tc_mux, run_algorithm
from codesign.econt.algorithms import BEST_CHOICE_CELLS, bx_counter, short_header
from codesign.econt.backend import Spreading
from codesign.econt.buffer import buffer_truncations
from codesign.econt.sorting import batcher_sort_descending

CONFORMANCE_SETS = ("corner", "dev200", "ttbar200")
ALGORITHM_OF_KEY = {"ts": "threshold-sum", "bc": "best-choice", "rpt": "repeater"}


@pytest.fixture(scope="module")
def conformance_dir(real_dir: Path) -> Path:
    path = real_dir.parent / "econt_conformance"
    if not path.is_dir():
        pytest.skip(f"ECON-T conformance vectors not found in {path}")
    return path


@pytest.fixture(scope="module")
def mux(real_dir: Path):
    return load_tc_mux()


def _cases(directory: Path, name: str) -> list[dict]:
    with gzip.open(directory / f"{name}_frames.jsonl.gz", "rt") as handle:
        return [json.loads(line) for line in handle]


@pytest.mark.parametrize("name", CONFORMANCE_SETS)
def test_frames_and_reconstructions_match_the_chip(conformance_dir, mux, name):
    calq = load_wafers(conformance_dir / f"{name}.csv", drop_zero=False).calq
    expected = np.load(conformance_dir / f"{name}_reconstructed.npz")
    cases = _cases(conformance_dir, name)
    assert len(cases) == 114  # 7 algorithms x their eLink counts x 3 DropLSB values
    checked = set()
    for case in cases:
        settings = EcontSettings(elinks=case["elinks"], drop_lsb=case["drop_lsb"], threshold=case["threshold"])
        algorithm = ALGORITHM_OF_KEY.get(case["algorithm"], case["algorithm"])
        out = run_algorithm(algorithm, calq, mux, settings=settings)
        label = f"{name} {case['algorithm']} {case['elinks']} eLinks DropLSB {case['drop_lsb']}"
        got = out.frames.strings()
        bad = [i for i, (a, b) in enumerate(zip(got, case["frames"], strict=True)) if a != b]
        assert not bad, f"{label}: {len(bad)} frames differ, first wafer {bad[0]}"
        key = f"{case['algorithm']}_e{case['elinks']}_d{case['drop_lsb']}"
        if key in expected:  # the conformance set has no reconstruction at 13 eLinks
            np.testing.assert_array_equal(out.reconstruction, expected[key], err_msg=label)
            checked.add(key)
        if algorithm == "threshold-sum":
            buffered = run_algorithm(algorithm, calq, mux, settings=EcontSettings(**{**settings.__dict__,
                                                                                     "buffer": True}))
            np.testing.assert_array_equal(buffered.reconstruction, expected[f"ts_buf_{key[3:]}"], err_msg=label)
            checked.add(f"ts_buf_{key[3:]}")
    assert checked == set(expected.files)


def test_float_words_match_the_spec_examples():
    assert E4M3.encode(np.array([47]), 3)[0] == 5 and E4M3.decode(np.array([5]), 3)[0] == 44
    assert E4M3.encode(np.array([224]), 3)[0] == 22 and E4M3.decode(np.array([22]), 3)[0] == 232
    assert E5M4.encode(np.array([2011, 3610])).tolist() == [127, 140] and E5M3.encode(np.array([2011]))[0] == 71
    assert E4M3.encode(np.array([2**18 + 2**22]))[0] == 127  # saturates to all ones
    assert E4M3.decode(np.array([0]), 3, zero_as_zero=False)[0] == 4  # the chip's own decode of code 0


def test_every_code_decodes_inside_its_bin():
    values = np.arange(1 << 14)
    for drop in (0, 1, 3):
        codes = E4M3.encode(values, drop)
        lo, mid = E4M3.decode(codes, drop, edge=True), E4M3.decode(codes, drop, zero_as_zero=False)
        assert (lo <= values).all() and (E4M3.encode(lo, drop) == codes).all() and (mid >= lo).all()


def test_batcher_network_tie_order_and_sorting():
    x = np.zeros((3, 48), dtype=np.int64)
    x[0, [5, 40]] = 7
    x[1, [5, 20, 40]] = 7
    x[2] = 3
    _, order = batcher_sort_descending(x)
    assert order[0, :2].tolist() == [40, 5] and order[1, :3].tolist() == [40, 5, 20]
    assert order[2].tolist() == list(range(48))  # all equal: index order
    r = np.random.default_rng(0).integers(0, 50, (500, 48))
    values, order = batcher_sort_descending(r)
    assert (values == -np.sort(-r, axis=1)).all() and (np.take_along_axis(r, order, axis=1) == values).all()


def test_bx_header_counts_per_orbit():
    counter = bx_counter(3566)
    assert counter[:3].tolist() == [31, 1, 2] and counter[16] == 0 and counter[3564] == 31
    assert short_header(np.array([31, 15, 8, 7])).tolist() == [15, 7, 0, 7]  # bit 3 left out


def test_all_zero_wafer(mux):
    calq = np.zeros((2, 48), dtype=np.int64)
    s = EcontSettings(elinks=5, drop_lsb=3)
    ts = run_algorithm("threshold-sum", calq, mux, settings=s)
    assert ts.frames.strings()[0] == "11111" + "000" + "0" * 8  # header at BX 0, type 000, sum 0
    bc = run_algorithm("best-choice", calq, mux, settings=s)
    frame = bc.frames.strings()[1]
    assert frame[:12] == "0001" + "0" * 8 and frame[12:60] == "1" * 14 + "0" * 34  # first 14 cells flagged
    assert set(frame[60:]) == {"0"} and len(frame) == 160  # zero charges left out
    stc = run_algorithm("stc4_9", calq, mux, settings=s)
    assert stc.frames.strings()[1][4:28] == "11" * 12  # all-zero groups report index 3
    for out in (ts, bc, stc, run_algorithm("repeater", calq, mux, settings=s)):
        assert not out.reconstruction.any()


def test_cells_per_elink_and_frame_lengths(mux, highpu):
    calq = highpu[:50]
    for n in (1, 2, 3, 4, 5, 6, 7, 13):
        bc = run_algorithm("best-choice", calq, mux, settings=EcontSettings(elinks=n, drop_lsb=0))
        assert ((bc.reconstruction > 0).sum(axis=1) <= BEST_CHOICE_CELLS[n - 1]).all()
        assert (bc.frames.lengths == min(32 * n, 400)).all() and (bc.frames.used <= bc.frames.lengths).all()
    with pytest.raises(ValueError, match="stc4_9 sends data at 1..5 eLinks only"):
        run_algorithm("stc4_9", calq, mux, settings=EcontSettings(elinks=6))
    with pytest.raises(ValueError, match="elinks must be 1..13"):
        EcontSettings(elinks=14)


def test_threshold_sum_buffer_truncates_at_one_elink():
    # at 1 eLink T2 = -1, so every frame is cut to its sum; at 5 eLinks short frames never are
    assert buffer_truncations(np.full(10, 2), 1).all()
    assert not buffer_truncations(np.full(10, 5), 5).any()
    # 25-word frames at 5 eLinks (T1 = 120, T2 = 95, 10 words drained per BX): the queue after each write
    # is 25, 40, 55, 70, 85, 100, 115, then above T2: the 8th is cut
    assert buffer_truncations(np.full(8, 25), 5).tolist() == [False] * 7 + [True]


def test_back_end_options(mux, highpu):
    calq = highpu[:300]
    s = EcontSettings(elinks=5, drop_lsb=3)
    ideal = run_algorithm("best-choice", calq, mux, settings=s)
    literal = run_algorithm("best-choice", calq, mux, settings=s, back_end=BackEnd(literal_best_choice=True))
    np.testing.assert_allclose(literal.reconstruction.sum(axis=1), ideal.reconstruction.sum(axis=1))
    differs = (literal.reconstruction != ideal.reconstruction).any(axis=1)
    n_sent = np.minimum((calq >> 3 > 0).sum(axis=1), 14)  # charges in the frame: the non-zero selected cells
    assert ((n_sent < 14) >= differs).all() and 0 < differs.sum() < len(calq)  # only wafers with zero cells
    ts = run_algorithm("threshold-sum", calq, mux, settings=s)
    spread = ts.decoded(Spreading("even"), np.ones(48))
    below = np.where(calq >= 47, 0, calq).sum(axis=1)
    gained = spread.sum(axis=1) - ts.reconstruction.sum(axis=1)
    assert (np.abs(gained - below) <= 0.07 * below + 1).all()  # the 8-bit sum is accurate to 1/16
    assert (spread[calq < 47] <= 46).all()  # a cell not sent stays below the threshold
    assert ts.decoded(None, np.ones(48)) is ts.reconstruction


def test_cli_run_writes_frames_reconstruction_summary(conformance_dir, tmp_path, capsys):
    data = conformance_dir / "dev200.csv"
    out = tmp_path / "bc"
    assert main(["econt", "run", "--algorithm", "best-choice", "--elinks", "2", "--module", "ld",
                 "--back-end", "naive", "--data", str(data), "--out", str(out)]) == 0
    case = next(c for c in _cases(conformance_dir, "dev200")
                if (c["algorithm"], c["elinks"], c["drop_lsb"]) == ("bc", 2, 1))
    assert (out / "frames.txt").read_text().splitlines() == case["frames"]
    reco = np.loadtxt(out / "reconstructed.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(reco, np.load(conformance_dir / "dev200_reconstructed.npz")["bc_e2_d1"])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["wafers"] == 200 and summary["max_bits_used"] <= 64 and summary["drop_lsb"] == 1
    assert main(["econt", "run", "--algorithm", "stc16_9", "--elinks", "3", "--data", str(data),
                 "--out", str(tmp_path / "x")]) == 2
    assert "stc16_9 sends data at 1..2 eLinks only" in capsys.readouterr().err
    assert main(["econt", "run", "--algorithm", "best-choice", "--elinks", "2", "--module", "ld",
                 "--data", str(data), "--out", str(tmp_path / "best")]) == 0
    best = np.loadtxt(tmp_path / "best" / "reconstructed.csv", delimiter=",", skiprows=1)
    assert (best >= reco).all() and best.sum() > reco.sum()  # the unsent sum placed on top of the cells
    assert json.loads((tmp_path / "best" / "summary.json").read_text())["meta"]["back_end"] == "best"


def test_scan_scores_every_algorithm_that_sends_data(highpu, tmp_path, capsys):
    from codesign.chip_scan import best_chip_rows, scan_chip_algorithms, write_scan

    calq = highpu[:60]
    rows = scan_chip_algorithms(calq, elinks=[2, 5], modules=("hd", "ld"), progress=False)
    at = {(r.algorithm, r.module, r.elinks) for r in rows}
    assert ("stc16_9", "ld", 2) in at and ("stc16_9", "ld", 5) not in at and ("stc4_9", "hd", 5) in at
    assert len(rows) == 2 * (7 + 4)  # 7 algorithms send data at 2 eLinks, 4 at 5
    best = best_chip_rows(rows)
    assert best[("ld", 5)].algorithm == best[("hd", 5)].algorithm == "best-choice"
    write_scan(rows, tmp_path, data="highpu_dev.csv[:60]")
    assert "**" in (tmp_path / "scan.md").read_text() and (tmp_path / "scan.png").stat().st_size > 0
    assert len((tmp_path / "scan.csv").read_text().splitlines()) == len(rows) + 1
