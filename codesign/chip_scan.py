"""Every ECON-T algorithm at every eLink count and module type on the same wafers, with trained encoders
placed against them: one table and one plot of mean EMD against the bits a bunch crossing uses."""

from __future__ import annotations

import csv
import dataclasses
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arena import Arena, BackEndBudget, SystemCost, arena_reconstructions, detector_mean, lossless_fraction
from codesign.artifacts import atomic_path, provenance, write_json
from codesign.baselines import Reconstruction
from codesign.data.splits import split_indices
from codesign.document import Document
from codesign.econt.algorithms import MODULE_PRESETS
from codesign.econt.bits import ELINK_BITS
from codesign.econt.mux import load_tc_mux
from codesign.emd.exact import exact_emd
from codesign.plots import EMD_AXIS, figure

DEFAULT_SPLIT = (0.7, 0.1, 0.2)  # the training recipes' fractions: their test split is the held-out set


@dataclass(frozen=True)
class ScanRow:
    """One algorithm (or encoder) at one eLink count: ``module`` is hd / ld, or "-" for an encoder."""

    algorithm: str
    module: str
    elinks: int
    drop_lsb: int
    mean_emd: float
    median_emd: float
    p90_emd: float
    mean_bits_used: float
    link_bits: int
    n_wafers: int
    back_end: str = "-"  # the spreading rule of the arena's back end, "naive", or "-"
    lossless_fraction: float | None = None  # floor rows: wafers whose every cell a lossless code fits


def held_out_split(calq: np.ndarray, seed: int, fractions: tuple[float, float, float] = DEFAULT_SPLIT) -> np.ndarray:
    """The test split of a wafer file as the training recipes cut it (their wafers never trained on)."""
    return calq[split_indices(len(calq), fractions, seed=seed).test]


def _row(reco: Reconstruction, calq: np.ndarray, *, algorithm: str, module: str, elinks: int, drop_lsb: int,
         n_jobs: int | None) -> ScanRow:
    emd = exact_emd(calq, reco.wafers, n_jobs=n_jobs)
    back_end = "naive" if algorithm.startswith("naive:") else str(reco.extra.get("back_end", "-"))
    lossless = lossless_fraction(calq, module, elinks) if algorithm == "floor" else None
    return ScanRow(algorithm, module, elinks, drop_lsb, float(emd.mean()), float(np.median(emd)),
                   float(np.percentile(emd, 90)), reco.bits_per_bx, ELINK_BITS * elinks, len(calq), back_end, lossless)


def _scan_name(reco_name: str) -> str:
    """``chip:best-choice:hd:2elink`` -> ``best-choice``; ``naive:chip:...`` -> ``naive:best-choice``,
    ``learned:codec:entropy:...`` -> ``learned:entropy`` (``table:`` alike);
    ``codec:entropy:...`` -> ``entropy``; ``floor:hd`` -> ``floor``."""
    parts = reco_name.split(":")
    if parts[0] in ("naive", "learned", "table"):
        return f"{parts[0]}:{parts[2]}"
    return parts[0] if parts[0] == "floor" else parts[1]


def scan_chip_algorithms(calq: np.ndarray, *, elinks: Sequence[int], modules: Sequence[str] = ("hd", "ld"),
                         arena: Arena | None = None, n_jobs: int | None = None, progress: bool = True) -> list[ScanRow]:
    """Exact EMD of every chip algorithm that sends data, at each eLink count and module type: with an
    ``arena``, decoded with its best back end and naively (``naive:<algorithm>``), with the entropy codec
    and the floor; without, decoded naively."""
    mux, rows = load_tc_mux(), []
    for i, n in enumerate(elinks):
        for module in modules:
            for reco in arena_reconstructions(calq, arena, elinks=n, modules=(module,), mux=mux):
                rows.append(_row(reco, calq, algorithm=_scan_name(reco.name), module=module, elinks=n,
                                 drop_lsb=MODULE_PRESETS[module].drop_lsb, n_jobs=n_jobs))
        if progress:
            print(f"[scan] {i + 1}/{len(elinks)} eLink counts done ({n} eLinks)", file=sys.stderr, flush=True)
    return rows


