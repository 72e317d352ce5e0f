"""The reference systems' table decoders shared by several modules: what one decoder costs per module when N
modules are time-multiplexed through it (``codesign rtl --model SYSTEM --modules-per-decoder N``: the decoder
finely sliced, its delay lines as rings, each cell's share a product and its code's value from block RAM,
``BRAM_SLICING``, inside ``time_multiplexed_rtl``, clocked at N x 40 MHz), and whether it runs that fast.

For each system and module type: Yosys ``synth_xilinx -family xcup`` (UltraScale+ LUTs, shift registers
counted as LUTs, over N: the LUTs per module, against ``BackEndBudget``; flip-flops, DSP48E2s and block RAMs in
36 Kb blocks a module)
and place and route of the same top on an ECP5 (``codesign fpga pnr``: LFE5U-85F, speed grade 8, each product
in two MULT18X18D with their output registers, the values in DP16KD, nextpnr's router2 with timing-driven
rip-up, its target N x 40 MHz) at the first ``--routes`` of ``--seeds`` where nextpnr's placer legalises the
top: each seed's Fmax and the median. The ECP5 is a 40 nm low-cost FPGA, slower per logic level and per route
than UltraScale+ (16 nm): a routed Fmax of at least N x 40 MHz on it is a lower bound for a Stage-1 FPGA, not
an UltraScale+ timing. Printed beside each: the one-module decoder's LUTs (``costs.json``, default slicing,
40 MHz), measured earlier. ``--slicing sum``: the decoders with ``SUM_SLICING`` instead (each cell a product plus
its value from block RAM, short delays in flip-flops; fewer LUTs, not yet 120 MHz on the ECP5, session 39);
``--slicing dsp``: with ``DSP_SLICING`` (the values decoded in LUTs); ``--slicing ring``: with ``RING_SLICING``
(each share chosen among the placed values in LUTs as well, the reference until session 37).

    python benchmarks/shared_decoders.py [--elinks 2 3] [--module hd ld] [--modules-per-decoder 3]
        [--work out/shared_decoders] [--threads 2] [--seeds 1 2 3] [--routes 1] [--slicing sum|bram|dsp|ring]
        [--pnr-timeout 3600] [--commit]

``--commit`` copies each decoder's reports to ``models/reference/econt_<n>elink_table/hw/decoder_<module>/``
(``fpga_report.*``, ``ecp5_report.*``: the median seed's). Yosys runs once per decoder (the seeds after the
first place its ECP5 netlist again); a route takes 6-15 minutes with one thread.
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from codesign.arena import BackEndBudget, load_costs
from codesign.fpga.synth import place_and_route_ecp5, synthesize_fpga
from codesign.hardware.backend_rtl import DSP_SLICING, RING_SLICING, SUM_SLICING
from codesign.hardware.system_rtl import SHARED_DECODER_SLICING, decoder_dir, write_system_rtl
from codesign.paths import MODELS_DIR
from codesign.table_system import load_table_system

ECP5_SPEED = 8
SLICINGS = {"bram": SHARED_DECODER_SLICING, "sum": SUM_SLICING, "dsp": DSP_SLICING, "ring": RING_SLICING}
REFERENCE = "bram"  # the slicing of the reference systems' shared decoders, the only one --commit keeps
REPORTS = ("xilinx/fpga_report.json", "xilinx/fpga_report.md", "ecp5/ecp5_report.json", "ecp5/ecp5_report.md")


def measure(elinks: int, modules: list[str], per_decoder: int, work: Path, *, threads: int, seeds: list[int],
            routes: int, slicing: str, commit: bool, pnr_timeout: float) -> None:
    """Print one system's rows of the table; its reports under ``work`` (and, ``commit``, the system folder)."""
    system_dir = MODELS_DIR / "reference" / f"econt_{elinks}elink_table"
    system = load_table_system(system_dir)
    rtl = write_system_rtl(system, work / "rtl", modules_per_decoder=per_decoder, force=True,
                           slicing=SLICINGS[slicing])
    budget, costs = BackEndBudget(), load_costs()
    for module in modules:
        folder = work / "rtl" / decoder_dir(module)
        reports = work / decoder_dir(module)
        start = time.perf_counter()
        xilinx = synthesize_fpga(folder, reports / "xilinx")
        routed = []
        first = None  # the folder whose netlist the other seeds place again
        for seed in seeds:  # nextpnr's placer cannot legalise some tops at some seeds: the next seed then
            ecp5 = place_and_route_ecp5(folder, reports / f"ecp5_seed{seed}", speed=ECP5_SPEED, threads=threads,
                                        seed=seed, netlist_from=first, pnr_timeout=pnr_timeout)
            first = first or reports / f"ecp5_seed{seed}"
            if ecp5.status == "routed":
                routed.append(ecp5)
            if len(routed) == routes:
                break
        took = time.perf_counter() - start
        one = costs.get(f"table:entropy:{module}:{elinks}elink")
        target = 40.0 * per_decoder
        routed.sort(key=lambda r: r.fmax_mhz or 0.0)
        median = routed[(len(routed) - 1) // 2] if routed else ecp5  # the lower median of an even count
        spread = ", ".join(f"{r.fmax_mhz:.1f} (seed {r.meta['seed']})" for r in routed) or ecp5.status
        row = [f"econt_{elinks}elink_table", module, str(per_decoder),
               f"{xilinx.resources.lut_sites:,}", f"{xilinx.luts_per_module:,.0f}", f"{xilinx.resources.DSP}",
               f"{xilinx.resources.BRAM36:g}", f"{xilinx.luts_per_module / budget.luts:.2f}",
               f"{xilinx.resources.FF / per_decoder:,.0f} ({xilinx.resources.FF / per_decoder / budget.ffs:.2f})",
               f"{one.luts:,}" if one and one.luts else "-",
               f"{spread} MHz; median {(median.fmax_mhz or 0.0) / target:.2f} of {target:.0f}",
               f"{rtl.decoders[module].latency_cycles}", f"{took / 60:.0f} min"]
        print(" | ".join(row), flush=True)
        if commit:
            kept = system_dir / "hw" / decoder_dir(module)
            kept.mkdir(parents=True, exist_ok=True)
            for name in REPORTS:
                source = name.replace("ecp5/", f"ecp5_seed{median.meta['seed']}/")
                shutil.copyfile(reports / source, kept / Path(name).name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elinks", type=int, nargs="+", default=[2, 3], choices=[2, 3, 4, 5])
    parser.add_argument("--module", nargs="+", default=["hd", "ld"], choices=["hd", "ld"])
    parser.add_argument("--modules-per-decoder", type=int, default=3, help="modules through one decoder (N)")
    parser.add_argument("--work", type=Path, default=Path("out/shared_decoders"))
    parser.add_argument("--threads", type=int, default=2, help="nextpnr threads")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3],
                        help="nextpnr seeds, tried in turn until --routes of them place and route")
    parser.add_argument("--routes", type=int, default=1,
                        help="routed seeds per decoder: their Fmax each and the median (one routed netlist's clock "
                             "moves by up to a fifth with the seed)")
    parser.add_argument("--slicing", choices=list(SLICINGS), default=REFERENCE,
                        help="bram: each cell's share a DSP product and its code's value from block RAM "
                             "(BRAM_SLICING, the reference); sum: each cell a DSP product plus its value from block "
                             "RAM, short delays in flip-flops (SUM_SLICING); dsp: the values in LUTs (DSP_SLICING); "
                             "ring: the shares chosen in LUTs too (RING_SLICING, the reference until session 37)")
    parser.add_argument("--pnr-timeout", type=float, default=3600,
                        help="seconds a route may take before the next seed is tried (default 3600)")
    parser.add_argument("--commit", action="store_true", help="copy the reports into the system folders (hw/)")
    args = parser.parse_args()
    if args.commit and args.slicing != REFERENCE:
        parser.error(f"--commit keeps the reference systems' decoders (BRAM_SLICING): not with --slicing "
                     f"{args.slicing}")
    header = ["system", "module", "modules per decoder", "LUT (with SRL and LUT RAM)", "LUT per module", "DSP",
              "BRAM36", "of LUT budget", "FF per module (of budget)", "one-module decoder LUT",
              "ECP5-85F-8 routed Fmax", "latency (clocks)", "time"]
    print(" | ".join(header))
    for n in args.elinks:
        measure(n, args.module, args.modules_per_decoder, args.work / f"econt_{n}elink_table",
                threads=args.threads, seeds=args.seeds, routes=args.routes, slicing=args.slicing, commit=args.commit,
                pnr_timeout=args.pnr_timeout)


if __name__ == "__main__":
    main()
