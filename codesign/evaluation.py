"""Physics evaluation of an autoencoder against the ECON-T chip's own algorithms on the same wafers.

For every algorithm: exact EMD (POT) between each true unit-sum wafer and its reconstruction; mean,
median and 90th percentile; the mean binned by occupancy and by wafer sum; output bits per bunch crossing
and the compression ratio against the raw CALQ words; the energy preserved by the transmitted 9-bit sum.
Writes ``metrics.json`` (one entry per algorithm), ``report.md`` and PNG plots.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arena import Arena, BackEndBudget, SystemCost, arena_reconstructions, load_arena
from codesign.artifacts import atomic_dir, provenance, write_json
from codesign.baselines import Reconstruction, ideal_baselines
from codesign.data.geometry import N_TC, find_tc_groups
from codesign.data.onchip import decode_sum, onchip_convert
from codesign.document import Document
from codesign.econt.mux import find_tc_mux
from codesign.emd.exact import exact_emd
from codesign.models.frame import FrameFormat
from codesign.models.qdecoder import QuantizedDecoder, wafers_from_cells
from codesign.models.sparse import best_cells, cell_values, is_sparse
from codesign.plots import EMD_AXIS, EMD_UNIT, OVERFLOW, data_label, figure, series_styles, with_overflow
from codesign.progress import bar as progress_bar
from codesign.table_system import SYSTEM_PREFIX, TableSystem

CALQ_BITS = 22
OCCUPANCY_BINS = (0, 5, 10, 20, 30, 49)

Metrics = dict[str, dict[str, Any]]  # per algorithm: mean/median/p90 EMD, bits per BX, binned curves


def _sparse_frames(spec: Any, calq: np.ndarray, wafers: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """``wafers`` with those a hybrid encoder sends in sparse mode replaced by the cells their frames carry."""
    frame = FrameFormat.of(spec.encoder)
    if not frame.sparse_mode:
        return wafers, {}
    values = cell_values(calq, onchip_convert(calq).inputs, frame.cell_coding)
    sparse = is_sparse(values, spec.encoder.sparse_max_occupancy)
    wafers[sparse] = frame.cell_coding.wafers(*best_cells(values[sparse], frame.sparse_cells))
    return wafers, {"sparse_fraction": float(sparse.mean())}


def autoencoder_reconstruction(ae: Any, spec: Any, calq: np.ndarray) -> Reconstruction:
    """What the decoder makes of the chip's frames: the autoencoder's wafers, and with a hybrid encoder the
    sparse-mode cells for the wafers sent that way."""
    from codesign.training import model_arrays

    x, _ = model_arrays(spec, calq)
    wafers = ae.predict(x, batch_size=2048, verbose=0).astype(np.float64)
    wafers /= wafers.sum(axis=1, keepdims=True)
    wafers, extra = _sparse_frames(spec, calq, wafers)
    return Reconstruction(f"autoencoder:{spec.name}", wafers, float(FrameFormat.of(spec.encoder).payload_bits), extra)


def quantized_decoder_reconstruction(ae: Any, spec: Any, decoder: QuantizedDecoder,
                                     calq: np.ndarray) -> Reconstruction:
    """The same frames through the quantized back-end decoder: its cell integers normalised (the sparse-mode
    frames as above). ``ae``'s encoder makes the latents; ``decoder`` must have been trained on it."""
    import keras

    from codesign.training import model_arrays

    if decoder.encoder != spec.encoder:
        raise ValueError(f"{decoder.folder}: decodes the latents of another encoder ({decoder.autoencoder}) "
                         f"than {spec.name}'s")
    encoder = keras.Model(ae.input, ae.get_layer("latent_relu").output)
    x, _ = model_arrays(spec, calq)
    wafers, extra = _sparse_frames(spec, calq, wafers_from_cells(decoder.cells(encoder.predict(x, verbose=0))))
    firmware = decoder.firmware()
    cost = "not measured (`codesign decoder-firmware`)" if firmware is None else SystemCost(
        luts=firmware["luts"], ffs=firmware["resources"]["FF"], dsps=firmware["resources"]["DSP"],
        brams=firmware["resources"].get("BRAM36", 0.0)).back_end(BackEndBudget())
    back_end = f"quantized decoder {decoder.shape}, {decoder.config.weight_bits}-bit weights"
    figures: dict[str, float | str] = {**extra, "back_end": back_end, "back_end_cost": cost}
    return Reconstruction(f"qdecoder:{spec.name}", wafers, float(FrameFormat.of(spec.encoder).payload_bits), figures)


