"""Regression tests for defects of the hostile-input audit: rows kept, nonsense refused, failures not exit 0."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest

from codesign.cli import main
from codesign.config import ConfigError, from_mapping
from codesign.models.autoencoder import AeTrainingConfig


def test_onchip_keeps_all_zero_wafers_in_place(tmp_path):
    src = tmp_path / "w.csv"
    rows = np.zeros((4, 48), dtype=int)
    rows[0, 3], rows[2, 7], rows[3, 0] = 100, 50, 9
    np.savetxt(src, rows, fmt="%d", delimiter=",")
    assert main(["data", "onchip", str(src), "--out", str(tmp_path / "o.csv")]) == 0
    out = np.loadtxt(tmp_path / "o.csv", delimiter=",", skiprows=1, dtype=int)
    assert out.shape == (4, 49) and not out[1].any()  # the zero wafer: zero inputs and sum code 0
    assert out[0, 3] == out[2, 7] == 200  # a lone cell of S: (S << 7) >> floor(log2 S)


@pytest.mark.parametrize(("key", "value", "message"), [
    ("epochs", 0, "training.epochs must be at least 1"),
    ("epochs", -3, "training.epochs must be at least 1"),
    ("batch_size", 0, "training.batch_size must be at least 1"),
    ("learning_rate", math.nan, "training.learning_rate must be a finite positive number"),
    ("learning_rate", -1.0, "training.learning_rate must be a finite positive number"),
    ("seed", -1, "training.seed must be non-negative"),
])
def test_training_config_ranges(key, value, message):
    with pytest.raises(ConfigError, match=message):
        from_mapping(AeTrainingConfig, {key: value}, where="spec.yaml: training")


def test_train_epochs_zero_on_the_command_line_is_an_input_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--config", "models/econt_demo.yaml", "--epochs", "0", "--out", str(tmp_path)])
    assert exit_info.value.code == 2 and "argument --epochs: must be at least 1, got 0" in capsys.readouterr().err


@pytest.mark.parametrize(("args", "message"), [
    (["rtl", "--model", "m", "--out", "o", "--calq-bits", "0"], "--calq-bits: must be in 1..32, got 0"),
    (["rtl", "--model", "m", "--out", "o", "--clock-period", "-5"], "--clock-period: must be a finite number above 0"),
    (["vectors", "--model", "m", "--out", "o", "--n-wafers", "-3"], "--n-wafers: must be at least 1, got -3"),
    (["data", "store", "--n", "0", "--out", "s.h5"], "--n: must be at least 1, got 0"),
    (["data", "store", "--n", "5", "--batch", "0", "--out", "s.h5"], "--batch: must be at least 1, got 0"),
    (["train", "--config", "c.yaml", "--out", "o", "--seed", "-1"], "--seed: must be at least 0, got -1"),
    (["econt", "run", "--algorithm", "repeater", "--elinks", "14", "--module", "hd", "--data", "d", "--out", "o"],
     "--elinks: must be in 1..13, got 14"),
])
def test_meaningless_command_line_numbers_are_refused(tmp_path, monkeypatch, capsys, args, message):
    """items 8 and 11: ranges checked when the command line is read, naming the option."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(("key", "value", "message"), [
    ("conv_filters", 0, "conv_filters must be in [1, 64], got 0"),
    ("input_frac_bits", -1, "input_frac_bits must be in [0, 16], got -1"),
    ("weight_bits", 64, "weight_bits must be in [2, 16], got 64"),
    ("conv_act_bits", -8, "conv_act_bits must be in [1, 16], got -8"),
])
def test_encoder_config_ranges_name_file_and_key(key, value, message):
    from codesign.models.encoder import EncoderConfig

    with pytest.raises(ConfigError, match=f"enc.yaml: {message}".replace("[", "\\[")):
        from_mapping(EncoderConfig, {key: value}, where="enc.yaml")


