"""`codesign data ...`: wafer files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in


def _cmd_data_stats(args: argparse.Namespace) -> None:
    from codesign.data.stats import file_stats

    print(json.dumps(file_stats(args.file), indent=2))


def _cmd_data_synth(args: argparse.Namespace) -> None:
    from codesign.data.io import write_wafers
    from codesign.data.synth import generate_wafers, load_synth_config

    cfg = load_synth_config(args.config or args.preset)
    write_wafers(args.out, generate_wafers(cfg, args.n, args.seed, progress=True))
    print(f"wrote {args.n} synthetic '{cfg.name}' wafers (seed {args.seed}) to {args.out}")


def _cmd_data_store(args: argparse.Namespace) -> None:
    from codesign.data.stream import synthetic_batches, write_wafer_store
    from codesign.data.synth import load_synth_config

    cfg = load_synth_config(args.config or args.preset)
    n = write_wafer_store(args.out, synthetic_batches(cfg, args.n, args.seed, batch=args.batch), progress=True,
                          total=args.n)
    print(f"wrote a store of {n} synthetic '{cfg.name}' wafers (seed {args.seed}) to {args.out}")


def _cmd_data_compare(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq
    from codesign.data.stats import write_comparison

    result = write_comparison(read_calq(args.synth), read_calq(args.real), args.out,
                              labels=(Path(args.synth).name, Path(args.real).name))
    summary = {k: {m: round(v[m], 4) for m in ("synth_mean", "real_mean", "rel_diff_mean", "synth_median",
                                                "real_median", "rel_diff_median", "ks_statistic")}
               for k, v in result.items() if isinstance(v, dict) and "ks_statistic" in v}
    print(json.dumps(summary, indent=2))
    print(f"wrote {Path(args.out) / 'comparison.json'} and comparison.png")


def _cmd_data_convert(args: argparse.Namespace) -> None:
    from codesign.data.io import convert_wafers

    n = convert_wafers(args.src, args.dst)
    print(f"converted {n} wafers: {args.src} -> {args.dst}")


def _cmd_data_onchip(args: argparse.Namespace) -> None:
    from codesign.data.geometry import N_TC
    from codesign.data.io import iter_wafers, write_int_csv
    from codesign.data.onchip import onchip_convert

    header = [f"IN_{i}" for i in range(N_TC)] + ["SUM_CODE"]
    converted = (onchip_convert(calq) for calq in iter_wafers(args.file))  # row i out = row i in, chunk by chunk
    rows = write_int_csv(args.out, header, (np.column_stack([w.inputs, w.sum_code]) for w in converted))
    print(f"wrote {rows} converted wafers to {args.out}")


def _generator_args(p: argparse.ArgumentParser, out_help: str) -> None:
    p.add_argument("--n", type=int_in(1), required=True, help="number of wafers")
    p.add_argument("--seed", type=int_in(0), default=0, help="random seed (same seed, same bits)")
    add_out(p, out_help, folder=False)
    p.add_argument("--preset", default="highpu", choices=["highpu", "ttbar"], help="built-in parameter set")
    p.add_argument("--config", help="YAML file with generator parameters (overrides --preset)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    data = sub.add_parser("data", help="wafer files: statistics, synthetic data, conversion",
                          description="Wafer files (CALQ CSV or HDF5): inspect, generate, compare, convert.")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    p = _add(dsub, "stats", _cmd_data_stats, "print summary statistics of a wafer file as JSON",
             "Print n_wafers, n_dropped_zero, mean_occupancy (TCs > 0), median_sum and p99_sum as JSON.")
    p.add_argument("file", help="wafer file (.csv with CALQ_0..CALQ_47 or .h5)")
    p = _add(dsub, "synth", _cmd_data_synth, "generate synthetic wafers in the real CSV format",
             "Generate physically motivated synthetic HGCAL wafers (CSV or, with .h5, HDF5).")
    _generator_args(p, "output .csv or .h5")
    p = _add(dsub, "store", _cmd_data_store, "write a large synthetic wafer store (HDF5) in bounded memory",
             "Generate synthetic wafers batch by batch into an HDF5 store (chunked, lzf) for streamed training "
             "(training.stream_store) beyond memory.")
    _generator_args(p, "output .h5")
    p.add_argument("--batch", type=int_in(1), default=100_000, help="wafers generated and written at a time")
    p = _add(dsub, "compare", _cmd_data_compare, "compare a synthetic set with a real one (plot + JSON)",
             "Compare occupancy, wafer-sum, cell-charge and per-TC mean-charge distributions; writes "
             "comparison.json (means, medians, two-sample KS statistics) and comparison.png to --out.")
    p.add_argument("synth", help="synthetic wafer file")
    p.add_argument("real", help="real wafer file")
    add_out(p, "output folder")
    p = _add(dsub, "convert", _cmd_data_convert, "convert a wafer file between CSV and HDF5",
             "Convert CSV <-> HDF5 (format chosen by suffix: .h5/.hdf5 or anything else for CSV).")
    p.add_argument("src", help="wafer file to read (.csv or .h5)")
    p.add_argument("dst", help="wafer file to write (.csv or .h5)")
    p = _add(dsub, "onchip", _cmd_data_onchip, "apply the ECON-T on-chip input conversion",
             "Per wafer: the 48 encoder inputs as integers in units of 2**-7 (shift by floor(log2 sum), "
             "truncated) and the 9-bit floating-point sum code; header IN_0..IN_47,SUM_CODE.")
    p.add_argument("file", help="wafer file")
    add_out(p, "output CSV", folder=False)
