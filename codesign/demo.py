"""The main job on the built-in default: what ``make demo`` runs.

Generate synthetic high-pileup wafers, summarise them, compare them with the real ``highpu_dev.csv`` when
``../shared`` is present, measure the EMD scales (random pairs, wafer vs uniform) every compressor is judged
against, then train the demo encoder (``models/econt_demo.yaml``: learned-EMD loss, synthetic wafers) and
evaluate it against the non-ML baselines on held-out synthetic wafers and, when present, real ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import atomic_path, provenance, write_json, write_text
from codesign.data.io import REFERENCE_FILE, read_calq, real_data_dir, write_wafers
from codesign.data.stats import wafer_stats, write_comparison
from codesign.data.synth import generate_wafers, load_synth_config
from codesign.emd.exact import reference_emds

DEMO_SPEC = Path(__file__).resolve().parents[1] / "models" / "econt_demo.yaml"


def _plot_emds(emds: dict[str, dict[str, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, kind in zip(axes, ("random_pairs", "vs_uniform"), strict=True):
        for label, values in emds.items():
            ax.hist(values[kind], bins=np.linspace(0, 10, 51), histtype="step", density=True,
                    label=f"{label} (mean {values[kind].mean():.2f})")
        ax.set(xlabel="exact EMD", ylabel="density", title=kind.replace("_", " "))
        ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def run_demo(out_dir: str | Path, n_wafers: int = 5000, n_pairs: int = 2000, seed: int = 0,
             preset: str = "highpu") -> dict[str, Any]:
    """Run every stage that exists on synthetic data; returns the summary also written to ``summary.json``."""
    out = Path(out_dir)
    synth = generate_wafers(load_synth_config(preset), n_wafers, seed, progress=True)
    write_wafers(out / f"synth_{preset}.csv", synth)
    sets = {"synthetic": synth}
    real_path = real_data_dir() / REFERENCE_FILE
    if real_path.is_file():
        sets["real"] = read_calq(real_path)
        write_comparison(synth, sets["real"], out, labels=("synthetic", f"real {REFERENCE_FILE}"))
    emds = {name: reference_emds(calq, n_pairs, seed) for name, calq in sets.items()}
    _plot_emds(emds, out / "emd_scales.png")
    compression = _train_and_evaluate(out, seed, "real" in sets)
    summary = {
        "meta": provenance(seed=seed, preset=preset, n_wafers=n_wafers, n_pairs=n_pairs),
        "stats": {name: wafer_stats(calq) for name, calq in sets.items()},
        "emd_scales": {
            name: {f"mean_{kind}": float(v.mean()) for kind, v in values.items()} for name, values in emds.items()
        },
        "compression_mean_emd": compression,
    }
    write_json(out / "summary.json", summary)
    write_text(out / "report.md", _report(summary, has_real="real" in sets))
    return summary


def _train_and_evaluate(out: Path, seed: int, has_real: bool) -> dict[str, dict[str, float]]:
    """Train the demo encoder and evaluate it; returns {test set: {algorithm: mean EMD}}."""
    import dataclasses

    from codesign.evaluation import evaluate_model, write_evaluation
    from codesign.training import held_out_wafers, load_ae_spec, split_sources, train_autoencoder

    spec = load_ae_spec(DEMO_SPEC)
    spec = dataclasses.replace(spec, training=dataclasses.replace(spec.training, seed=seed))
    ae = train_autoencoder(spec, out / "model", progress=False)
    tests = {"synthetic": split_sources(spec)["test"]}
    if has_real:
        tests["real"] = held_out_wafers(spec)
    result = {}
    for name, calq in tests.items():
        metrics, emds = evaluate_model(ae, spec, calq)
        write_evaluation(out / f"eval_{name}", metrics, emds, model=str(out / "model"), data=name)
        result[name] = {alg: m["mean_emd"] for alg, m in metrics.items()}
    return result


def _report(summary: dict[str, Any], has_real: bool) -> str:
    lines = ["# codesign demo report", "", "| set | wafers | mean occupancy | median sum | p99 sum |"
             " EMD random pairs | EMD vs uniform |", "|---|---|---|---|---|---|---|"]
    for name, st in summary["stats"].items():
        e = summary["emd_scales"][name]
        lines.append(f"| {name} | {st['n_wafers']} | {st['mean_occupancy']:.2f} | {st['median_sum']:.0f} | "
                     f"{st['p99_sum']:.0f} | {e['mean_random_pairs']:.2f} | {e['mean_vs_uniform']:.2f} |")
    lines += ["", "## Compression: mean EMD between input and reconstruction on held-out wafers", ""]
    comp = summary["compression_mean_emd"]
    algorithms = sorted(next(iter(comp.values())), key=lambda a: next(iter(comp.values()))[a])
    lines += ["| algorithm | " + " | ".join(comp) + " |", "|---|" + "---|" * len(comp)]
    lines += [f"| {a} | " + " | ".join(f"{comp[t][a]:.3f}" for t in comp) + " |" for a in algorithms]
    lines += ["", "The demo encoder trains for about two minutes on 20,000 synthetic wafers, a toy next to the shipped "
              "recipes (`models/econt_*elink_*.yaml`, 15-30 minutes each, measured against the chip's algorithms "
              "in `docs/econt.md`); `chip:ALGORITHM:MODULE:Nelink` rows are the ECON-T's own algorithms at the "
              "encoder's eLink count (hd: DropLSB 3, ld: DropLSB 1).",
              "", "Plots: `emd_scales.png`, `eval_*/emd.png`"
              + (", `comparison.png` (synthetic vs real)" if has_real else ""), ""]
    if not has_real:
        lines.append("Real data not found (set CODESIGN_DATA_DIR): synthetic only.")
    return "\n".join(lines) + "\n"
