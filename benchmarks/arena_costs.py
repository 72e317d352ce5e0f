"""What the arena's non-learned systems cost, measured: the entropy codec's on-chip encoder (Yosys, the
project's 65 nm gate-equivalent model) at each eLink count and module type, and the back-end decoders'
UltraScale+ resources per module (Yosys ``synth_xilinx -family xcup``; ``codesign/hardware/backend_rtl.py``:
Best-Choice, the entropy codec and Threshold-Sum with even spreading, the codec's frames with the arena's learned
table placement (``table:entropy:...``, where the arena kept one), the super trigger cells with the arena's
shares and even weighting; F = 8 fractional bits, one frame per clock). Writes (merges into) ``costs.json``
beside the arena table, which ``codesign econt scan`` and ``codesign evaluate`` put in their arena tables, and
prints each decoder against ``BackEndBudget`` (shift registers count as LUTs: they take LUT sites). Decoders
whose Verilog is the same (Threshold-Sum at any eLink count, 9-bit super trigger cells of either module) are
synthesised once. ``--decoders`` picks the back ends to measure (an STC type only where it sends data).

    python benchmarks/arena_costs.py [--elinks 2 3 4 5] [--module hd ld] [--part onchip backend]
        [--decoders best-choice entropy entropy-table threshold-sum stc4_9 stc16_9 stc4_7]
        [--arena models/reference/arena] [--work out/arena_costs] [--deep]

Then, for a clock: `codesign fpga pnr --rtl out/arena_costs/[deep/]table_entropy_ld_2elink/rtl --out DIR` places
and routes a decoder on an ECP5 (docs/econt.md: 26.9 MHz with the default slicing, 51.5 MHz with --deep).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from codesign.arena import ARENA_DIR, COSTS_FILE, Arena, BackEndBudget, load_arena, table_label
from codesign.artifacts import provenance, write_json
from codesign.asic.synth import synthesize_asic
from codesign.econt.algorithms import MODULE_PRESETS, STC_TYPES
from codesign.econt.mux import load_tc_mux
from codesign.fpga.synth import XilinxReport, synthesize_fpga
from codesign.hardware.backend_model import BestChoiceDecoder, EntropyDecoder, SuperCellDecoder, ThresholdSumDecoder
from codesign.hardware.backend_rtl import (
    DEEP_SLICING,
    DEFAULT_SLICING,
    Decoder,
    DecoderSlicing,
    decoder_rtl,
    write_backend_rtl,
)
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


DECODERS = ("best-choice", "entropy", "entropy-table", "threshold-sum",
            *(t for t, k in STC_TYPES.items() if k.index_bits))


def module_decoders(arena: Arena, post_of_tc: tuple[int, ...], module: str, elinks: int,
                    kinds: tuple[str, ...]) -> dict[str, Decoder]:
    """{kind: decoder} of ``module`` at ``elinks`` among ``kinds`` (``DECODERS``): those the arena has a codec
    for (entropy) or that send data at ``elinks`` (STC types); an STC type with the arena's shares."""
    drop = MODULE_PRESETS[module].drop_lsb
    out: dict[str, Decoder] = {}
    for kind in kinds:
        if kind == "best-choice":
            out[kind] = BestChoiceDecoder(elinks, drop, post_of_tc)
        elif kind == "entropy":
            codec = arena.codec(module, elinks)
            if codec is not None:
                out[kind] = EntropyDecoder(codec)
        elif kind == "entropy-table":  # the codec's frames with the learned table placement, where it was kept
            codec, table = arena.codec(module, elinks), arena.table(module, elinks)
            if codec is not None and table is not None:
                out[kind] = EntropyDecoder(codec, placement=table)
        elif kind == "threshold-sum":
            out[kind] = ThresholdSumDecoder(elinks, drop, post_of_tc)
        elif elinks <= STC_TYPES[kind].max_elinks:
            rule = arena.back_ends.rule(kind, module, elinks)
            out[kind] = SuperCellDecoder(kind, elinks, drop, post_of_tc, () if rule is None else rule.anchor_shares)
    return out


def _note(kind: str, decoder: Decoder, latency: int, arena_weighting: str) -> str:
    if isinstance(decoder, SuperCellDecoder):
        rule = (f"the largest keeps the arena's share ({decoder.share_bits}-bit), the rest even"
                if decoder.anchor_shares else "naive (the sum on the largest cell)")
        if arena_weighting != "even":
            rule += f" (the arena weights {arena_weighting})"
        return f"decoder: parse, {rule}, {_clocks(latency)}"
    parse = ("the frame's own parse (charge i to the i-th flagged cell)" if kind == "best-choice" else
             "parse, truncated frames too" if kind == "threshold-sum" else
             "parse, sparse frames too" if isinstance(decoder, EntropyDecoder) and decoder.codec.sparse_cells else
             "parse")
    placement = "even spreading"
    if isinstance(decoder, EntropyDecoder) and decoder.placement:
        placement = f"learned {table_label(decoder.placement)}"
    return f"decoder: {parse}, {placement}, {_clocks(latency)}"