def _binned(values: np.ndarray, key: np.ndarray, edges: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        sel = (key >= lo) & (key < hi)
        if sel.any():
            rows.append({"lo": float(lo), "hi": float(hi), "n": int(sel.sum()), "mean_emd": float(values[sel].mean())})
    return rows


def evaluate_reconstructions(calq: np.ndarray, recos: list[Reconstruction],
                             n_jobs: int | None = None) -> tuple[Metrics, dict[str, np.ndarray]]:
    """({algorithm: metrics}, {algorithm: per-wafer EMD}); ``n_jobs`` processes for the exact EMD. A bar
    counts the wafers solved, all algorithms together."""
    occupancy, sums = (calq > 0).sum(axis=1), calq.sum(axis=1)
    sum_edges = np.unique(np.percentile(sums, [0, 20, 40, 60, 80, 100]))
    sum_edges[-1] += 1
    energy = decode_sum(onchip_convert(calq).sum_code) / sums
    metrics, emds = {}, {}
    wafers = progress_bar(len(calq) * len(recos), "exact EMD", "wafer", shown=len(calq) * len(recos) >= 20000,
                          leave=False)
    for r in recos:
        wafers.set_postfix_str(r.name)
        emd = exact_emd(calq, r.wafers, n_jobs=n_jobs)
        wafers.update(len(calq))
        emds[r.name] = emd
        metrics[r.name] = {
            "mean_emd": float(emd.mean()), "median_emd": float(np.median(emd)),
            "p90_emd": float(np.percentile(emd, 90)), "bits_per_bx": r.bits_per_bx,
            "compression_ratio": float(N_TC * CALQ_BITS / r.bits_per_bx),
            "energy_ratio_mean": float(energy.mean()), "energy_ratio_rms": float(energy.std()),
            "by_occupancy": _binned(emd, occupancy, np.array(OCCUPANCY_BINS)),
            "by_wafer_sum": _binned(emd, sums, sum_edges),
            **r.extra,
        }
    wafers.close()
    return metrics, emds


BACK_ENDS = ("best", "naive")


def evaluate_model(ae: Any, spec: Any, calq: np.ndarray, *, n_jobs: int | None = None,
                   elinks: int | None = None, modules: tuple[str, ...] = ("hd", "ld"),
                   ideal: bool = False, back_end: str = "best", arena: Arena | None = None,
                   decoder: QuantizedDecoder | None = None) -> tuple[Metrics, dict[str, np.ndarray]]:
    """The autoencoder in the arena at ``elinks`` (default: the encoder's own count) for each module type:
    with ``back_end="best"`` every chip algorithm decoded with the arena's back end (and naively, as
    ``naive:chip:...``), the entropy codec and the floor (``arena``: default the committed reference
    table); with ``"naive"`` the chip's algorithms as the public emulator decodes them. ``ideal`` adds the
    idealised algorithms at the encoder's frame width. Without the chip's TC mux table (no real-data folder)
    the idealised algorithms stand in, under their own names. ``decoder``: the same frames also through
    that quantized back-end decoder (``qdecoder:<name>``)."""
    if back_end not in BACK_ENDS:
        raise ValueError(f"back_end must be one of {', '.join(BACK_ENDS)}, got {back_end!r}")
    frame = FrameFormat.of(spec.encoder)
    recos = [autoencoder_reconstruction(ae, spec, calq)]
    if decoder is not None:
        recos.append(quantized_decoder_reconstruction(ae, spec, decoder, calq))
    mux = find_tc_mux()
    if mux is None:
        print("evaluation: no tc_mux.csv in the real-data folder: the chip's algorithms are left out, the "
              "idealised ones stand in", file=sys.stderr)
        ideal = True
    else:
        tables = None if back_end == "naive" else (arena or load_arena())
        recos += arena_reconstructions(calq, tables, elinks=elinks or frame.elinks, modules=modules, mux=mux)
    if ideal:
        recos += ideal_baselines(calq, find_tc_groups(), frame.width)
    recos.append(Reconstruction("uniform", np.full(calq.shape, 1.0 / N_TC), 9.0))
    return evaluate_reconstructions(calq, recos, n_jobs)


def evaluate_table_system(system: TableSystem, calq: np.ndarray, *, arena: Arena | None = None,
                          n_jobs: int | None = None) -> tuple[Metrics, dict[str, np.ndarray]]:
    """The table system in the arena at its eLink count for each module type it serves: its own rows
    (``system:<name>:<module>``) beside every non-learned system of ``arena`` (default: the committed
    reference table) and its learned placements; the arena's own tables are not scored (the system's rows
    are those decoders, or a refit of them). A system row whose table (or, without one, codec) is the arena's
    carries the arena's measured costs (``cost_key``)."""
    arena = arena or load_arena()
    recos = arena_reconstructions(calq, replace(arena, tables={}), elinks=system.elinks, modules=system.modules)
    for reco, module in zip(system.reconstructions(calq), system.modules, strict=True):
        key = _arena_cost_key(system, arena, module)
        recos.append(reco if key is None else replace(reco, extra={**reco.extra, "cost_key": key}))
    recos.append(Reconstruction("uniform", np.full(calq.shape, 1.0 / N_TC), 9.0))
    return evaluate_reconstructions(calq, recos, n_jobs)


def _arena_cost_key(system: TableSystem, arena: Arena, module: str) -> str | None:
    """The key in the arena's costs of the codec and decoder that ``system``'s ``module`` row is (its table, or
    the codec with its rule), or None when the system is a refit the arena did not measure."""
    n, table = system.elinks, system.table(module)
    if system.codec(module) != arena.codec(module, n):
        return None
    if table is None:
        return f"entropy:{module}:{n}elink"
    theirs = arena.table(module, n)
    return f"table:entropy:{module}:{n}elink" if theirs is not None and table.to_json() == theirs.to_json() else None


def _plots(metrics: Metrics, emds: dict[str, np.ndarray], out: Path, data: str) -> None:
    n = len(next(iter(emds.values())))
    top = 6.0
    names = headline_systems(metrics)
    styles = series_styles(names)
    with figure(out / "emd.png", ncols=2, figsize=(14, 4.5)) as (_, axes):
        for name in names:
            emd, look = emds[name], styles[name]
            axes[0].hist(with_overflow(emd, top), bins=np.linspace(0, top, 61), histtype="step",
                         color=look["color"], linestyle=look["linestyle"])
            rows = metrics[name]["by_occupancy"]
            axes[1].plot([(r["lo"] + r["hi"]) / 2 for r in rows], [r["mean_emd"] for r in rows], **look,
                         label=f"{name} (mean {emd.mean():.2f})")
        axes[0].set(xlabel=f"EMD(input, reconstruction) {EMD_UNIT}, {OVERFLOW}", ylabel="wafers per bin",
                    title=f"EMD per wafer: {data_label(data)}, {n} wafers")
        axes[1].set(xlabel="occupancy (TCs > 0 per wafer)", ylabel=f"mean {EMD_AXIS}",
                    title=f"Mean EMD vs occupancy: {data_label(data)}")
        # one legend for both panels, outside them: it hides no curve (colour: system; hd solid, ld dashed)
        axes[1].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))