@pytest.mark.parametrize("split", [(0.9, 0.1, 0.0), (0.5, 0.5, 0.5), (1.2, -0.1, -0.1)])
def test_training_split_must_leave_validation_and_test_wafers(split):
    with pytest.raises(ConfigError, match="training.split must be three fractions"):
        from_mapping(AeTrainingConfig, {"split": list(split)}, where="spec.yaml: training")


# item 1: a command never deletes files it did not create; item 5: --out of the wrong kind is an input error


def _seeded_model(tmp_path):
    model = tmp_path / "model"
    assert main(["model", "init", "--config", "models/econt_5elink_seeded.yaml", "--out", str(model)]) == 0
    return model


def test_vectors_out_never_deletes_a_users_files(tmp_path, capsys):
    model, out = _seeded_model(tmp_path), tmp_path / "thesis"
    (out / "sub").mkdir(parents=True)
    (out / "thesis.tex").write_text("chapter 1")
    (out / "sub" / "results.csv").write_text("1,2")
    args = ["vectors", "--model", str(model), "--n-wafers", "5", "--out", str(out)]
    assert main(args) == 2
    assert "holds files that codesign did not write" in capsys.readouterr().err
    assert (out / "thesis.tex").read_text() == "chapter 1" and (out / "sub" / "results.csv").is_file()
    assert not list(tmp_path.glob(".thesis.*"))  # no temporary left behind
    assert main(args + ["--force"]) == 0 and not (out / "thesis.tex").exists()
    assert main(args) == 0  # a folder codesign wrote is replaced without --force


@pytest.mark.parametrize("command", [
    ["vectors", "--model", "MODEL", "--n-wafers", "5"],
    ["model", "init", "--config", "models/econt_5elink_seeded.yaml"],
    ["evaluate", "--model", "MODEL"],
    ["econt", "run", "--algorithm", "best-choice", "--elinks", "2", "--module", "ld", "--data", "DATA"],
])
def test_out_naming_an_existing_file_is_refused_before_any_work(tmp_path, capsys, command, real_dir):
    model = _seeded_model(tmp_path) if "MODEL" in command else None
    taken = tmp_path / "taken.txt"
    taken.write_text("keep me")
    data = real_dir / "highpu_dev.csv"
    args = [str(model) if a == "MODEL" else str(data) if a == "DATA" else a for a in command]
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--out", str(taken)])
    assert exit_info.value.code == 2
    assert "exists and is not a folder" in capsys.readouterr().err and taken.read_text() == "keep me"


def test_out_files_refuse_a_folder_and_unwritable_places(tmp_path, capsys):
    (tmp_path / "dir.csv").mkdir()
    for out, message in [(tmp_path / "dir.csv", "is a folder"), (tmp_path / "file" / "x.csv", "is a file")]:
        (tmp_path / "file").write_text("")
        with pytest.raises(SystemExit):
            main(["data", "synth", "--n", "3", "--out", str(out)])
        assert message in capsys.readouterr().err


def test_an_interrupted_write_leaves_no_temporaries_after_the_next_run(tmp_path):
    """item 9: what a killed run left (hidden temporary files and folders, named with its process id) goes
    with the next write; a live writer's temporary and another output's stay (issue 33, item 10)."""
    import os
    import subprocess

    dead = subprocess.Popen(["true"])
    dead.wait()
    (tmp_path / f".w.{dead.pid}.abc123xy.tmp.csv").write_text("half")
    (tmp_path / f".vec.{dead.pid}.xyz_4567.tmp").mkdir()
    (tmp_path / f".vec.{dead.pid}.uvw12345.old").mkdir()
    live = [f".w.{os.getpid()}.live0000.tmp.csv", f".w.v2.{dead.pid}.abcdefgh.tmp.csv"]
    for name in live:  # a concurrent run of the same output; w.v2.csv's writer
        (tmp_path / name).write_text("in use")
    assert main(["data", "synth", "--n", "3", "--out", str(tmp_path / "w.csv")]) == 0
    from codesign.artifacts import atomic_dir

    with atomic_dir(tmp_path / "vec") as tmp:
        (tmp / "a").write_text("1")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["vec", "w.csv", *live])


