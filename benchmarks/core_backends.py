"""da4ml 0.6 against alkaid 0.8 as the compiler of the encoder core, on the reference encoders.

For each encoder and each compiler: the RTL folder (`write_rtl(core_backend=...)`, the same top around
either core), every frame of ``--wafers`` wafers (real, corner, synthetic) through the compiled Verilator
harness against Keras, the core alone through Yosys' generic-cell ASIC flow (gate equivalents, flip-flops)
and through ``synth_xilinx`` (UltraScale+ LUTs, FFs), the compiler's own LUT estimate and the top's latency.
Prints one markdown table, alkaid's figures also as ratios to da4ml's measured in the same run.

    python benchmarks/core_backends.py [--models econt_2elink_hybrid ...] [--wafers 100000]
        [--out build/core_backends]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from codesign.asic.synth import synthesize_asic
from codesign.fpga.synth import synthesize_fpga
from codesign.hardware.rtl import CORE_BACKENDS, write_rtl
from codesign.hardware.sim.bulk import verify_bulk
from codesign.hardware.vectors import check_wafers
from codesign.models.store import load_encoder

REFERENCE = Path(__file__).parents[1] / "models" / "reference"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[f"econt_{n}elink_hybrid" for n in (2, 3, 4, 5)],
                        help="reference encoders (folders of models/reference)")
    parser.add_argument("--wafers", type=int, default=100_000, help="wafers through each compiled top")
    parser.add_argument("--out", default="build/core_backends", help="working folder")
    args = parser.parse_args()
    real, source = check_wafers(None)
    print(f"{len(real)} real wafers from {source}", flush=True)
    rows = []
    for name in args.models:
        model, cfg = load_encoder(REFERENCE / name)
        for backend in CORE_BACKENDS:
            out = Path(args.out) / name / backend
            start = time.perf_counter()
            info = write_rtl(model, cfg, out / "rtl", core_backend=backend, force=True)
            written = time.perf_counter() - start
            bulk = verify_bulk(model, cfg, out / "rtl", out / "bulk", real=real, n=args.wafers, progress=False)
            bulk.check()
            asic = synthesize_asic(out / "rtl", out / "asic", part="core")
            fpga = synthesize_fpga(out / "rtl", out / "fpga", part="core")
            assert asic.area is not None
            rows.append((name, backend, info.latency_cycles, info.core_registers, info.estimated_luts,
                         asic.area.gate_equivalents, asic.area.flip_flops, fpga.resources.LUT, fpga.resources.FF,
                         bulk.result.frames, written))
            print(f"{name} {backend}: {rows[-1]}", flush=True)
    print("\n| encoder | core | top latency (cycles) | core register bits | LUT estimate | core GE (x da4ml) | "
          "core flip-flops | UltraScale+ LUT (x da4ml) | FF | frames equal to Keras | RTL written (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base: dict[str, tuple] = {}
    for row in rows:
        name, backend, latency, regs, est, ge, ffs, lut, ff, frames, written = row
        base.setdefault(name, row)
        ref = base[name]
        print(f"| {name} | {backend} | {latency} | {regs:,} | {est:,.0f} | {ge:,.0f} ({ge / ref[5]:.2f}) | {ffs:,} | "
              f"{lut:,} ({lut / ref[7]:.2f}) | {ff:,} | {frames:,} | {written:.1f} |")


if __name__ == "__main__":
    main()