# the arena's non-learned systems by metrics key: a frame is credited with its best decoding on these wafers,
# the naive one included (the back ends are chosen on high-pileup wafers; on sparse 0-pileup ones a naive
# super-trigger-cell decoding can be better)
NON_LEARNED = ("chip:", "naive:chip:", "codec:")
# the same frames with a learned back end (``LearnedPlacement``, or the ``TablePlacement`` a decoder builds):
# learned systems, set against the above
LEARNED_BACK_END = ("learned:chip:", "learned:codec:", "table:codec:")
# the autoencoder's frames with its float decoder, and with a quantized back-end decoder; a table system's
# rows (one module type each)
ENCODERS = ("autoencoder:", "qdecoder:", SYSTEM_PREFIX)


def best_systems(metrics: Metrics, prefixes: tuple[str, ...] = ("chip:",)) -> dict[str, str]:
    """{module type: the entry with the lowest mean EMD} among the entries named ``<prefix><algorithm>:
    <module>:...`` (default: the chip's algorithms with the best back end; ``NON_LEARNED`` adds the codec)."""
    best: dict[str, str] = {}
    for name, m in metrics.items():
        prefix = next((p for p in prefixes if name.startswith(p)), None)
        if prefix is not None:
            module = name[len(prefix):].split(":")[1]
            if module not in best or m["mean_emd"] < metrics[best[module]]["mean_emd"]:
                best[module] = name
    return best