def test_a_symlinked_out_folder_stays_a_link(tmp_path):
    """issue 33, item 10: the link was replaced by a real folder and the target's files moved out of it."""
    from codesign.artifacts import atomic_dir

    target, link = tmp_path / "target", tmp_path / "link"
    target.mkdir()
    link.symlink_to(target)
    for n in (1, 2):
        with atomic_dir(link) as tmp:
            (tmp / "rtl.json").write_text(str(n))
        (target / "notes.txt").write_text("mine")
    assert link.is_symlink() and (link / "rtl.json").read_text() == "2"
    assert sorted(p.name for p in target.iterdir()) == [".codesign-output", "notes.txt", "rtl.json"]


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"\x00\x01garbage" * 100])
def test_an_unreadable_model_file_says_so(tmp_path, capsys, content):
    """item 12: an encoder.keras that exists but is truncated or garbage is not reported as missing."""
    model = _seeded_model(tmp_path)
    (model / "encoder.keras").write_bytes(content)
    assert main(["vectors", "--model", str(model), "--n-wafers", "5", "--out", str(tmp_path / "v")]) == 2
    err = capsys.readouterr().err
    assert "encoder.keras: exists but is not a readable Keras model" in err and "not found" not in err


@pytest.mark.parametrize(("content", "message"), [
    ("layout: [8x8\n", "invalid YAML"), (b"\xff\xfe\x00x", "not a text file")])
def test_a_broken_model_config_names_the_file(tmp_path, capsys, content, message):
    """item 5: a YAML syntax error (or binary content) in a model folder's config.yaml."""
    model = _seeded_model(tmp_path)
    path = model / "config.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    assert main(["rtl", "--model", str(model), "--out", str(tmp_path / "r")]) == 2
    assert f"{path}: {message}" in capsys.readouterr().err


