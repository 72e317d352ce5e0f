"""``codesign`` command line: argument parsing only; every command calls one library function.

One module per pipeline stage (data, emd, training, hardware, asic, sweep), each with a ``register(sub)`` that
adds its subcommands; ``main`` maps the framework's errors (``codesign.errors``) to exit codes: 2 bad input,
1 a verification failed, 3 a tool failed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from codesign.cli import asic, data, econt, emd, fpga, hardware, sweep, training
from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, check_inputs, int_in
from codesign.errors import CodesignError, InputError
from codesign.progress import Level, set_level


def _cmd_demo(args: argparse.Namespace) -> None:
    from codesign.demo import DEMO_SPEC, run_demo

    result = run_demo(args.out, n_wafers=args.n, n_pairs=args.pairs, seed=args.seed, preset=args.preset,
                      epochs=args.epochs, hardware=not args.no_hardware,
                      config=args.config or DEMO_SPEC)
    print(json.dumps({k: result.summary[k] for k in ("stats", "emd_scales", "compression_mean_emd", "stage_seconds")},
                     indent=2))
    print(f"report: {result.report} and {result.html} (total {sum(result.stage_seconds.values()):.0f} s)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Codesign of on-detector ML data compression for the CMS HGCAL (ECON-T): data, EMD, "
                    "training, evaluation and hardware generation.",
    )
    chatter = parser.add_mutually_exclusive_group()
    chatter.add_argument("--verbose", action="store_true",
                         help="also show the libraries' own log lines and warnings (TensorFlow's C++ log: oneDNN, "
                              "CPU features, graph notices; hls4ml's precision overrides); hidden by default")
    chatter.add_argument("--quiet", action="store_true",
                         help="no progress bars, heartbeats or stage lines: only results and errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (data, emd, econt, training, hardware, asic, fpga, sweep):
        module.register(sub)
    p = _add(sub, "demo", _cmd_demo, "run the main job end to end on built-in synthetic data",
             "Generate synthetic wafers (compared with real data when available) and their EMD scales, train the "
             "demo encoder, evaluate it against the chip's algorithms, check its hls4ml C simulation, write its "
             "RTL and vectors, simulate them with cocotb on Verilator, and estimate area and energy with Yosys; "
             "report.md and report.html say what each number means and how long each stage took.")
    add_out(p, "output folder (default: out/demo)", default="out/demo")
    p.add_argument("--n", type=int_in(1), default=5000, help="synthetic wafers")
    p.add_argument("--pairs", type=int_in(1), default=2000, help="pairs for the EMD scales")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the synthetic wafers and pairs")
    p.add_argument("--preset", default="highpu", choices=["highpu", "ttbar"], help="synthetic parameter set")
    p.add_argument("--config", help="the encoder's AutoencoderSpec YAML (default: the project's "
                                    "models/econt_demo.yaml, the published 5-eLink shape); a smaller encoder gives "
                                    "quicker hardware stages")
    p.add_argument("--epochs", type=int_in(1), help="training epochs of the demo encoder (default: the config's, "
                                                    "40 for models/econt_demo.yaml, fewer when it stops improving); "
                                                    "fewer give a quicker, weaker encoder")
    p.add_argument("--no-hardware", action="store_true", help="stop after the evaluation (no HLS, RTL, simulation, "
                                                              "synthesis)")
    return parser


INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl-C


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_level(Level.VERBOSE if args.verbose else Level.QUIET if args.quiet else Level.NORMAL)
    if args.verbose:  # `import codesign` hides TensorFlow's C++ log (before any command imports TensorFlow)
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
    else:  # its Python warnings (retracing notices); its errors still reach us as exceptions
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        check_inputs(args)
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
    except KeyboardInterrupt:  # outputs are written atomically and trainings resume: one line, the shell's code
        print(f"codesign: interrupted ({args.command}); nothing half written, rerun to resume a training",
              file=sys.stderr)
        return INTERRUPTED
    return 0
