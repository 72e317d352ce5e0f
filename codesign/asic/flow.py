"""The implementation flows behind ``make asic`` and ``make fpga``: every design variant of one model, one
summary table.

Variants (``codesign.asic.variants``): ``fixed`` (the da4ml core, weights wired into the logic, from
``codesign rtl``), ``reconfig`` (weights in a configuration register, ``codesign asic rtl``) and
``reconfig_tmr`` (that register triplicated with majority voting), the reconfigurable ones optionally with a
reuse factor (``reconfig_tmr_r4``: each multiplier shared by 4 products, the datapath clock 4 x 40 MHz).
``asic_flow`` synthesises each with Yosys (gate equivalents, area) and estimates its energy per inference
from gate-level switching activity on real wafers;
``fpga_flow`` runs Yosys ``synth_xilinx`` for each and places and routes them on an ECP5 where they fit.
Both write ``summary.md`` / ``summary.json`` next to the per-variant reports.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json, write_text
from codesign.asic.synth import (
    ECONT_PUBLISHED,
    ECP5_DEVICES,
    place_and_route_ecp5,
    split_markdown,
    synthesize_asic,
    synthesize_fpga,
)
from codesign.asic.variants import DEFAULT_VARIANTS, parse_variant
from codesign.hardware.rtl import RtlInfo, write_reconfigurable_rtl
from codesign.models.store import load_encoder_config
from codesign.tools import run_tool

VARIANTS = DEFAULT_VARIANTS


def variant_rtl(model_dir: str | Path, fixed_rtl: str | Path, rtl_root: str | Path,
                *, variants: tuple[str, ...] = VARIANTS) -> dict[str, Path]:
    """RTL folder of each requested variant: the given fixed one, and the reconfigurable ones generated
    (once) from the model's shape under ``rtl_root``."""
    parsed = [parse_variant(name) for name in variants]
    info = RtlInfo.load(fixed_rtl)
    folders = {"fixed": Path(fixed_rtl)}
    for variant in parsed:
        folder = Path(rtl_root) / variant.name
        if variant.reconfigurable and not (folder / "rtl.json").is_file():
            write_reconfigurable_rtl(load_encoder_config(model_dir), folder, info.clock_period_ns,
                                     calq_bits=info.calq_bits,
                                     tmr=variant.tmr, reuse=variant.reuse)
        folders.setdefault(variant.name, folder)
    return folders


def asic_flow(model_dir: str | Path, fixed_rtl: str | Path, vectors: str | Path, *, out_dir: str | Path,
              liberty: str | Path | None = None, variants: tuple[str, ...] = VARIANTS,
              energy_wafers: int = 200) -> dict[str, Any]:
    """Synthesise every variant and estimate its energy per inference (generic cells: gate-level simulation
    of its netlist on the model's vectors, a reconfigurable one after loading the model's weights) into
    ``out_dir/VARIANT``."""
    from codesign.asic.energy import estimate_energy
    from codesign.asic.verify import write_config_image
    from codesign.models.store import load_encoder

    out = Path(out_dir)
    rtl = variant_rtl(model_dir, fixed_rtl, out / "rtl", variants=variants)
    image = None
    rows = {}
    for name in variants:
        report = synthesize_asic(rtl[name], out / name, liberty, split=True)
        if not liberty:
            reconfigurable = parse_variant(name).reconfigurable
            if reconfigurable and image is None:
                image = out / "rtl" / "config_image.hex"
                write_config_image(*load_encoder(model_dir), image)
            report["energy"] = estimate_energy(out / name, rtl[name], vectors, n_wafers=energy_wafers,
                                               config_image=image if reconfigurable else None).to_dict()
        rows[name] = report
    summary = {"variants": rows, "published_econt": ECONT_PUBLISHED, "meta": provenance(model=str(model_dir))}
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", asic_markdown(rows))
    return summary


