"""`codesign model|hls|rtl|vectors|sim|verify`: from a model folder to verified hardware."""

from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

import numpy as np

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, int_in, positive_float
from codesign.paths import MODELS_DIR


def _cmd_model_init(args: argparse.Namespace) -> None:
    from codesign.config import load_config
    from codesign.models.encoder import EncoderConfig, build_encoder
    from codesign.models.store import check_model_out, save_encoder

    check_model_out(args.out, args.force)
    cfg = load_config(EncoderConfig, args.config)
    save_encoder(build_encoder(cfg, args.seed), cfg, args.out, seed=args.seed, config=str(args.config),
                 weights="seeded random (untrained)")
    print(f"wrote an untrained encoder (seed {args.seed}) to {args.out}")


def _cmd_hls(args: argparse.Namespace) -> None:
    from codesign.hardware.hls import HlsSettings, check_csim, run_hls_synthesis, write_hls_project
    from codesign.hardware.vectors import check_wafers, corner_cases
    from codesign.models.store import load_encoder
    from codesign.tools import ToolNotFoundError

    model, cfg = load_encoder(args.model)
    settings = HlsSettings(args.backend, args.reuse_factor, args.strategy, args.clock_period)
    hls_model = write_hls_project(model, cfg, settings, out_dir=args.out)
    print(f"wrote the {args.backend} hls4ml project to {args.out}")
    real, source = check_wafers(args.data, args.n_wafers)
    corners, _ = corner_cases(args.calq_bits)
    print(check_csim(hls_model, model, cfg, calq=np.concatenate([real, corners]),
                     source=f"{len(real)} from {source} + {len(corners)} corner cases"))
    if args.synth:
        try:
            print(run_hls_synthesis(hls_model, settings, args.out))
        except ToolNotFoundError as err:
            print(f"HLS synthesis skipped: {err}")


def _cmd_rtl(args: argparse.Namespace) -> None:
    from codesign.hardware.rtl import PIPELINES, Pipelining, write_rtl
    from codesign.models.store import load_encoder
    from codesign.table_system import is_table_system

    if is_table_system(args.model):
        _system_rtl(args)
        return
    if args.modules_per_decoder != 1:
        raise ValueError(f"--modules-per-decoder {args.modules_per_decoder}: time multiplexing is for a table "
                         f"system's decoders; {args.model} is an autoencoder")
    model, cfg = load_encoder(args.model)
    # every Pipelining field has an option of the same name that overrides the preset when given
    overrides = {field.name: value for field in dataclasses.fields(Pipelining)
                 if (value := getattr(args, field.name)) is not None}
    pipelining = dataclasses.replace(PIPELINES[args.pipeline], **overrides)
    info = write_rtl(model, cfg, args.out, clock_period_ns=args.clock_period, pipelining=pipelining,
                     calq_bits=args.calq_bits, vhdl=args.vhdl, core_backend=args.core_backend, force=args.force)
    print(f"wrote RTL to {args.out} ({info.core_backend} core): latency {info.latency_cycles} cycles at "
          f"{info.clock_period_ns} ns, II 1, "
          f"{info.frame_bits}-bit frame, core {info.core_registers} register bits, ~{info.estimated_luts:.0f} LUTs")


# the `rtl` options of an autoencoder's RTL, at their defaults: a table system's RTL refuses them
AUTOENCODER_RTL_DEFAULTS = {"clock_period": 25.0, "pipeline": "asic", "latency_cutoff": None, "selector_stages": None,
                            "conversion_stages": None, "dense_by_position": None, "calq_bits": 22, "vhdl": False,
                            "core_backend": "da4ml"}


def _system_rtl(args: argparse.Namespace) -> None:
    from codesign.hardware.system_rtl import write_system_rtl
    from codesign.table_system import load_table_system

    given = [f"--{name.replace('_', '-')}" for name, default in AUTOENCODER_RTL_DEFAULTS.items()
             if getattr(args, name) != default]
    if given:
        raise ValueError(f"{args.model} is a table system: {', '.join(given)} set an autoencoder's RTL; a table "
                         "system's takes only --out, --modules-per-decoder and --force")
    system = load_table_system(args.model)
    rtl = write_system_rtl(system, args.out, modules_per_decoder=args.modules_per_decoder, force=args.force)
    print(f"wrote {system.spec.name}'s RTL to {args.out}: encoder/ the universal codec block ({rtl.encoder.frame_bits}"
          f"-bit frame, {rtl.encoder.config_bits} configuration bits) with "
          + ", ".join(f"{m}.hex" for m in rtl.images) + "; "
          + ", ".join(f"decoder_{m}/ ({i.top}, latency {i.latency_cycles} clocks of {i.clock_period_ns:.4g} ns)"
                      for m, i in rtl.decoders.items()))


