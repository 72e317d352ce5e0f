"""Design-space sweeps on Dask: ``spec`` (YAML -> points), ``point`` (one task: train -> evaluate -> RTL ->
synthesis), ``engine`` (cluster, resumable submission, results table), ``pareto`` (reports)."""

from codesign.sweep.engine import open_client, run_sweep
from codesign.sweep.pareto import write_pareto_report
from codesign.sweep.spec import load_sweep

__all__ = ["load_sweep", "open_client", "run_sweep", "write_pareto_report"]
