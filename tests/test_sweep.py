"""Design-space sweeps: YAML checks, point expansion, Pareto fronts, failed points, and (slow) the CI sweep on
a local Dask cluster killed halfway and restarted."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from codesign.config import ConfigError
from codesign.sweep.pareto import near_front, pareto_front, write_pareto_report
from codesign.sweep.point import ERROR, RESULT, run_point
from codesign.sweep.spec import EvaluationSpec, load_sweep, point_id

ROOT = Path(__file__).resolve().parents[1]
CI_SWEEP = ROOT / "sweeps" / "ci_tiny.yaml"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "sweep.yaml"
    path.write_text(f"name: t\nbase: models/econt_sweep_base.yaml\n{text}")
    return path


def test_grid_expands_to_the_product_with_stable_ids(tmp_path):
    sweep = load_sweep(ROOT / "sweeps" / "bits12.yaml")
    points = sweep.points()
    assert len(points) == 12 and len({p.id for p in points}) == 12
    assert sweep.varied_columns() == ["encoder.input_frac_bits", "encoder.weight_bits", "encoder.weight_frac_bits",
                                      "encoder.elinks"]
    p = next(p for p in points if p.overrides["encoder"]["weight_bits"] == 4)
    assert p.spec["encoder"]["weight_frac_bits"] == 3 and p.spec["decoder"]["dense_units"] == 512
    # the id depends on the point's full spec (and stages), not on the grid around it
    small = load_sweep(_write(tmp_path, "grid: {encoder.elinks: [3, 4], encoder.input_frac_bits: [7]}\n")).points()
    same = next(q for q in points if q.spec == small[0].spec)
    assert small[0].id == same.id == point_id(small[0].spec)
    other_base = load_sweep(_write(tmp_path, "grid: {encoder.elinks: [3], training.epochs: [1]}\n")).points()
    assert other_base[0].id != small[0].id


def test_random_sample_is_seeded(tmp_path):
    text = "sample: 3\nseed: {seed}\ngrid: {{encoder.elinks: [2, 3, 4, 5], encoder.input_frac_bits: [5, 6, 7]}}\n"
    ids = [[p.id for p in load_sweep(_write(tmp_path, text.format(seed=s))).points()] for s in (1, 1, 2)]
    assert len(ids[0]) == 3 and ids[0] == ids[1] and ids[0] != ids[2]


def test_a_sample_of_a_huge_grid_is_the_same_points_without_building_it(tmp_path):
    """The sampled points are those of itertools.product order (the ids before this change), and a sampled grid
    of 10^8 points loads at once."""
    import itertools

    grid = {"encoder.elinks": [2, 3, 4, 5], "encoder.input_frac_bits": [5, 6, 7]}
    sweep = load_sweep(_write(tmp_path, f"sample: 5\nseed: 3\ngrid: {grid}\n"))
    combos = [dict(zip(grid, v, strict=True)) for v in itertools.product(*grid.values())]
    pick = sorted(np.random.default_rng(3).choice(len(combos), 5, replace=False))
    assert [p.overrides for p in sweep.points()] == [combos[i] for i in pick]
    values = "[" + ", ".join(str(v) for v in range(1, 101)) + "]"
    big = load_sweep(_write(tmp_path, f"sample: 4\ngrid: {{training.epochs: {values}, training.seed: {values}, "
                                      f"training.patience: {values}, training.batch_size: {values}}}\n"))
    assert big.grid_size == 10**8 and len(big.points()) == 4


@pytest.mark.parametrize(("text", "message"), [
    ("grid: {encoder.weight_bitz: [4]}\n", "no field 'weight_bitz'"),
    ("grid: {encoderx.elinks: [4]}\n", "'encoderx' is not a section"),
    ("grid: {encoder.elinks: 4}\n", "grid.encoder.elinks: expected a non-empty list"),
    ("grid: {encoder: [{weight_bitz: 4}]}\n", "no field 'weight_bitz'"),
    ("stages: [train, rtl]\ngrid: {encoder.elinks: [4]}\n", "stages must be a prefix"),
    ("cluster: {kind: pbs}\ngrid: {encoder.elinks: [4]}\n", "cluster.kind"),
    ("", "grid: expected a mapping"),
    # issue 33, item 10: all but 5 wafers were evaluated; a missing file was found after every point trained;
    # a million-point grid took GBs before any work
    ("evaluation: {n_wafers: -5}\ngrid: {encoder.elinks: [4]}\n", "n_wafers must be >= 0"),
    ("evaluation: {data: no_such.csv}\ngrid: {encoder.elinks: [4]}\n", "evaluation.data: no_such.csv: no such file"),
    ("grid: {encoder.elinks: [2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5], training.epochs: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], "
     "training.seed: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], training.batch_size: [8, 16, 32, 64, 128, 256, 512, 1024, 4, 2]"
     "}\n", "grid: 11,000 points; a sweep runs at most"),
    ("variants: [fixed]\ngrid: {encoder.elinks: [4]}\n", "variants lists reconfigurable designs"),
    ("variants: [reconfig_r1]\ngrid: {encoder.elinks: [4]}\n", "unknown design variant 'reconfig_r1'"),
])
def test_bad_sweep_files_name_the_key(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as err:
        load_sweep(path)
    assert str(path) in str(err.value)


def test_pareto_front_keeps_non_dominated_points(tmp_path):
    rows = [{"id": "a", "status": "ok", "x": 1, "mean_emd": 1.0, "median_emd": 0.9, "area_mm2": 0.1, "luts": 10,
             "baseline:best_choice_9": 0.55},
            {"id": "b", "status": "ok", "x": 2, "mean_emd": 0.8, "median_emd": 0.7, "area_mm2": 0.2, "luts": 5,
             "baseline:best_choice_9": 0.55},
            {"id": "c", "status": "ok", "x": 3, "mean_emd": 0.9, "median_emd": 0.8, "area_mm2": 0.3, "luts": 30},
            {"id": "d", "status": "failed", "x": 4, "error": "train: boom | x"}]
    assert [r["id"] for r in pareto_front(rows, "area_mm2")] == ["a", "b"]
    assert [r["id"] for r in pareto_front(rows, "luts")] == ["b"]
    summary = write_pareto_report(rows, ["x"], tmp_path)
    assert summary["fronts"] == {"area_mm2": ["a", "b"], "luts": ["b"]}
    assert summary["baselines"] == {"best_choice_9": 0.55}
    text = (tmp_path / "pareto.md").read_text()
    assert "3 of 4 points finished" in text and "| d | train: boom \\| x |" in text  # one cell, bar escaped
    assert (tmp_path / "pareto_area_mm2.png").stat().st_size > 1000 and (tmp_path / "pareto.html").is_file()
    # a design variant's columns get a front of their own
    for r, area in zip(rows[:3], (0.9, 0.5, 0.7), strict=True):
        r["area_mm2:reconfig_tmr_r4"] = area
    summary = write_pareto_report(rows, ["x"], tmp_path)
    assert summary["fronts"]["area_mm2:reconfig_tmr_r4"] == ["b"]
    assert "ASIC area of reconfig_tmr_r4 (mm2" in (tmp_path / "pareto.md").read_text()
    assert (tmp_path / "pareto_area_mm2_reconfig_tmr_r4.png").is_file()


def test_design_variants_are_part_of_a_points_identity(tmp_path):
    grid = "grid: {encoder.elinks: [4]}\n"
    plain = load_sweep(_write(tmp_path, grid)).points()[0]
    with_r4 = load_sweep(_write(tmp_path, "variants: [reconfig_tmr_r4]\n" + grid)).points()[0]
    assert plain.spec == with_r4.spec and plain.id != with_r4.id and plain.id == point_id(plain.spec)


@pytest.mark.slow
@pytest.mark.realdata
def test_a_point_synthesises_its_reconfigurable_variant(tmp_path, real_dir):
    """issue 18: the reuse factor as a sweep dimension: a point's reconfigurable design with R = 2 is
    synthesised beside its fixed core, from the same trained shape, into columns of its own."""
    text = ("stages: [train, evaluate, rtl, asic]\nvariants: [reconfig_r2]\nevaluation: {n_wafers: 50}\n"
            "grid:\n  encoder.conv_filters: [1]\n  encoder.elinks: [3]\n"
            "  training: [{sources: [highpu_dev.csv], epochs: 1, decoder_epochs: 0}]\n")
    sweep = load_sweep(_write(tmp_path, text))
    point = sweep.points()[0]
    row = run_point(point, tmp_path / "points", sweep.options.stages, evaluation=sweep.options.evaluation,
                    variants=sweep.options.variants)
    assert row["status"] == "ok", row.get("error")
    assert row["gate_equivalents"] > 0 and row["gate_equivalents:reconfig_r2"] > row["gate_equivalents"]
    assert (tmp_path / "points" / point.id / "variants" / "reconfig_r2" / "rtl.json").is_file()


def test_a_bad_point_is_recorded_not_raised(tmp_path):
    text = "grid: {encoder: [{weight_bits: 4, weight_frac_bits: 4}]}\n"
    point = load_sweep(_write(tmp_path, text)).points()[0]
    row = run_point(point, tmp_path / "points", ("train",), evaluation=EvaluationSpec())
    assert row["status"] == "failed" and "weight_frac_bits must be in [0, weight_bits)" in row["error"]
    folder = tmp_path / "points" / point.id
    assert (folder / ERROR).is_file() and not (folder / RESULT).exists()
    assert "Traceback" in json.loads((folder / ERROR).read_text())["traceback"]


def _sweep_cmd(config: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "codesign.cli", "sweep", "--config", str(config), "--out", str(out)]


def _finished(out: Path) -> dict[str, float]:
    return {p.parent.name: p.stat().st_mtime for p in (out / "points").glob(f"*/{RESULT}")}


@pytest.mark.slow
@pytest.mark.realdata
def test_ci_sweep_survives_a_kill_and_reports(tmp_path, real_dir):
    """The CI sweep on a 2-worker local cluster: killed once two points are done, restarted: no finished point
    is redone, none is lost; both worker processes ran points; the Pareto report is written. Without its
    synthesis stages (six sevenths of each point's time): the front sweep below runs both inside a sweep."""
    out = tmp_path / "sweep"
    text = CI_SWEEP.read_text()
    all_stages = "stages: [train, evaluate, rtl, asic, fpga]\n"
    assert all_stages in text
    config = tmp_path / "ci_tiny.yaml"
    config.write_text(text.replace(all_stages, "stages: [train, evaluate, rtl]\n"))
    first = subprocess.Popen(_sweep_cmd(config, out), cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while len(_finished(out)) < 2 and first.poll() is None and time.time() < deadline:
        time.sleep(1)
    os.killpg(first.pid, signal.SIGKILL)  # the sweep, its scheduler and its workers
    first.wait()
    before = _finished(out)
    assert 2 <= len(before) < 4, "the kill should land halfway"
    done = subprocess.run(_sweep_cmd(config, out), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    after = _finished(out)
    assert len(after) == 4
    assert all(after[k] == t for k, t in before.items()), "a finished point was run again"
    rows = [json.loads((out / "points" / k / RESULT).read_text()) for k in after]
    assert all(r["status"] == "ok" and r["mean_emd"] < r["baseline:uniform"] for r in rows)
    assert all(r["latency_cycles"] > 0 and r["da4ml_luts"] > 0 and "gate_equivalents" not in r for r in rows)
    restarted = [r for r in rows if r["id"] not in before]
    assert len({r["worker"] for r in restarted}) == 2, "tasks should run in both worker processes"
    table = (out / "results.csv").read_text().splitlines()
    assert len(table) == 5 and table[0].startswith("id,status,")
    assert "4 of 4 points finished" in (out / "report" / "pareto.md").read_text()


@pytest.mark.slow
@pytest.mark.realdata
def test_sweep_runs_on_a_separately_started_scheduler(tmp_path, real_dir):
    """`dask scheduler` + two `dask worker` processes started outside; the sweep connects with --scheduler."""
    from codesign.sweep.engine import run_sweep

    dask = str(Path(sys.executable).with_name("dask"))
    address_file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([dask, "scheduler", "--no-dashboard", "--port", "0", "--scheduler-file",
                               str(address_file)], cwd=tmp_path, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not address_file.is_file() and time.time() < deadline:
            time.sleep(0.2)
        procs += [subprocess.Popen([dask, "worker", "--nworkers", "1", "--nthreads", "1", "--no-dashboard",
                                    "--scheduler-file", str(address_file)], cwd=ROOT, stderr=subprocess.DEVNULL)
                  for _ in range(2)]
        sweep = load_sweep(_write(tmp_path, (
            "stages: [train, evaluate]\nevaluation: {n_wafers: 100}\n"
            "grid:\n  encoder.elinks: [3, 5]\n  encoder.conv_filters: [2]\n"
            "  training: [{sources: [highpu_dev.csv], epochs: 1}]\n")))
        from distributed import Client

        with Client(scheduler_file=str(address_file)) as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
        rows = run_sweep(sweep, tmp_path / "out", scheduler=address, progress=False)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    assert all(0 < r["mean_emd"] < 4 for r in rows)
    assert len({r["worker"] for r in rows}) == 2


@pytest.mark.parametrize(("kind", "directive"), [("slurm", "#SBATCH"), ("htcondor", "RequestCpus")])
def test_batch_clusters_get_the_sweep_resources(kind, directive):
    """HTCondor and Slurm go through dask-jobqueue with the YAML's resources (job script only: no batch
    system here to submit to)."""
    from codesign.sweep.engine import _jobqueue_cluster
    from codesign.sweep.spec import ClusterSpec

    spec = ClusterSpec(kind=kind, cores=4, memory="16GB", walltime="02:00:00", queue="short" if kind == "slurm"
                       else None, job_extra_directives=("--exclusive",) if kind == "slurm" else ("+Site = cern",))
    with _jobqueue_cluster(spec) as cluster:
        script = cluster.job_script()
    assert directive in script and "distributed.cli.dask_worker" in script
    if kind == "slurm":
        assert "#SBATCH -p short" in script and "#SBATCH --cpus-per-task=4" in script
        assert "#SBATCH -t 02:00:00" in script and "#SBATCH --exclusive" in script
    else:
        assert "RequestCpus = MY.DaskWorkerCores" in script and "DaskWorkerCores = 4" in script
        assert "+MaxRuntime = 7200" in script and "+Site = cern" in script


def test_rows_of_an_older_spec_in_the_same_folder_are_left_out(tmp_path):
    from codesign.sweep.engine import sweep_rows

    sweep = load_sweep(_write(tmp_path, "grid: {encoder.elinks: [3]}\n"))
    current = sweep.points()[0].id
    for pid in (current, "p0000000000"):  # the second: a point of an earlier base spec
        folder = tmp_path / "out" / "points" / pid
        folder.mkdir(parents=True)
        (folder / RESULT).write_text(json.dumps({"id": pid, "status": "ok"}))
    assert [r["id"] for r in sweep_rows(sweep, tmp_path / "out")] == [current]
    assert (tmp_path / "out" / "results.csv").read_text().splitlines() == ["id,status", f"{current},ok"]


def test_near_front_keeps_points_within_the_margin():
    rows = [{"id": "a", "c": 10, "mean_emd": 1.0}, {"id": "b", "c": 20, "mean_emd": 0.5},
            {"id": "c", "c": 10.4, "mean_emd": 1.02}, {"id": "d", "c": 30, "mean_emd": 0.9},
            {"id": "e", "c": None, "mean_emd": 0.1}]
    assert [r["id"] for r in near_front(rows, "c", 0.0)] == ["a", "b"]
    assert [r["id"] for r in near_front(rows, "c", 0.05)] == ["a", "b", "c"]  # d is beaten by b by far
    assert [r["id"] for r in near_front(rows, "c", 0.0)] == [r["id"] for r in pareto_front(rows, "c")]


@pytest.mark.slow
@pytest.mark.realdata
def test_front_sweep_synthesises_only_points_near_the_estimated_front(tmp_path, real_dir):
    """issue 18 item 5: every point trains, evaluates and gets RTL (da4ml's LUT estimate); Yosys (ASIC and
    FPGA) runs only on the points near the front of mean EMD vs that estimate; a rerun redoes nothing."""
    from codesign.sweep.engine import run_sweep

    sweep = load_sweep(_write(tmp_path, (
        "stages: [train, evaluate, rtl, asic, fpga]\nsynthesis: front\nfront_margin: 0.0\nevaluation: {n_wafers: 100}\n"
        "cluster: {kind: local, n_workers: 2}\n"
        "grid:\n  encoder.elinks: [3, 5]\n  encoder.conv_filters: [1, 2]\n"
        "  training: [{sources: [highpu_dev.csv], epochs: 1}]\n")))
    rows = {r["id"]: r for r in run_sweep(sweep, tmp_path / "out", progress=False)}
    assert len(rows) == 4 and all(r["status"] == "ok" and r["da4ml_luts"] > 0 for r in rows.values())
    front = {r["id"] for r in near_front(list(rows.values()), "da4ml_luts", 0.0)}
    assert {k for k, r in rows.items() if r["synthesized"]} == front and len(front) < 4
    assert all((r.get("gate_equivalents") or 0) > 0 and (r.get("luts") or 0) > 0 for k, r in rows.items()
               if k in front)
    assert all("gate_equivalents" not in r and "luts" not in r for k, r in rows.items() if k not in front)
    stamps = {p: p.stat().st_mtime for p in (tmp_path / "out" / "points").glob(f"*/{RESULT}")}
    run_sweep(sweep, tmp_path / "out", progress=False)
    assert stamps == {p: p.stat().st_mtime for p in (tmp_path / "out" / "points").glob(f"*/{RESULT}")}