def _cmd_vectors(args: argparse.Namespace) -> None:
    from codesign.hardware.vectors import check_wafers, make_vectors, write_vectors
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(args.model)
    calq, source = check_wafers(args.data, args.n_wafers)
    vec = make_vectors(model, cfg, calq, calq_bits=args.calq_bits, seed=args.seed)
    write_vectors(args.out, vec, force=args.force, model=str(args.model), data=source, seed=args.seed)
    print(f"wrote {len(vec.frames)} vectors ({len(calq)} wafers from {source} + corner cases) to {args.out}")


def _cmd_sim(args: argparse.Namespace) -> None:
    from codesign.hardware.sim.runner import run_simulation

    result = run_simulation(args.rtl, args.vectors, args.sim, build_dir=args.build_dir, waves=args.waves,
                            frame=args.frame)
    print(f"{result.simulator}: {result.n_tests} cocotb tests passed on {result.n_vectors} vectors "
          f"({args.frame} frame) "
          f"(build {result.build_seconds:.1f} s, tests {result.test_seconds:.1f} s, "
          f"{result.stream_wafers_per_s:.0f} wafers/s streamed); {result.results_xml}")


def _cmd_verify(args: argparse.Namespace) -> None:
    from codesign.asic.gate_harness import ENGINES, harness_builder
    from codesign.hardware.sim.bulk import verify_bulk
    from codesign.hardware.vectors import check_wafers
    from codesign.models.store import load_encoder

    model, cfg = load_encoder(args.model)
    real, source = check_wafers(args.data)
    print(f"golden model {args.model}; {len(real)} real wafers from {source}")
    report = verify_bulk(model, cfg, args.rtl, args.build_dir or Path(args.rtl) / ENGINES[args.engine], real=real,
                         n=args.wafers, seed=args.seed, build=harness_builder(args.engine, netlist=args.netlist))
    print(report.summary())
    report.check()