def scan_encoders(model_dirs: Sequence[str | Path], calq: np.ndarray, n_jobs: int | None = None) -> list[ScanRow]:
    """Exact EMD of trained encoders (model folders of `codesign train`) on the same wafers, each at its own
    eLink count."""
    from codesign.evaluation import autoencoder_reconstruction
    from codesign.training import load_autoencoder

    rows = []
    for folder in model_dirs:
        ae, spec = load_autoencoder(folder)
        reco = autoencoder_reconstruction(ae, spec, calq)
        rows.append(_row(reco, calq, algorithm=f"encoder:{spec.name}", module="-", elinks=spec.encoder.elinks,
                         drop_lsb=0, n_jobs=n_jobs))
    return rows


def best_chip_rows(rows: Sequence[ScanRow]) -> dict[tuple[str, int], ScanRow]:
    """{(module, eLinks): the non-learned system (a chip algorithm with its best back end or decoded naively,
    or the entropy codec) with the lowest mean EMD there}."""
    best: dict[tuple[str, int], ScanRow] = {}
    for r in rows:
        key = (r.module, r.elinks)
        eligible = r.module != "-" and r.algorithm != "floor" and not r.algorithm.startswith(("learned:", "table:"))
        if eligible and (key not in best or r.mean_emd < best[key].mean_emd):
            best[key] = r
    return best


Table = tuple[list[str], list[list[str]]]  # header, rows: a Document table


def scan_table(rows: Sequence[ScanRow]) -> Table:
    """One line per algorithm and module, mean / median EMD per eLink count; best per column bold."""
    counts = sorted({r.elinks for r in rows})
    best = best_chip_rows(rows)
    lines = []
    for algorithm, module in dict.fromkeys((r.algorithm, r.module) for r in rows):
        cells = []
        for n in counts:
            match = [r for r in rows if (r.algorithm, r.module, r.elinks) == (algorithm, module, n)]
            if not match:
                cells.append("")
                continue
            text = f"{match[0].mean_emd:.3f} / {match[0].median_emd:.3f}"
            cells.append(f"**{text}**" if best.get((module, n)) == match[0] else text)
        lines.append([algorithm, module, *cells])
    return ["algorithm", "module", *(f"{n} eLinks" for n in counts)], lines


def arena_table(rows: Sequence[ScanRow], costs: Mapping[str, SystemCost] | None = None,
                budget: BackEndBudget | None = None) -> Table:
    """Per module type and eLink count, the best non-learned system with its bits, EMD and costs
    (on-chip gate equivalents, back-end resources per module against ``budget``, where measured), the best
    chip algorithm decoded naively, the same frames with a learned back end (mean / median, change of the
    mean) and with the table placement a decoder builds (the same, and its decoder's resources), the floor
    and the fraction of wafers a lossless code fits."""
    best, costs, budget = best_chip_rows(rows), costs or {}, budget or BackEndBudget()
    header = ["module", "eLinks", "best non-learned system (back end)", "bits/BX", "mean / median / p90 EMD",
              "on-chip GE", "back end per module", "best chip, naive back end", "same frames, learned back end",
              "same frames, table back end (its decoder)", "floor (7-bit cells)", "lossless fits"]
    lines = []
    for (module, n), r in sorted(best.items()):
        naive = [x for x in rows if (x.module, x.elinks) == (module, n) and x.algorithm.startswith("naive:")]
        floor = next((x for x in rows if (x.algorithm, x.module, x.elinks) == ("floor", module, n)), None)
        best_naive = min(naive, key=lambda x: x.mean_emd) if naive else None
        learned, table = (next((x for x in rows if (x.algorithm, x.module, x.elinks) == (f"{kind}:{r.algorithm}",
                                                                                        module, n)), None)
                          for kind in ("learned", "table"))
        cost = costs.get(f"{r.algorithm}:{module}:{n}elink", SystemCost())
        table_cost = costs.get(f"table:{r.algorithm}:{module}:{n}elink", SystemCost())
        ge = "-" if cost.on_chip_ge is None else f"{cost.on_chip_ge:,.0f}"
        lines.append([
            module, str(n), f"{r.algorithm} ({r.back_end})", f"{r.mean_bits_used:.0f}",
            f"{r.mean_emd:.3f} / {r.median_emd:.3f} / {r.p90_emd:.3f}", ge, cost.back_end(budget),
            f"{best_naive.algorithm.removeprefix('naive:')} {best_naive.mean_emd:.3f}" if best_naive else "-",
            f"{learned.mean_emd:.3f} / {learned.median_emd:.3f} ({learned.mean_emd / r.mean_emd - 1:+.1%})"
            if learned else "-",
            f"{table.mean_emd:.3f} / {table.median_emd:.3f} ({table.mean_emd / r.mean_emd - 1:+.1%}; "
            f"{table_cost.back_end(budget)})" if table else "-",
            f"{floor.mean_emd:.3f}" if floor else "-",
            f"{100 * (floor.lossless_fraction or 0):.0f} %" if floor else "-"])
    return header, lines


