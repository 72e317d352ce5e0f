"""Evaluation of a learned EMD against the exact EMD on held-out wafers: metrics, binned metrics, plots.

For every wafer file, the test split (same fractions and seed as training, so held out when the file was
a training source) gives three sets: random pairs of distinct wafers, wafer-vs-degraded pairs with a true
EMD below 1.5 (the autoencoder's regime), and identical pairs (each wafer against itself).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import write_json
from codesign.data.splits import split_indices
from codesign.document import Document
from codesign.emd.labels import make_pair_labels
from codesign.emd.learned import predict_emd
from codesign.plots import EMD_AXIS, figure

EMD_BINS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 100.0)
DEGRADED_MAX = 1.5


@dataclass(frozen=True)
class EvalSet:
    name: str
    a: np.ndarray
    b: np.ndarray
    true: np.ndarray


def evaluation_sets(name: str, calq: np.ndarray, split: tuple[float, float, float], *, seed: int,
                    n_pairs: int = 3000) -> list[EvalSet]:
    test = calq[split_indices(len(calq), split, seed=seed).test]
    labels = make_pair_labels(test, n_pairs, 2 * n_pairs, seed=seed + 999)
    rnd = labels.kind == 0
    deg = (labels.kind == 1) & (labels.emd > 0) & (labels.emd < DEGRADED_MAX)
    unit = (test / test.sum(axis=1, keepdims=True)).astype(np.float32)
    return [
        EvalSet(f"{name}/random", labels.a[rnd], labels.b[rnd], labels.emd[rnd]),
        EvalSet(f"{name}/degraded_lt_{DEGRADED_MAX}", labels.a[deg][:n_pairs], labels.b[deg][:n_pairs],
                labels.emd[deg][:n_pairs]),
        EvalSet(f"{name}/identical", unit, unit, np.zeros(len(unit))),
    ]


def pair_metrics(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Bias and spread of the relative error (pairs with true EMD > 0), MAE, Pearson r, mean prediction."""
    out = {"n": int(len(true)), "mean_pred": float(pred.mean()), "max_pred": float(pred.max()),
           "mae": float(np.abs(pred - true).mean())}
    pos = true > 0
    if pos.sum() > 1:
        rel = (pred[pos] - true[pos]) / true[pos]
        out |= {"bias": float(rel.mean()), "std_rel": float(rel.std()),
                "pearson_r": float(np.corrcoef(pred[pos], true[pos])[0, 1])}
    return out


def binned_metrics(pred: np.ndarray, true: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for lo, hi in zip(EMD_BINS[:-1], EMD_BINS[1:], strict=True):
        sel = (true > lo) & (true <= hi)
        if sel.sum() > 1:
            rows.append({"lo": lo, "hi": hi, **pair_metrics(pred[sel], true[sel])})
    return rows


def evaluate(model: Any, sets: list[EvalSet]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    preds = {s.name: predict_emd(model, s.a, s.b) for s in sets}
    results = {s.name: {**pair_metrics(preds[s.name], s.true), "binned": binned_metrics(preds[s.name], s.true)}
               for s in sets}
    return results, preds


def _plot(sets: list[EvalSet], preds: dict[str, np.ndarray], path: Path) -> None:
    shown = [s for s in sets if not s.name.endswith("/identical")]
    with figure(path, ncols=len(shown), figsize=(4.2 * len(shown), 4.2), squeeze=False) as (_, axes):
        for ax, s in zip(axes[0], shown, strict=True):
            top = float(max(s.true.max(), preds[s.name].max()))
            ax.scatter(s.true, preds[s.name], s=2, alpha=0.3)
            ax.plot([0, top], [0, top], "k--", lw=1)
            ax.set(xlabel=f"exact {EMD_AXIS}", ylabel=f"learned {EMD_AXIS}", title=f"{s.name} ({len(s.true)} pairs)")


def _document(results: dict[str, Any], speed: dict[str, float] | None, scatter: Path) -> Document:
    doc = Document("Learned EMD evaluation")
    rows = []
    for name, r in results.items():
        rel = [f"{100 * r['bias']:+.2f} %", f"{100 * r['std_rel']:.2f} %"] if "bias" in r else ["-", "-"]
        rows.append([name, str(r["n"]), *rel, f"{r['mae']:.4f}", f"{r.get('pearson_r', float('nan')):.4f}",
                     f"{r['mean_pred']:.4f}"])
    doc.table(["set", "pairs", "bias", "std rel.", "MAE", "Pearson r", "mean pred"], rows)
    doc.paragraph("Binned in true EMD (random and degraded pairs):")
    doc.table(["set", "EMD bin", "pairs", "bias", "std rel.", "MAE"],
              [[name, f"{b['lo']}-{b['hi']}", str(b["n"]), f"{100 * b['bias']:+.2f} %", f"{100 * b['std_rel']:.2f} %",
                f"{b['mae']:.4f}"] for name, r in results.items() for b in r["binned"]])
    if speed:
        doc.paragraph(" ".join(f"{k}: {v:,.0f}" for k, v in speed.items()))
    doc.image(scatter, "learned against exact EMD, pair by pair")
    return doc


def write_report(out_dir: str | Path, sets: list[EvalSet], results: dict[str, Any], *, preds: dict[str, np.ndarray],
                 speed: dict[str, float] | None = None) -> None:
    out = Path(out_dir)
    write_json(out / "report.json", {"sets": results, "speed": speed or {}})
    _plot(sets, preds, out / "scatter.png")
    _document(results, speed, out / "scatter.png").write(out / "report.md")