def asic_markdown(rows: dict[str, Any]) -> str:
    pub = ECONT_PUBLISHED
    lines = ["# ASIC implementation (Yosys, 65 nm gate-equivalent model)", "",
             "| design | clock (MHz) | latency (cycles) | cells | flip-flops | gate equivalents | area (mm2) | "
             "energy (nJ/inference) | power at 40 MHz (mW) |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        e = r.get("energy")
        energy = (f"{e['energy_nJ_per_inference']:.3f} | {e['power_mW_at_40MHz']:.1f}" if e else "- | -")
        timing = f"{1000 / r['clock_period_ns']:.0f} | {r['latency_cycles']}"
        if "gate_equivalents" in r:
            lines.append(f"| {name} | {timing} | {r['cells']} | {r['flip_flops']} | {r['gate_equivalents']:.0f} | "
                         f"{r['area_mm2']:.3f} | {energy} |")
        else:
            lines.append(f"| {name} | {timing} | {r['cells']} | - | - | {r['library_area_um2'] / 1e6:.3f} (library) | "
                         f"{energy} |")
    lines.append(f"| published ECON-T ASIC (whole chip) | 40 | - | - | - | - | {pub['area_mm2']} | "
                 f"{pub['energy_nJ_per_inference']} | {pub['power_mW_at_40MHz']} |")
    lines += ["", "Clock: a design with reuse factor R (suffix _rR) runs its datapath at R x 40 MHz and still takes "
              "one wafer per 25 ns. "
              "Area: NAND2 gate equivalents x 1.44 um2 (65 nm LP NAND2X1, assumed). Energy: bit toggles of "
              "the gate-level netlist on real wafers x 5 fJ per toggle, plus 2 fJ per flip-flop and clock cycle "
              "for the clock pins, no clock gating (assumed; see codesign/asic/energy.py). "
              "The published figures are for the whole ECON-T chip (all its blocks, I/O, clocking), so they bound "
              "the encoder from above rather than compare like for like."]
    for name, r in rows.items():
        if r.get("split"):
            lines += ["", f"## {name}", "", *split_markdown(r["split"], r["um2_per_ge"])]
    return "\n".join(lines) + "\n"


def fpga_flow(model_dir: str | Path, fixed_rtl: str | Path, out_dir: str | Path,
              *, variants: tuple[str, ...] = VARIANTS, place_and_route: bool = True,
              pnr_timeout: float = 3600) -> dict[str, Any]:
    """``synth_xilinx`` of every variant into ``out_dir/VARIANT``, ECP5 place and route of those that fit."""
    out = Path(out_dir)
    rtl = variant_rtl(model_dir, fixed_rtl, out / "rtl", variants=variants)
    rows = {}
    for name in variants:
        rows[name] = {"xilinx": synthesize_fpga(rtl[name], out / name / "xilinx")}
        if place_and_route:
            rows[name]["ecp5"] = (_too_large_for_ecp5(rows[name]["xilinx"]["LUT"])
                                  or place_and_route_ecp5(rtl[name], out / name / "ecp5", pnr_timeout=pnr_timeout))
    vivado = _vivado(rtl["fixed"], out / "vivado")
    write_json(out / "summary.json",
               {"variants": rows, "vivado": vivado, "meta": provenance(model=str(model_dir))})
    lines = ["# FPGA implementation", "",
             "| design | UltraScale+ LUT | FF | CARRY | DSP | ECP5 LUT4 | ECP5 Fmax (MHz) | 40 MHz met |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        x, e = r["xilinx"], r.get("ecp5")
        ecp5 = "- | - | -" if e is None else (
            f"{e['LUT4']} | {e['fmax_mhz']:.1f} | {'yes' if e['meets_timing'] else 'no'}" if e["fmax_mhz"]
            else f"{e['LUT4'] or '-'} | {_estimate(e)} | {e['status']}")
        lines.append(f"| {name} | {x['LUT']} | {x['FF']} | {x['CARRY']} | {x['DSP']} | {ecp5} |")
    lines += ["", f"Vivado: {vivado}"]
    write_text(out / "summary.md", "\n".join(lines) + "\n")
    return rows


def _estimate(ecp5: dict[str, Any]) -> str:
    est = ecp5.get("placed_fmax_estimate_mhz")
    return f"{est:.1f} (after placement, estimated)" if est else "-"


def _too_large_for_ecp5(xilinx_luts: int, device: str = "85k") -> dict[str, Any] | None:
    """Skip ECP5 synthesis (an hour for the reconfigurable core) when the UltraScale+ LUT6 count alone
    exceeds the device's LUT4s: a 4-input LUT does no more than a 6-input one."""
    capacity = ECP5_DEVICES[device]
    if xilinx_luts <= capacity:
        return None
    return {"fits": False, "LUT4": None, "fmax_mhz": None, "meets_timing": False,
            "status": f"does not fit: {xilinx_luts} UltraScale+ LUTs > {capacity} LUT4 of LFE5U-{device.upper()}"}


def _vivado(rtl: Path, log_dir: Path) -> str:
    """Run the Vivado project TCL da4ml wrote for the fixed design when ``vivado`` is on PATH."""
    tcl = rtl / "build_vivado_prj.tcl"
    vivado = shutil.which("vivado")
    if vivado is None or not tcl.is_file():
        return f"not on PATH; the project script is {tcl}" if tcl.is_file() else "no project script"
    run_tool([vivado, "-mode", "batch", "-source", tcl.name], cwd=rtl, log=log_dir / "vivado.log")
    return f"ran {tcl} (log {log_dir / 'vivado.log'})"
