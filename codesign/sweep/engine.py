"""Running a sweep on Dask: one task per point, the same code path on a local cluster, an existing scheduler
or batch jobs (HTCondor, Slurm through dask-jobqueue).

``run_sweep(sweep, out)`` writes
    out/sweep.yaml            the sweep as loaded (grid + options)
    out/points/ID/...         each point's model, evaluation, RTL and synthesis reports; result.json when done
    out/results.csv           one row per point (config columns + metrics), rewritten after every point
    out/report/               Pareto front (``codesign.sweep.pareto``)
Finished points (``result.json``) are skipped when the sweep is run again; failed ones are retried.
Workers must see ``out`` and the project (a shared filesystem on a batch cluster).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from codesign.artifacts import write_text
from codesign.progress import bar as progress_bar
from codesign.sweep.pareto import near_front
from codesign.sweep.point import ERROR, RESULT, run_point
from codesign.sweep.spec import ClusterSpec, Point, Sweep


def _jobqueue_cluster(spec: ClusterSpec) -> Any:
    """A dask-jobqueue cluster, one worker process per job. Slurm takes ``job_extra_directives`` as sbatch
    options; HTCondor as ``Key = Value`` submit-file lines (walltime becomes ``+MaxRuntime``)."""
    from dask_jobqueue.htcondor import HTCondorCluster
    from dask_jobqueue.slurm import SLURMCluster

    common: dict[str, Any] = dict(cores=spec.cores, processes=1, memory=spec.memory)
    if spec.kind == "htcondor":
        extra = dict(line.split("=", 1) for line in spec.job_extra_directives)
        h, m, sec = (int(x) for x in spec.walltime.split(":"))
        extra = {k.strip(): v.strip() for k, v in extra.items()} | {"+MaxRuntime": str(3600 * h + 60 * m + sec)}
        return HTCondorCluster(disk=spec.disk, job_extra_directives=extra, **common)
    return SLURMCluster(queue=spec.queue, walltime=spec.walltime,
                        job_extra_directives=list(spec.job_extra_directives), **common)


def make_cluster(spec: ClusterSpec) -> Any:
    """A Dask cluster object for ``spec`` (not yet connected to)."""
    import dask
    from distributed import LocalCluster

    # Daemonic worker processes may not start process pools of their own (exact_emd with n_jobs > 1).
    dask.config.set({"distributed.worker.daemon": False})
    if spec.kind == "local":
        n = spec.n_workers or max(1, (os.cpu_count() or 1) // spec.threads_per_worker)
        return LocalCluster(n_workers=n, threads_per_worker=spec.threads_per_worker, processes=True,
                            dashboard_address=":0")
    cluster = _jobqueue_cluster(spec)
    cluster.scale(jobs=spec.jobs)
    return cluster


@contextlib.contextmanager
def open_client(spec: ClusterSpec, scheduler: str | None = None) -> Iterator[Any]:
    """A connected ``distributed.Client``: to ``scheduler`` (tcp://host:port) if given, else to a cluster
    started from ``spec`` and shut down on exit."""
    from distributed import Client

    if scheduler:
        with Client(scheduler) as client:
            yield client
        return
    with make_cluster(spec) as cluster, Client(cluster) as client:
        yield client


def point_rows(points_dir: Path) -> list[dict[str, Any]]:
    """Result rows found on disk: finished points, then failed ones (their error record)."""
    rows = []
    for folder in sorted(p for p in points_dir.glob("p*") if p.is_dir()):
        for name in (RESULT, ERROR):
            if (folder / name).is_file():
                row = json.loads((folder / name).read_text())
                row.pop("traceback", None)
                rows.append(row)
                break
    return rows


def write_table(rows: list[dict[str, Any]], path: Path) -> None:
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in row.items()})
    write_text(path, buffer.getvalue())


ESTIMATE = "da4ml_luts"  # the cost a "synthesis: front" sweep ranks points by before synthesising them


def _run_points(sweep: Sweep, out: Path, points: list[Point], stages: tuple[str, ...], scheduler: str | None,
                bar: Any, previous: dict[str, dict[str, Any]] | None = None) -> None:
    """Submit ``stages`` of ``points`` (continuing ``previous`` rows) and tick ``bar`` as each finishes."""
    if not points:
        return
    from distributed import as_completed

    opts, points_dir = sweep.options, (out / "points").resolve()
    run = uuid.uuid4().hex[:8]  # task keys unique per run, as a shared scheduler may remember old ones
    with open_client(opts.cluster, scheduler) as client:
        futures = [client.submit(run_point, p, str(points_dir), stages, evaluation=opts.evaluation,
                                 synth_module=opts.synth_module, threads=opts.cluster.threads_per_worker,
                                 variants=opts.variants,
                                 previous=(previous or {}).get(p.id), key=f"point-{p.id}-{run}", pure=False)
                   for p in points]
        for future in as_completed(futures):
            row = future.result()
            bar.set_postfix_str(f"{row['id']} {row['status']}")
            bar.update(1)
            sweep_rows(sweep, out)


def sweep_rows(sweep: Sweep, out_dir: str | Path) -> list[dict[str, Any]]:
    """The rows of this sweep's points found in ``out_dir`` (points of an earlier spec in the same folder
    are left out), written to ``out_dir/results.csv``."""
    out = Path(out_dir)
    wanted = {p.id for p in sweep.points()}
    rows = [r for r in point_rows(out / "points") if r["id"] in wanted]
    write_table(rows, out / "results.csv")
    return rows


def run_sweep(sweep: Sweep, out_dir: str | Path, scheduler: str | None = None,
              *, progress: bool = True) -> list[dict[str, Any]]:
    """Run every unfinished point of ``sweep`` on Dask; return all rows (this run's and earlier ones'). With
    ``synthesis: front`` the synthesis stages run afterwards on the points near the front of mean EMD vs
    da4ml's LUT estimate only (a restarted sweep finds the same ones)."""
    out = Path(out_dir)
    points_dir = out / "points"
    points = sweep.points()
    write_text(out / "sweep.yaml", yaml.safe_dump(
        {"source": sweep.source, "grid": sweep.grid, "points": {p.id: p.overrides for p in points}},
        sort_keys=False))
    pending = [p for p in points if not (points_dir / p.id / RESULT).is_file()]
    opts = sweep.options
    bar = progress_bar(len(points), "sweep", "point", initial=len(points) - len(pending), shown=progress)
    with bar:
        _run_points(sweep, out, pending, opts.first_stages, scheduler, bar)
        if opts.synthesis == "front" and opts.hardware_stages:
            rows = {r["id"]: r for r in sweep_rows(sweep, out) if r.get("status") == "ok"}
            chosen = {r["id"] for r in near_front(list(rows.values()), ESTIMATE, opts.front_margin)}
            todo = [p for p in points if p.id in chosen and not rows[p.id].get("synthesized")]
            bar.reset(total=len(todo))
            bar.set_description(f"synthesis of {len(todo)} points near the front")
            _run_points(sweep, out, todo, opts.hardware_stages, scheduler, bar, previous=rows)
    return sweep_rows(sweep, out)
