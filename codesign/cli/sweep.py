"""`codesign sweep`: design-space sweeps on Dask with a Pareto report."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in


def _cmd_sweep(args: argparse.Namespace) -> None:
    from codesign.sweep import load_sweep, run_sweep, write_pareto_report
    from codesign.sweep.engine import sweep_rows

    sweep = load_sweep(args.config)
    changes = {k: v for k, v in (("kind", args.cluster), ("n_workers", args.workers)) if v is not None}
    if changes:
        opts = sweep.options
        sweep = dataclasses.replace(sweep, options=dataclasses.replace(
            opts, cluster=dataclasses.replace(opts.cluster, **changes)))
    out = Path(args.out)
    rows = sweep_rows(sweep, out) if args.report_only else run_sweep(sweep, out, scheduler=args.scheduler)
    summary = write_pareto_report(rows, sweep.varied_columns(), out / "report")
    failed = len(rows) - summary["n_ok"]
    print(f"{summary['n_ok']} points finished, {failed} failed; table {out / 'results.csv'}, "
          f"report {out / 'report' / 'pareto.md'}")
    if failed:
        from codesign.errors import VerificationError

        raise VerificationError(f"{failed} of {len(rows)} sweep points failed (their errors: "
                                f"{out}/points/*/error.json); rerun the same command to retry them")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = _add(sub, "sweep", _cmd_sweep, "design-space sweep on Dask (train, evaluate, RTL, synthesis per point)",
             "Expand the sweep YAML's grid over an autoencoder spec; run every point (train -> exact-EMD "
             "evaluation on held-out real wafers -> RTL -> Yosys ASIC and FPGA synthesis) as one Dask task; "
             "write results.csv and a Pareto report (mean EMD vs area and LUTs, baselines as lines). Rerun "
             "the same command after an interruption: finished points are skipped, failed ones retried.")
    p.add_argument("--config", required=True, help="sweep YAML, e.g. sweeps/bits12.yaml")
    add_out(p, "sweep folder (points, results.csv, report/)")
    p.add_argument("--scheduler", help="tcp://HOST:PORT of a running `dask scheduler` (default: start a cluster)")
    p.add_argument("--cluster", choices=["local", "htcondor", "slurm"], help="override cluster.kind of the YAML")
    p.add_argument("--workers", type=int_in(1), help="override cluster.n_workers (local cluster)")
    p.add_argument("--report-only", action="store_true", help="rewrite the report from the points on disk")
