"""Gate-level energy: the built-in simulator against Verilator (and optionally Icarus) on one netlist.

Runs ``estimate_energies`` with each simulator on the same synthesised netlist and vectors (frames checked
against Keras by each), and prints wall seconds, toggles per wafer and both as ratios to the built-in one.
The netlist folder comes from ``codesign asic synth`` (``netlist.v`` and ``netlist.json``).

    python benchmarks/energy_sim.py --asic out/demo/asic --rtl out/demo/rtl --vectors out/demo/vectors
        [--wafers 100] [--icarus]
"""

from __future__ import annotations

import argparse
import time

from codesign.asic.energy import estimate_energies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--asic", required=True, help="folder of `codesign asic synth` (netlist.v, netlist.json)")
    parser.add_argument("--rtl", required=True, help="the RTL folder it was synthesised from")
    parser.add_argument("--vectors", required=True, help="vectors folder of the same model (codesign vectors)")
    parser.add_argument("--config-image", help="configuration image of a reconfigurable design")
    parser.add_argument("--wafers", type=int, default=100, help="wafers per simulator")
    parser.add_argument("--icarus", action="store_true", help="Icarus too (slow on a full encoder)")
    args = parser.parse_args()
    rows = []
    for simulator in ("netlist", "verilator", *(("icarus",) if args.icarus else ())):
        start = time.perf_counter()
        report = estimate_energies(args.asic, args.rtl, [(args.vectors, args.config_image)], n_wafers=args.wafers,
                                   simulator=simulator)[0]
        rows.append((simulator, time.perf_counter() - start, report.toggles_per_wafer))
        print(f"{simulator}: {rows[-1][1]:.1f} s, {report.toggles_per_wafer:.0f} toggles/wafer", flush=True)
    base_seconds, base_toggles = rows[0][1], rows[0][2]
    print("\n| simulator | seconds (build + run) | x built-in | toggles/wafer | x built-in |")
    print("|---|---|---|---|---|")
    for simulator, seconds, toggles in rows:
        print(f"| {simulator} | {seconds:.1f} | {seconds / base_seconds:.1f} | {toggles:.0f} | "
              f"{toggles / base_toggles:.3f} |")


if __name__ == "__main__":
    main()