def detector_table(rows: Sequence[ScanRow], counts: dict[tuple[str, int], int]) -> Table:
    """Module-weighted mean EMD of each non-learned system over the detector's modules, and of the best
    non-learned system per module."""
    systems: dict[str, dict[tuple[str, int], float]] = {}
    for r in rows:
        if r.module != "-" and r.algorithm != "floor":
            systems.setdefault(r.algorithm, {})[(r.module, r.elinks)] = r.mean_emd
    best_rows = best_chip_rows(rows)
    best = {k: r.mean_emd for k, r in best_rows.items()}
    systems["best non-learned per module"] = best
    if tables := systems.get("table:entropy"):  # a learned system in Verilog: the codec's frames with the table
        # placement where the arena kept one (chosen on validation) and the codec is the best, else the best
        systems["best per module, the codec's table placement where kept"] = {
            k: tables[k] if k in tables and best_rows[k].algorithm == "entropy" else v for k, v in best.items()}
    encoders = {(m, r.elinks): r.mean_emd for r in rows if r.module == "-" for m in ("hd", "ld")}
    if encoders:  # a trained encoder serves both module types at its eLink count
        systems["trained encoders (one per eLink count)"] = encoders
        systems["best non-learned, the encoders' modules"] = {k: best[k] for k in encoders if k in best}
    scanned = {r.elinks for r in rows}
    counts = {k: v for k, v in counts.items() if k[1] in scanned}
    lines = []
    for name, emd in sorted(systems.items(), key=lambda kv: detector_mean(kv[1], counts)[0]):
        mean, covered = detector_mean(emd, counts)
        lines.append([name, f"{mean:.3f}", f"{100 * covered:.0f} %"])
    return ["system", "module-weighted mean EMD", "modules covered"], lines


