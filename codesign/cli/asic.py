"""`codesign asic ...`: ASIC implementation (synthesis, energy, reconfigurable RTL, upsets)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from codesign.asic.energy import SIMULATORS
from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, add_variants, int_in, positive_float
from codesign.hardware.variants import ASIC_DEFAULT_VARIANTS
from codesign.paths import MODELS_DIR


def _cmd_asic_synth(args: argparse.Namespace) -> None:
    from codesign.asic.synth import synthesize_asic

    synthesize_asic(args.rtl, args.out, args.liberty, um2_per_ge=args.um2_per_ge, split=args.split)
    print((Path(args.out) / "asic_report.md").read_text())


def _cmd_asic_energy(args: argparse.Namespace) -> None:
    from codesign.asic.energy import estimate_energy

    r = estimate_energy(args.asic, args.rtl, args.vectors, n_wafers=args.wafers, fj_per_toggle=args.fj_per_toggle,
                        config_image=args.config_image, simulator=args.sim, keep_vcd=args.keep_vcd)
    print(f"{r.wafers} wafers through the gate-level netlist ({r.simulator}), frames equal to Keras: "
          f"{r.toggles_per_wafer:.0f} toggles/wafer x {r.fj_per_toggle} fJ = {r.signal_nJ_per_inference:.3f} nJ, "
          f"plus the clock pins of {r.flip_flops} flip-flops over {r.clock_cycles_per_inference} cycles x "
          f"{r.fj_per_flip_flop_clock_cycle} fJ = {r.clock_nJ_per_inference:.3f} nJ "
          + ("(no clock gating): " if r.clock_pins_per_cycle is None else
             f"with clock gating ({r.ungated_clock_nJ_per_inference:.3f} without): ")
          + f"{r.energy_nJ_per_inference:.3f} nJ/inference, {r.power_mW_at_40MHz:.1f} mW at 40 MHz")


REFERENCE_ENCODERS = [str(MODELS_DIR / "reference" / f"econt_{n}elink_hybrid") for n in (2, 3, 4, 5)]


def _block_spec(args: argparse.Namespace) -> Any:  # EncoderBlockSpec
    """The universal encoder block that serves ``--models`` (default: the four reference hybrids)."""
    from codesign.errors import InputError
    from codesign.hardware.block import EncoderBlockSpec
    from codesign.models.store import load_encoder_config

    try:
        # an image does not depend on TMR or the reuse factor (`asic config` has neither)
        return EncoderBlockSpec.for_encoders([load_encoder_config(m) for m in args.models],
                                             tmr=getattr(args, "tmr", False), reuse=getattr(args, "reuse", 1))
    except ValueError as err:
        raise InputError(f"--models: {err}") from None


def _cmd_asic_rtl(args: argparse.Namespace) -> None:
    if args.universal:
        from codesign.hardware.block import write_encoder_block

        spec = _block_spec(args)
        info = write_encoder_block(spec, args.out, clock_period_ns=args.clock_period, force=args.force)
        print(f"wrote the universal encoder block to {args.out}: up to {spec.core.elinks} eLinks "
              f"({info.frame_bits}-bit frame), up to {spec.max_cells} sparse cells, {info.config_bits} configuration "
              f"bits{' (TMR)' if spec.tmr else ''}, latency {info.latency_cycles} cycles at "
              f"{info.clock_period_ns:g} ns, II {info.initiation_interval}; load an encoder with `codesign asic "
              "config --model M --universal`")
        return
    from codesign.config import load_config
    from codesign.hardware.rtl import write_reconfigurable_rtl
    from codesign.models.encoder import EncoderConfig

    info = write_reconfigurable_rtl(load_config(EncoderConfig, args.config), args.out, args.clock_period,
                                    calq_bits=args.calq_bits, tmr=args.tmr, reuse=args.reuse, force=args.force)
    print(f"wrote reconfigurable RTL to {args.out}: {info.config_bits} configuration bits, latency "
          f"{info.latency_cycles} cycles at {info.clock_period_ns:g} ns, II {info.initiation_interval}, "
          f"{info.frame_bits}-bit frame")


def _cmd_asic_block(args: argparse.Namespace) -> None:
    from codesign.hardware.entropy_rtl import EntropyRtlSpec, write_entropy_rtl

    spec = EntropyRtlSpec.block(args.elinks, tmr=args.tmr)
    info = write_entropy_rtl(spec, args.out, force=args.force)
    print(f"wrote the universal codec block to {args.out}: up to {spec.elinks} eLinks ({info.frame_bits}-bit frame), "
          f"{info.config_bits} configuration bits{' (TMR)' if spec.tmr else ''}, latency {info.latency_cycles} "
          "cycles, one wafer per clock; load a codec with `codesign asic config --codec MODULE:ELINKS`")


def _cmd_asic_block_flow(args: argparse.Namespace) -> None:
    from codesign.asic.block_flow import DEFAULT_CODECS, codec_block_flow
    from codesign.hardware.vectors import check_wafers

    calq, _ = check_wafers(args.data, args.wafers)
    codec_block_flow(calq, args.out, codecs=tuple(args.codecs or DEFAULT_CODECS), arena_dir=args.arena,
                     elinks=args.elinks, tmr=(False,) if args.no_tmr else (False, True), energy_wafers=args.wafers)
    print((Path(args.out) / "summary.md").read_text())


def _cmd_asic_encoder_block_flow(args: argparse.Namespace) -> None:
    from codesign.asic.block_flow import encoder_block_flow
    from codesign.hardware.vectors import check_wafers

    calq, _ = check_wafers(args.data, args.wafers)
    encoder_block_flow(calq, args.out, models=args.models, reuse=args.reuse,
                       tmr=(True,) if args.tmr_only else (False, True), energy_wafers=args.wafers,
                       fixed=not args.no_fixed)
    print((Path(args.out) / "summary.md").read_text())


def _cmd_asic_config(args: argparse.Namespace) -> None:
    from codesign.table_system import is_table_system

    if args.codec or is_table_system(args.model):
        _write_codec_image(args)
        return
    from codesign.asic.verify import write_config_image
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(args.model)
    if args.universal:
        from codesign.errors import InputError
        from codesign.hardware.block import write_block_image

        spec = _block_spec(args)
        problem = spec.serves_problem(cfg)
        if problem:
            raise InputError(f"--model {args.model}: {problem}")
        write_block_image(model, cfg, spec, args.out)
        print(f"wrote the universal encoder block's image of {args.model} to {args.out} ({spec.config_bits} bits; "
              f"settings and register map in {args.out}.json)")
        return
    write_config_image(model, cfg, args.out, econt_i2c=args.format == "econt-i2c")
    extra = f" and the chip's I2C registers in {args.out}.i2c.csv" if args.format == "econt-i2c" else ""
    print(f"wrote the configuration image of {args.model} to {args.out} (register map in {args.out}.json){extra}")


def _write_codec_image(args: argparse.Namespace) -> None:
    from codesign.arena import load_arena
    from codesign.errors import InputError
    from codesign.hardware.entropy_rtl import EntropyRtlSpec, write_config_image
    from codesign.table_system import load_table_system

    if args.codec:
        name, codec = f"--codec {args.codec}", load_arena(args.arena).codec_named(args.codec)
        if codec is None:
            raise InputError(f"--codec {args.codec}: the arena table {args.arena or 'models/reference/arena'} has no "
                             "codec of that name (MODULE:ELINKS, e.g. hd:2)")
    else:
        if args.module is None:
            raise InputError(f"--model {args.model}: a table system serves several module types: say which with "
                             "--module hd or --module ld")
        name, codec = f"--model {args.model} --module {args.module}", load_table_system(args.model).codec(args.module)
    spec = EntropyRtlSpec.block(args.block_elinks)
    problem = spec.serves_problem(codec)
    if problem:
        raise InputError(f"{name}: {problem}")
    write_config_image(codec, spec, args.out)
    print(f"wrote the universal block's image of the codec of {name} to {args.out} ({spec.config_bits} bits; "
          f"register map in {args.out}.json)")


def _cmd_asic_verify(args: argparse.Namespace) -> None:
    from codesign.asic.verify import verify_encoder_block, verify_two_weight_sets
    from codesign.hardware.vectors import check_wafers

    calq, source = check_wafers(args.data, args.n_wafers)
    if args.universal:
        check = verify_encoder_block(args.models, calq, args.out, tmr=args.tmr, reuse=args.reuse, simulator=args.sim)
        for model, n in zip(check.models, check.wafers, strict=True):
            print(f"{model}: image loaded, {n} frames bit-exact")
        print(f"{args.sim}: one build of the universal encoder block ({check.config_bits} configuration bits), "
              f"{len(check.models)} images in turn without reset ({source} + corner cases); build "
              f"{check.build_seconds:.0f} s, simulation {check.test_seconds:.0f} s")
        return
    if not (args.model_a and args.model_b):
        from codesign.errors import InputError

        raise InputError("--model-a and --model-b are required (or --universal)")
    result = verify_two_weight_sets(args.model_a, args.model_b, calq, out_dir=args.out, simulator=args.sim,
                                    reuse=args.reuse,
                                    tmr=args.tmr)
    print(f"{result.simulator}: weight sets A and B bit-exact on {result.n_vectors} vectors each ({source} + corner "
          f"cases) in one build, read-back equal; {result.results_xml}")


def _cmd_asic_faults(args: argparse.Namespace) -> None:
    from codesign.asic.verify import block_fault_campaign, fault_campaign
    from codesign.hardware.vectors import check_wafers

    calq, _ = check_wafers(args.data, args.n_wafers)
    if args.universal:
        reports = block_fault_campaign(args.model, calq, args.out, served=args.models, n_faults=args.faults,
                                       seed=args.seed, reuse=args.reuse)
    else:
        reports = fault_campaign(args.model, calq, args.out, n_faults=args.faults, seed=args.seed, reuse=args.reuse)
    for name, r in reports.items():
        print(f"{name:>6}: {r['injections']} single-bit upsets while streaming {r['frames']} wafers -> "
              f"{r['wrong_frames']} wrong output frames")


def _cmd_asic_upsets(args: argparse.Namespace) -> None:
    from codesign.asic.upsets import upset_scan, write_upset_report
    from codesign.training import held_out_wafers, load_autoencoder

    ae, spec = load_autoencoder(args.model)
    calq = held_out_wafers(spec, args.data, args.n_wafers)
    result = upset_scan(ae, spec, calq, flips=tuple(args.flips), draws=args.draws, seed=args.seed)
    write_upset_report(result, args.out, model=str(args.model), data=args.data or "reference sample")
    print((Path(args.out) / "upsets.md").read_text())


def _cmd_asic_flow(args: argparse.Namespace) -> None:
    from codesign.asic.flow import asic_flow

    asic_flow(args.model, args.rtl, args.vectors, out_dir=args.out, liberty=args.liberty, variants=tuple(args.variants))
    print((Path(args.out) / "summary.md").read_text())


def _reuse_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--reuse", type=int_in(1, 64), default=1,
                   help="reuse factor R: each multiplier serves R products in time, the datapath clock runs at R x "
                        "the wafer rate (--clock-period / R) and takes one wafer per R cycles")


def _universal_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--universal", action="store_true", help=what)
    p.add_argument("--models", nargs="+", default=REFERENCE_ENCODERS,
                   help="--universal: the encoders the block serves (one core shape; default: the four reference "
                        "hybrids, 2-5 eLinks)")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    asic = sub.add_parser("asic", help="ASIC implementation reports", description="ASIC synthesis with Yosys.")
    asub = asic.add_subparsers(dest="asic_command", required=True, metavar="COMMAND")
    p = _add(asub, "synth", _cmd_asic_synth, "Yosys synthesis: cells, flip-flops, gate equivalents, area",
             "Synthesise an RTL folder with Yosys to generic gates and report cells, flip-flops, NAND2 gate "
             "equivalents and area with a stated 65 nm area per GE; --liberty maps to a real library instead.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl)")
    add_out(p, "report folder")
    p.add_argument("--liberty", help="standard-cell library (.lib) to map to")
    p.add_argument("--um2-per-ge", type=positive_float, default=1.44, help="area of one NAND2 equivalent in um2")
    p.add_argument("--split", action="store_true",
                   help="also report the area of each part of the top (conversion, sparse selector, frame logic, "
                        "core): one more, quick Yosys run; generic cells only")
    p = _add(asub, "flow", _cmd_asic_flow, "all ASIC reports of a model: fixed, reconfigurable, TMR (make asic)",
             "Synthesise the fixed-weight RTL and the reconfigurable RTL with and without TMR (generated from the "
             "model's shape), estimate each design's energy per inference on real wafers, and write "
             "summary.md/json beside the published ECON-T figures. The reconfigurable designs take long.")
    p.add_argument("--model", required=True, help="model folder (its shape sizes the reconfigurable RTL)")
    p.add_argument("--rtl", required=True, help="fixed-weight RTL folder (codesign rtl)")
    p.add_argument("--vectors", required=True, help="vectors folder (codesign vectors), for the energy")
    add_out(p, "report folder")
    p.add_argument("--liberty", help="standard-cell library (.lib) to map to")
    add_variants(p, ASIC_DEFAULT_VARIANTS)
    p = _add(asub, "energy", _cmd_asic_energy, "energy per inference from gate-level switching activity",
             "Simulate the netlist of `codesign asic synth` on real-wafer vectors (frames checked against Keras), "
             "count bit toggles of every net at every clock edge and multiply by a stated energy per toggle. "
             "The built-in gate simulator (--sim netlist) needs no build; Verilator and Icarus run the same bench "
             "from netlist.v and count a VCD. A reconfigurable netlist needs --config-image (`codesign asic "
             "config` of the vectors' model).")
    p.add_argument("--asic", required=True, help="folder of `codesign asic synth` (netlist.v)")
    p.add_argument("--rtl", required=True, help="the RTL folder it was synthesised from")
    p.add_argument("--vectors", required=True, help="vectors folder (codesign vectors)")
    p.add_argument("--wafers", type=int_in(1), default=200, help="real wafers simulated on the netlist")
    p.add_argument("--fj-per-toggle", type=positive_float, default=5.0, help="energy per bit toggle (65 nm LP default)")
    p.add_argument("--config-image", help="weights loaded into a reconfigurable design first (codesign asic config)")
    p.add_argument("--sim", default="netlist", choices=SIMULATORS,
                   help="gate-level simulator: built-in (netlist.json), verilator or icarus (netlist.v)")
    p.add_argument("--keep-vcd", action="store_true",
                   help="with --sim verilator or icarus, keep the activity as <asic>/energy/activity.vcd for a "
                        "waveform viewer (it is large; by default deleted once counted)")
    p = _add(asub, "rtl", _cmd_asic_rtl, "reconfigurable encoder RTL (weights loaded at run time)",
             "Generate the encoder with weights in a configuration shift register (serial port cfg_en/cfg_in/"
             "cfg_out) behind the same CALQ-to-frame top as `codesign rtl`.")
    p.add_argument("--config", default=str(MODELS_DIR / "econt_5elink_seeded.yaml"), help="EncoderConfig YAML (shape)")
    add_out(p, "RTL folder to write (replaced whole: refused if it holds files codesign did not write)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds other files")
    p.add_argument("--clock-period", type=positive_float, default=25.0, help="ns (40 MHz: 25)")
    p.add_argument("--calq-bits", type=int_in(1, 32), default=22, help="width of each CALQ input")
    p.add_argument("--tmr", action="store_true", help="triplicate the configuration register (majority vote)")
    _reuse_arg(p)
    _universal_args(p, "instead of one encoder's shape (--config), the universal encoder block: one RTL for every "
                       "encoder of --models")
    p = _add(asub, "block", _cmd_asic_block, "the universal codec block: one on-chip RTL for every module",
             "Write the entropy codec's encoder as one design for every module: generated for the largest shape "
             "(--elinks, DropLSB up to 4, 4E0M to 4E3M floats, sparse frames up to 15 cells), it takes the "
             "Huffman table, the eLink count, DropLSB, mantissa bits and sparse cell count from its "
             "configuration image (`codesign asic config --codec`); frames of fewer eLinks come out left-aligned.")
    add_out(p, "RTL folder to write (replaced whole: refused if it holds files codesign did not write)")
    p.add_argument("--elinks", type=int_in(1, 7), default=7, help="the most eLinks a module served has")
    p.add_argument("--tmr", action="store_true", help="triplicate the configuration register (majority vote, "
                                                      "self-correcting)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds other files")
    p = _add(asub, "block-flow", _cmd_asic_block_flow, "area and energy of the universal codec block",
             "Synthesise the universal codec block without and with TMR (Yosys, the project's 65 nm GE model) and "
             "estimate its gate-level energy per inference with each codec's image loaded (one bench build per "
             "design; frames checked against the codec); summary.md sets it beside the fixed encoder of each "
             "codec (costs.json) and the published ECON-T autoencoder block. About 15 minutes on 2 cores.")
    add_out(p, "report folder")
    p.add_argument("--codecs", nargs="+", help="arena codecs (MODULE:ELINKS) to load (default: hd and ld at 2-5 "
                                                "eLinks)")
    p.add_argument("--arena", help="arena folder (default: models/reference/arena)")
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--wafers", type=int_in(1), default=200, help="wafers through the gate-level netlist per codec")
    p.add_argument("--elinks", type=int_in(1, 7), default=7, help="the block's most eLinks")
    p.add_argument("--no-tmr", action="store_true", help="the block without TMR only")
    p = _add(asub, "encoder-block-flow", _cmd_asic_encoder_block_flow, "area and energy of the universal encoder "
             "block", "Synthesise the universal encoder block (`codesign asic rtl --universal`) without and with "
             "TMR at reuse factor --reuse (Yosys, the project's 65 nm GE model), estimate its gate-level energy per "
             "inference with each encoder's image loaded (frames checked), and synthesise each encoder's own "
             "reconfigurable design with TMR to compare; summary.md sets them beside the published ECON-T block. "
             "About an hour on 2 cores.")
    add_out(p, "report folder")
    p.add_argument("--models", nargs="+", default=REFERENCE_ENCODERS,
                   help="the encoders the block serves (default: the four reference hybrids)")
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--wafers", type=int_in(1), default=200, help="wafers through the gate-level netlist per image")
    p.add_argument("--reuse", type=int_in(1, 64), default=4, help="reuse factor R of the block's core (default 4: "
                   "the smallest R that meets 1.2 mm2 with TMR for one reference)")
    p.add_argument("--tmr-only", action="store_true", help="the block with TMR only")
    p.add_argument("--no-fixed", action="store_true", help="skip the encoders' own designs")
    p = _add(asub, "config", _cmd_asic_config, "configuration image (register contents) of an encoder or codec",
             "Write the register image (hex, bit 0 shifted in first) and its register map and protocol (.json): of "
             "a trained encoder's reconfigurable RTL (--model), or of an arena codec for the universal codec block "
             "(--codec, `codesign asic block`), or of a table system's codec for that block (--model of a table "
             "system with --module).")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--model", help="model folder, or a table system's folder (with --module)")
    which.add_argument("--codec", help="MODULE:ELINKS of the arena's entropy codec (e.g. hd:2), for the universal "
                                       "block")
    p.add_argument("--arena", help="arena folder of --codec (default: models/reference/arena)")
    p.add_argument("--block-elinks", type=int_in(1, 7), default=7,
                   help="--codec or a table system: the block's --elinks")
    p.add_argument("--module", choices=("hd", "ld"), help="a table system's module type whose codec image is written")
    _universal_args(p, "--model: the image of the universal encoder block (`codesign asic rtl --universal`) "
                       "that serves --models")
    add_out(p, "image file (.hex)", folder=False)
    p.add_argument("--format", choices=("image", "econt-i2c"), default="image",
                   help="econt-i2c: also write OUT.i2c.csv, the ECON-T's twelve 1,072-bit I2C weight registers "
                        "as one CSV row of hex values, register 0 first (published encoder shape only; "
                        "default: image)")
    p = _add(asub, "verify", _cmd_asic_verify, "load two weight sets into one reconfigurable RTL and check both",
             "Build the reconfigurable RTL once; load model A through the serial port, stream wafers, compare with "
             "Keras A; load B, stream, compare with Keras B; read the registers back.")
    p.add_argument("--model-a", help="model folder loaded first")
    p.add_argument("--model-b", help="model folder loaded second, same shapes")
    _universal_args(p, "instead of A and B, build the universal encoder block once and load every encoder of "
                       "--models in turn (no reset between them), each checked on the wafers")
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int_in(1), default=500)
    p.add_argument("--sim", default="verilator", choices=["icarus", "verilator"], help="simulator")
    p.add_argument("--tmr", action="store_true", help="the design with the triplicated configuration register")
    _reuse_arg(p)
    add_out(p, "work folder")
    p = _add(asub, "faults", _cmd_asic_faults, "single-event-upset campaign with and without TMR",
             "Flip random single bits of the configuration registers while wafers stream (Verilator), once on "
             "the plain and once on the TMR reconfigurable design; report wrong output frames for both (the TMR "
             "run fails on any).")
    p.add_argument("--model", required=True, help="model folder (weights loaded before the campaign)")
    p.add_argument("--faults", type=int_in(0), default=1000, help="single-bit upsets injected")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the upset times and bits")
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int_in(1), default=500, help="wafers streamed")
    _reuse_arg(p)
    _universal_args(p, "the campaign on the universal encoder block that serves --models, --model's image loaded")
    add_out(p, "work folder")
    p = _add(asub, "upsets", _cmd_asic_upsets, "EMD degradation under random weight bit flips without TMR",
             "Flip 1, 2, 4, ... random bits of a trained autoencoder's configuration register image (no "
             "correction), reload the weights, and measure the exact EMD on held-out wafers; averaged over draws.")
    p.add_argument("--model", required=True, help="folder written by `codesign train`")
    p.add_argument("--data", help="wafer file (default: real highpu_dev.csv; its held-out split is used)")
    p.add_argument("--n-wafers", type=int_in(1), default=300, help="held-out wafers evaluated")
    p.add_argument("--flips", type=int_in(1), nargs="+", default=[1, 2, 4, 8, 16, 32, 64],
                   help="configuration bits flipped at once")
    p.add_argument("--draws", type=int_in(1), default=10, help="random draws per flip count")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the flipped bits")
    add_out(p, "report folder")
