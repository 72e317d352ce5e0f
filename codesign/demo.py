"""The main job on the built-in default, from data to a gate-level netlist: what ``make demo`` runs.

Stages (each timed, each printed as it starts and ends):
1. synthetic high-pileup wafers, their statistics beside the real ``highpu_dev.csv`` when ``../shared`` is
   present, and the EMD scales (random pairs, wafer vs uniform) every compressor is judged against;
2. training of the demo encoder (``models/econt_demo.yaml``: the published 5-eLink shape, learned-EMD loss,
   synthetic wafers, a few minutes);
3. evaluation against the chip's own algorithms on held-out synthetic and real wafers, beside the shipped
   5-eLink reference model on the same real wafers;
4. the hls4ml project and its C simulation against Keras;
5. the RTL (da4ml core behind ``econt_top``) and test vectors (real wafers and corner cases);
6. the cocotb testbenches on the RTL with Verilator;
7. Yosys synthesis with the 65 nm gate-equivalent model and the gate-level energy per inference;
and one report: ``report.md`` and ``report.html`` (plots inline). Without ``hardware`` stages 4-7 are left out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.artifacts import provenance, write_json
from codesign.data.io import REFERENCE_FILE, read_calq, real_data_dir, write_wafers
from codesign.data.stats import wafer_stats, write_comparison
from codesign.data.synth import generate_wafers, load_synth_config
from codesign.document import Document
from codesign.emd.exact import reference_emds
from codesign.paths import MODELS_DIR
from codesign.plots import EMD_AXIS, OVERFLOW, figure, with_overflow
from codesign.progress import Stages

DEMO_SPEC = MODELS_DIR / "econt_demo.yaml"
REFERENCE_MODEL = MODELS_DIR / "reference" / "econt_5elink_hybrid"
REFERENCE_SYSTEM = MODELS_DIR / "reference" / "econt_5elink_table"  # at the demo encoder's 5 eLinks
HARDWARE_WAFERS = 400  # real wafers for the HLS check, the vectors and the simulation (plus corner cases)
ENERGY_WAFERS = 100


@dataclass(frozen=True)
class DemoResult:
    """Where the demo wrote everything, what it measured and how long each stage took."""

    out: Path
    summary: dict[str, Any]  # also in summary.json
    stage_seconds: dict[str, float]

    @property
    def report(self) -> Path:
        return self.out / "report.md"

    @property
    def html(self) -> Path:
        return self.out / "report.html"


def run_demo(out_dir: str | Path, *, n_wafers: int = 5000, n_pairs: int = 2000, seed: int = 0,
             preset: str = "highpu", epochs: int | None = None, hardware: bool = True,
             config: str | Path = DEMO_SPEC) -> DemoResult:
    """Run every stage on synthetic data (and the real sample when present) into ``out_dir``; ``config`` is
    the encoder's AutoencoderSpec YAML (the demo's own by default), ``epochs`` overrides its training epochs."""
    out = Path(out_dir)
    spec = _demo_spec(config, seed, epochs)  # a bad config fails here, before any stage
    stages = Stages(7 if hardware else 3)
    with stages.stage("synthetic wafers, comparison with real data, EMD scales"):
        sets = _wafer_sets(out, n_wafers, seed, preset)
        emds = {name: reference_emds(calq, n_pairs, seed) for name, calq in sets.items()}
        _plot_emds(emds, out / "emd_scales.png", n_pairs)
    with stages.stage("training the demo encoder (one line per epoch)", beat=False):
        ae = _train(out, spec)
    with stages.stage("evaluation against the chip's algorithms"):
        compression = _evaluate(out, ae, spec, has_real="real" in sets)
    summary: dict[str, Any] = {
        "meta": provenance(seed=seed, preset=preset, n_wafers=n_wafers, n_pairs=n_pairs, config=str(config),
                           encoder=spec.name, elinks=spec.encoder.elinks, epochs=spec.training.epochs),
        "stats": {name: wafer_stats(calq) for name, calq in sets.items()},
        "emd_scales": {name: {f"mean_{kind}": float(v.mean()) for kind, v in values.items()}
                       for name, values in emds.items()},
        "compression_mean_emd": compression,
    }
    if hardware:
        summary["hardware"] = _hardware(out, stages, seed)
    summary["stage_seconds"] = dict(stages.times)
    write_json(out / "summary.json", summary)
    _report(out, summary).write(out / "report.md")
    return DemoResult(out, summary, dict(stages.times))


def _wafer_sets(out: Path, n_wafers: int, seed: int, preset: str) -> dict[str, np.ndarray]:
    synth = generate_wafers(load_synth_config(preset), n_wafers, seed, progress=True)
    write_wafers(out / f"synth_{preset}.csv", synth)
    sets = {"synthetic": synth}
    real_path = real_data_dir() / REFERENCE_FILE
    if real_path.is_file():
        sets["real"] = read_calq(real_path)
        write_comparison(synth, sets["real"], out, labels=("synthetic", f"real {REFERENCE_FILE}"))
    return sets


def _plot_emds(emds: dict[str, dict[str, np.ndarray]], path: Path, n_pairs: int) -> None:
    titles = {"random_pairs": f"two random wafers ({n_pairs} pairs per set)",
              "vs_uniform": f"wafer vs uniform wafer ({n_pairs} wafers per set)"}
    with figure(path, ncols=2, figsize=(11, 4)) as (_, axes):
        for ax, kind in zip(axes, titles, strict=True):
            for label, values in emds.items():
                ax.hist(with_overflow(values[kind], 10.0), bins=np.linspace(0, 10, 51), histtype="step",
                        density=True, label=f"{label} (mean {values[kind].mean():.2f})")
            ax.set(xlabel=f"{EMD_AXIS}, {OVERFLOW}", ylabel="fraction per unit EMD",
                   title=f"EMD scale: {titles[kind]}")
            ax.legend()


def _demo_spec(config: str | Path, seed: int, epochs: int | None) -> Any:
    from codesign.training import load_ae_spec

    spec = load_ae_spec(config)
    training = dataclasses.replace(spec.training, seed=seed, epochs=epochs or spec.training.epochs)
    return dataclasses.replace(spec, training=training)


def _train(out: Path, spec: Any) -> Any:
    from codesign.training import train_autoencoder

    return train_autoencoder(spec, out / "model", progress=False)


def _evaluate(out: Path, ae: Any, spec: Any, has_real: bool) -> dict[str, dict[str, float]]:
    """{test set: {algorithm: mean EMD}} of the demo encoder, the chip's algorithms and, on the real wafers,
    the shipped 5-eLink reference system and network hybrid."""
    from codesign.arena import load_costs
    from codesign.evaluation import (
        autoencoder_reconstruction,
        evaluate_model,
        evaluate_reconstructions,
        headline_systems,
        write_evaluation,
    )
    from codesign.table_system import is_table_system, load_table_system
    from codesign.training import held_out_wafers, load_autoencoder, split_sources

    tests = {"synthetic": split_sources(spec)["test"]}
    if has_real:
        tests["real"] = held_out_wafers(spec)
    result = {}
    for name, calq in tests.items():
        metrics, emds = evaluate_model(ae, spec, calq)
        references = []
        if name == "real" and (REFERENCE_MODEL / "autoencoder.keras").is_file():
            ref_ae, ref_spec = load_autoencoder(REFERENCE_MODEL)
            references.append(autoencoder_reconstruction(ref_ae, ref_spec, calq))
        if name == "real" and is_table_system(REFERENCE_SYSTEM):
            references += load_table_system(REFERENCE_SYSTEM).reconstructions(calq)
        if references:
            ref_metrics, ref_emds = evaluate_reconstructions(calq, references)
            metrics, emds = {**metrics, **ref_metrics}, {**emds, **ref_emds}
        data = "real highpu_dev.csv (held-out split)" if name == "real" else "synthetic highpu (held-out split)"
        write_evaluation(out / f"eval_{name}", metrics, emds, costs=load_costs(), force=True,  # the demo's own folder
                         model=str(out / "model"), data=data)
        shown = headline_systems(metrics) + [n for n in metrics if n.startswith("floor:")]
        result[name] = {alg: metrics[alg]["mean_emd"] for alg in dict.fromkeys(shown)}
    return result


def _hardware(out: Path, stages: Stages, seed: int) -> dict[str, Any]:
    """Stages 4-7 on the trained encoder; {stage: what it measured}."""
    from codesign.asic.energy import estimate_energy
    from codesign.asic.synth import synthesize_asic
    from codesign.hardware.hls import HlsSettings, check_csim, write_hls_project
    from codesign.hardware.rtl import write_rtl
    from codesign.hardware.sim.runner import run_simulation
    from codesign.hardware.vectors import check_wafers, corner_cases, make_vectors, write_vectors
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(out / "model")
    wafers, source = check_wafers(None, HARDWARE_WAFERS)
    with stages.stage("HLS: hls4ml project and C simulation vs Keras"):
        hls_model = write_hls_project(model, cfg, HlsSettings(), out_dir=out / "hls")
        corners, _ = corner_cases(22, seed=seed)
        csim = check_csim(hls_model, model, cfg, calq=np.concatenate([wafers, corners]),
                          source=f"{len(wafers)} from {Path(source).name} + {len(corners)} corner cases")
    with stages.stage("RTL (da4ml core + econt_top) and test vectors"):
        rtl = write_rtl(model, cfg, out / "rtl", force=True)
        vectors = make_vectors(model, cfg, wafers, seed=seed)
        write_vectors(out / "vectors", vectors, force=True, model=str(out / "model"), data=source, seed=seed)
    with stages.stage("cocotb simulation of the RTL (Verilator)"):
        sim = run_simulation(out / "rtl", out / "vectors", "verilator")
    with stages.stage("ASIC estimate: Yosys synthesis and gate-level energy"):
        # the fixed design only, without the area split (`make asic` has both): the demo stays under 10 minutes
        asic = synthesize_asic(out / "rtl", out / "asic")
        energy = estimate_energy(out / "asic", out / "rtl", out / "vectors", n_wafers=ENERGY_WAFERS)
    return {
        "hls": dataclasses.asdict(csim),
        "rtl": {"latency_cycles": rtl.latency_cycles, "clock_period_ns": rtl.clock_period_ns,
                "frame_bits": rtl.frame_bits, "estimated_luts": rtl.estimated_luts},
        "simulation": {"simulator": sim.simulator, "tests": sim.n_tests, "vectors": sim.n_vectors,
                       "build_s": sim.build_seconds, "test_s": sim.test_seconds},
        "asic": {key: getattr(asic.area, key) for key in ("gate_equivalents", "area_mm2", "cells", "flip_flops")}
        | {"energy_nJ_per_inference": energy.energy_nJ_per_inference, "power_mW_at_40MHz": energy.power_mW_at_40MHz},
    }


def _report(out: Path, summary: dict[str, Any]) -> Document:
    doc = Document("codesign demo report")
    doc.paragraph("What `make demo` ran, what each number means and where everything lies. The demo encoder "
                  "trains for a few minutes on synthetic wafers: a toy next to the shipped reference recipes "
                  "(`models/econt_*elink_hybrid.yaml`, 15-40 minutes each on real and synthetic wafers), so it is "
                  "expected to lose to the chip's best algorithm; the reference encoder on the same wafers shows "
                  "what the full recipe reaches.")
    _data_section(doc, out, summary)
    _compression_section(doc, out, summary["compression_mean_emd"], summary["meta"])
    if "hardware" in summary:
        _hardware_section(doc, summary["hardware"])
    doc.heading("Time per stage")
    doc.table(["stage", "seconds"], [[name, f"{sec:.0f}"] for name, sec in summary["stage_seconds"].items()])
    doc.heading("Where things are")
    doc.table(["path", "what"], [[f"`{p}`", what] for p, what in _ARTIFACTS if (out / p).exists()])
    return doc


_ARTIFACTS = [
    ("summary.json", "every number of this report"),
    ("synth_highpu.csv", "the synthetic wafers (real-data CSV format)"),
    ("comparison.png", "synthetic vs real wafer distributions"),
    ("model", "the trained model folder (encoder.keras, autoencoder.keras, config, history)"),
    ("eval_real", "evaluation on held-out real wafers: report.md, metrics.json, emd.png"),
    ("eval_synthetic", "evaluation on held-out synthetic wafers"),
    ("hls", "the hls4ml (Vitis) project of the encoder"),
    ("rtl", "Verilog: da4ml core + econt_top, constraints, rtl.json; sim_verilator/ holds the cocotb results"),
    ("vectors", "inputs.hex, expected.hex (frames from Keras), expected_chip.hex"),
    ("asic", "Yosys netlist, asic_report.md, energy_report.json"),
]


def _data_section(doc: Document, out: Path, summary: dict[str, Any]) -> None:
    doc.heading("Data and EMD scales")
    doc.paragraph("EMD is the earth mover's distance between two wafers normalised to unit sum, with the distance "
                  "between trigger-cell centres as ground distance in units of half a trigger-cell pitch "
                  "(neighbours are 2 apart). A compressor is useful only far below the two scales: two random "
                  "wafers, and a wafer against a uniform one.")
    rows = []
    for name, st in summary["stats"].items():
        e = summary["emd_scales"][name]
        rows.append([name, str(st["n_wafers"]), f"{st['mean_occupancy']:.2f}", f"{st['median_sum']:.0f}",
                     f"{st['p99_sum']:.0f}", f"{e['mean_random_pairs']:.2f}", f"{e['mean_vs_uniform']:.2f}"])
    doc.table(["set", "wafers", "mean TCs > 0", "median sum", "99 % sum", "EMD random pairs",
               "EMD vs uniform"], rows)
    doc.image(out / "emd_scales.png", "EMD scales: random pairs and wafer vs uniform")
    if "real" in summary["stats"]:
        doc.image(out / "comparison.png", "synthetic vs real wafers (occupancy, sum, cell charge, per-TC mean)")
    else:
        doc.paragraph("Real data not found (set CODESIGN_DATA_DIR): synthetic wafers only, no chip algorithms.")


def _compression_section(doc: Document, out: Path, comp: dict[str, dict[str, float]], meta: dict[str, Any]) -> None:
    doc.heading("Compression: mean EMD between input and reconstruction on held-out wafers")
    doc.paragraph(f"Lower is better. `autoencoder:{meta['encoder']}` is the demo encoder; for high-density (hd, "
                  f"DropLSB 3) and low-density (ld, DropLSB 1) modules at {meta['elinks']} eLinks, the best "
                  "non-learned system of the arena (`chip:ALGORITHM:...`: the ECON-T's own algorithm as the chip "
                  "runs it, decoded with everything its frame carries; `codec:entropy:...`: the entropy-coded "
                  "sparse codec) and the chip's best as the public emulator decodes it (`naive:chip:...`); "
                  "`floor:` every cell at the chip's 7-bit precision with no bit budget; "
                  "`system:econt_5elink_table:...` is the shipped reference system (real wafers only: the codec on "
                  "chip, its learned table decoder in the back end, in the decoder's integers); "
                  "`autoencoder:econt_5elink_hybrid` is the shipped network hybrid (real wafers only; its decoder "
                  "is a float network, an unbounded back end); `uniform` sends only the sum. Every system: "
                  "`eval_*/report.md`.")
    names = sorted({a for m in comp.values() for a in m}, key=lambda a: min(m.get(a, np.inf) for m in comp.values()))
    doc.table(["algorithm", *comp], [[a, *(f"{comp[t][a]:.3f}" if a in comp[t] else "-" for t in comp)]
                                     for a in names])
    for name in comp:
        doc.image(out / f"eval_{name}" / "emd.png", f"EMD per wafer and vs occupancy, {name} wafers")


def _hardware_section(doc: Document, hw: dict[str, Any]) -> None:
    doc.heading("Hardware of the demo encoder")
    hls, rtl, sim, asic = hw["hls"], hw["rtl"], hw["simulation"], hw["asic"]
    doc.table(["check", "result", "meaning"], [
        ["HLS C simulation (hls4ml, g++)", f"{hls['mismatches']} of {hls['n_latents']} latents differ",
         f"bit-exactness of the hls4ml project vs Keras on {hls['n_wafers']} wafers"],
        ["RTL", f"{rtl['latency_cycles']} cycles at {1000 / rtl['clock_period_ns']:.0f} MHz, "
                f"{rtl['frame_bits']}-bit frame", f"~{rtl['estimated_luts']:.0f} LUTs (da4ml estimate)"],
        [f"cocotb ({sim['simulator']})", f"{sim['tests']} tests passed on {sim['vectors']} vectors",
         "every frame equal to Keras's, latency and idle behaviour checked"],
        ["ASIC area (Yosys, generic cells)", f"{asic['gate_equivalents']:,.0f} GE = {asic['area_mm2']:.3f} mm2",
         "NAND2 gate equivalents x 1.44 um2 (65 nm, assumed); published ECON-T autoencoder block: 3.6 mm2"],
        ["energy (gate-level simulation)", f"{asic['energy_nJ_per_inference']:.3f} nJ per wafer, "
                                           f"{asic['power_mW_at_40MHz']:.1f} mW at 40 MHz",
         "toggles x 5 fJ + 2 fJ per flip-flop and cycle (assumed); published autoencoder block: 2.4 nJ, 95 mW"],
    ])
    doc.paragraph("`make asic MODEL_DIR=<this folder>/model` adds the area of each part of the top and the "
                  "reconfigurable variants (with TMR, with a reuse factor); `docs/hardware.md` has them for the "
                  "reference models.")
