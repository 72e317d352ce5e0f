"""What the arena's non-learned systems cost, measured: the entropy codec's on-chip encoder (Yosys, the
project's 65 nm gate-equivalent model) at each eLink count and module type, and the back-end decoders'
UltraScale+ resources per module (Yosys ``synth_xilinx -family xcup``; ``codesign/hardware/backend_rtl.py``:
Best-Choice and the entropy codec, even spreading, F = 8 fractional bits, one frame per clock). Writes (merges
into) ``costs.json`` beside the arena table, which ``codesign econt scan`` and ``codesign evaluate`` put in
their arena tables, and prints each decoder against ``BackEndBudget`` (shift registers count as LUTs: they
take LUT sites).

    python benchmarks/arena_costs.py [--elinks 2 3 4 5] [--module hd ld] [--part onchip backend]
        [--arena models/reference/arena] [--work out/arena_costs]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from codesign.arena import ARENA_DIR, COSTS_FILE, BackEndBudget, load_arena
from codesign.artifacts import provenance, write_json
from codesign.asic.synth import synthesize_asic
from codesign.econt.algorithms import MODULE_PRESETS
from codesign.econt.mux import load_tc_mux
from codesign.fpga.synth import synthesize_fpga
from codesign.hardware.backend_model import BestChoiceDecoder, EntropyDecoder
from codesign.hardware.backend_rtl import write_backend_rtl
from codesign.hardware.entropy_rtl import EntropyRtlSpec, write_entropy_rtl


def onchip_entropy(arena_dir: Path, work: Path, modules: list[str], elinks: list[int]) -> dict[str, dict[str, Any]]:
    """{entropy:<module>:<n>elink: {on_chip_ge, note}}: one synthesis per distinct encoder shape."""
    arena, by_shape, out = load_arena(arena_dir), {}, {}
    for module in modules:
        for n in elinks:
            codec = arena.codec(module, n)
            if codec is None:
                continue
            spec = EntropyRtlSpec.of(codec)
            if spec not in by_shape:
                name = f"entropy_e{spec.elinks}_d{spec.drop_lsb}_m{spec.mantissa_bits}"
                start = time.perf_counter()
                write_entropy_rtl(spec, work / name / "rtl", force=True)
                report = synthesize_asic(work / name / "rtl", work / name / "asic")
                assert report.area is not None
                by_shape[spec] = report.area.gate_equivalents
                print(f"entropy encoder {name}: {by_shape[spec]:,.0f} GE "
                      f"({report.area.area_mm2:.3f} mm2), Yosys {time.perf_counter() - start:.0f} s", flush=True)
            out[f"entropy:{module}:{n}elink"] = {
                "on_chip_ge": round(by_shape[spec]), "note": f"encoder econt_entropy, 4E{spec.mantissa_bits}M, "
                                                           f"DropLSB {spec.drop_lsb}; back end not measured"}
    return out


def backend_decoders(arena_dir: Path, work: Path, modules: list[str], elinks: list[int],
                     budget: BackEndBudget) -> dict[str, dict[str, Any]]:
    """{best-choice|entropy:<module>:<n>elink: {luts, ffs, dsps, brams, note}} of each decoder's synthesis."""
    arena, post_of_tc, out = load_arena(arena_dir), tuple(int(p) for p in load_tc_mux().post_of_tc), {}
    for module in modules:
        for n in elinks:
            codec = arena.codec(module, n)
            decoders: dict[str, BestChoiceDecoder | EntropyDecoder] = {
                "best-choice": BestChoiceDecoder(n, MODULE_PRESETS[module].drop_lsb, post_of_tc)}
            if codec is not None:
                decoders["entropy"] = EntropyDecoder(codec)
            for name, decoder in decoders.items():
                key = f"{name}:{module}:{n}elink"
                folder = work / key.replace(":", "_")
                info = write_backend_rtl(decoder, folder / "rtl", force=True)
                start = time.perf_counter()
                r = synthesize_fpga(folder / "rtl", folder / "fpga").resources
                luts = r.LUT + r.SRL
                print(f"{key}: {r.LUT:,} LUT + {r.SRL} SRL, {r.FF:,} FF, {r.CARRY} CARRY, {r.DSP} DSP, {r.BRAM} BRAM; "
                      f"{luts / budget.luts:.0%} of the LUT budget ({'fits' if budget.fits(luts, r.DSP) else 'over'}); "
                      f"{info.latency_cycles} clocks; synth_xilinx {time.perf_counter() - start:.0f} s", flush=True)
                parse = ("the frame's own parse (charge i to the i-th flagged cell)" if name == "best-choice"
                         else "parse")
                out[key] = {"luts": luts, "ffs": r.FF, "dsps": r.DSP, "brams": r.BRAM,
                            "note": f"decoder: {parse}, even spreading, {info.latency_cycles} clocks"}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elinks", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--module", nargs="+", default=["hd", "ld"])
    parser.add_argument("--part", nargs="+", choices=("onchip", "backend"), default=["onchip", "backend"])
    parser.add_argument("--arena", type=Path, default=ARENA_DIR)
    parser.add_argument("--work", type=Path, default=Path("out/arena_costs"))
    args = parser.parse_args()
    path = args.arena / COSTS_FILE
    systems: dict[str, dict[str, Any]] = json.loads(path.read_text())["systems"] if path.is_file() else {}
    if "onchip" in args.part:
        for key, cost in onchip_entropy(args.arena, args.work, args.module, args.elinks).items():
            systems[key] = {**systems.get(key, {}), **cost}
    budget = BackEndBudget()
    if "backend" in args.part:
        for key, cost in backend_decoders(args.arena, args.work, args.module, args.elinks, budget).items():
            systems[key] = {**systems.get(key, {}), **cost}
    write_json(path, {"systems": dict(sorted(systems.items())),
                      "budget": {"luts": budget.luts, "dsps": budget.dsps},
                      "meta": provenance(benchmark="benchmarks/arena_costs.py")})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