def headline_systems(metrics: Metrics) -> list[str]:
    """What the plots show: the encoders, per module type the best non-learned system and the best chip
    algorithm as decoded naively, and the uniform wafer."""
    names = [n for n in metrics if n.startswith(ENCODERS)]
    best = set(best_systems(metrics, NON_LEARNED).values()) | set(best_systems(metrics, ("naive:chip:",)).values())
    best |= set(best_systems(metrics, LEARNED_BACK_END).values())
    names += sorted(best)
    return names + [n for n in metrics if n == "uniform"] or list(metrics)


def _comparisons(metrics: Metrics, doc: Document) -> None:
    """Per module type the best non-learned system, then each encoder and the best learned back end against it."""
    learned = best_systems(metrics, LEARNED_BACK_END)
    for module, best in sorted(best_systems(metrics, NON_LEARNED).items()):
        ref = metrics[best]
        doc.paragraph(f"Best non-learned system for {module} modules: {best} (mean {ref['mean_emd']:.3f}, "
                      f"median {ref['median_emd']:.3f}).")
        encoders = [n for n in metrics if n.startswith(ENCODERS)
                    and (not n.startswith(SYSTEM_PREFIX) or n.endswith(f":{module}"))]
        items = []
        for enc in encoders + ([learned[module]] if module in learned else []):
            m = metrics[enc]
            change = 100 * (m["mean_emd"] / ref["mean_emd"] - 1)
            verdict = "wins" if m["mean_emd"] < ref["mean_emd"] and m["median_emd"] <= ref["median_emd"] else "loses"
            items.append(f"{enc}: mean {m['mean_emd']:.3f} ({change:+.1f} %), median {m['median_emd']:.3f}: {verdict}.")
        if items:
            doc.bullets(items)


CUT_FRAME_NOTE = ("The Repeater and the super trigger cells send a fixed list of cells or groups in the chip's order "
                  "and cut it where the frame ends (the Repeater's 48 cells of 7 bits fit only from 11 eLinks; STC4_9 "
                  "sends 5 of its 12 groups at 2 eLinks): the cells cut off come back as zero, their energy missing "
                  "rather than spread, so these frames can score worse than a uniform wafer, which at least has the "
                  "right total.")


def _worse_than_uniform(metrics: Metrics, doc: Document) -> None:
    """Say which systems score worse than the uniform wafer, and why where the reason is known (frames cut)."""
    uniform = metrics.get("uniform")
    if uniform is None:
        return
    worse = [n for n, m in sorted(metrics.items()) if m["mean_emd"] > uniform["mean_emd"]]
    if not worse:
        return
    doc.paragraph(f"Worse than the uniform wafer (mean {uniform['mean_emd']:.3f}): {', '.join(worse)}.")
    if any(part in n for n in worse for part in (":repeater:", ":stc", ":ctc")):
        doc.paragraph(CUT_FRAME_NOTE)


def _cost_key(name: str) -> str:
    """metrics key -> cost key: ``chip:best-choice:ld:2elink`` -> ``best-choice:ld:2elink``,
    ``naive:chip:...`` -> ``naive:best-choice:...``, ``codec:entropy:...`` -> ``entropy:...``,
    ``table:codec:entropy:...`` -> ``table:entropy:...``."""
    parts = name.split(":")
    return ":".join([parts[0], *parts[2:]] if parts[0] in ("naive", "table") else parts[1:])


def _cost_cells(name: str, metrics: Mapping[str, Any], costs: Mapping[str, SystemCost],
                budget: BackEndBudget) -> tuple[str, str]:
    """(on-chip GE, back-end cost) cells of a system's row."""
    if name.startswith(SYSTEM_PREFIX) and "cost_key" not in metrics:
        return "-", "not measured (a refit: `benchmarks/arena_costs.py`)"
    if "back_end_cost" in metrics:  # measured with the system (a quantized decoder's firmware)
        return "see docs/hardware.md", str(metrics["back_end_cost"])
    if name.startswith("autoencoder:"):
        return "see docs/hardware.md", "float decoder: unbounded back end"
    if name.startswith("learned:"):  # the same on-chip encoder; its learned back end is not built in RTL yet
        on_chip = costs.get(_cost_key(name.removeprefix("learned:")), SystemCost()).on_chip_ge
        return "-" if on_chip is None else format(on_chip, ",.0f"), "learned placement: not built"
    # a table system's row names the arena's decoder and encoder it is (``cost_key``)
    cost = costs.get(str(metrics.get("cost_key", _cost_key(name))), SystemCost())
    back_end = cost.back_end(budget)
    if "shared_decoder" in metrics:  # the system folder's decoder shared by several modules (its hw/ reports)
        back_end = f"one per module: {back_end}; {metrics['shared_decoder']}"
    return "-" if cost.on_chip_ge is None else format(cost.on_chip_ge, ",.0f"), back_end


