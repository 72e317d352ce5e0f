"""The hardware path end to end: model folder -> HLS C simulation, RTL, vectors -> cocotb on Icarus and
Verilator, bit-exact on every real high-pileup wafer plus the corner cases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from codesign.cli import main
from codesign.hardware.rtl import PIPELINES
from codesign.hardware.sim.runner import SimulationFailed, run_simulation

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def flow(tmp_path_factory, real_dir) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("hw")
    paths = {"model": root / "model", "rtl": root / "rtl", "vectors": root / "vectors"}
    config = Path(__file__).parents[1] / "models" / "econt_5elink_seeded.yaml"
    assert main(["model", "init", "--config", str(config), "--seed", "1", "--out", str(paths["model"])]) == 0
    assert main(["rtl", "--model", str(paths["model"]), "--out", str(paths["rtl"])]) == 0
    assert main(["vectors", "--model", str(paths["model"]), "--data", str(real_dir / "highpu_dev.csv"),
                 "--out", str(paths["vectors"])]) == 0
    return paths


def test_rtl_and_vectors_describe_the_same_design(flow):
    rtl = json.loads((flow["rtl"] / "rtl.json").read_text())
    vec = json.loads((flow["vectors"] / "vectors.json").read_text())
    assert rtl["initiation_interval"] == 1 and rtl["clock_period_ns"] == 25.0
    assert rtl["latency_cycles"] == rtl["conversion_cycles"] + rtl["core_latency_cycles"] + 1
    assert rtl["frame_bits"] == vec["frame"]["width"] == 160
    assert vec["counts"]["real"] == 3000
    assert vec["counts"] == {"real": 3000, "zero": 1, "one_hot_mip": 48, "one_hot_max": 48, "saturated": 1,
                             "random": 32}
    assert "src/econt_top.v" in rtl["sources"]


@pytest.mark.simulator
def test_rtl_matches_keras_on_every_vector(flow, capsys):
    assert main(["sim", "--rtl", str(flow["rtl"]), "--vectors", str(flow["vectors"]), "--sim", "verilator"]) == 0
    assert "3 cocotb tests passed on 3130 vectors" in capsys.readouterr().out


@pytest.mark.simulator
def test_icarus_runs_the_same_testbench(flow, tmp_path, real_dir, capsys):
    """The protocol on the second simulator: Icarus streams 27 wafers/s, so 200 real wafers and the corner
    cases (volume is the compiled harness's job, tests/test_bulk_verify.py)."""
    if shutil.which("iverilog") is None:
        pytest.skip("iverilog not installed (make setup)")
    vectors = tmp_path / "vectors"
    assert main(["vectors", "--model", str(flow["model"]), "--data", str(real_dir / "highpu_dev.csv"),
                 "--n-wafers", "200", "--out", str(vectors)]) == 0
    assert main(["sim", "--rtl", str(flow["rtl"]), "--vectors", str(vectors), "--sim", "icarus"]) == 0
    assert "3 cocotb tests passed on 330 vectors" in capsys.readouterr().out


@pytest.mark.simulator
def test_testbench_catches_a_wrong_bit(flow, tmp_path):
    bad = tmp_path / "vectors"
    shutil.copytree(flow["vectors"], bad)
    lines = (bad / "expected.hex").read_text().splitlines()
    lines[1234] = f"{int(lines[1234], 16) ^ (1 << 150):040x}"  # flip one bit of the sum code
    (bad / "expected.hex").write_text("\n".join(lines) + "\n")
    with pytest.raises(SimulationFailed, match="1 of 3 cocotb tests failed"):
        run_simulation(flow["rtl"], bad, "verilator", build_dir=tmp_path / "build")


@pytest.mark.parametrize("backend, strategy", [("vitis", "latency"), ("vivado", "latency"), ("catapult", "latency"),
                                               ("vitis", "distributed_arithmetic")])
def test_hls_csim_matches_keras(flow, tmp_path, capsys, backend, strategy):
    assert main(["hls", "--model", str(flow["model"]), "--backend", backend, "--strategy", strategy,
                 "--out", str(tmp_path / "hls"), "--synth"]) == 0
    out = capsys.readouterr().out
    assert "on 3130 wafers (3000 from" in out and "+ 130 corner cases): 0 of 50080 latents differ" in out
    tool = {"vitis": "vitis-run or vitis_hls", "vivado": "vivado_hls", "catapult": "catapult"}[backend]
    assert f"HLS synthesis skipped: no {tool} on PATH" in out or "hls_report" in out
    assert (tmp_path / "hls" / "firmware" / "econt_encoder.cpp").is_file()


@pytest.mark.simulator
def test_chip_frame_rtl_matches_keras(flow, tmp_path, capsys):
    """CHIP_FRAME = 1: the top sends the ECON-T autoencoder frame (BX header, sum, latents), bit-exact; a
    wrong header bit in the expected frames fails."""
    assert main(["sim", "--rtl", str(flow["rtl"]), "--vectors", str(flow["vectors"]), "--sim", "verilator",
                 "--frame", "chip"]) == 0
    assert "3 cocotb tests passed on 3130 vectors (chip frame)" in capsys.readouterr().out
    bad = tmp_path / "vectors"
    shutil.copytree(flow["vectors"], bad)
    lines = (bad / "expected_chip.hex").read_text().splitlines()
    lines[17] = f"{int(lines[17], 16) ^ (1 << 155):040x}"  # BX_CNT bit 0 of wafer 17
    (bad / "expected_chip.hex").write_text("\n".join(lines) + "\n")
    with pytest.raises(SimulationFailed, match="2 of 3 cocotb tests failed"):
        run_simulation(flow["rtl"], bad, "verilator", build_dir=tmp_path / "build", frame="chip")


@pytest.mark.simulator
@pytest.mark.parametrize(("config_text", "rtl_args"), [
    ("input_int_bits: 1\ninput_frac_bits: 5\n", []), ("input_int_bits: 0\ninput_frac_bits: 8\n", []),
    # with the conversion in two stages (BX_CNT delayed with it into the chip frame), the Dense layer by position
    ("conv_filters: 2\n", ["--conversion-stages", "2", "--dense-by-position"])],
    ids=["floor-2-lsbs", "wrap-msb", "narrow-latents"])
def test_other_input_and_output_formats_stay_bit_exact(tmp_path, real_dir, capsys, config_text, rtl_args):
    """The top converts the 8-bit on-chip inputs to the encoder's input format like its quantizer (TRN,
    WRAP), and places core outputs narrower than the latent format (here: 8 of 9 bits used) in their field."""
    config = tmp_path / "enc.yaml"
    config.write_text(config_text)
    model, rtl, vectors = tmp_path / "model", tmp_path / "rtl", tmp_path / "vectors"
    assert main(["model", "init", "--config", str(config), "--seed", "2", "--out", str(model)]) == 0
    assert main(["rtl", "--model", str(model), "--out", str(rtl), *rtl_args]) == 0
    assert json.loads((rtl / "rtl.json").read_text())["dense_by_position"] == ("--dense-by-position" in rtl_args)
    assert main(["vectors", "--model", str(model), "--data", str(real_dir / "highpu_dev.csv"), "--n-wafers", "400",
                 "--out", str(vectors)]) == 0
    assert main(["sim", "--rtl", str(rtl), "--vectors", str(vectors), "--sim", "verilator"]) == 0
    assert "3 cocotb tests passed on 530 vectors" in capsys.readouterr().out
    if "conv_filters" in config_text:  # narrow core outputs inside the chip frame's latent fields too
        assert main(["sim", "--rtl", str(rtl), "--vectors", str(vectors), "--sim", "verilator", "--frame", "chip"]) == 0


@pytest.mark.simulator
@pytest.mark.parametrize(("edit", "n_wafers", "cells", "rtl_args"), [
    ({"sparse_max_occupancy": "20"}, 3000, 12, []),  # 5 eLinks: a 48-bit map and 8-bit values
    # a selector of more stages than the core's 5 cycles allow: the latents wait for it
    ({"elinks": "2", "latent_int_bits": "1", "sparse_max_occupancy": "7", "sparse_value_bits": "6"}, 1500, 4,
     ["--selector-stages", "7"]),
    # the chip's 4E3M words of the CALQ: 14 cells and a map, using the bits above the mode bit too; pipelined
    # for an FPGA: a deeper core, the selector over all the cycles it leaves, the conversion in two stages
    ({"sparse_max_occupancy": "31", "sparse_values": "charge"}, 3000, 14, ["--pipeline", "fpga"]),
], ids=["map-8bit", "addresses-6bit", "map-charge"])
def test_hybrid_encoder_rtl_matches_keras_in_both_modes(flow, tmp_path, real_dir, capsys, edit, n_wafers, cells,
                                                        rtl_args):
    """Sparse mode on chip (codesign.models.sparse), both cell codings, combinational and pipelined
    selectors: Verilator streams real wafers and corner cases, both modes, every frame bit-exact."""
    config = tmp_path / "hybrid.yaml"
    lines = (Path(__file__).parents[1] / "models" / "econt_5elink_seeded.yaml").read_text().splitlines()
    keys = {line.split(":")[0] for line in lines}
    config.write_text("\n".join(f"{line.split(':')[0]}: {edit[line.split(':')[0]]}" if line.split(":")[0] in edit
                                else line for line in lines)
                      + "".join(f"\n{k}: {v}" for k, v in edit.items() if k not in keys) + "\n")
    model, rtl, vectors = (tmp_path / name for name in ("model", "rtl", "vectors"))
    assert main(["model", "init", "--config", str(config), "--seed", "1", "--out", str(model)]) == 0
    assert main(["rtl", "--model", str(model), "--out", str(rtl), *rtl_args]) == 0
    assert main(["vectors", "--model", str(model), "--data", str(real_dir / "highpu_dev.csv"),
                 "--n-wafers", str(n_wafers), "--out", str(vectors)]) == 0
    info = json.loads((vectors / "vectors.json").read_text())
    assert info["frame"]["sparse_mode"] and 300 < info["sparse_frames"] < info["n_vectors"] - 300
    rtl_info = json.loads((rtl / "rtl.json").read_text())
    fpga = rtl_args == ["--pipeline", "fpga"]  # else at most --selector-stages N
    selector_stages = rtl_info["core_latency_cycles"] - 1 if fpga else int(rtl_args[1]) if rtl_args else 1
    assert (rtl_info["sparse_cells"], rtl_info["selector_stages"], rtl_info["conversion_cycles"]) == \
        (cells, selector_stages, PIPELINES["fpga"].conversion_stages if fpga else 1)
    assert not fpga or rtl_info["latency_cutoff"] == 2.0 and selector_stages > 4 and rtl_info["dense_by_position"]
    capsys.readouterr()
    assert main(["sim", "--rtl", str(rtl), "--vectors", str(vectors), "--sim", "verilator"]) == 0
    assert f"3 cocotb tests passed on {n_wafers + 130} vectors" in capsys.readouterr().out
    # the latents-only 5-eLink RTL of the fixture: the frame kind (or already the width) tells them apart
    mismatch = "vectors of a hybrid encoder .* RTL of a latents-only encoder" if edit.get("elinks", "5") == "5" \
        else "64-bit frames.* do not match the RTL .*160-bit frames"
    with pytest.raises(ValueError, match=mismatch):
        run_simulation(flow["rtl"], vectors, "verilator")
    assert not (vectors / "expected_chip.hex").exists()
    with pytest.raises(FileNotFoundError, match="expected_chip.hex"):
        run_simulation(rtl, vectors, "verilator", frame="chip")
