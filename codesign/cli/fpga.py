"""`codesign fpga ...`: FPGA implementation (UltraScale+ synthesis, ECP5 place and route, the flow)."""

from __future__ import annotations

import argparse
from pathlib import Path

from codesign.cli.common import add_command as _add
from codesign.cli.common import add_out, add_variants, int_in, positive_float


def _cmd_fpga_synth(args: argparse.Namespace) -> None:
    from codesign.fpga.synth import synthesize_fpga

    synthesize_fpga(args.rtl, args.out)
    print((Path(args.out) / "fpga_report.md").read_text())


def _cmd_fpga_flow(args: argparse.Namespace) -> None:
    from codesign.fpga.flow import fpga_flow

    fpga_flow(args.model, args.rtl, args.out, variants=tuple(args.variants), place_and_route=not args.no_pnr,
              pnr_timeout=args.pnr_timeout)
    print((Path(args.out) / "summary.md").read_text())


def _cmd_fpga_pnr(args: argparse.Namespace) -> None:
    from codesign.fpga.synth import place_and_route_ecp5

    place_and_route_ecp5(args.rtl, args.out, args.device, package=args.package, speed=args.speed, seed=args.seed,
                         pnr_timeout=args.pnr_timeout, threads=args.threads, router=args.router,
                         timing_ripup=not args.no_timing_ripup, netlist_from=args.netlist_from)
    print((Path(args.out) / "ecp5_report.md").read_text())


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fpga = sub.add_parser("fpga", help="FPGA implementation reports", description="FPGA synthesis with Yosys.")
    fsub = fpga.add_subparsers(dest="fpga_command", required=True, metavar="COMMAND")
    p = _add(fsub, "synth", _cmd_fpga_synth, "Yosys synth_xilinx (UltraScale+): LUT/FF/CARRY/DSP counts",
             "Synthesise an RTL folder for AMD/Xilinx UltraScale+ with Yosys and count LUTs, flip-flops, "
             "carry chains, DSPs and block RAMs.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl)")
    add_out(p, "report folder")
    p = _add(fsub, "flow", _cmd_fpga_flow, "all FPGA reports of a model: fixed, reconfigurable, TMR (make fpga)",
             "synth_xilinx of every variant, ECP5 place and route of those that fit the LFE5U-85F, the da4ml "
             "Vivado project if vivado is on PATH; summary.md/json.")
    p.add_argument("--model", required=True, help="model folder")
    p.add_argument("--rtl", required=True, help="fixed-weight RTL folder (codesign rtl)")
    add_out(p, "report folder")
    add_variants(p)
    p.add_argument("--no-pnr", action="store_true", help="skip ECP5 place and route")
    p.add_argument("--pnr-timeout", type=positive_float, default=3600,
                   help="seconds before a place and route is given up")
    p = _add(fsub, "pnr", _cmd_fpga_pnr, "open place and route on a Lattice ECP5: utilisation and Fmax",
             "Yosys synth_ecp5 and nextpnr-ecp5 (yowasp wheel) of the top inside a pin-limited shell; reports "
             "LUT4/FF utilisation and Fmax against the RTL's clock (40 MHz). Large designs take minutes to hours.")
    p.add_argument("--rtl", required=True, help="RTL folder (codesign rtl or codesign asic rtl)")
    add_out(p, "report folder")
    p.add_argument("--device", default="85k", choices=["25k", "45k", "85k"], help="LFE5U size")
    p.add_argument("--package", default="CABGA381", help="ECP5 package")
    p.add_argument("--speed", type=int, default=6, choices=[6, 7, 8],
                   help="speed grade of the part: 6 (the slowest, nextpnr's default) to 8 (the fastest)")
    p.add_argument("--seed", type=int_in(0), default=1, help="placer seed")
    p.add_argument("--pnr-timeout", type=positive_float, default=3600, help="seconds before nextpnr is given up")
    p.add_argument("--threads", type=int_in(1), default=1,
                   help="nextpnr threads (its analytic placer and router2 use them)")
    p.add_argument("--router", default="router2", choices=["router2", "router1"],
                   help="nextpnr's router: router2 (negotiated congestion) or router1 (rip-up and reroute)")
    p.add_argument("--no-timing-ripup", action="store_true",
                   help="route without nextpnr's --tmg-ripup (by default the router also rips up nets on failing "
                        "paths, not only congested ones)")
    p.add_argument("--netlist-from", metavar="FOLDER",
                   help="an earlier pnr report folder of the same RTL: place its synth_ecp5 netlist again (another "
                        "--seed) instead of running Yosys")