def write_evaluation(out_dir: str | Path, metrics: Metrics, emds: dict[str, np.ndarray], *,
                     costs: Mapping[str, SystemCost] | None = None, force: bool = False, **meta: Any) -> None:
    """metrics.json, report.md (every system with its back end and, where measured (``costs``), its on-chip
    gate equivalents and back-end resources against ``BackEndBudget``) and emd.png, as one folder
    (``atomic_dir``: a folder holding files codesign did not write is refused unless ``force``; a rewrite
    keeps what a user added)."""
    with atomic_dir(out_dir, force) as out:
        _write_evaluation(out, metrics, emds, costs or {}, **meta)


def _write_evaluation(out: Path, metrics: Metrics, emds: dict[str, np.ndarray], costs: Mapping[str, SystemCost],
                      **meta: Any) -> None:
    budget = BackEndBudget()
    write_json(out / "metrics.json", {"algorithms": metrics, "meta": provenance(**meta)})
    doc = Document("Compression quality")
    doc.paragraph(
        "Every system is an on-chip encoder, its frame and a back end: `chip:` the chip's algorithms with the best "
        "back end its frame allows (the arena table's rule), `naive:chip:` the same frames as the public emulator "
        "decodes them, `codec:entropy:` the entropy-coded sparse codec, `learned:` the same frames with a learned "
        "back end (a learned system), `table:` with the learned table placement a decoder builds (its integer "
        "outputs), `qdecoder:` the autoencoder's frames through a quantized back-end decoder (its integer "
        "outputs), `floor:` every cell at the chip's 7-bit precision with no bit budget. Costs where measured: the "
        "on-chip encoder's gate equivalents, the back-end decoder's resources per module against the budget "
        f"({budget.luts:,.0f} LUTs, {budget.dsps:.0f} DSPs, {budget.brams:g} 36 Kb block RAMs, {budget.ffs:,.0f} "
        "flip-flops: 1/300 of a VU13P-class Stage-1 FPGA at one wafer per 25 ns).")
    if any(name.startswith(SYSTEM_PREFIX) for name in metrics):
        doc.paragraph("`system:<name>:<module>`: a reference table system, the codec's frames of that module type "
                      "decoded by its own learned table (its decoder's integer outputs) or, where its table did not "
                      "win on validation, by the codec's rule.")
    rows = []
    for name, m in sorted(metrics.items(), key=lambda kv: kv[1]["mean_emd"]):
        back_end = m.get("back_end", "float decoder" if name.startswith("autoencoder:") else "-")
        rows.append([name, f"{m['mean_emd']:.3f}", f"{m['median_emd']:.3f}", f"{m['p90_emd']:.3f}",
                     f"{m['bits_per_bx']:.0f}", f"{m['compression_ratio']:.1f}x", back_end,
                     *_cost_cells(name, m, costs, budget)])
    doc.table(["system", "mean EMD", "median", "90 %", "bits/BX", "compression", "back end", "on-chip GE",
               "back-end cost"], rows)
    any_m = next(iter(metrics.values()))
    doc.paragraph(f"Energy: the 9-bit sum code keeps {100 * any_m['energy_ratio_mean']:.1f} % of the wafer sum on "
                  f"average (rms {100 * any_m['energy_ratio_rms']:.1f} %) for every algorithm.")
    for name, m in metrics.items():
        if "sparse_fraction" in m and name.startswith("autoencoder:"):  # its qdecoder: row has the same frames
            doc.paragraph(f"{name} is a hybrid encoder: {100 * m['sparse_fraction']:.1f} % of the wafers went in "
                          "sparse mode (their largest cells instead of latents).")
    _comparisons(metrics, doc)
    _worse_than_uniform(metrics, doc)
    _plots(metrics, emds, out, str(meta.get("data", "")))
    doc.image(out / "emd.png", "EMD per wafer, and its mean against occupancy, of the headline systems")
    doc.write(out / "report.md")
