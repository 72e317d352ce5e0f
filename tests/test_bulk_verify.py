"""Bulk verification (codesign/hardware/sim/bulk.py): the compiled Verilator harness packs wafers as the top's
port expects, and (slow) streams a million wafers through each reference design, every frame equal to the
Keras model's; a wrong golden frame is reported with its wafer index and both frames, and `codesign verify`
exits 1 on it."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.data.io import read_calq
from codesign.hardware.rtl import write_rtl
from codesign.hardware.sim.bulk import SOURCES, build_bulk_sim, bulk_wafers, frame_words, pack_words, verify_bulk
from codesign.hardware.vectors import encode, pack_calq
from codesign.models.store import load_encoder

REFERENCES = Path(__file__).parents[1] / "models" / "reference"


def test_packed_words_are_the_ports_bits():
    rng = np.random.default_rng(0)
    calq = rng.integers(0, 1 << 22, (50, 48))
    calq[0] = (1 << 22) - 1
    words = pack_words(calq, 22, 33)
    for row, word in zip(words, pack_calq(calq, 22), strict=True):
        assert int.from_bytes(row.tobytes(), "little") == word
    frames = [int(x) for x in rng.integers(0, 1 << 62, 20)]
    frames = [f << 98 | f for f in frames]  # 160-bit
    assert [int.from_bytes(r.tobytes(), "little") for r in frame_words(frames, 5)] == frames


def test_bulk_wafers_mix_every_source_and_repeat_with_the_seed():
    real = np.random.default_rng(1).integers(0, 5000, (500, 48))
    chunks = list(bulk_wafers(real, 200_000, calq_bits=22, seed=3))
    counts = {s: sum(len(c) for k, c in chunks if k == s) for s in SOURCES}
    assert sum(counts.values()) == 200_000 and counts["real"] == 500 and min(counts.values()) > 0
    calq = np.concatenate([c for _, c in chunks])
    assert calq.min() == 0 and calq.max() == (1 << 22) - 1
    again = np.concatenate([c for _, c in bulk_wafers(real, 200_000, calq_bits=22, seed=3)])
    assert np.array_equal(calq, again)


@pytest.fixture(scope="module")
def real(real_dir) -> np.ndarray:
    return read_calq(real_dir / "highpu_dev.csv")


@pytest.mark.slow
@pytest.mark.simulator
@pytest.mark.parametrize("elinks", [2, 3, 4, 5])
def test_a_million_wafers_through_each_reference(tmp_path, real, capsys, elinks):
    model_dir = REFERENCES / f"econt_{elinks}elink_hybrid"
    model, cfg = load_encoder(model_dir)
    write_rtl(model, cfg, tmp_path / "rtl")
    report = verify_bulk(model, cfg, tmp_path / "rtl", tmp_path / "bulk", real=real, n=1_000_000, seed=elinks,
                         progress=False)
    assert report.result.ok, report.summary()
    assert report.result.wafers == 1_000_000 and report.counts["real"] == len(real)
    assert min(report.counts[s] for s in ("corner", "synthetic", "rescaled")) > 30_000, report.counts
    if elinks == 5:  # a wrong golden frame: its wafer and both frames; the CLI exits 1
        sim = build_bulk_sim(tmp_path / "rtl", tmp_path / "bulk")
        frames = encode(model, cfg, real).frames
        frames[1234] ^= 1 << 150
        result = sim.verify(iter([(real, frames)]))
        assert not result.ok and result.wrong == 1 and result.first_wrong == 1234
        assert int(result.got, 16) ^ int(result.want, 16) == 1 << 150
        assert "first at wafer 1234" in result.problem()
        bad = tmp_path / "bad_rtl"
        shutil.copytree(tmp_path / "rtl", bad)
        top = bad / "src" / "econt_top.v"
        assert top.read_text().count("frame[153] <= 1'b1;") == 1  # the sparse-mode bit
        top.write_text(top.read_text().replace("frame[153] <= 1'b1;", "frame[153] <= ~side[1];"))
        assert main(["verify", "--model", str(model_dir), "--rtl", str(bad), "--wafers", "20000",
                     "--build-dir", str(tmp_path / "bad_bulk")]) == 1
        assert "frames differ from the golden model; first at wafer" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.simulator
def test_an_alkaid_core_top_is_bit_exact(tmp_path, real):
    """Issue 32, item 1: the same top around a core compiled by alkaid 0.8 (da4ml's successor) instead of da4ml:
    every frame of the real wafers, the corner cases and synthetic ones equal to Keras, each at the top's
    latency; rtl.json says which compiler wrote the core."""
    pytest.importorskip("alkaid")
    model, cfg = load_encoder(REFERENCES / "econt_2elink_hybrid")
    info = write_rtl(model, cfg, tmp_path / "rtl", core_backend="alkaid")
    assert info.core_backend == "alkaid" and (tmp_path / "rtl" / "src" / "static").is_dir()
    report = verify_bulk(model, cfg, tmp_path / "rtl", tmp_path / "bulk", real=real, n=50_000, seed=7,
                         progress=False)
    report.check()  # raises on a wrong or late frame
    assert report.result.frames >= 50_000 and report.counts["real"] == len(real) and report.result.wrong == 0
    with pytest.raises(ValueError, match="core backend 'hls': choose one of da4ml, alkaid"):
        write_rtl(model, cfg, tmp_path / "other", core_backend="hls")