def write_scan(rows: Sequence[ScanRow], out_dir: str | Path, *, counts: dict[tuple[str, int], int] | None = None,
               costs: Mapping[str, SystemCost] | None = None, **meta: Any) -> None:
    """``scan.csv``, ``scan.json``, ``scan.md`` and ``scan.png`` (mean EMD against bits used per BX)."""
    out = Path(out_dir)
    with atomic_path(out / "scan.csv") as tmp, tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=[f.name for f in fields(ScanRow)])
        writer.writeheader()
        writer.writerows(asdict(r) for r in rows)
    write_json(out / "scan.json", {"rows": [asdict(r) for r in rows], "meta": provenance(**meta)})
    n = rows[0].n_wafers if rows else 0
    _plot(rows, out / "scan.png", title=f"ECON-T algorithms, {n} wafers ({meta.get('data', '')})")
    doc = Document("ECON-T algorithms: mean / median exact EMD")
    doc.paragraph(f"{n} wafers ({meta.get('data', 'data')}); bold: the best non-learned system for that module type "
                  "and eLink count. Module types: hd = DropLSB 3, ld = DropLSB 1. Threshold-Sum runs through the "
                  "chip's buffer (wafers streamed one per bunch crossing). `naive:` rows: the same frames decoded "
                  "as the public emulator does (sums ignored); the others with the best back end their frame "
                  "allows; `entropy`: the entropy-coded sparse codec; `learned:` the same frames with a learned "
                  "back end (a learned system, never bold), `table:` with the learned table placement a decoder "
                  "builds (its integer outputs); `floor`: every cell at 7 bits, no budget.")
    doc.table(*scan_table(rows))
    if any(r.algorithm == "floor" for r in rows):
        budget = BackEndBudget()
        doc.heading("The arena")
        doc.paragraph(f"Back-end budget per module: {budget.luts:,.0f} LUTs and {budget.dsps:.0f} DSPs (1/300 of a "
                      "VU13P-class Stage-1 FPGA at one wafer per 25 ns; `codesign.arena.BackEndBudget`); costs as "
                      "measured in `models/reference/arena/costs.json`, '-' where not measured.")
        doc.table(*arena_table(rows, costs, budget))
    if counts:
        doc.heading("Detector level")
        doc.paragraph("Each system's mean EMD weighted by how many of the detector's modules have each module type "
                      "and eLink count (`module_links.csv`), over the cells it covers.")
        doc.table(*detector_table(rows, counts))
    doc.image(out / "scan.png", "mean EMD against bits used per bunch crossing")
    doc.write(out / "scan.md")



def _plot(rows: Sequence[ScanRow], path: Path, *, title: str) -> None:
    """Mean EMD against bits per BX: every system with its best back end, the best chip algorithm decoded
    naively (dotted), the encoders (stars) and the floor (a horizontal line per module type)."""
    naive_best = {(r.module, r.elinks): r for r in rows if r.algorithm.startswith("naive:")}
    for r in rows:
        key = (r.module, r.elinks)
        if r.algorithm.startswith("naive:") and r.mean_emd < naive_best[key].mean_emd:
            naive_best[key] = r
    shown = [r for r in rows if not r.algorithm.startswith("naive:") and r.algorithm != "floor"]
    shown += [dataclasses.replace(r, algorithm="best chip, naive back end") for r in naive_best.values()]
    with figure(path, figsize=(12, 6)) as (_, ax):
        styles = {"hd": ("o", "-"), "ld": ("s", "--"), "-": ("*", "none")}  # module type: marker, line
        colours = {a: f"C{i % 10}" for i, a in enumerate(dict.fromkeys(r.algorithm for r in shown))}
        for (algorithm, module) in dict.fromkeys((r.algorithm, r.module) for r in shown):
            pts = sorted((r.mean_bits_used, r.mean_emd) for r in shown
                         if (r.algorithm, r.module) == (algorithm, module))
            label = algorithm if module == "-" else f"{algorithm} ({module})"
            marker, line = styles[module]
            ax.plot(*zip(*pts, strict=True), marker=marker, ls=":" if "naive" in algorithm else line,
                    ms=12 if module == "-" else 5, color="k" if "naive" in algorithm else colours[algorithm],
                    label=label)
        for module, line in (("hd", "-"), ("ld", "--")):
            floor = next((r for r in rows if (r.algorithm, r.module) == ("floor", module)), None)
            if floor is not None:
                ax.axhline(floor.mean_emd, color="grey", ls=line, lw=0.8, label=f"floor: 7-bit cells ({module})")
        ax.set(xlabel="bits used per bunch crossing (mean; the links carry 32 per eLink)",
               ylabel=f"mean {EMD_AXIS}", yscale="log", title=title)
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small")  # outside: no curve hidden