def test_a_broken_sweep_file_names_the_file(tmp_path, capsys):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: x\ngrid: {a: [1, 2\n")
    assert main(["sweep", "--config", str(sweep), "--out", str(tmp_path / "o")]) == 2
    assert f"{sweep}: invalid YAML" in capsys.readouterr().err


def _children(pid: int) -> list[int]:
    from pathlib import Path

    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found += [int(c) for c in (task / "children").read_text().split()] if (task / "children").exists() else []
    return found


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="reads /proc")
def test_emd_workers_die_with_a_killed_parent(tmp_path):
    """item 6: SIGKILL of the process running exact_emd leaves no worker behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    script = ("import numpy as np\nfrom codesign.emd.exact import exact_emd\n"
              "rng = np.random.default_rng(0)\na = rng.integers(0, 50, (400000, 48)) + 1\n"
              "exact_emd(a, a[::-1], n_jobs=2)\n")
    parent = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 60
        while len(_children(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = _children(parent.pid)
        assert len(workers) >= 2, "the pool never started"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{w}").exists() and "zombie" not in Path(f"/proc/{w}/status").read_text()
                  for w in workers) and time.monotonic() < deadline:
            time.sleep(0.2)
        alive = [w for w in workers if Path(f"/proc/{w}").exists()
                 and "zombie" not in Path(f"/proc/{w}/status").read_text()]
        assert not alive, f"workers {alive} outlived their parent"
    finally:
        parent.kill()


def test_evaluate_on_a_file_too_small_for_a_test_split(tmp_path, capsys, real_dir):
    """item 5: one wafer leaves no test split; a clean error instead of a Keras traceback."""
    small = tmp_path / "one.csv"
    small.write_text("\n".join((real_dir / "highpu_dev.csv").read_text().splitlines()[:2]) + "\n")
    model = Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid"
    assert main(["evaluate", "--model", str(model), "--data", str(small), "--out", str(tmp_path / "e")]) == 2
    assert "leave none for the test split" in capsys.readouterr().err


def test_output_folders_and_files_get_the_users_usual_mode(tmp_path):
    """issue 17: generated folders were drwx------ (mkdtemp's mode); they follow the umask like any other."""
    import os
    import stat

    from codesign.artifacts import atomic_dir, write_text

    old = os.umask(0o022)
    try:
        with atomic_dir(tmp_path / "rtl") as tmp:
            write_text(tmp / "a.v", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "rtl").stat().st_mode) == 0o755
    assert stat.S_IMODE((tmp_path / "rtl" / "a.v").stat().st_mode) == 0o644


def test_a_rewrite_keeps_what_the_user_added_to_an_output_folder(tmp_path):
    """Audit rerun: `vectors --out .` twice with a thesis.tex (and a simulator's build folder) added between
    the runs deleted them; a rewrite now replaces only what codesign wrote."""
    from codesign.artifacts import OutputError, atomic_dir

    out = tmp_path / "rtl"
    with atomic_dir(out) as tmp:
        (tmp / "rtl.json").write_text("1")
    (out / "thesis.tex").write_text("mine")
    (out / "sim_icarus").mkdir()
    (out / "sim_icarus" / "results.xml").write_text("<x/>")
    with atomic_dir(out) as tmp:
        (tmp / "rtl.json").write_text("2")
    assert (out / "rtl.json").read_text() == "2" and (out / "thesis.tex").read_text() == "mine"
    assert (out / "sim_icarus" / "results.xml").is_file()
    with pytest.raises(OutputError, match="thesis.tex"), atomic_dir(out) as tmp:  # the new output has its name
        (tmp / "thesis.tex").write_text("generated")
    assert (out / "thesis.tex").read_text() == "mine" and (out / "rtl.json").read_text() == "2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rtl"]  # no temporary left behind
    with atomic_dir(out, force=True) as tmp:
        (tmp / "rtl.json").write_text("3")
    assert not (out / "thesis.tex").exists()


def test_the_current_folder_is_never_replaced(tmp_path, monkeypatch, capsys):
    """`vectors --out .` replaced the shell's working folder by a new one (the shell was left in a deleted
    folder); it is refused, as is any folder holding the current one."""
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    model = str(Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid")
    for out in (".", ".."):
        assert main(["vectors", "--model", model, "--out", out, "--n-wafers", "3"]) == 2
        assert "is the current folder or holds it" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"] and not any((tmp_path / "work").iterdir())


def test_unreadable_input_and_unwritable_output_name_the_file(tmp_path, monkeypatch, capsys, highpu):
    """Audit item 5, checkable as root too (root reads mode-000 files): the OS refusal is simulated."""
    import os

    from codesign.data.io import write_wafers

    write_wafers(tmp_path / "w.csv", highpu[:5])
    real_open = Path.open

    def deny(self, *args, **kwargs):
        if self.name == "w.csv":
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "open", deny)
        assert main(["data", "stats", str(tmp_path / "w.csv")]) == 2
    err = capsys.readouterr().err
    assert "Permission denied" in err and str(tmp_path / "w.csv") in err
    (tmp_path / "ro").mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == tmp_path / "ro" else real_access(p, mode))
    with pytest.raises(SystemExit) as exit_:  # --out is checked while the arguments are parsed
        main(["data", "synth", "--n", "5", "--seed", "0", "--out", str(tmp_path / "ro" / "x.csv")])
    assert exit_.value.code == 2 and not (tmp_path / "ro" / "x.csv").exists()
    assert f"no permission to write in {tmp_path / 'ro'}" in capsys.readouterr().err