def _cmd_decoder_firmware(args: argparse.Namespace) -> None:
    from codesign.artifacts import check_replaceable
    from codesign.fpga.decoder_firmware import build_decoder_firmware, check_latents
    from codesign.models.qdecoder import load_quantized_decoder

    check_replaceable(args.out, args.force)  # before minutes of work, not after
    decoder = load_quantized_decoder(args.decoder)
    latents, source = check_latents(decoder, data=args.data, n_random=args.n_random, seed=args.seed)
    print(f"checking on {len(latents)} latent vectors: {source}")
    firmware = build_decoder_firmware(decoder, latents, args.out, core_backend=args.core_backend, hls=not args.no_hls,
                                      force=args.force)
    print((Path(args.out) / "firmware.md").read_text())
    print(f"fits the per-module budget: {'yes' if firmware.fits else 'no'}; recorded in {decoder.folder}")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("model", help="model folders (encoder.keras + config.yaml)",
                       description="Create model folders; training (`codesign train`) writes the same layout.")
    msub = p.add_subparsers(dest="model_command", required=True, metavar="COMMAND")
    p = _add(msub, "init", _cmd_model_init, "an untrained encoder with seeded random weights",
             "Build the quantized encoder of an EncoderConfig YAML with seeded weights spread over the whole "
             "weight range: a stand-in for the hardware flow until a trained model exists.")
    p.add_argument("--config", default=str(MODELS_DIR / "econt_5elink_seeded.yaml"), help="EncoderConfig YAML")
    p.add_argument("--seed", type=int_in(0), default=1, help="seed of the weights")
    add_out(p, "model folder to write (refused if it holds files but is no model folder codesign wrote)")
    p.add_argument("--force", action="store_true", help="write into --out even if it holds other files")

    p = _add(sub, "hls", _cmd_hls, "write an hls4ml HLS project and check its C simulation",
             "Write the hls4ml project (io_parallel, precisions from the quantized model), compile the C "
             "simulation with g++ and count latent integers differing from Keras on wafers (must be 0; exit 1 "
             "otherwise). --synth also runs the vendor HLS tool when it is installed.")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--backend", default="vitis", choices=["vitis", "vivado", "catapult"], help="hls4ml backend")
    add_out(p, "project folder, e.g. hls_projects/NAME")
    p.add_argument("--reuse-factor", type=int_in(1), default=1, help="hls4ml reuse factor (1: fully parallel)")
    p.add_argument("--strategy", default="latency", choices=["latency", "resource", "distributed_arithmetic"],
                   help="hls4ml strategy (distributed_arithmetic: da4ml's adder trees, Vitis/Vivado only)")
    p.add_argument("--clock-period", type=positive_float, default=25.0, help="ns (default 25: 40 MHz)")
    p.add_argument("--data", help="wafers for the check (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int_in(1), default=None, help="use at most this many (default: all)")
    p.add_argument("--calq-bits", type=int_in(1, 32), default=22, help="CALQ width of the saturated corner cases")
    p.add_argument("--synth", action="store_true", help="run vitis_hls / vivado_hls / catapult if on PATH")

    p = _add(sub, "rtl", _cmd_rtl, "generate Verilog (da4ml core + CALQ-to-frame top; or a table system's halves)",
             "Generate the pipelined encoder core with da4ml (or alkaid, --core-backend) and the econt_top module "
             "(CALQ inputs, on-chip conversion, encoder, ECON-T output frame); rtl.json records latency, "
             "registers and LUTs. For a table system (codesign train of models/econt_<n>elink_table.yaml): OUT/encoder "
             "the universal codec block with one configuration image per module type (<module>.hex), "
             "OUT/decoder_<module> its back-end decoder (for `codesign fpga synth` and `pnr`).")
    p.add_argument("--model", required=True, help="model folder, or a table system's folder")
    add_out(p, "RTL folder to write (replaced whole: refused if it holds files codesign did not write)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds other files")
    p.add_argument("--clock-period", type=positive_float, default=25.0, help="ns (default 25: 40 MHz)")
    p.add_argument("--modules-per-decoder", type=int_in(1, 8), default=1,
                   help="a table system's decoders: modules time-multiplexed through each (N > 1: finely sliced, "
                        "delay lines as rings, each cell's share a DSP product and its code's value from block RAM, "
                        "clocked N x 40 MHz, module m's frame taken in clocks m mod N; docs/econt.md)")
    p.add_argument("--pipeline", choices=("asic", "fpga"), default="asic",
                   help="pipelining preset: asic (default, fewest registers) or fpga (deeper core, selector and "
                        "conversion for 40 MHz on an ECP5; docs/hardware.md); the four options below override it")
    p.add_argument("--latency-cutoff", type=positive_float, default=None,
                   help="da4ml's delay per stage of the core (asic 5, fpga 2; smaller: more stages)")
    p.add_argument("--selector-stages", type=int_in(1, 64), default=None,
                   help="clock cycles of a hybrid encoder's sparse selector (asic 1: combinational; fpga: the "
                        "core's latency minus 1, free in latency; beyond it the latents wait for the selector)")
    p.add_argument("--conversion-stages", type=int, choices=(1, 2, 3), default=None,
                   help="clock cycles of the on-chip conversion: 2 registers the wafer sum, 3 also k, before the "
                        "shifters (asic 1; fpga 3: a cycle of latency each, a shorter critical path)")
    p.add_argument("--dense-by-position", action=argparse.BooleanOptionalAction, default=None,
                   help="the core's Dense layer as one product per convolution position, summed in a tree: about "
                        "a fifth more adders, a third less wire on an FPGA (asic: no; fpga: yes)")
    p.add_argument("--calq-bits", type=int_in(1, 32), default=22, help="width of each CALQ input")
    p.add_argument("--vhdl", action="store_true", help="also write the core in VHDL")
    p.add_argument("--core-backend", choices=("da4ml", "alkaid"), default="da4ml",
                   help="compiler of the encoder core: da4ml 0.6 (default) or alkaid 0.8 (its successor, what "
                        "hls4ml's main branch uses; docs/hardware.md compares them)")

    p = _add(sub, "vectors", _cmd_vectors, "test vectors (hex) with expected frames from the Keras model",
             "Inputs (packed CALQ) and expected output frames for real wafers plus corner cases (all-zero, one "
             "hot cell in each position, all saturated, random).")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--data", help="wafers (default: real highpu_dev.csv, else synthetic)")
    p.add_argument("--n-wafers", type=int_in(1), default=None, help="use at most this many wafers (default: all)")
    p.add_argument("--calq-bits", type=int_in(1, 32), default=22, help="CALQ width of the saturated corner cases")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the random corner cases")
    add_out(p, "vectors folder to write (replaced whole: refused if it holds files codesign did not write)")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds other files")

    p = _add(sub, "sim", _cmd_sim, "run the cocotb testbenches on the RTL",
             "Build the RTL folder with Icarus Verilog or Verilator and run the cocotb tests (reset/idle, every "
             "vector at one wafer per clock, idle gaps) bit-exactly against the expected frames.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl)")
    p.add_argument("--vectors", required=True, help="vectors folder (codesign vectors)")
    p.add_argument("--sim", default="icarus", choices=["icarus", "verilator"], help="simulator")
    p.add_argument("--build-dir", help="simulator build folder (default: RTL/sim_SIM)")
    p.add_argument("--waves", action="store_true", help="dump waveforms")
    p.add_argument("--frame", default="project", choices=["project", "chip"],
                   help="project: the project's frame (default); chip: build the top with CHIP_FRAME = 1 and check "
                        "the frames the ECON-T chip sends (BX header, sum, latents as KAEB picks them)")

    p = _add(sub, "verify", _cmd_verify, "bulk check: a million wafers through the compiled RTL top or its gates",
             "Compile the top (no Python per clock) and stream wafers through it back to back: every real wafer, "
             "the corner cases, then synthetic high-pileup and rescaled real ones until --wafers; every frame is "
             "compared with the Keras model's, the latency with rtl.json's. Prints the first mismatch (wafer "
             "index, both frames in hex) and exits 1 on any. --engine rtl: the RTL through Verilator and a C++ "
             "main, one wafer a clock; --engine gates: the top synthesised to generic gates by the ASIC flow's "
             "Yosys script (minutes) and compiled bit-sliced, 512 wafers a clock, about seven times Verilator's "
             "rate. cocotb (`codesign sim`) keeps the protocol tests.")
    p.add_argument("--model", required=True, help="model folder (the golden model)")
    p.add_argument("--rtl", required=True, help="RTL folder of the same model (codesign rtl; a fixed top)")
    p.add_argument("--wafers", type=int_in(1), default=1_000_000, help="wafers in all")
    p.add_argument("--data", help="real wafers (default: highpu_dev.csv, else synthetic)")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the synthetic, rescaled and corner wafers")
    p.add_argument("--engine", choices=["rtl", "gates"], default="rtl",
                   help="rtl: Verilator on the RTL (default); gates: the synthesised netlist, bit-sliced")
    p.add_argument("--netlist", help="with --engine gates: a netlist.json of this RTL's top (`codesign asic`) "
                                     "instead of synthesising it")
    p.add_argument("--build-dir", help="harness build folder (default: RTL/bulk_sim, RTL/gate_sim with gates)")
    p = _add(sub, "decoder-firmware", _cmd_decoder_firmware,
             "a quantized back-end decoder as FPGA firmware: hls4ml, Verilog, checks, UltraScale+ resources",
             "Write the hls4ml project of a decoder folder (`codesign train-decoder`) and compile its C simulation, "
             "write the decoder as da4ml (or alkaid) Verilog and build it with Verilator, compare both with Keras "
             "cell integer by cell integer on the held-out wafers' latents plus corner and random latents (exit 1 "
             "on any difference), and synthesise the Verilog with Yosys synth_xilinx: LUT/FF/DSP per module "
             "against the back-end budget (firmware.md, firmware.json).")
    p.add_argument("--decoder", required=True, help="decoder folder written by `codesign train-decoder`")
    p.add_argument("--data", help="wafer file whose held-out split gives the real latents (default: highpu_dev.csv)")
    p.add_argument("--n-random", type=int_in(0), default=1000, help="random latent vectors added to the check")
    p.add_argument("--seed", type=int_in(0), default=0, help="seed of the random latent vectors")
    p.add_argument("--core-backend", choices=["da4ml", "alkaid"], default="da4ml", help="compiler of the Verilog")
    p.add_argument("--no-hls", action="store_true", help="skip the hls4ml project and its C simulation")
    p.add_argument("--force", action="store_true", help="replace --out even if it holds files codesign did not write")
    add_out(p, "firmware folder (hls/, rtl/, fpga/, firmware.md)")
