"""``codesign`` command line: argument parsing only; every command calls one library function."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from codesign.config import ConfigError
from codesign.data.io import WaferFileError
from codesign.data.normalise import ZeroSumError
from codesign.hardware.sim.runner import SimulationFailed
from codesign.models.store import ModelFolderError
from codesign.tools import ToolError, ToolNotFoundError

Handler = Callable[[argparse.Namespace], None]


def _cmd_data_stats(args: argparse.Namespace) -> None:
    from codesign.data.io import load_wafers
    from codesign.data.stats import wafer_stats

    ws = load_wafers(args.file)
    print(json.dumps(wafer_stats(ws.calq, ws.n_dropped_zero), indent=2))


def _cmd_data_synth(args: argparse.Namespace) -> None:
    from codesign.data.io import write_wafers
    from codesign.data.synth import generate_wafers, load_synth_config

    cfg = load_synth_config(args.config or args.preset)
    write_wafers(args.out, generate_wafers(cfg, args.n, args.seed, progress=True))
    print(f"wrote {args.n} synthetic '{cfg.name}' wafers (seed {args.seed}) to {args.out}")


def _cmd_data_compare(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq
    from codesign.data.stats import write_comparison

    result = write_comparison(read_calq(args.synth), read_calq(args.real), args.out,
                              labels=(Path(args.synth).name, Path(args.real).name))
    summary = {k: {m: round(v[m], 4) for m in ("synth_mean", "real_mean", "rel_diff_mean", "synth_median",
                                                "real_median", "rel_diff_median", "ks_statistic")}
               for k, v in result.items() if isinstance(v, dict) and "ks_statistic" in v}
    print(json.dumps(summary, indent=2))
    print(f"wrote {Path(args.out) / 'comparison.json'} and comparison.png")


def _cmd_data_convert(args: argparse.Namespace) -> None:
    from codesign.data.io import convert_wafers

    n = convert_wafers(args.src, args.dst)
    print(f"converted {n} wafers: {args.src} -> {args.dst}")


def _cmd_data_onchip(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq, write_int_csv
    from codesign.data.onchip import onchip_convert

    words = onchip_convert(read_calq(args.file))
    header = [f"IN_{i}" for i in range(words.inputs.shape[1])] + ["SUM_CODE"]
    write_int_csv(args.out, header, np.column_stack([words.inputs, words.sum_code]))
    print(f"wrote {len(words.sum_code)} converted wafers to {args.out}")


def _write_emd_column(path: str, emd: np.ndarray, kind: str) -> None:
    """The row-wise EMD contract shared by `emd exact` and `emd predict`: header 'emd', one value per line."""
    from codesign.artifacts import atomic_path

    with atomic_path(path) as tmp:
        np.savetxt(tmp, emd, fmt="%.6f", header="emd", comments="")
    print(f"wrote {len(emd)} {kind} EMDs to {path} (mean {emd.mean():.4f})")


def _cmd_emd_exact(args: argparse.Namespace) -> None:
    from codesign.data.io import load_wafers
    from codesign.emd.exact import exact_emd

    a = load_wafers(args.a, drop_zero=False).calq
    b = load_wafers(args.b, drop_zero=False).calq
    _write_emd_column(args.out, exact_emd(a, b, n_jobs=args.jobs, progress=True), "exact")


def _cmd_emd_labels(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq
    from codesign.emd.labels import KINDS, cached_pair_labels

    calq = np.concatenate([read_calq(f) for f in args.data])
    labels = cached_pair_labels(args.out, calq, args.n_random, args.n_perturbed, args.seed,
                                n_jobs=args.jobs, progress=True)
    for k, kind in enumerate(KINDS):
        emd = labels.emd[labels.kind == k]
        if len(emd):
            q = np.percentile(emd, [5, 50, 95])
            print(f"{kind:>9}: {len(emd)} pairs, EMD 5/50/95 % = {q[0]:.3f} / {q[1]:.3f} / {q[2]:.3f}")
    print(f"labels in {args.out}")


def _with_overrides(spec: Any, args: argparse.Namespace) -> Any:
    """``spec`` with ``training.epochs`` / ``training.seed`` replaced where the command line gives them."""
    import dataclasses

    changes = {k: getattr(args, k) for k in ("epochs", "seed") if getattr(args, k) is not None}
    return dataclasses.replace(spec, training=dataclasses.replace(spec.training, **changes)) if changes else spec


def _cmd_emd_train(args: argparse.Namespace) -> None:
    from codesign.emd.training import history_summary, load_spec, train_learned_emd

    spec = _with_overrides(load_spec(args.config), args)
    train_learned_emd(spec, args.out)
    print(f"trained learned EMD ({spec.model.architecture}) in {args.out}: {history_summary(args.out)}")


def _cmd_emd_eval(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq
    from codesign.emd.report import evaluate, evaluation_sets, write_report
    from codesign.emd.training import load_learned_emd

    model, spec = load_learned_emd(args.model)
    sets = [s for f in args.data for s in evaluation_sets(Path(f).stem, read_calq(f), spec.training.split,
                                                           spec.training.seed, args.pairs)]
    results, preds = evaluate(model, sets)
    write_report(args.out, sets, results, preds)
    print((Path(args.out) / "report.md").read_text())


def _cmd_emd_predict(args: argparse.Namespace) -> None:
    from codesign.data.io import load_wafers
    from codesign.emd.learned import predict_emd
    from codesign.emd.training import load_learned_emd

    model, _ = load_learned_emd(args.model)
    a, b = load_wafers(args.a, drop_zero=False).calq, load_wafers(args.b, drop_zero=False).calq
    _write_emd_column(args.out, predict_emd(model, a, b), "learned")


def _cmd_train(args: argparse.Namespace) -> None:
    from codesign.training import load_ae_spec, train_autoencoder

    spec = _with_overrides(load_ae_spec(args.config), args)
    train_autoencoder(spec, args.out)
    print(f"trained {spec.name} into {args.out} (encoder model folder for `codesign hls/rtl`: {args.out})")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from codesign.data.io import read_calq, real_data_dir
    from codesign.data.splits import split_indices
    from codesign.evaluation import evaluate_model, write_evaluation
    from codesign.training import load_autoencoder

    ae, spec = load_autoencoder(args.model)
    path = Path(args.data) if args.data else real_data_dir() / "highpu_dev.csv"
    calq = read_calq(path)
    calq = calq[split_indices(len(calq), spec.training.split, seed=spec.training.seed).test]
    metrics, emds = evaluate_model(ae, spec, calq)
    write_evaluation(args.out, metrics, emds, model=str(args.model), data=str(path), n_wafers=len(calq))
    print((Path(args.out) / "report.md").read_text())


def _cmd_model_init(args: argparse.Namespace) -> None:
    from codesign.config import load_config
    from codesign.models.encoder import EncoderConfig, build_encoder
    from codesign.models.store import save_encoder

    cfg = load_config(EncoderConfig, args.config)
    save_encoder(build_encoder(cfg, args.seed), cfg, args.out, seed=args.seed, config=str(args.config),
                 weights="seeded random (untrained)")
    print(f"wrote an untrained encoder (seed {args.seed}) to {args.out}")


def _cmd_hls(args: argparse.Namespace) -> None:
    from codesign.data.onchip import onchip_convert
    from codesign.hardware.hls import HlsSettings, csim_mismatches, run_hls_synthesis, write_hls_project
    from codesign.hardware.vectors import check_wafers, corner_cases
    from codesign.models.encoder import encoder_inputs, latent_integers
    from codesign.models.store import load_encoder
    from codesign.tools import ToolNotFoundError

    model, cfg = load_encoder(args.model)
    settings = HlsSettings(args.backend, args.reuse_factor, args.strategy, args.clock_period)
    hls_model = write_hls_project(model, cfg, settings, args.out)
    print(f"wrote the {args.backend} hls4ml project to {args.out}")
    real, source = check_wafers(args.data, args.n_wafers)
    corners, _ = corner_cases(args.calq_bits)
    calq, source = np.concatenate([real, corners]), f"{len(real)} from {source} + {len(corners)} corner cases"
    x = encoder_inputs(onchip_convert(calq).inputs, cfg)
    expected = latent_integers(model.predict(x, verbose=0, batch_size=1024), cfg)
    bad = csim_mismatches(hls_model, x, expected, cfg)
    print(f"C simulation vs Keras on {len(calq)} wafers ({source}): {bad} of {expected.size} latents differ")
    if bad:
        raise SystemExit(1)
    if args.synth:
        try:
            print(run_hls_synthesis(hls_model, settings, args.out))
        except ToolNotFoundError as err:
            print(f"HLS synthesis skipped: {err}")


def _cmd_rtl(args: argparse.Namespace) -> None:
    from codesign.hardware.rtl import write_rtl
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(args.model)
    info = write_rtl(model, cfg, args.out, args.clock_period, args.latency_cutoff, args.calq_bits, args.vhdl)
    print(f"wrote RTL to {args.out}: latency {info.latency_cycles} cycles at {info.clock_period_ns} ns, II 1, "
          f"{info.frame_bits}-bit frame, core {info.core_registers} register bits, ~{info.estimated_luts:.0f} LUTs")


def _cmd_vectors(args: argparse.Namespace) -> None:
    from codesign.hardware.vectors import check_wafers, make_vectors, write_vectors
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(args.model)
    calq, source = check_wafers(args.data, args.n_wafers)
    vec = make_vectors(model, cfg, calq, args.calq_bits, args.seed)
    write_vectors(args.out, vec, model=str(args.model), data=source, seed=args.seed)
    print(f"wrote {len(vec.frames)} vectors ({len(calq)} wafers from {source} + corner cases) to {args.out}")


def _cmd_sim(args: argparse.Namespace) -> None:
    from codesign.hardware.sim.runner import run_simulation

    result = run_simulation(args.rtl, args.vectors, args.sim, args.build_dir, args.waves)
    print(f"{result.simulator}: {result.n_tests} cocotb tests passed on {result.n_vectors} vectors "
          f"(build {result.build_seconds:.1f} s, tests {result.test_seconds:.1f} s, "
          f"{result.stream_wafers_per_s:.0f} wafers/s streamed); {result.results_xml}")


def _cmd_asic_synth(args: argparse.Namespace) -> None:
    from codesign.asic.synth import synthesize_asic

    synthesize_asic(args.rtl, args.out, args.liberty, args.um2_per_ge)
    print((Path(args.out) / "asic_report.md").read_text())


def _cmd_asic_energy(args: argparse.Namespace) -> None:
    from codesign.asic.energy import estimate_energy

    r = estimate_energy(args.asic, args.rtl, args.vectors, args.wafers, args.fj_per_toggle)
    print(f"{r['wafers']} wafers through the gate-level netlist, frames equal to Keras: {r['toggles_per_wafer']:.0f} "
          f"toggles/wafer x {r['fj_per_toggle']} fJ = {r['energy_nJ_per_inference']:.3f} nJ/inference, "
          f"{r['power_mW_at_40MHz']:.1f} mW at 40 MHz")


def _cmd_asic_rtl(args: argparse.Namespace) -> None:
    from codesign.config import load_config
    from codesign.hardware.rtl import write_reconfigurable_rtl
    from codesign.models.encoder import EncoderConfig

    info = write_reconfigurable_rtl(load_config(EncoderConfig, args.config), args.out, args.clock_period,
                                    args.calq_bits, args.tmr)
    print(f"wrote reconfigurable RTL to {args.out}: {info.config_bits} configuration bits, latency "
          f"{info.latency_cycles} cycles, II 1, {info.frame_bits}-bit frame")


def _cmd_asic_config(args: argparse.Namespace) -> None:
    from codesign.asic.verify import write_config_image
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(args.model)
    write_config_image(model, cfg, args.out)
    print(f"wrote the configuration image of {args.model} to {args.out} (register map in {args.out}.json)")


def _cmd_asic_verify(args: argparse.Namespace) -> None:
    from codesign.asic.verify import verify_two_weight_sets
    from codesign.hardware.vectors import check_wafers

    calq, source = check_wafers(args.data, args.n_wafers)
    result = verify_two_weight_sets(args.model_a, args.model_b, calq, args.out, args.sim)
    print(f"{result.simulator}: weight sets A and B bit-exact on {result.n_vectors} vectors each ({source} + corner "
          f"cases) in one build, read-back equal; {result.results_xml}")


def _cmd_asic_faults(args: argparse.Namespace) -> None:
    from codesign.asic.verify import fault_campaign
    from codesign.hardware.vectors import check_wafers

    calq, _ = check_wafers(args.data, args.n_wafers)
    reports = fault_campaign(args.model, calq, args.out, args.faults, args.seed)
    for name, r in reports.items():
        print(f"{name:>6}: {r['injections']} single-bit upsets while streaming {r['frames']} wafers -> "
              f"{r['wrong_frames']} wrong output frames")


def _cmd_fpga_synth(args: argparse.Namespace) -> None:
    from codesign.asic.synth import synthesize_fpga

    synthesize_fpga(args.rtl, args.out)
    print((Path(args.out) / "fpga_report.md").read_text())


def _cmd_demo(args: argparse.Namespace) -> None:
    from codesign.demo import run_demo

    summary = run_demo(args.out, n_wafers=args.n, n_pairs=args.pairs, seed=args.seed, preset=args.preset)
    print(json.dumps({k: summary[k] for k in ("stats", "emd_scales", "compression_mean_emd")}, indent=2))
    print(f"report: {Path(args.out) / 'report.md'}")


def _add(sub: argparse._SubParsersAction, name: str, handler: Handler, help_: str,
         description: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_, description=description or help_)
    p.set_defaults(handler=handler)
    return p


def _data_commands(sub: argparse._SubParsersAction) -> None:
    data = sub.add_parser("data", help="wafer files: statistics, synthetic data, conversion",
                          description="Wafer files (CALQ CSV or HDF5): inspect, generate, compare, convert.")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")
    p = _add(dsub, "stats", _cmd_data_stats, "print summary statistics of a wafer file as JSON",
             "Print n_wafers, n_dropped_zero, mean_occupancy (TCs > 0), median_sum and p99_sum as JSON.")
    p.add_argument("file", help="wafer file (.csv with CALQ_0..CALQ_47 or .h5)")
    p = _add(dsub, "synth", _cmd_data_synth, "generate synthetic wafers in the real CSV format",
             "Generate physically motivated synthetic HGCAL wafers (CSV or, with .h5, HDF5).")
    p.add_argument("--n", type=int, required=True, help="number of wafers")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same bits)")
    p.add_argument("--out", required=True, help="output .csv or .h5")
    p.add_argument("--preset", default="highpu", choices=["highpu", "ttbar"], help="built-in parameter set")
    p.add_argument("--config", help="YAML file with generator parameters (overrides --preset)")
    p = _add(dsub, "compare", _cmd_data_compare, "compare a synthetic set with a real one (plot + JSON)",
             "Compare occupancy, wafer-sum, cell-charge and per-TC mean-charge distributions; writes "
             "comparison.json (means, medians, two-sample KS statistics) and comparison.png to --out.")
    p.add_argument("synth", help="synthetic wafer file")
    p.add_argument("real", help="real wafer file")
    p.add_argument("--out", required=True, help="output folder")
    p = _add(dsub, "convert", _cmd_data_convert, "convert a wafer file between CSV and HDF5",
             "Convert CSV <-> HDF5 (format chosen by suffix: .h5/.hdf5 or anything else for CSV).")
    p.add_argument("src")
    p.add_argument("dst")
    p = _add(dsub, "onchip", _cmd_data_onchip, "apply the ECON-T on-chip input conversion",
             "Per wafer: the 48 encoder inputs as integers in units of 2**-7 (shift by floor(log2 sum), "
             "truncated) and the 9-bit floating-point sum code; header IN_0..IN_47,SUM_CODE.")
    p.add_argument("file", help="wafer file")
    p.add_argument("--out", required=True, help="output CSV")


def _emd_commands(sub: argparse._SubParsersAction) -> None:
    emd = sub.add_parser("emd", help="Earth Mover's Distance between wafers",
                         description="Exact optimal-transport EMD between wafers and EMD pair labels.")
    esub = emd.add_subparsers(dest="emd_command", required=True, metavar="COMMAND")
    p = _add(esub, "exact", _cmd_emd_exact, "exact EMD of row i of A against row i of B",
             "Exact EMD (POT) between row i of A and row i of B; writes one EMD per line under a header "
             "'emd'. Wafers are normalised to unit sum; a zero-sum row is an error.")
    p.add_argument("--a", required=True, help="wafer file A")
    p.add_argument("--b", required=True, help="wafer file B (same number of rows)")
    p.add_argument("--out", required=True, help="output CSV")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p = _add(esub, "labels", _cmd_emd_labels, "generate exact-EMD pair labels (HDF5) for the EMD-CNN",
             "Draw random pairs and wafer-vs-degraded pairs from the given wafers, label them with the "
             "exact EMD and cache them in HDF5 (reused when wafers and settings are unchanged).")
    p.add_argument("--data", nargs="+", required=True, help="wafer files to draw from")
    p.add_argument("--n-random", type=int, default=10000, help="random pairs")
    p.add_argument("--n-perturbed", type=int, default=10000, help="wafer vs degraded wafer pairs")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output .h5")
    p.add_argument("--jobs", type=int, default=None, help="worker processes (default: all cores)")
    p = _add(esub, "train", _cmd_emd_train, "train the learned EMD (EMD-CNN) from a YAML config",
             "Split every source by wafer, label pairs with the exact EMD (cached), fit with early stopping; "
             "rerun the same command to resume an interrupted fit.")
    p.add_argument("--config", default="models/emd_cnn.yaml", help="LearnedEmdSpec YAML")
    p.add_argument("--out", required=True, help="model folder")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--seed", type=int, help="override training.seed (splits, pairs, initial weights)")
    p = _add(esub, "eval", _cmd_emd_eval, "evaluate a learned EMD against the exact EMD",
             "On the held-out test split of each file: random pairs, wafer-vs-degraded pairs with true EMD < "
             "1.5, identical pairs; bias, std of relative error, MAE, Pearson r, binned; report.md/json, PNG.")
    p.add_argument("--model", required=True, help="learned-EMD model folder")
    p.add_argument("--data", nargs="+", required=True, help="wafer files")
    p.add_argument("--pairs", type=int, default=3000, help="pairs per set")
    p.add_argument("--out", required=True, help="report folder")
    p = _add(esub, "predict", _cmd_emd_predict, "learned EMD of row i of A against row i of B",
             "Same row-wise contract as `codesign emd exact`: header 'emd', one value per line.")
    p.add_argument("--model", required=True, help="learned-EMD model folder")
    p.add_argument("--a", required=True, help="wafer file A")
    p.add_argument("--b", required=True, help="wafer file B (same number of rows)")
    p.add_argument("--out", required=True, help="output CSV")


def _training_commands(sub: argparse._SubParsersAction) -> None:
    p = _add(sub, "train", _cmd_train, "train a quantization-aware autoencoder from a YAML spec",
             "Split the sources by wafer, train encoder (quantized, on chip) + decoder (float) with the "
             "configured losses, early stopping; rerun the same command to resume. The output folder is "
             "also a model folder for `codesign hls/rtl/vectors`.")
    p.add_argument("--config", required=True, help="AutoencoderSpec YAML, e.g. models/econt_5elink_tele.yaml")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--epochs", type=int, help="override training.epochs")
    p.add_argument("--seed", type=int, help="override training.seed (splits, synthetic wafers, initial weights)")
    p = _add(sub, "evaluate", _cmd_evaluate, "compare an autoencoder with the non-ML baselines (exact EMD)",
             "On the held-out test split (the training spec's fractions and seed) of a wafer file: exact EMD "
             "for the autoencoder, threshold-sum, best-choice and super-trigger-cell; metrics.json, report.md, "
             "emd.png.")
    p.add_argument("--model", required=True, help="folder written by `codesign train`")
    p.add_argument("--data", help="wafer file (default: real highpu_dev.csv)")
    p.add_argument("--out", required=True, help="report folder")


def _hardware_commands(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="model folders (encoder.keras + config.yaml)",
                       description="Create model folders; training (`codesign train`) writes the same layout.")
    msub = p.add_subparsers(dest="model_command", required=True, metavar="COMMAND")
    p = _add(msub, "init", _cmd_model_init, "an untrained encoder with seeded random weights",
             "Build the quantized encoder of an EncoderConfig YAML with seeded weights spread over the whole "
             "weight range: a stand-in for the hardware flow until a trained model exists.")
    p.add_argument("--config", default="models/econt_5elink_seeded.yaml", help="EncoderConfig YAML")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", required=True, help="model folder to write")

    p = _add(sub, "hls", _cmd_hls, "write an hls4ml HLS project and check its C simulation",
             "Write the hls4ml project (io_parallel, precisions from the quantized model), compile the C "
             "simulation with g++ and count latent integers differing from Keras on wafers (must be 0; exit 1 "
             "otherwise). --synth also runs the vendor HLS tool when it is installed.")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--backend", default="vitis", choices=["vitis", "vivado", "catapult"])
    p.add_argument("--out", required=True, help="project folder, e.g. hls_projects/NAME")
    p.add_argument("--reuse-factor", type=int, default=1)
    p.add_argument("--strategy", default="latency", choices=["latency", "resource"])
    p.add_argument("--clock-period", type=float, default=25.0, help="ns (default 25: 40 MHz)")
    p.add_argument("--data", help="wafers for the check (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int, default=None, help="use at most this many (default: all)")
    p.add_argument("--calq-bits", type=int, default=22, help="CALQ width of the saturated corner cases")
    p.add_argument("--synth", action="store_true", help="run vitis_hls / vivado_hls / catapult if on PATH")

    p = _add(sub, "rtl", _cmd_rtl, "generate Verilog (da4ml core + CALQ-to-frame top)",
             "Generate the pipelined encoder core with da4ml and the econt_top module (CALQ inputs, on-chip "
             "conversion, encoder, ECON-T output frame); rtl.json records latency, registers and LUTs.")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--out", required=True, help="RTL folder to write")
    p.add_argument("--clock-period", type=float, default=25.0, help="ns (default 25: 40 MHz)")
    p.add_argument("--latency-cutoff", type=float, default=5.0, help="da4ml pipelining: delay per stage")
    p.add_argument("--calq-bits", type=int, default=22, help="width of each CALQ input")
    p.add_argument("--vhdl", action="store_true", help="also write the core in VHDL")

    p = _add(sub, "vectors", _cmd_vectors, "test vectors (hex) with expected frames from the Keras model",
             "Inputs (packed CALQ) and expected output frames for real wafers plus corner cases (all-zero, one "
             "hot cell in each position, all saturated, random).")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int, default=None, help="use at most this many wafers (default: all)")
    p.add_argument("--calq-bits", type=int, default=22)
    p.add_argument("--seed", type=int, default=0, help="seed of the random corner cases")
    p.add_argument("--out", required=True, help="vectors folder to write")

    p = _add(sub, "sim", _cmd_sim, "run the cocotb testbenches on the RTL",
             "Build the RTL folder with Icarus Verilog or Verilator and run the cocotb tests (reset/idle, every "
             "vector at one wafer per clock, idle gaps) bit-exactly against the expected frames.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl)")
    p.add_argument("--vectors", required=True, help="vectors folder (codesign vectors)")
    p.add_argument("--sim", default="icarus", choices=["icarus", "verilator"])
    p.add_argument("--build-dir", help="simulator build folder (default: RTL/sim_SIM)")
    p.add_argument("--waves", action="store_true", help="dump waveforms")


def _implementation_commands(sub: argparse._SubParsersAction) -> None:
    asic = sub.add_parser("asic", help="ASIC implementation reports", description="ASIC synthesis with Yosys.")
    asub = asic.add_subparsers(dest="asic_command", required=True, metavar="COMMAND")
    p = _add(asub, "synth", _cmd_asic_synth, "Yosys synthesis: cells, flip-flops, gate equivalents, area",
             "Synthesise an RTL folder with Yosys to generic gates and report cells, flip-flops, NAND2 gate "
             "equivalents and area with a stated 65 nm area per GE; --liberty maps to a real library instead.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl)")
    p.add_argument("--out", required=True, help="report folder")
    p.add_argument("--liberty", help="standard-cell library (.lib) to map to")
    p.add_argument("--um2-per-ge", type=float, default=1.44, help="area of one NAND2 equivalent in um2")
    p = _add(asub, "energy", _cmd_asic_energy, "energy per inference from gate-level switching activity",
             "Simulate the netlist of `codesign asic synth` with Icarus on real-wafer vectors (frames checked "
             "against Keras), count bit toggles in the VCD and multiply by a stated energy per toggle.")
    p.add_argument("--asic", required=True, help="folder of `codesign asic synth` (netlist.v)")
    p.add_argument("--rtl", required=True, help="the RTL folder it was synthesised from")
    p.add_argument("--vectors", required=True, help="vectors folder (codesign vectors)")
    p.add_argument("--wafers", type=int, default=200)
    p.add_argument("--fj-per-toggle", type=float, default=5.0, help="energy per bit toggle (65 nm LP default)")
    p = _add(asub, "rtl", _cmd_asic_rtl, "reconfigurable encoder RTL (weights loaded at run time)",
             "Generate the encoder with weights in a configuration shift register (serial port cfg_en/cfg_in/"
             "cfg_out) behind the same CALQ-to-frame top as `codesign rtl`.")
    p.add_argument("--config", default="models/econt_5elink_seeded.yaml", help="EncoderConfig YAML (shape)")
    p.add_argument("--out", required=True, help="RTL folder to write")
    p.add_argument("--clock-period", type=float, default=25.0)
    p.add_argument("--calq-bits", type=int, default=22)
    p.add_argument("--tmr", action="store_true", help="triplicate the configuration register (majority vote)")
    p = _add(asub, "config", _cmd_asic_config, "configuration image (register contents) of a trained encoder",
             "Write the register image (hex, bit 0 shifted in first) and its register map and protocol (.json).")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--out", required=True, help="image file (.hex)")
    p = _add(asub, "verify", _cmd_asic_verify, "load two weight sets into one reconfigurable RTL and check both",
             "Build the reconfigurable RTL once; load model A through the serial port, stream wafers, compare with "
             "Keras A; load B, stream, compare with Keras B; read the registers back.")
    p.add_argument("--model-a", required=True)
    p.add_argument("--model-b", required=True)
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int, default=500)
    p.add_argument("--sim", default="verilator", choices=["icarus", "verilator"])
    p.add_argument("--out", required=True, help="work folder")
    p = _add(asub, "faults", _cmd_asic_faults, "single-event-upset campaign with and without TMR",
             "Flip random single bits of the configuration registers while wafers stream (Verilator), once on "
             "the plain and once on the TMR reconfigurable design; report wrong output frames for both (the TMR "
             "run fails on any).")
    p.add_argument("--model", required=True, help="model folder (weights loaded before the campaign)")
    p.add_argument("--faults", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int, default=500)
    p.add_argument("--out", required=True, help="work folder")
    fpga = sub.add_parser("fpga", help="FPGA implementation reports", description="FPGA synthesis with Yosys.")
    fsub = fpga.add_subparsers(dest="fpga_command", required=True, metavar="COMMAND")
    p = _add(fsub, "synth", _cmd_fpga_synth, "Yosys synth_xilinx (UltraScale+): LUT/FF/CARRY/DSP counts",
             "Synthesise an RTL folder for AMD/Xilinx UltraScale+ with Yosys and count LUTs, flip-flops, "
             "carry chains, DSPs and block RAMs.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl)")
    p.add_argument("--out", required=True, help="report folder")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="codesign",
        description="Codesign of on-detector ML data compression for the CMS HGCAL (ECON-T): data, EMD, "
                    "training, evaluation and hardware generation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _data_commands(sub)
    _emd_commands(sub)
    _training_commands(sub)
    _hardware_commands(sub)
    _implementation_commands(sub)
    p = _add(sub, "demo", _cmd_demo, "run the main job end to end on built-in synthetic data",
             "Generate synthetic wafers, compare them with real data when available, measure EMD scales "
             "and write a report.")
    p.add_argument("--out", default="out/demo", help="output folder (default: out/demo)")
    p.add_argument("--n", type=int, default=5000, help="synthetic wafers")
    p.add_argument("--pairs", type=int, default=2000, help="pairs for the EMD scales")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--preset", default="highpu", choices=["highpu", "ttbar"])
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (WaferFileError, ConfigError, ZeroSumError, ModelFolderError, FileNotFoundError, ValueError) as err:
        print(f"codesign: error: {err}", file=sys.stderr)
        return 2
    except (SimulationFailed, ToolError, ToolNotFoundError) as err:
        print(f"codesign: failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