def test_hostile_audit_rerun_arguments_that_were_silently_wrong(tmp_path, capsys, real_dir):
    """issue 33, item 10: a falling eLink range gave an empty table (exit 0); --buffer on Best-Choice was
    recorded as used; the Python API took an impossible eLink count, an unknown module type, no wafers or
    charges beyond the chip's 22 bits."""
    import codesign

    data = str(real_dir / "highpu_dev.csv")
    assert main(["econt", "scan", "--data", data, "--elinks", "7..1", "--out", str(tmp_path / "s")]) == 2
    assert "eLink counts are 1..13" in capsys.readouterr().err
    assert main(["econt", "run", "--algorithm", "best-choice", "--buffer", "--data", data,
                 "--out", str(tmp_path / "r")]) == 2
    assert "only Threshold-Sum" in capsys.readouterr().err
    model = codesign.load_model(Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid")
    calq = np.full((2, 48), 40)
    for call, match in ((lambda: model.evaluate(calq, elinks=0), "elinks: 1..13"),
                        (lambda: model.evaluate(calq, modules=("xx",)), "modules: a non-empty choice"),
                        (lambda: model.evaluate(calq[:0]), "no wafers"),
                        (lambda: model.predict(np.full((1, 48), 1 << 22)), "CALQ_0 = 4194304")):
        with pytest.raises(codesign.InputError, match=match):
            call()


def test_evaluate_refuses_a_folder_of_the_users_before_any_work(tmp_path, capsys):
    """issue 33, item 10: `evaluate --out DIR` silently overwrote a user's report.md in DIR."""
    out = tmp_path / "notes"
    out.mkdir()
    (out / "report.md").write_text("my notes")
    model = str(Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid")
    assert main(["evaluate", "--model", model, "--out", str(out)]) == 2
    assert "did not write" in capsys.readouterr().err and (out / "report.md").read_text() == "my notes"


@pytest.mark.parametrize(("args", "message"), [
    (["evaluate", "--model", "{tmp}/nope", "--out", "{tmp}/o"], "--model {tmp}/nope: no such folder"),
    (["rtl", "--model", "{tmp}/file.txt", "--out", "{tmp}/o"], "--model {tmp}/file.txt: not a folder"),
    (["train", "--config", "{tmp}/nope.yaml", "--out", "{tmp}/o"], "--config {tmp}/nope.yaml: no such file"),
    (["sim", "--rtl", "{tmp}", "--vectors", "{tmp}/nope"], "--vectors {tmp}/nope: no such folder"),
    (["econt", "scan", "--data", "no_such.csv", "--out", "{tmp}/o"], "--data no_such.csv: no such file (nor in"),
])
def test_bad_paths_are_refused_before_tensorflow_loads(tmp_path, args, message):
    """issue 33, item 11: a mistyped path took 8-14 s and ~600 MB (TensorFlow first); now refused at once, in a
    fresh interpreter where nothing has imported TensorFlow yet."""
    import subprocess
    import sys

    (tmp_path / "file.txt").write_text("x")
    argv = [a.format(tmp=tmp_path) for a in args]
    code = ("import sys; from codesign.cli import main; rc = main(sys.argv[1:]); "
            "print(rc, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert message.format(tmp=tmp_path) in done.stderr


@pytest.mark.parametrize("command", [
    ["model", "init", "--out", "{out}"],
    ["train", "--config", "models/econt_demo.yaml", "--epochs", "1", "--out", "{out}"],
])
def test_model_folders_never_overwrite_a_users_files(tmp_path, capsys, command):
    """issue 33, item 10: `model init` and `train` overwrote a user's config.yaml / history.csv (exit 0)."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "config.yaml").write_text("my own\n")
    (out / "history.csv").write_text("my own\n")
    assert main([c.format(out=out) for c in command]) == 2
    assert "is not a model folder codesign wrote" in capsys.readouterr().err
    assert (out / "config.yaml").read_text() == (out / "history.csv").read_text() == "my own\n"
    if command[0] == "model":  # a folder codesign wrote is rewritten; --force writes into any
        assert main(["model", "init", "--out", str(tmp_path / "ours")]) == 0
        assert main(["model", "init", "--out", str(tmp_path / "ours"), "--seed", "4"]) == 0
        assert main(["model", "init", "--out", str(out), "--force"]) == 0
        assert (out / "config.yaml").read_text() != "my own\n"


def test_the_api_train_refuses_a_users_folder_too(tmp_path):
    import codesign
    from codesign.artifacts import OutputError

    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(OutputError, match="not a model folder codesign wrote"):
        codesign.train("models/econt_demo.yaml", tmp_path, progress=False, epochs=1)


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """issue 33, item 10: Ctrl-C printed a 17-54-line traceback; now one line and the shell's code, and no
    output file half written."""
    import subprocess
    import sys

    out = tmp_path / "w.csv"
    # SIGINT 2 s into main (imports done), while the 600,000 wafers take tens of seconds: at work on any machine.
    # A pytest-xdist worker ignores SIGINT and its children inherit that: give the child a shell's default.
    code = ("import os, signal, sys, threading; from codesign.cli import main; "
            "signal.signal(signal.SIGINT, signal.default_int_handler); "
            "threading.Timer(2.0, os.kill, (os.getpid(), signal.SIGINT)).start(); sys.exit(main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, "--quiet", "data", "synth", "--n", "600000", "--out",
                             str(out)], stderr=subprocess.PIPE, text=True)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines() == [
        "codesign: interrupted (data); nothing half written, rerun to resume a training"]
    assert not out.exists()


@pytest.mark.parametrize(("options", "message"), [
    ({"calq_bits": 0}, "calq_bits must be an integer in 1..32, got 0"),
    ({"clock_period_ns": -5.0}, "clock_period_ns must be a finite positive number of ns, got -5.0"),
    ({"clock_period_ns": math.nan}, "clock_period_ns must be a finite positive number"),
])
def test_the_api_refuses_what_the_command_line_refuses(tmp_path, options, message):
    """issue 33, item 10: `to_rtl(calq_bits=0)` wrote `wire [-1:0] calq`, a negative clock `set clock_period -5`."""
    import codesign

    model = codesign.load_model(Path(__file__).parents[1] / "models" / "reference" / "econt_2elink_hybrid")
    with pytest.raises(ValueError, match=re.escape(message)):
        model.to_rtl(tmp_path / "rtl", **options).write()
    assert not (tmp_path / "rtl").exists()


def test_a_hand_edited_spec_that_disagrees_with_the_encoder_is_refused(tmp_path, capsys):
    """issue 33, item 10: `evaluate` took the bit budget from spec.yaml (edited 5 -> 4 eLinks) and the latents
    from encoder.keras: 121 bits/BX against 4-eLink algorithms, while `rtl` built the 5-eLink frame."""
    import shutil

    model = tmp_path / "m"
    shutil.copytree(Path(__file__).parents[1] / "models" / "reference" / "econt_5elink_hybrid", model,
                    ignore=shutil.ignore_patterns("eval*"))
    spec = model / "spec.yaml"
    spec.write_text(spec.read_text().replace("elinks: 5", "elinks: 4", 1))
    assert main(["evaluate", "--model", str(model), "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "spec.yaml and config.yaml describe different encoders (elinks: 4 in spec.yaml, 5 in config.yaml)" in err
    assert not (tmp_path / "e").exists()


@pytest.mark.parametrize(("decoder", "message"), [
    ({"filters": 0}, "decoder.filters must be at least 1"),
    ({"dense_units": 0}, "decoder.dense_units must be at least 1"),
    ({"hidden": [64, -2]}, "decoder.hidden[1] must be at least 1"),
])
def test_decoder_sizes_are_checked_with_the_key(decoder, message):
    """issue 33, item 10: a zero-size decoder layer gave Keras's own text from inside the model build."""
    from codesign.models.autoencoder import DecoderConfig

    with pytest.raises(ConfigError, match=re.escape(message)):
        from_mapping(DecoderConfig, decoder, where="spec.yaml: decoder")


def test_a_device_is_not_called_missing(capsys):
    """issue 33, item 10: `/dev/null: no such file`."""
    assert main(["data", "stats", "/dev/null"]) == 2
    assert "/dev/null: not a regular file" in capsys.readouterr().err
    assert main(["evaluate", "--model", "models/reference/econt_2elink_hybrid", "--data", "/dev/null", "--out",
                 "/tmp/never"]) == 2
    assert "--data /dev/null: not a regular file" in capsys.readouterr().err


@pytest.mark.slow
def test_data_onchip_streams(tmp_path, monkeypatch):
    """issue 33, item 10: `data onchip` held the whole file (2.09 GB for a 200 MB CSV); now a chunk at a time
    (peak memory the same for 4x the wafers), the same rows as the whole-array conversion. Chunks of 250
    rows instead of 16,384 keep the files small (tracemalloc slows parsing about thirtyfold)."""
    import functools
    import tracemalloc

    import codesign.data.io
    from codesign.data.io import write_wafers
    from codesign.data.onchip import onchip_convert

    monkeypatch.setattr(codesign.data.io, "iter_wafers", functools.partial(codesign.data.io.iter_wafers,
                                                                            chunk_rows=250))
    rng = np.random.default_rng(0)
    peaks = []
    for n in (1000, 4000):
        calq = rng.integers(0, 5000, (n, 48)) * (rng.random((n, 48)) < 0.3)
        calq[7] = 0
        write_wafers(tmp_path / "w.csv", calq)
        tracemalloc.start()
        assert main(["data", "onchip", str(tmp_path / "w.csv"), "--out", str(tmp_path / "o.csv")]) == 0
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.6 * peaks[0], [f"{p / 1e6:.0f} MB" for p in peaks]  # whole: 4x
    out = np.loadtxt(tmp_path / "o.csv", delimiter=",", skiprows=1, dtype=np.int64)
    words = onchip_convert(calq)
    assert np.array_equal(out, np.column_stack([words.inputs, words.sum_code]))


def test_econt_run_refuses_a_folder_of_the_users_files(tmp_path, real_dir):
    """The hostile-input audit script found `econt run` writing its three files into a folder of the user's
    (exit 0) where every other command refuses one: it now writes one folder, refused unless --force."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    argv = ["econt", "run", "--algorithm", "best-choice", "--elinks", "2", "--module", "ld", "--data",
            str(real_dir / "highpu_dev.csv"), "--out", str(out)]
    assert main(argv) == 2 and not (out / "frames.txt").exists()
    assert (out / "notes.txt").read_text() == "mine\n"
    assert main([*argv, "--force"]) == 0 and (out / "frames.txt").is_file()  # --force replaces the folder
    (out / "later.txt").write_text("added since\n")
    assert main(argv) == 0  # a folder codesign wrote is rewritten, keeping what the user added to it
    assert (out / "later.txt").read_text() == "added since\n"


def test_training_with_a_missing_source_leaves_no_model_folder(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("name: t\nencoder: {elinks: 2, latent_int_bits: 1, latent_bias_init: 1.0}\n"
                    "training: {sources: [no_such_file.csv], epochs: 1}\n")
    assert main(["train", "--config", str(spec), "--out", str(tmp_path / "model")]) == 2
    assert not (tmp_path / "model").exists()


def test_the_hostile_input_audit_script_runs_clean_on_one_command():
    """`audit/hostile_inputs.py` (the whole audit: see the issue notes) on its `data stats` cases."""
    import subprocess
    import sys

    script = Path(__file__).parents[1] / "audit" / "hostile_inputs.py"
    done = subprocess.run([sys.executable, str(script), "--only", "data stats"], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "14 cases" in done.stdout and "0 defective" in done.stdout
