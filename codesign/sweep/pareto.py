"""Pareto reports of a sweep: compression quality (mean exact EMD, lower is better) against silicon
(gate equivalents / mm2, FPGA LUTs; of the fixed core and of every synthesised design variant, columns
``area_mm2:VARIANT``), with the non-ML baselines as reference lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import write_json
from codesign.document import Document
from codesign.plots import EMD_AXIS, figure

COSTS = {"area_mm2": "ASIC area (mm2, 65 nm GE model)", "luts": "FPGA LUTs (UltraScale+)"}
QUALITY = "mean_emd"
BASELINE_PREFIX = "baseline:"


def pareto_front(rows: list[dict[str, Any]], cost: str, quality: str = QUALITY) -> list[dict[str, Any]]:
    """Rows not dominated in (cost, quality), both minimised, sorted by cost."""
    usable = sorted((r for r in rows if r.get(cost) is not None and r.get(quality) is not None),
                    key=lambda r: (r[cost], r[quality]))
    front, best = [], np.inf
    for r in usable:
        if r[quality] < best:
            front.append(r)
            best = r[quality]
    return front


def near_front(rows: list[dict[str, Any]], cost: str, margin: float, *, quality: str = QUALITY) -> list[dict[str, Any]]:
    """Rows that no other row beats by more than ``margin`` (a fraction) in both cost and quality: the front
    itself (``margin`` 0) and the points close enough to it that an estimate of the cost may misorder them."""
    usable = [r for r in rows if r.get(cost) is not None and r.get(quality) is not None]
    return [r for r in usable
            if not any(q[cost] * (1 + margin) < r[cost] and q[quality] * (1 + margin) < r[quality] for q in usable)]


def baselines(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Mean EMD of every baseline, averaged over points (equal when points share their test wafers)."""
    values: dict[str, list[float]] = {}
    for r in rows:
        for key, v in r.items():
            if key.startswith(BASELINE_PREFIX) and v is not None:
                values.setdefault(key[len(BASELINE_PREFIX):], []).append(float(v))
    return {name: float(np.mean(v)) for name, v in values.items()}


def costs(rows: list[dict[str, Any]]) -> dict[str, str]:
    """Cost columns of these rows and their axis labels: the fixed core's, then each design variant's."""
    found = dict(COSTS)
    for key in sorted({k for r in rows for k in r if ":" in k and k.split(":", 1)[0] in COSTS}):
        base, variant = key.split(":", 1)
        found[key] = f"{COSTS[base].split(' (')[0]} of {variant} ({COSTS[base].split(' (', 1)[1]}"
    return found


def _label(row: dict[str, Any], swept: list[str]) -> str:
    return " ".join(f"{k.split('.')[-1]}={row[k]}" if not isinstance(row[k], dict)
                    else " ".join(f"{a}={b}" for a, b in row[k].items()) for k in swept)


def _plot(rows: list[dict[str, Any]], cost: str, label: str, front: list[dict[str, Any]], refs: dict[str, float],
          swept: list[str], path: Path) -> None:
    with figure(path, figsize=(8, 5.5)) as (_, ax):
        pts = [r for r in rows if r.get(cost) is not None and r.get(QUALITY) is not None]
        ax.scatter([r[cost] for r in pts], [r[QUALITY] for r in pts], c="tab:gray", s=25, label="sweep points")
        ax.plot([r[cost] for r in front], [r[QUALITY] for r in front], "o-", c="tab:red", label="Pareto front")
        for r in front:
            ax.annotate(_label(r, swept), (r[cost], r[QUALITY]), fontsize=6, xytext=(3, 3), textcoords="offset points")
        for (name, value), style in zip(sorted(refs.items()), ["--", ":", "-.", (0, (5, 1)), (0, (1, 3))] * 3,
                                        strict=False):
            if name != "uniform":  # far above everything; it would squash the axis
                ax.axhline(value, ls=style, c="tab:blue", lw=1)
                ax.annotate(f"{name} {value:.2f}", (ax.get_xlim()[0], value), fontsize=7, color="tab:blue",
                            xytext=(2, 2), textcoords="offset points")
        ax.set(xlabel=label, ylabel=f"mean {EMD_AXIS} (exact, held-out real wafers)",
               title=f"Compression quality vs {label.split(' (')[0]}")
        ax.legend(fontsize=8, loc="upper right")


def write_pareto_report(rows: list[dict[str, Any]], swept: list[str], out_dir: str | Path) -> dict[str, Any]:
    """``pareto.md`` (front tables, failed points), ``pareto.json`` and one PNG per cost axis."""
    out = Path(out_dir)
    ok = [r for r in rows if r.get("status") == "ok"]
    refs = baselines(ok)
    labels = costs(ok)
    fronts = {cost: pareto_front(ok, cost) for cost in labels}
    doc = Document(f"Sweep: Pareto front ({len(ok)} of {len(rows)} points finished)")
    if refs:
        doc.paragraph("Baselines (mean EMD on the same wafers): " +
                      ", ".join(f"{k} {v:.3f}" for k, v in sorted(refs.items(), key=lambda kv: kv[1])))
    for cost, front in fronts.items():
        if not front:
            continue
        png = out / f"pareto_{cost.replace(':', '_')}.png"
        _plot(ok, cost, labels[cost], front, refs, swept, png)
        doc.heading(f"Mean EMD vs {labels[cost]}")
        doc.image(png, f"the front in mean EMD and {labels[cost]}")
        doc.table(["point", *swept, "mean EMD", "median EMD", cost],
                  [[r["id"], *(str(r[k]) for k in swept), f"{r[QUALITY]:.3f}", f"{r['median_emd']:.3f}",
                    f"{r[cost]:.4g}"] for r in front])
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        doc.heading("Failed points")
        doc.table(["point", "error"], [[r["id"], str(r.get("error", ""))] for r in failed])
    doc.write(out / "pareto.md")
    summary = {"baselines": refs, "fronts": {c: [r["id"] for r in f] for c, f in fronts.items()},
               "n_points": len(rows), "n_ok": len(ok)}
    write_json(out / "pareto.json", summary)
    return summary
