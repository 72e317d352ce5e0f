"""Summary statistics of wafer sets and the synthetic-vs-real comparison (JSON + plot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import ks_2samp

from codesign.artifacts import write_json
from codesign.data.io import WaferFileError, iter_wafers
from codesign.plots import figure


def wafer_stats(calq: np.ndarray, n_dropped_zero: int = 0) -> dict[str, Any]:
    """The headline numbers of a wafer set (all-zero wafers already removed)."""
    return _headline(calq.sum(axis=1), (calq > 0).sum(axis=1), n_dropped_zero)


def file_stats(path: str | Path) -> dict[str, Any]:
    """``wafer_stats`` of a wafer file read chunk by chunk (all-zero wafers dropped and counted): memory is
    two numbers per wafer, whatever the file's size."""
    sums, occupancy, dropped = [], [], 0
    for chunk in iter_wafers(path):
        keep = chunk.any(axis=1)
        dropped += int(np.count_nonzero(~keep))
        sums.append(chunk[keep].sum(axis=1))
        occupancy.append((chunk[keep] > 0).sum(axis=1))
    if not sum(len(s) for s in sums):
        raise WaferFileError(f"{path}: all {dropped} wafers are all-zero: no charge to normalise or compare")
    return _headline(np.concatenate(sums), np.concatenate(occupancy), dropped)


def _headline(sums: np.ndarray, occupancy: np.ndarray, n_dropped_zero: int) -> dict[str, Any]:
    return {
        "n_wafers": int(len(sums)),
        "n_dropped_zero": int(n_dropped_zero),
        "mean_occupancy": float(occupancy.mean()),
        "median_sum": float(np.median(sums)),
        "p99_sum": float(np.percentile(sums, 99)),
    }


def _observables(calq: np.ndarray) -> dict[str, np.ndarray]:
    sums = calq.sum(axis=1)
    return {
        "occupancy": (calq > 0).sum(axis=1),
        "wafer_sum": sums,
        "cell_charge": calq[calq > 0],
        "leading_cell_fraction": calq.max(axis=1) / sums,
    }


def compare_wafer_sets(synth: np.ndarray, real: np.ndarray) -> dict[str, Any]:
    """Means, medians and two-sample KS statistics of each observable, plus relative differences."""
    obs_s, obs_r = _observables(synth), _observables(real)
    out: dict[str, Any] = {"n_synth": int(len(synth)), "n_real": int(len(real))}
    for name in obs_s:
        s, r = obs_s[name], obs_r[name]
        ks = ks_2samp(s, r)
        out[name] = {
            "synth_mean": float(s.mean()),
            "real_mean": float(r.mean()),
            "synth_median": float(np.median(s)),
            "real_median": float(np.median(r)),
            "rel_diff_mean": float(s.mean() / r.mean() - 1),
            "rel_diff_median": float(np.median(s) / np.median(r) - 1),
            "ks_statistic": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
        }
    per_tc_s, per_tc_r = synth.mean(axis=0), real.mean(axis=0)
    out["per_tc_mean_charge"] = {
        "synth": per_tc_s.round(3).tolist(),
        "real": per_tc_r.round(3).tolist(),
        "max_rel_diff": float(np.max(np.abs(per_tc_s / per_tc_r - 1))),
    }
    return out


def _integer_log_bins(top: float, n: int = 50) -> np.ndarray:
    """Log-spaced bin edges on half-integers, so no bin is empty for lack of an integer inside it."""
    return np.unique(np.round(np.logspace(0, np.log10(top + 1), n))) - 0.5


def plot_comparison(synth: np.ndarray, real: np.ndarray, path: str | Path, *, labels: tuple[str, str]) -> None:
    """Occupancy, wafer-sum and cell-charge distributions and per-TC mean charge, synth vs real."""
    obs_s, obs_r = _observables(synth), _observables(real)
    with figure(path, nrows=2, ncols=2, figsize=(11, 8)) as (fig, axes):
        fig.suptitle(f"{labels[0]} ({len(synth)} wafers) vs {labels[1]} ({len(real)} wafers)")
        occ_bins = np.arange(-0.5, 49.5, 1)
        axes[0, 0].hist([obs_s["occupancy"], obs_r["occupancy"]], bins=occ_bins, density=True, histtype="step",
                        label=labels)
        axes[0, 0].set(xlabel="TCs > 0 per wafer", ylabel="fraction of wafers", title="Occupancy")
        sum_bins = _integer_log_bins(max(obs_s["wafer_sum"].max(), obs_r["wafer_sum"].max()))
        axes[0, 1].hist([obs_s["wafer_sum"], obs_r["wafer_sum"]], bins=sum_bins, density=True, histtype="step",
                        label=labels)
        axes[0, 1].set(xscale="log", xlabel="wafer sum [CALQ counts]", ylabel="fraction of wafers per count",
                       title="Wafer sum")
        cell_bins = _integer_log_bins(max(obs_s["cell_charge"].max(), obs_r["cell_charge"].max()))
        axes[1, 0].hist([obs_s["cell_charge"], obs_r["cell_charge"]], bins=cell_bins, density=True,
                        histtype="step", label=labels)
        axes[1, 0].set(xscale="log", yscale="log", xlabel="TC charge > 0 [CALQ counts]",
                       ylabel="fraction of cells per count", title="Cell charge")
        tcs = np.arange(synth.shape[1])
        axes[1, 1].plot(tcs, synth.mean(axis=0), "o-", ms=3, label=labels[0])
        axes[1, 1].plot(tcs, real.mean(axis=0), "s-", ms=3, label=labels[1])
        axes[1, 1].set(xlabel="TC index", ylabel="mean charge [CALQ counts]", title="Per-TC mean charge")
        for ax in axes.ravel():
            ax.legend()


def write_comparison(synth: np.ndarray, real: np.ndarray, out_dir: str | Path,
                     *, labels: tuple[str, str] = ("synthetic", "real")) -> dict[str, Any]:
    """Write ``comparison.json`` and ``comparison.png`` into ``out_dir``; return the JSON content."""
    out_dir = Path(out_dir)
    result = compare_wafer_sets(synth, real)
    result["labels"] = list(labels)
    write_json(out_dir / "comparison.json", result)
    plot_comparison(synth, real, out_dir / "comparison.png", labels=labels)
    return result
