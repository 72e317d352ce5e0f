"""`codesign train` and `codesign evaluate`: the autoencoder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in
from codesign.cli.common import with_overrides as _with_overrides


def _cmd_train(args: argparse.Namespace) -> None:
    from codesign.table_system import is_table_system_recipe
    from codesign.training import load_ae_spec, train_autoencoder

    if is_table_system_recipe(args.config):
        _train_table_system(args)
        return
    spec = _with_overrides(load_ae_spec(args.config), args)
    # a progress bar on a terminal; one line per epoch in a log file (a bar there is one endless line)
    train_autoencoder(spec, args.out, progress=sys.stdout.isatty(), force=args.force)
    print(f"trained {spec.name} into {args.out} (encoder model folder for `codesign hls/rtl`: {args.out})")


def _train_table_system(args: argparse.Namespace) -> None:
    from dataclasses import replace

    from codesign.table_system import fit_table_system, load_table_system_spec, write_table_system

    if args.epochs is not None:
        raise ValueError(f"--epochs: {args.config} is a table system's recipe, fitted without epochs")
    spec = load_table_system_spec(args.config)
    if args.seed is not None:
        spec = replace(spec, table_system=replace(spec.table_system, seed=args.seed))
    system = fit_table_system(spec)
    write_table_system(system, args.out, force=args.force, recipe=str(args.config))
    for module in system.modules:
        print(f"{spec.name} {module}: entropy codec m = {system.codec(module).mantissa_bits}, back end "
              f"{system.back_end(module)}")
    print(f"fitted {spec.name} into {args.out} (`codesign evaluate --model {args.out}` scores it in the arena)")


def _cmd_train_decoder(args: argparse.Namespace) -> None:
    from codesign.models.qdecoder import QuantizedDecoderConfig
    from codesign.training import train_quantized_decoder

    cfg = QuantizedDecoderConfig(hidden=tuple(args.hidden), weight_bits=args.weight_bits,
                                 weight_frac_bits=args.weight_frac_bits)
    decoder = train_quantized_decoder(args.model, args.out, cfg, seed=args.seed, epochs=args.epochs,
                                      progress=sys.stdout.isatty(), force=args.force)
    print(f"trained a quantized decoder ({decoder.model.count_params():,} parameters) of {args.model} into "
          f"{args.out}; its firmware: `codesign decoder-firmware --decoder {args.out} --out DIR`")


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from codesign.arena import load_arena, load_costs
    from codesign.artifacts import check_replaceable
    from codesign.data.io import REFERENCE_FILE
    from codesign.evaluation import evaluate_model, write_evaluation
    from codesign.models.qdecoder import load_quantized_decoder
    from codesign.table_system import is_table_system
    from codesign.training import held_out_wafers, load_autoencoder

    check_replaceable(Path(args.out), args.force)  # before minutes of work, not after
    if is_table_system(args.model):
        _evaluate_table_system(args)
        return
    arena = None if args.back_end == "naive" else load_arena(args.arena)
    ae, spec = load_autoencoder(args.model)
    decoder = None if args.decoder is None else load_quantized_decoder(args.decoder)
    calq = held_out_wafers(spec, args.data)
    metrics, emds = evaluate_model(ae, spec, calq, elinks=args.elinks, modules=tuple(args.module),
                                   ideal=args.ideal, back_end=args.back_end, arena=arena, decoder=decoder)
    write_evaluation(args.out, metrics, emds, costs=load_costs(args.arena), force=args.force, model=str(args.model),
                     data=args.data or REFERENCE_FILE,
                     n_wafers=len(calq), back_end=args.back_end,
                     arena=None if arena is None else str(args.arena or "models/reference/arena"))
    print((Path(args.out) / "report.md").read_text())


def _evaluate_table_system(args: argparse.Namespace) -> None:
    from codesign.arena import ARENA_SPLIT, load_arena, load_costs
    from codesign.data.io import REFERENCE_FILE
    from codesign.data.sources import test_split_wafers
    from codesign.evaluation import evaluate_table_system, write_evaluation
    from codesign.table_system import load_table_system

    other = [flag for flag, value in (("--elinks", args.elinks), ("--ideal", args.ideal), ("--decoder", args.decoder),
                                      ("--back-end naive", args.back_end == "naive"),
                                      ("--module", args.module != ["hd", "ld"])) if value]
    if other:
        raise ValueError(f"{args.model} is a table system: it is scored at its own eLink count and module types "
                         f"against the arena's best back ends; {', '.join(other)} apply to an autoencoder")
    system = load_table_system(args.model)
    data = args.data or REFERENCE_FILE
    calq = test_split_wafers(data, ARENA_SPLIT, system.spec.table_system.seed)
    metrics, emds = evaluate_table_system(system, calq, arena=load_arena(args.arena))
    write_evaluation(args.out, metrics, emds, costs=load_costs(args.arena), force=args.force, model=str(args.model),
                     data=data, n_wafers=len(calq), back_end="best", arena=str(args.arena or "models/reference/arena"))
    print((Path(args.out) / "report.md").read_text())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = _add(sub, "train", _cmd_train, "train an autoencoder, or fit a table system, from a YAML recipe",
             "An autoencoder spec: split the sources by wafer, train encoder (quantized, on chip) + decoder "
             "(float) with the configured losses, early stopping; rerun the same command to resume. The output "
             "folder is also a model folder for `codesign hls/rtl/vectors`. A table system's recipe (top-level "
             "`table_system:`, e.g. models/econt_2elink_table.yaml): fit the entropy codec and its learned "
             "table decoder for each module type as `codesign econt arena-fit` does at that eLink count (about "
             "a minute per module type on 2 cores); writes system.json.")
    p.add_argument("--config", required=True, help="recipe YAML, e.g. models/econt_5elink_tele.yaml (an autoencoder) "
                                                   "or models/econt_2elink_table.yaml (a table system)")
    add_out(p, "model folder to write (an interrupted training there resumes; refused if it holds files but is no "
               "model folder codesign wrote)")
    p.add_argument("--force", action="store_true", help="write into --out even if it holds other files")
    p.add_argument("--epochs", type=int_in(1), help="override training.epochs")
    p.add_argument("--seed", type=int_in(0), help="override training.seed (splits, synthetic wafers, initial weights; "
                                                  "a table system's split)")
    p = _add(sub, "evaluate", _cmd_evaluate,
             "place an autoencoder or a table system in the arena of non-learned systems (exact EMD)",
             "On the held-out test split (the training spec's fractions and seed) of a wafer file: exact EMD "
             "for the autoencoder and, at the encoder's eLink count and for each module type, every chip "
             "algorithm that sends data (Threshold-Sum through the buffer, Best-Choice, the STC types, "
             "Repeater) decoded with the best back end its frame allows (chip:...) and naively "
             "(naive:chip:...), the entropy-coded sparse codec (codec:entropy:...) and the 7-bit floor; "
             "metrics.json, report.md (with the best non-learned system per module type), emd.png. A table "
             "system (a folder with system.json) is scored the same way at its eLink count and module types, "
             "its rows named system:<name>:<module>, on the test split of its recipe's seed.")
    p.add_argument("--model", required=True,
                   help="folder written by `codesign train` (an autoencoder or a table system)")
    p.add_argument("--data", help="wafer file (default: real highpu_dev.csv)")
    p.add_argument("--elinks", type=int_in(1, 13), help="eLink count of the chip algorithms (default: the encoder's)")
    p.add_argument("--module", nargs="+", choices=("hd", "ld"), default=["hd", "ld"],
                   help="module types of the chip algorithms: hd = DropLSB 3, ld = DropLSB 1 (default: hd ld)")
    p.add_argument("--ideal", action="store_true",
                   help="also score the idealised algorithms (exact values, stable sort) at the frame width")
    p.add_argument("--back-end", choices=("best", "naive"), default="best",
                   help="best (default): the arena as above; naive: only the chip's algorithms, decoded as the "
                        "public emulator does (the cells sent, sums ignored)")
    p.add_argument("--arena", help="arena table folder (default: models/reference/arena)")
    p.add_argument("--decoder", help="also decode the same frames with this quantized back-end decoder "
                                     "(`codesign train-decoder`): qdecoder:<name>")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds files codesign did not write")
    add_out(p, "report folder")
    p = _add(sub, "train-decoder", _cmd_train_decoder,
             "train a quantized back-end decoder (FPGA-sized) for a trained autoencoder's encoder",
             "On the frozen encoder of --model: its latents of the wafers it sends as latents (training split of "
             "its sources; validation split for early stopping) against the unit-sum wafers, with the model's own "
             "training loss on the normalised outputs. The decoder (HGQ2, fixed formats) outputs 48 unsigned cell "
             "integers; `codesign decoder-firmware` makes it hls4ml and Verilog firmware, `codesign evaluate "
             "--decoder` scores it.")
    p.add_argument("--model", required=True, help="autoencoder folder written by `codesign train`")
    p.add_argument("--hidden", type=int_in(1), nargs="+", default=[32], help="widths of the hidden Dense+ReLU layers")
    p.add_argument("--weight-bits", type=int_in(2, 16), default=6, help="bits of each weight and bias, sign included")
    p.add_argument("--weight-frac-bits", type=int_in(0, 15), default=4, help="fractional bits of the weights")
    p.add_argument("--epochs", type=int_in(1), default=60, help="most epochs (early stopping on validation)")
    p.add_argument("--seed", type=int_in(0), default=0, help="initial weights and batch order")
    p.add_argument("--force", action="store_true", help="write into --out even if it holds other files")
    add_out(p, "decoder folder to write (an interrupted training there resumes)")
