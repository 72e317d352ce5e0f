from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import build_parser, main
from codesign.data.io import load_wafers, write_wafers
from codesign.data.onchip import onchip_convert


def test_data_stats_on_real_file(real_dir, capsys):
    assert main(["data", "stats", str(real_dir / "highpu_dev.csv")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["n_wafers"] == 3000 and stats["n_dropped_zero"] == 0
    assert stats["median_sum"] == 613.0 and stats["mean_occupancy"] == pytest.approx(18.651, abs=1e-3)
    assert set(stats) == {"n_wafers", "n_dropped_zero", "mean_occupancy", "median_sum", "p99_sum"}


def test_installed_entry_point_runs(real_dir):
    exe = shutil.which("codesign") or str(__import__("pathlib").Path(sys.executable).parent / "codesign")
    out = subprocess.run([exe, "data", "stats", str(real_dir / "highpu_dev.csv")], capture_output=True,
                         text=True, check=True)
    assert '"n_wafers": 3000' in out.stdout


def test_bad_file_exits_2_with_located_message(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3\n")
    assert main(["data", "stats", str(bad)]) == 2
    assert f"codesign: error: {bad}, line 1: expected 48 columns, found 3" in capsys.readouterr().err


def test_synth_convert_onchip_round_trip(tmp_path):
    csv, h5, back = tmp_path / "s.csv", tmp_path / "s.h5", tmp_path / "back.csv"
    assert main(["data", "synth", "--n", "200", "--seed", "9", "--out", str(csv)]) == 0
    assert main(["data", "convert", str(csv), str(h5)]) == 0
    assert main(["data", "convert", str(h5), str(back)]) == 0
    assert csv.read_text() == back.read_text()
    assert csv.read_text().splitlines()[0].startswith("CALQ_0,CALQ_1,")
    assert main(["data", "onchip", str(h5), "--out", str(tmp_path / "on.csv")]) == 0
    table = np.loadtxt(tmp_path / "on.csv", delimiter=",", skiprows=1, dtype=np.int64)
    header = (tmp_path / "on.csv").read_text().splitlines()[0].split(",")
    assert header[0] == "IN_0" and header[47] == "IN_47" and header[48] == "SUM_CODE"
    words = onchip_convert(load_wafers(csv).calq)
    np.testing.assert_array_equal(table, np.column_stack([words.inputs, words.sum_code]))


def test_emd_exact_row_wise(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.integers(1, 50, (30, 48)), rng.integers(1, 50, (30, 48))
    write_wafers(tmp_path / "a.csv", a)
    write_wafers(tmp_path / "b.h5", b)
    assert main(["emd", "exact", "--a", str(tmp_path / "a.csv"), "--b", str(tmp_path / "b.h5"),
                 "--out", str(tmp_path / "emd.csv")]) == 0
    lines = (tmp_path / "emd.csv").read_text().splitlines()
    assert lines[0] == "emd" and len(lines) == 31
    from codesign.emd.exact import exact_emd

    np.testing.assert_allclose(np.array(lines[1:], dtype=float), exact_emd(a, b, n_jobs=1), atol=1e-6)


def test_compare_and_labels(tmp_path, capsys):
    for seed, name in ((1, "x.csv"), (2, "y.csv")):
        main(["data", "synth", "--n", "300", "--seed", str(seed), "--out", str(tmp_path / name)])
    assert main(["data", "compare", str(tmp_path / "x.csv"), str(tmp_path / "y.csv"), "--out",
                 str(tmp_path / "cmp")]) == 0
    result = json.loads((tmp_path / "cmp" / "comparison.json").read_text())
    assert 0 <= result["occupancy"]["ks_statistic"] < 0.2
    assert (tmp_path / "cmp" / "comparison.png").stat().st_size > 10_000
    assert main(["emd", "labels", "--data", str(tmp_path / "x.csv"), "--n-random", "40", "--n-perturbed",
                 "60", "--seed", "0", "--jobs", "1", "--out", str(tmp_path / "labels.h5")]) == 0
    assert "perturbed: 60 pairs" in capsys.readouterr().out


@pytest.mark.slow
def test_demo_runs_every_stage_end_to_end(tmp_path, capsys):
    """issue 17: data -> training -> evaluation -> HLS C-sim -> RTL -> cocotb (Verilator) -> Yosys area and
    energy, one report with the plots inline and the time of each stage. Five epochs of a small encoder at 2
    eLinks (`--config`): the stages, not the encoder's quality or size, are under test (the default demo's
    published shape spends four minutes in Yosys alone)."""
    demo = (Path(__file__).parents[1] / "models" / "econt_demo.yaml").read_text()
    shape = "encoder: {layout: 8x8, elinks: 5, conv_act_int_bits: 2, latent_int_bits: 2}"
    assert shape in demo and "name: econt_demo" in demo
    config = tmp_path / "small.yaml"
    config.write_text(demo.replace(shape, "encoder: {layout: 8x8, elinks: 2, conv_filters: 2, latent_dim: 4, "
                                          "conv_act_int_bits: 2, latent_int_bits: 1}")
                      .replace("name: econt_demo", "name: demo_small"))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--n", "1000", "--pairs", "300", "--epochs", "5",
                 "--config", str(config)]) == 0
    captured = capsys.readouterr()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["stats"]["synthetic"]["n_wafers"] == 1000 and summary["meta"]["epochs"] == 5
    assert summary["meta"]["elinks"] == 2 and "autoencoder:demo_small" in summary["compression_mean_emd"]["synthetic"]
    report = (out / "report.md").read_text()
    assert report.startswith("# codesign demo report") and "modules at 2 eLinks" in report
    assert 3.0 < summary["emd_scales"]["synthetic"]["mean_random_pairs"] < 6.0
    hw = summary["hardware"]
    assert hw["hls"]["mismatches"] == 0 and hw["hls"]["n_latents"] > 1000
    assert hw["simulation"]["tests"] == 3 and hw["simulation"]["vectors"] > 400
    assert hw["asic"]["gate_equivalents"] > 10_000 and hw["asic"]["energy_nJ_per_inference"] > 0
    assert len(summary["stage_seconds"]) == 7
    assert "[7/7] ASIC estimate" in captured.err and "report.html" in captured.out
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 3 and "Time per stage" in page
    assert (out / "rtl" / "sim_verilator" / "results.xml").is_file()


def test_help_for_every_command():
    for argv in (["--help"], ["data", "--help"], ["data", "synth", "--help"], ["emd", "exact", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 0


@pytest.mark.slow
def test_tensorflow_log_lines_are_hidden_unless_verbose(tmp_path, real_dir):
    """issue 17: commands that load a model print no absl/oneDNN/CPU-feature lines; --verbose shows them."""
    import os

    data = real_dir.parent / "econt_conformance" / "dev200.csv"
    model = Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid"
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}

    def stderr(*flags: str) -> str:
        cmd = [sys.executable, "-m", "codesign.cli", *flags, "evaluate", "--model", str(model), "--data", str(data),
               "--out", str(tmp_path / "e")]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stderr

    quiet = stderr()
    assert "I0000" not in quiet and "absl" not in quiet and "WARNING:tensorflow" not in quiet
    assert "I0000" in stderr("--verbose")


@pytest.mark.parametrize(("error", "code", "word"), [
    ("InputError", 2, "error"), ("VerificationError", 1, "failed"), ("ToolFailure", 3, "failed")])
def test_errors_map_to_exit_codes_by_class(monkeypatch, capsys, error, code, word):
    """One hierarchy (codesign.errors), mapped in one place: 2 bad input, 1 a check failed, 3 a tool failed."""
    import codesign.cli.data
    import codesign.errors

    def handler(args):
        raise getattr(codesign.errors, error)("what went wrong")

    monkeypatch.setattr(codesign.cli.data, "_cmd_data_stats", handler)
    assert main(["data", "stats", "x.csv"]) == code
    assert capsys.readouterr().err == f"codesign: {word}: what went wrong\n"


def test_framework_errors_share_one_base():
    from codesign.config import ConfigError
    from codesign.data.io import WaferFileError
    from codesign.errors import CodesignError, InputError, ToolFailure, VerificationError
    from codesign.hardware.sim.runner import SimulationFailed
    from codesign.nn.fit import TrainingFailed
    from codesign.tools import ToolError, ToolNotFoundError

    assert all(issubclass(c, InputError) for c in (ConfigError, WaferFileError))
    assert all(issubclass(c, VerificationError) for c in (SimulationFailed, TrainingFailed))
    assert all(issubclass(c, ToolFailure) for c in (ToolError, ToolNotFoundError))
    assert issubclass(InputError, CodesignError) and issubclass(InputError, ValueError)


def _subcommands(parser: argparse.ArgumentParser, prefix: str = "codesign") -> list[str]:
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not actions:
        return [prefix]
    return [name for cmd, sub in actions[0].choices.items() for name in _subcommands(sub, f"{prefix} {cmd}")]


def test_readme_lists_every_subcommand():
    """issue 17: a user finds every command in the manual."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    commands = _subcommands(build_parser())
    assert len(commands) > 30
    assert [c for c in commands if f"`{c}" not in readme] == []
