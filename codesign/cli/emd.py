"""`codesign emd ...`: exact and learned EMD."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in
from codesign.cli.common import with_overrides as _with_overrides
from codesign.paths import MODELS_DIR


def _write_emd_column(path: str, emd: np.ndarray, kind: str) -> None:
    """The row-wise EMD contract shared by `emd exact` and `emd predict`: header 'emd', one value per line."""
    from codesign.artifacts import atomic_path

    with atomic_path(path) as tmp:
        np.savetxt(tmp, emd, fmt="%.6f", header="emd", comments="")
    print(f"wrote {len(emd)} {kind} EMDs to {path} (mean {emd.mean():.4f})")


def _cmd_emd_exact(args: argparse.Namespace) -> None:
    from codesign.emd.exact import exact_emd_files

    result = exact_emd_files(args.a, args.b, args.out, n_jobs=args.jobs, progress=True)
    print(f"wrote {result.n} exact EMDs to {result.path} (mean {result.mean:.4f})")


def _cmd_emd_labels(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq
    from codesign.emd.labels import KINDS, cached_pair_labels

    calq = np.concatenate([read_calq(f) for f in args.data])
    if args.shard_size:
        return _sharded_labels(args, calq)
    labels = cached_pair_labels(args.out, calq, args.n_random, n_perturbed=args.n_perturbed, seed=args.seed,
                                n_jobs=args.jobs, progress=True)
    for k, kind in enumerate(KINDS):
        emd = labels.emd[labels.kind == k]
        if len(emd):
            q = np.percentile(emd, [5, 50, 95])
            print(f"{kind:>9}: {len(emd)} pairs, EMD 5/50/95 % = {q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}")
    print(f"labels in {args.out}")


def _sharded_labels(args: argparse.Namespace, calq: np.ndarray) -> None:
    from codesign.emd.sharded import sharded_pair_labels
    from codesign.sweep.engine import open_client
    from codesign.sweep.spec import ClusterSpec

    with open_client(ClusterSpec(n_workers=args.jobs or 0), args.scheduler) as client:
        r = sharded_pair_labels(client, calq, args.n_random, n_perturbed=args.n_perturbed, seed=args.seed,
                                out_dir=args.out,
                                shard_size=args.shard_size)
    print(f"{r['pairs']} pairs in {r['shards']} shards on {r['workers']} Dask workers: {r['computed_pairs']} "
          f"computed in {r['wall_s']:.1f} s ({r['pairs_per_s']:.0f} pairs/s); index {r['index']}")


def _cmd_emd_train(args: argparse.Namespace) -> None:
    from codesign.emd.training import history_summary, load_spec, train_learned_emd

    spec = _with_overrides(load_spec(args.config), args)
    train_learned_emd(spec, args.out)
    print(f"trained learned EMD ({spec.model.architecture}) in {args.out}: {history_summary(args.out)}")


def _cmd_emd_eval(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq
    from codesign.emd.report import evaluate, evaluation_sets, write_report
    from codesign.emd.training import load_learned_emd

    model, spec = load_learned_emd(args.model)
    sets = [s for f in args.data for s in evaluation_sets(Path(f).stem, read_calq(f), spec.training.split,
                                                           seed=spec.training.seed, n_pairs=args.pairs)]
    results, preds = evaluate(model, sets)
    write_report(args.out, sets, results, preds=preds)
    print((Path(args.out) / "report.md").read_text())


def _cmd_emd_predict(args: argparse.Namespace) -> None:
    from codesign.data.io import load_wafers
    from codesign.emd.learned import predict_emd
    from codesign.emd.training import load_learned_emd

    model, _ = load_learned_emd(args.model)
    a, b = load_wafers(args.a, drop_zero=False).calq, load_wafers(args.b, drop_zero=False).calq
    _write_emd_column(args.out, predict_emd(model, a, b), "learned")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    emd = sub.add_parser("emd", help="Earth Mover's Distance between wafers",
                         description="Exact optimal-transport EMD between wafers and EMD pair labels.")
    esub = emd.add_subparsers(dest="emd_command", required=True, metavar="COMMAND")
    p = _add(esub, "exact", _cmd_emd_exact, "exact EMD of row i of A against row i of B",
             "Exact EMD (POT) between row i of A and row i of B; writes one EMD per line under a header "
             "'emd'. Wafers are normalised to unit sum; a zero-sum row is an error.")
    p.add_argument("--a", required=True, help="wafer file A")
    p.add_argument("--b", required=True, help="wafer file B (same number of rows)")
    add_out(p, "output CSV", folder=False)
    p.add_argument("--jobs", type=int_in(1), default=None, help="worker processes (default: all cores)")
    p = _add(esub, "labels", _cmd_emd_labels, "generate exact-EMD pair labels (HDF5) for the EMD-CNN",
             "Draw random pairs and wafer-vs-degraded pairs from the given wafers, label them with the "
             "exact EMD and cache them in HDF5 (reused when wafers and settings are unchanged).")
    p.add_argument("--data", nargs="+", required=True, help="wafer files to draw from")
    p.add_argument("--n-random", type=int_in(1), default=10000, help="random pairs")
    p.add_argument("--n-perturbed", type=int_in(1), default=10000, help="wafer vs degraded wafer pairs")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the pairs")
    add_out(p, "output .h5 (a folder of shards with --shard-size)", folder=None)
    p.add_argument("--jobs", type=int_in(1), default=None, help="worker processes (default: all cores)")
    p.add_argument("--shard-size", type=int_in(0), default=0,
                   help="run on Dask in shards of this many pairs (HDF5 shards + virtual index labels.h5 in --out)")
    p.add_argument("--scheduler", help="with --shard-size: tcp://HOST:PORT of a running Dask scheduler "
                   "(default: a local cluster of --jobs workers)")
    p = _add(esub, "train", _cmd_emd_train, "train the learned EMD (EMD-CNN) from a YAML config",
             "Split every source by wafer, label pairs with the exact EMD (cached), fit with early stopping; "
             "rerun the same command to resume an interrupted fit.")
    p.add_argument("--config", default=str(MODELS_DIR / "emd_cnn.yaml"), help="LearnedEmdSpec YAML")
    add_out(p, "model folder")
    p.add_argument("--epochs", type=int_in(1), help="override training.epochs")
    p.add_argument("--seed", type=int_in(0), help="override training.seed (splits, pairs, initial weights)")
    p = _add(esub, "eval", _cmd_emd_eval, "evaluate a learned EMD against the exact EMD",
             "On the held-out test split of each file: random pairs, wafer-vs-degraded pairs with true EMD < "
             "1.5, identical pairs; bias, std of relative error, MAE, Pearson r, binned; report.md/json, PNG.")
    p.add_argument("--model", required=True, help="learned-EMD model folder")
    p.add_argument("--data", nargs="+", required=True, help="wafer files")
    p.add_argument("--pairs", type=int_in(1), default=3000, help="pairs per set")
    add_out(p, "report folder")
    p = _add(esub, "predict", _cmd_emd_predict, "learned EMD of row i of A against row i of B",
             "Same row-wise contract as `codesign emd exact`: header 'emd', one value per line.")
    p.add_argument("--model", required=True, help="learned-EMD model folder")
    p.add_argument("--a", required=True, help="wafer file A")
    p.add_argument("--b", required=True, help="wafer file B (same number of rows)")
    add_out(p, "output CSV", folder=False)