def _clocks(latency: int) -> str:
    return f"{latency} clock{'' if latency == 1 else 's'}"


def backend_decoders(arena_dir: Path, work: Path, modules: list[str], elinks: list[int], budget: BackEndBudget,
                     kinds: tuple[str, ...] = DECODERS, slicing: DecoderSlicing = DEFAULT_SLICING
                     ) -> dict[str, dict[str, Any]]:
    """{<kind>:<module>:<n>elink: {luts, ffs, dsps, brams, note}} of each decoder's synthesis (one per distinct
    Verilog), its pipeline cut by ``slicing``."""
    arena, post_of_tc = load_arena(arena_dir), tuple(int(p) for p in load_tc_mux().post_of_tc)
    out: dict[str, dict[str, Any]] = {}
    by_verilog: dict[str, XilinxReport] = {}
    for module in modules:
        for n in elinks:
            for kind, decoder in module_decoders(arena, post_of_tc, module, n, kinds).items():
                key = f"{'table:entropy' if kind == 'entropy-table' else kind}:{module}:{n}elink"
                rule = arena.back_ends.rule(kind, module, n)
                weighting = "even" if rule is None else rule.weighting
                folder = work / key.replace(":", "_")
                info = write_backend_rtl(decoder, folder / "rtl", slicing=slicing, force=True)
                verilog = decoder_rtl(decoder, slicing).verilog
                start = time.perf_counter()
                if verilog not in by_verilog:
                    by_verilog[verilog] = synthesize_fpga(folder / "rtl", folder / "fpga")
                    took = f"synth_xilinx {time.perf_counter() - start:.0f} s"
                else:
                    took = "the same Verilog as above"
                r, cells = by_verilog[verilog].resources, by_verilog[verilog].cell_counts
                luts = r.lut_sites
                brams = r.BRAM36
                fits = budget.fits(luts, r.DSP, brams, r.FF)
                print(f"{key}: {r.LUT:,} LUT + {r.SRL} SRL + {r.LUTRAM} LUT RAM, {r.FF:,} FF, {r.CARRY} CARRY, "
                      f"{r.DSP} DSP, {brams:g} BRAM36 ({cells.get('RAMB18E2', 0)} RAMB18); "
                      f"{luts / budget.luts:.0%} of the LUT budget ({'fits' if fits else 'over'}); "
                      f"{_clocks(info.latency_cycles)}; {took}",
                      flush=True)
                tables = f"; its tables in {brams:g} BRAM36" if brams else ""
                out[key] = {"luts": luts, "ffs": r.FF, "dsps": r.DSP, "brams": brams,
                            "note": _note(kind, decoder, info.latency_cycles, weighting) + tables}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--elinks", type=int, nargs="+", default=[2, 3, 4, 5])
    parser.add_argument("--module", nargs="+", default=["hd", "ld"])
    parser.add_argument("--part", nargs="+", choices=("onchip", "backend"), default=["onchip", "backend"])
    parser.add_argument("--decoders", nargs="+", choices=DECODERS, default=DECODERS)
    parser.add_argument("--arena", type=Path, default=ARENA_DIR)
    parser.add_argument("--work", type=Path, default=Path("out/arena_costs"))
    parser.add_argument("--deep", action="store_true",
                        help="decoders sliced for a clock (DEEP_SLICING) into WORK/deep, printed only: costs.json "
                             "holds the default slicing (RTL folders for `codesign fpga pnr`)")
    args = parser.parse_args()
    if args.deep:
        backend_decoders(args.arena, args.work / "deep", args.module, args.elinks, BackEndBudget(),
                         tuple(args.decoders), DEEP_SLICING)
        return
    path = args.arena / COSTS_FILE
    systems: dict[str, dict[str, Any]] = json.loads(path.read_text())["systems"] if path.is_file() else {}
    if "onchip" in args.part:
        for key, cost in onchip_entropy(args.arena, args.work, args.module, args.elinks).items():
            systems[key] = {**systems.get(key, {}), **cost}
    budget = BackEndBudget()
    if "backend" in args.part:
        for key, cost in backend_decoders(args.arena, args.work, args.module, args.elinks, budget,
                                          tuple(args.decoders)).items():
            systems[key] = {**systems.get(key, {}), **cost}
    for key, cost in systems.items():  # the table placement's on-chip half is the codec's encoder
        if key.startswith("table:") and key.removeprefix("table:") in systems:
            cost["on_chip_ge"] = systems[key.removeprefix("table:")].get("on_chip_ge")
    write_json(path, {"systems": dict(sorted(systems.items())),
                      "budget": {"luts": budget.luts, "dsps": budget.dsps},
                      "meta": provenance(benchmark="benchmarks/arena_costs.py")})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
