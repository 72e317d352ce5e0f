"""The hostile-input audit as a script: every case runs the real `codesign` command line in a fresh process
on a hostile file, option, YAML key or output folder, and is judged on four counts:

- traceback: Python's "Traceback (most recent call last)" on stderr;
- silent: exit 0 (or any code but the expected one) where the input must be refused;
- message: the refusal does not name the file, key or option at fault;
- data loss: a file of the user's in the output folder is gone or changed, or a half-written output remains.

    python audit/hostile_inputs.py [--only SUBSTRING] [--jobs 2] [--keep DIR]

Prints one line per defective case and the counts; exit 1 when any case is defective. Cases that need the
real data folder (``../shared/data/hgcal``) are skipped without it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODESIGN = [sys.executable, "-m", "codesign.cli"]
HEADER = ",".join(f"CALQ_{i}" for i in range(48))
GOOD_ROW = ",".join(str(v) for v in [0, 12, 300, 0, 5] * 9 + [1, 0, 7])
USER_FILE = "notes.txt"  # a file of the user's, put in output folders that must not be touched
USER_TEXT = "my notes: do not delete\n"
REFERENCE = ROOT / "models" / "reference" / "econt_2elink_hybrid"


@dataclass(frozen=True)
class Case:
    name: str
    argv: list[str]  # after `codesign`; "{T}" is the case's own temporary folder
    names: tuple[str, ...]  # what the refusal must name (any of them, case-insensitive)
    expect_rc: int = 2
    user_dirs: tuple[str, ...] = ()  # folders under {T} seeded with the user's file, checked after
    absent: tuple[str, ...] = ()  # outputs under {T} that must not exist after a refusal
    setup: Callable[[Path], None] | None = None
    needs_real_data: bool = False


@dataclass
class Outcome:
    case: Case
    rc: int
    stderr: str
    defects: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- hostile wafer files


def _write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def setup(tmp: Path) -> None:
        path = tmp / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())

    return setup


def _row(*values: str) -> str:
    cells = GOOD_ROW.split(",")
    cells[: len(values)] = values
    return ",".join(cells)


HOSTILE_FILES: dict[str, Callable[[Path], None] | None] = {
    "missing.csv": None,
    "empty.csv": _write("empty.csv", ""),
    "header_only.csv": _write("header_only.csv", HEADER + "\n"),
    "short_header.csv": _write("short_header.csv", ",".join(HEADER.split(",")[:47]) + "\n" + GOOD_ROW + "\n"),
    "short_row.csv": _write("short_row.csv", f"{HEADER}\n{GOOD_ROW}\n{','.join(GOOD_ROW.split(',')[:40])}\n"),
    "text_cell.csv": _write("text_cell.csv", f"{HEADER}\n{_row('abc')}\n"),
    "negative.csv": _write("negative.csv", f"{HEADER}\n{_row('-5')}\n"),
    "nan.csv": _write("nan.csv", f"{HEADER}\n{_row('nan')}\n"),
    "fraction.csv": _write("fraction.csv", f"{HEADER}\n{_row('1.5')}\n"),
    "huge.csv": _write("huge.csv", f"{HEADER}\n{_row('9' * 400)}\n"),
    "binary.csv": _write("binary.csv", bytes(range(256)) * 8),
    "garbage.h5": _write("garbage.h5", b"this is not HDF5\n" * 10),
    "a_folder.csv": lambda tmp: (tmp / "a_folder.csv").mkdir(),
}

FILE_COMMANDS = {
    "data stats": lambda f: ["data", "stats", f],
    "data onchip": lambda f: ["data", "onchip", f, "--out", "{T}/out.csv"],
    "data convert": lambda f: ["data", "convert", f, "{T}/out.h5"],
    "emd exact": lambda f: ["emd", "exact", "--a", f, "--b", f, "--out", "{T}/out.csv"],
    "econt run": lambda f: ["econt", "run", "--algorithm", "best-choice", "--elinks", "2", "--module", "ld",
                            "--data", f, "--out", "{T}/run"],
}
FILE_OUTPUTS = {"data stats": (), "data onchip": ("out.csv",), "data convert": ("out.h5",),
                "emd exact": ("out.csv",), "econt run": ("run",)}


def file_cases() -> list[Case]:
    cases = []
    for command, argv in FILE_COMMANDS.items():
        for name, setup in HOSTILE_FILES.items():
            cases.append(Case(f"{command} <- {name}", argv(f"{{T}}/{name}"), (name,), setup=setup,
                              absent=FILE_OUTPUTS[command]))
    cases.append(Case("data stats <- /dev/null", ["data", "stats", "/dev/null"], ("/dev/null",)))
    return cases


# ---------------------------------------------------------------- hostile YAML specs


def _spec(body: str) -> Callable[[Path], None]:
    return _write("spec.yaml", body)


SPEC_BASE = "name: t\nencoder: {elinks: 2, latent_int_bits: 1, latent_bias_init: 1.0}\n"
YAML_CASES = [
    ("unknown key", SPEC_BASE + "trainig: {epochs: 1}\n", ("trainig",)),
    ("wrong type", SPEC_BASE + "training: {epochs: ten}\n", ("epochs",)),
    ("zero epochs", SPEC_BASE + "training: {epochs: 0}\n", ("epochs",)),
    ("negative patience", SPEC_BASE + "training: {patience: -1}\n", ("patience",)),
    ("bad split", SPEC_BASE + "training: {split: [0.5, 0.5]}\n", ("split",)),
    ("nan learning rate", SPEC_BASE + "training: {learning_rate: .nan}\n", ("learning_rate",)),
    ("zero filters", SPEC_BASE + "decoder: {filters: 0}\n", ("filters",)),
    ("zero dense units", SPEC_BASE + "decoder: {dense_units: 0}\n", ("dense_units",)),
    ("elinks 7", "name: t\nencoder: {elinks: 7}\n", ("elinks",)),
    ("weight bits 40", "name: t\nencoder: {weight_bits: 40}\n", ("weight_bits",)),
    ("loss all zero", SPEC_BASE + "loss: {telescope: 0.0}\n", ("loss",)),
    ("a list", "- 1\n- 2\n", ("spec.yaml",)),
    ("empty", "", ("spec.yaml",)),
    ("broken YAML", "name: [unclosed\n", ("spec.yaml",)),
    ("missing source", SPEC_BASE + "training: {sources: [no_such_file.csv], epochs: 1}\n", ("no_such_file.csv",)),
]


def yaml_cases() -> list[Case]:
    return [Case(f"train --config <- {label}", ["train", "--config", "{T}/spec.yaml", "--out", "{T}/model"],
                 names, setup=_spec(body), absent=("model",)) for label, body, names in YAML_CASES]


# ---------------------------------------------------------------- hostile options

# 10 x 10 x 200 = 20,000 points: refused before any is built
BIG_GRID = ("name: big\nbase: models/econt_sweep_base.yaml\nstages: [train]\ngrid:\n"
            f"  encoder.conv_filters: {list(range(1, 11))}\n  encoder.latent_dim: {list(range(1, 11))}\n"
            f"  training.seed: {list(range(200))}\n")


def option_cases() -> list[Case]:
    real = "{D}/highpu_dev.csv"
    model = str(REFERENCE)
    return [
        Case("econt run --elinks 0", ["econt", "run", "--algorithm", "best-choice", "--elinks", "0", "--module",
                                      "ld", "--data", real, "--out", "{T}/r"], ("--elinks",), absent=("r",),
             needs_real_data=True),
        Case("econt run --elinks 14", ["econt", "run", "--algorithm", "best-choice", "--elinks", "14", "--module",
                                       "ld", "--data", real, "--out", "{T}/r"], ("--elinks",), absent=("r",),
             needs_real_data=True),
        Case("econt run --algorithm nope", ["econt", "run", "--algorithm", "nope", "--elinks", "2", "--module", "ld",
                                            "--data", real, "--out", "{T}/r"], ("--algorithm",), absent=("r",),
             needs_real_data=True),
        Case("econt scan --elinks 7..1", ["econt", "scan", "--data", real, "--elinks", "7..1", "--out", "{T}/s"],
             ("--elinks",), absent=("s",), needs_real_data=True),
        Case("econt scan --elinks 0..3", ["econt", "scan", "--data", real, "--elinks", "0..3", "--out", "{T}/s"],
             ("--elinks",), absent=("s",), needs_real_data=True),
        Case("data synth --n -1", ["data", "synth", "--n", "-1", "--out", "{T}/s.csv"], ("--n",), absent=("s.csv",)),
        Case("emd exact --jobs 0", ["emd", "exact", "--a", real, "--b", real, "--jobs", "0", "--out", "{T}/e.csv"],
             ("--jobs",), absent=("e.csv",), needs_real_data=True),
        Case("rtl --clock-period -5", ["rtl", "--model", model, "--clock-period", "-5", "--out", "{T}/rtl"],
             ("--clock-period",), absent=("rtl",)),
        Case("rtl --clock-period nan", ["rtl", "--model", model, "--clock-period", "nan", "--out", "{T}/rtl"],
             ("--clock-period",), absent=("rtl",)),
        Case("rtl --calq-bits 0", ["rtl", "--model", model, "--calq-bits", "0", "--out", "{T}/rtl"],
             ("--calq-bits",), absent=("rtl",)),
        Case("rtl --core-backend nope", ["rtl", "--model", model, "--core-backend", "nope", "--out", "{T}/rtl"],
             ("--core-backend",), absent=("rtl",)),
        Case("hls --reuse-factor 0", ["hls", "--model", model, "--reuse-factor", "0", "--out", "{T}/hls"],
             ("--reuse-factor",), absent=("hls",)),
        Case("hls --strategy nope", ["hls", "--model", model, "--strategy", "nope", "--out", "{T}/hls"],
             ("--strategy",), absent=("hls",)),
        Case("verify --wafers -1", ["verify", "--model", model, "--rtl", "{T}", "--wafers", "-1"], ("--wafers",)),
        Case("evaluate --elinks 0", ["evaluate", "--model", model, "--elinks", "0", "--out", "{T}/e"], ("--elinks",),
             absent=("e",)),
        Case("evaluate --module xx", ["evaluate", "--model", model, "--module", "xx", "--out", "{T}/e"], ("--module",),
             absent=("e",)),
        Case("train-decoder --hidden 0", ["train-decoder", "--model", model, "--hidden", "0", "--out", "{T}/d"],
             ("--hidden",), absent=("d",)),
        Case("train-decoder --weight-bits 1", ["train-decoder", "--model", model, "--weight-bits", "1", "--out",
                                               "{T}/d"], ("--weight-bits",), absent=("d",)),
        Case("train-decoder frac >= bits", ["train-decoder", "--model", model, "--weight-bits", "6",
                                            "--weight-frac-bits", "9", "--out", "{T}/d"], ("weight_frac_bits",),
             absent=("d",)),
        Case("decoder-firmware --n-random -1", ["decoder-firmware", "--decoder", str(REFERENCE / "qdecoder"),
                                                "--n-random", "-1", "--out", "{T}/fw"], ("--n-random",),
             absent=("fw",)),
        Case("decoder-firmware on a model folder", ["decoder-firmware", "--decoder", model, "--out", "{T}/fw"],
             ("decoder.yaml",), absent=("fw",)),
        Case("evaluate --decoder of another encoder", ["evaluate", "--model", str(ROOT / "models" / "reference" /
                                                                                  "econt_3elink_hybrid"),
                                                       "--decoder", str(REFERENCE / "qdecoder"), "--out", "{T}/e"],
             ("another encoder",), absent=("e",), needs_real_data=True),
        Case("model init --config missing", ["model", "init", "--config", "{T}/none.yaml", "--out", "{T}/m"],
             ("none.yaml",), absent=("m",)),
        Case("sweep --config missing", ["sweep", "--config", "{T}/none.yaml", "--out", "{T}/s"], ("none.yaml",),
             absent=("s",)),
        Case("sweep n_wafers -5", ["sweep", "--config", "{T}/sw.yaml", "--out", "{T}/s"], ("n_wafers",),
             setup=_write("sw.yaml", "name: neg\nbase: models/econt_sweep_base.yaml\nstages: [train]\n"
                                     "evaluation: {n_wafers: -5}\ngrid: {encoder.elinks: [3]}\n"), absent=("s",)),
        Case("sweep grid too large", ["sweep", "--config", "{T}/sw.yaml", "--out", "{T}/s"], ("10,000",),
             setup=_write("sw.yaml", BIG_GRID), absent=("s",)),
    ]


# ---------------------------------------------------------------- output folders that hold the user's files


def output_cases() -> list[Case]:
    real = "{D}/highpu_dev.csv"
    model = str(REFERENCE)
    runs = {
        "econt run": ["econt", "run", "--algorithm", "best-choice", "--elinks", "2", "--module", "ld", "--data", real,
                      "--out", "{T}/user"],
        "rtl": ["rtl", "--model", model, "--out", "{T}/user"],
        "vectors": ["vectors", "--model", model, "--n-wafers", "5", "--out", "{T}/user"],
        "model init": ["model", "init", "--config", str(ROOT / "models" / "econt_5elink_seeded.yaml"), "--out",
                       "{T}/user"],
        "evaluate": ["evaluate", "--model", model, "--out", "{T}/user"],
        "train-decoder": ["train-decoder", "--model", model, "--out", "{T}/user"],
        "decoder-firmware": ["decoder-firmware", "--decoder", str(REFERENCE / "qdecoder"), "--out", "{T}/user"],
        "asic block": ["asic", "block", "--out", "{T}/user"],
    }
    cases = [Case(f"{name} --out <- a folder of the user's", argv, ("--force", "user"), user_dirs=("user",),
                  needs_real_data="{D}" in " ".join(argv)) for name, argv in runs.items()]
    cases.append(Case("data onchip --out <- an existing folder", ["data", "onchip", real, "--out", "{T}/user"],
                      ("user",), user_dirs=("user",), needs_real_data=True))
    return cases


def _symlink_to_user_folder(tmp: Path) -> None:
    (tmp / "link").symlink_to(tmp / "user", target_is_directory=True)


def _hand_edited_model(tmp: Path) -> None:
    """A copy of the 2-eLink reference whose spec.yaml was edited to 3 eLinks (its encoder is 2-eLink)."""
    import shutil

    shutil.copytree(REFERENCE, tmp / "m", ignore=shutil.ignore_patterns("eval*", "qdecoder"))
    spec = tmp / "m" / "spec.yaml"
    spec.write_text(spec.read_text().replace("elinks: 2", "elinks: 3", 1))


def item10_cases() -> list[Case]:
    """The classes of issue 33, item 10 that a command line can show."""
    real = "{D}/highpu_dev.csv"
    model = str(REFERENCE)
    return [
        Case("train --out <- a folder of the user's", ["train", "--config", str(ROOT / "models" /
                                                                               "econt_2elink_hybrid.yaml"),
                                                       "--out", "{T}/user"], ("--force", "user"), user_dirs=("user",)),
        Case("rtl --out <- a symlink to a folder of the user's", ["rtl", "--model", model, "--out", "{T}/link"],
             ("--force",), user_dirs=("user",), setup=_symlink_to_user_folder),
        Case("evaluate <- spec.yaml edited against config.yaml", ["evaluate", "--model", "{T}/m", "--out", "{T}/e"],
             ("spec.yaml",), setup=_hand_edited_model, absent=("e",)),
        Case("sweep evaluation.data missing", ["sweep", "--config", "{T}/sw.yaml", "--out", "{T}/s"],
             ("nofile.csv",), setup=_write("sw.yaml", "name: nodata\nbase: models/econt_sweep_base.yaml\n"
                                                      "stages: [train, evaluate]\nevaluation: {data: nofile.csv}\n"
                                                      "grid: {encoder.elinks: [3]}\n"), absent=("s",)),
        Case("econt run --buffer on Best-Choice", ["econt", "run", "--algorithm", "best-choice", "--buffer",
                                                   "--elinks", "2", "--module", "ld", "--data", real, "--out",
                                                   "{T}/r"], ("--buffer",), absent=("r",), needs_real_data=True),
        Case("evaluate --data missing", ["evaluate", "--model", model, "--data", "{T}/nofile.csv", "--out", "{T}/e"],
             ("nofile.csv",), absent=("e",)),
        Case("data synth --preset nope", ["data", "synth", "--n", "5", "--preset", "nope", "--out", "{T}/s.csv"],
             ("--preset",), absent=("s.csv",)),
    ]


def all_cases() -> list[Case]:
    return file_cases() + yaml_cases() + option_cases() + output_cases() + item10_cases()


# ---------------------------------------------------------------- running and judging


def run_case(case: Case, work: Path, data_dir: Path) -> Outcome:
    tmp = work / "".join(c if c.isalnum() else "_" for c in case.name)
    tmp.mkdir(parents=True)
    if case.setup:
        case.setup(tmp)
    for folder in case.user_dirs:
        (tmp / folder).mkdir(exist_ok=True)
        (tmp / folder / USER_FILE).write_text(USER_TEXT)
    argv = [a.replace("{T}", str(tmp)).replace("{D}", str(data_dir)) for a in case.argv]
    env = {**os.environ, "CODESIGN_DATA_DIR": str(data_dir)}
    try:
        proc = subprocess.run([*CODESIGN, *argv], cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
        rc, err = proc.returncode, proc.stderr
    except subprocess.TimeoutExpired:
        rc, err = -1, "timed out after 600 s"
    outcome = Outcome(case, rc, err)
    if "Traceback (most recent call last)" in err:
        outcome.defects.append("traceback")
    if rc != case.expect_rc:
        outcome.defects.append(f"silent (exit {rc}, expected {case.expect_rc})")
    elif not any(n.lower() in err.lower() for n in case.names):
        outcome.defects.append(f"message names none of {list(case.names)}")
    for folder in case.user_dirs:
        user = tmp / folder / USER_FILE
        if not user.is_file() or user.read_text() != USER_TEXT:
            outcome.defects.append(f"data loss: {folder}/{USER_FILE}")
    left = [name for name in case.absent if (tmp / name).exists()]
    left += [p.name for p in tmp.iterdir() if ".tmp" in p.name]
    if left:
        outcome.defects.append(f"left behind: {left}")
    return outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run the cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--keep", help="keep each case's folder under this one (default: a temporary folder)")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("CODESIGN_DATA_DIR", ROOT.parent / "shared" / "data" / "hgcal"))
    have_data = (data_dir / "highpu_dev.csv").is_file()
    cases = [c for c in all_cases() if not args.only or args.only in c.name]
    skipped = [c for c in cases if c.needs_real_data and not have_data]
    cases = [c for c in cases if c not in skipped]
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(args.keep or scratch)
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(pool.map(lambda c: run_case(c, work, data_dir), cases))
    bad = [o for o in outcomes if o.defects]
    for o in bad:
        last = o.stderr.strip().splitlines()[-1:] or [""]
        print(f"DEFECT {o.case.name}: {'; '.join(o.defects)} | {last[0][:200]}")
    kinds = ("traceback", "silent", "message", "data loss", "left behind")
    counts = {k: sum(any(d.startswith(k) for d in o.defects) for o in outcomes) for k in kinds}
    print(f"{len(outcomes)} cases ({len(skipped)} skipped without the real data): {len(bad)} defective; "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
