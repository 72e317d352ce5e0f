"""``codesign`` command line: argument parsing only; every command calls one library function.

One module per pipeline stage (data, emd, training, hardware, asic, sweep), each with a ``register(sub)`` that
adds its subcommands; ``main`` maps the framework's errors (``codesign.errors``) to exit codes: 2 bad input,
1 a verification failed, 3 a tool failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from codesign.cli import asic, data, econt, emd, hardware, sweep, training
from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in
from codesign.errors import CodesignError, InputError


def _cmd_demo(args: argparse.Namespace) -> None:
    from codesign.demo import run_demo

    summary = run_demo(args.out, n_wafers=args.n, n_pairs=args.pairs, seed=args.seed, preset=args.preset)
    print(json.dumps({k: summary[k] for k in ("stats", "emd_scales", "compression_mean_emd")}, indent=2))
    print(f"report: {Path(args.out) / 'report.md'}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Codesign of on-detector ML data compression for the CMS HGCAL (ECON-T): data, EMD, "
                    "training, evaluation and hardware generation.",
    )
    parser.add_argument("--verbose", action="store_true",
                        help="show TensorFlow's C++ log lines (oneDNN, CPU features, graph notices); hidden by default")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data, emd, econt, training, hardware, asic, sweep):
        module.register(sub)
    p = _add(sub, "demo", _cmd_demo, "run the main job end to end on built-in synthetic data",
             "Generate synthetic wafers, compare them with real data when available, measure EMD scales "
             "and write a report.")
    add_out(p, "output folder (default: out/demo)", default="out/demo")
    p.add_argument("--n", type=int_in(1), default=5000, help="synthetic wafers")
    p.add_argument("--pairs", type=int_in(1), default=2000, help="pairs for the EMD scales")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the synthetic wafers and pairs")
    p.add_argument("--preset", default="highpu", choices=["highpu", "ttbar"], help="synthetic parameter set")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:  # before any command imports TensorFlow; its errors still reach us as exceptions
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        args.handler(args)
    except CodesignError as err:  # the one place that maps errors to exit codes (codesign.errors)
        kind = "error" if isinstance(err, InputError) else "failed"
        print(f"codesign: {kind}: {err}", file=sys.stderr)
        return err.exit_code
    except (FileNotFoundError, ValueError) as err:  # a library check without a framework class: bad input
        print(f"codesign: error: {err}", file=sys.stderr)
        return InputError.exit_code
    except (PermissionError, IsADirectoryError, NotADirectoryError, FileExistsError) as err:
        # a file the command could not open or create as asked: the OS message names it
        print(f"codesign: error: {err.strerror}: {err.filename}", file=sys.stderr)
        return InputError.exit_code
    return 0
