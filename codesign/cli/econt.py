"""`codesign econt ...`: the ECON-T chip's own algorithms."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path
from typing import Any

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in


def _settings(args: argparse.Namespace) -> Any:  # ChipSettings (lazy import keeps --help fast)
    from codesign.econt import MODULE_PRESETS, EcontSettings

    drop = args.drop_lsb if args.drop_lsb is not None else MODULE_PRESETS[args.module].drop_lsb
    return EcontSettings(elinks=args.elinks, drop_lsb=drop, threshold=args.threshold, use_sum=args.use_sum,
                         buffer=args.buffer)


def _cmd_run(args: argparse.Namespace) -> None:
    from codesign.arena import load_arena
    from codesign.artifacts import check_replaceable
    from codesign.data.io import load_wafers
    from codesign.econt import BackEnd, load_tc_mux, run_algorithm, write_chip_output

    check_replaceable(Path(args.out), args.force)  # before the work, not after
    if args.buffer and args.algorithm != "threshold-sum":
        raise ValueError(f"--buffer: only Threshold-Sum frames go through the chip's buffer, not {args.algorithm}")
    settings = _settings(args)
    arena = load_arena(args.arena)
    calq = load_wafers(args.data, drop_zero=False).calq
    if args.algorithm == "entropy":
        codec = arena.codec(args.module, settings.elinks)
        if codec is None or codec.drop_lsb != settings.drop_lsb:
            raise ValueError(f"--algorithm entropy: the arena table has no codec for {args.module} modules at "
                             f"{settings.elinks} eLinks with DropLSB {settings.drop_lsb}")
        output = codec.run(calq)
    else:
        output = run_algorithm(args.algorithm, calq, load_tc_mux(args.mux), settings=settings,
                               back_end=BackEnd(literal_best_choice=args.literal_best_choice))
    rule = None if args.back_end == "naive" else arena.back_ends.rule(args.algorithm, args.module, settings.elinks)
    output = dataclasses.replace(output, reconstruction=output.decoded(rule, arena.back_ends.prior))
    summary = write_chip_output(output, args.out, force=args.force, data=str(args.data), module=args.module,
                                back_end=args.back_end, spreading=None if rule is None else rule.label())
    truncations = "" if summary.buffer_truncations is None else f", {summary.buffer_truncations} truncated"
    print(f"{args.algorithm}: {summary.wafers} wafers at {settings.elinks} eLinks (DropLSB {settings.drop_lsb}): "
          f"{summary.mean_bits_used:.1f} bits used per BX on average (max {summary.max_bits_used} of "
          f"{summary.link_bits_per_bx}){truncations} -> {Path(args.out)}/")


def _cmd_scan(args: argparse.Namespace) -> None:
    from codesign.arena import load_arena, load_costs, module_counts
    from codesign.chip_scan import held_out_split, scan_chip_algorithms, scan_encoders, write_scan
    from codesign.data.io import read_calq

    arena = None if args.back_end == "naive" else load_arena(args.arena)
    calq = read_calq(args.data)
    if args.held_out_seed is not None:
        calq = held_out_split(calq, args.held_out_seed)
    rows = scan_chip_algorithms(calq, elinks=_count_range(args.elinks), modules=tuple(args.module), arena=arena)
    rows += scan_encoders(args.model, calq)
    write_scan(rows, args.out, counts=module_counts(), costs=load_costs(args.arena), data=str(args.data),
               held_out_seed=args.held_out_seed, back_end=args.back_end)
    print((Path(args.out) / "scan.md").read_text())


def _cmd_arena_fit(args: argparse.Namespace) -> None:
    from codesign.arena import fit_arena, fit_learned_back_ends, fit_table_back_ends, load_arena, write_arena
    from codesign.data.io import read_calq

    calq, elinks, modules = read_calq(args.data), _count_range(args.elinks), tuple(args.module)
    if args.tables_only:
        arena = fit_table_back_ends(calq, load_arena(args.tables_only), seed=args.seed, elinks=elinks,
                                    modules=modules)
    else:
        arena = fit_arena(calq, seed=args.seed, elinks=elinks, modules=modules)
        if args.learned_back_ends:
            arena = fit_learned_back_ends(calq, arena, seed=args.seed, elinks=elinks, modules=modules)
            arena = fit_table_back_ends(calq, arena, seed=args.seed, elinks=elinks, modules=modules)
    path = write_arena(arena, args.out, data=str(args.data), seed=args.seed)
    for key, codec in sorted(arena.codecs.items()):
        print(f"entropy {key}: m = {codec.mantissa_bits}; back end {arena.codec_rule(*_split_key(key)).label()}")
    print(f"-> {path}")


def _split_key(key: str) -> tuple[str, int]:
    module, links = key.split(":")
    return module, int(links.removesuffix("elink"))


def _count_range(text: str) -> list[int]:
    """'1..7' or '2,3,5' -> eLink counts."""
    try:
        if ".." in text:
            lo, hi = (int(x) for x in text.split(".."))
            counts = list(range(lo, hi + 1))
        else:
            counts = [int(x) for x in text.split(",")]
    except ValueError:
        raise ValueError(f"--elinks: expected a range like 1..7 or a list like 2,3,5, got {text!r}") from None
    if not counts or not all(1 <= n <= 13 for n in counts):
        raise ValueError(f"--elinks: eLink counts are 1..13, in a rising range like 1..7 or a list, got {text!r}")
    return counts


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from codesign.econt.algorithms import ALGORITHMS, DEFAULT_THRESHOLD, MODULE_PRESETS

    econt = sub.add_parser("econt", help="the ECON-T chip's own algorithms, bit for bit",
                           description="Threshold-Sum, Best-Choice, the STC types and the Repeater as the "
                                       "ECON-T chip runs them (golden models checked against the chip's "
                                       "conformance frames).")
    esub = econt.add_subparsers(dest="econt_command", required=True, metavar="COMMAND")
    p = _add(esub, "run", _cmd_run, "run one chip algorithm on a wafer file: frames, reconstruction, summary",
             "Writes OUT/frames.txt (one frame per wafer: '0'/'1', first transmitted bit first, padding "
             "included; wafer i at bunch crossing i mod 3564), OUT/reconstructed.csv (what a back end "
             "rebuilds: CALQ_0..CALQ_47 in this project's TC order, bin midpoints, code 0 as 0) and "
             "OUT/summary.json (bits used per BX, buffer truncations). Every row is kept, all-zero ones too.")
    p.add_argument("--algorithm", required=True, choices=(*ALGORITHMS, "entropy"),
                   help="the chip algorithm, or the entropy-coded sparse codec of the arena table")
    p.add_argument("--elinks", type=int_in(1, 13), default=5, help="output eLinks, 1..13 (default: 5)")
    p.add_argument("--module", choices=sorted(MODULE_PRESETS), default="hd",
                   help="module type: hd = DropLSB 3, ld = DropLSB 1 (default: hd)")
    p.add_argument("--drop-lsb", type=int_in(0, 4), help="override the module type's DropLSB (0..4)")
    p.add_argument("--threshold", type=int_in(0), default=DEFAULT_THRESHOLD,
                   help=f"Threshold-Sum threshold in CALQ counts (default: {DEFAULT_THRESHOLD} = 1.35 MIP_T)")
    p.add_argument("--use-sum", action="store_true",
                   help="the module-sum field carries the full sum (the chip's USE_SUM; default: the sum of "
                        "the cells not sent)")
    p.add_argument("--buffer", action="store_true",
                   help="Threshold-Sum: stream the frames through the chip's buffer; a truncated BX keeps "
                        "only its sum in the reconstruction")
    p.add_argument("--back-end", choices=("best", "naive"), default="best",
                   help="best (default): the sums a frame carries beyond its cells (unsent sum, super trigger "
                        "cell sums) are placed by the arena table's rule for this algorithm, module and eLink "
                        "count; naive: only the cells sent, as the public emulator and the chip's "
                        "conformance reconstructions decode")
    p.add_argument("--arena", help="arena table folder (default: models/reference/arena)")
    p.add_argument("--literal-best-choice", action="store_true",
                   help="Best-Choice back end: parse frames literally (the chip omits zero-valued charges "
                        "but keeps their map bits, so charges shift onto the wrong cells)")
    p.add_argument("--mux", help="TC mux table (default: tc_mux.csv in the real-data folder)")
    p.add_argument("--data", required=True, help="wafer file (CSV or HDF5)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds files codesign did not write")
    add_out(p, "output folder")
    p = _add(esub, "arena-fit", _cmd_arena_fit,
             "fit the arena's back ends and entropy codec on training wafers, choose on validation ones",
             "Splits the wafer file 70/10/20 (train / validation / test) with --seed, as the training recipes "
             "do; fits a per-cell prior, the super trigger cells' share on their largest cell and the entropy "
             "codec's Huffman tables on the training split; chooses each chip algorithm's spreading rule and "
             "the codec's mantissa bits on the validation split; then (unless --no-learned-back-ends) fits a "
             "learned back end for the best non-learned frames (the codec's; Best-Choice's at 1 eLink) and the "
             "codec's table placements (distance to the strongest or the nearest sent cell, with and without "
             "a fitted charge per symbol) on the training split, keeping the simplest within 0.5 % of the "
             "best on validation where it beats the codec's rule (the tables alone, --tables-only, about 15 "
             "minutes on 2 cores). Writes "
             "OUT/arena.json (what `evaluate`, `econt run` and `econt scan` read with --arena; the committed "
             "reference is models/reference/arena).")
    p.add_argument("--data", required=True, help="wafer file (CSV or HDF5); all-zero wafers are dropped")
    p.add_argument("--seed", type=int_in(0), default=0, help="split seed (default: 0, the recipes' seed)")
    p.add_argument("--elinks", default="1..7", help="eLink counts: a range 1..7 or a list 2,3,5 (default: 1..7)")
    p.add_argument("--module", nargs="+", choices=sorted(MODULE_PRESETS), default=["hd", "ld"],
                   help="module types (default: hd ld)")
    p.add_argument("--tables-only", metavar="ARENA_DIR",
                   help="refit only the table placements on the arena table in ARENA_DIR (its prior, rules, "
                        "codecs and learned placements stay as they are), with this --data and --seed")
    p.add_argument("--learned-back-ends", action=argparse.BooleanOptionalAction, default=True,
                   help="also fit the learned back ends, scored as learned:... systems, and the table placements a "
                        "decoder builds, kept as table:... systems where they win on validation (default: yes)")
    add_out(p, "output folder")
    p = _add(esub, "scan", _cmd_scan, "every chip algorithm at every eLink count: table and plot of mean EMD",
             "Exact EMD of every algorithm that sends data at each eLink count, for each module type; "
             "trained encoders (--model) placed on the same wafers. Writes scan.md, scan.csv, scan.json and "
             "scan.png (mean EMD against bits used per bunch crossing).")
    p.add_argument("--data", required=True, help="wafer file (CSV or HDF5); all-zero wafers are dropped")
    p.add_argument("--elinks", default="1..7", help="eLink counts: a range 1..7 or a list 2,3,5 (default: 1..7)")
    p.add_argument("--module", nargs="+", choices=sorted(MODULE_PRESETS), default=["hd", "ld"],
                   help="module types (default: hd ld)")
    p.add_argument("--model", action="append", default=[],
                   help="a trained model folder to place on the plot (repeatable)")
    p.add_argument("--held-out-seed", type=int_in(0),
                   help="score only the test split (70/10/20 by wafer with this seed, as the training recipes "
                        "cut it; the recipes use seed 0)")
    p.add_argument("--back-end", choices=("best", "naive"), default="best",
                   help="best (default): the arena (best back ends, naive rows beside them, the entropy codec, "
                        "the floor, a detector-level table); naive: the chip's algorithms as the emulator decodes")
    p.add_argument("--arena", help="arena table folder (default: models/reference/arena)")
    add_out(p, "output folder")
