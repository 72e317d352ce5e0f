"""The ASIC flow behind ``make asic``: every design variant of one model, one summary table.

Variants (``codesign.hardware.variants``): ``fixed`` (the da4ml core, weights wired into the logic, from
``codesign rtl``), ``reconfig`` (weights in a configuration register, ``codesign asic rtl``) and
``reconfig_tmr`` (that register triplicated with majority voting), the reconfigurable ones optionally with a
reuse factor (``reconfig_tmr_r4``: each multiplier shared by 4 products, the datapath clock 4 x 40 MHz).
``asic_flow`` synthesises each with Yosys (gate equivalents, area) and estimates its energy per inference
from gate-level switching activity on real wafers; it writes ``summary.md`` / ``summary.json`` next to the
per-variant reports (``codesign.fpga.flow`` is the FPGA counterpart).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.artifacts import provenance, write_json
from codesign.asic.synth import ECONT_PUBLISHED, AsicReport, add_split, synthesize_asic, write_report
from codesign.document import Document
from codesign.hardware.variants import ASIC_DEFAULT_VARIANTS, parse_variant, variant_rtl
from codesign.progress import Stages


@dataclass(frozen=True)
class AsicFlowResult:
    variants: dict[str, AsicReport]  # by variant name, in the order built
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``."""
        return {"variants": {name: r.to_dict() for name, r in self.variants.items()},
                "published_econt": dataclasses.asdict(ECONT_PUBLISHED),
                "meta": self.meta}


def asic_flow(model_dir: str | Path, fixed_rtl: str | Path, vectors: str | Path, *, out_dir: str | Path,
              liberty: str | Path | None = None, variants: tuple[str, ...] = ASIC_DEFAULT_VARIANTS,
              energy_wafers: int = 200) -> AsicFlowResult:
    """Synthesise every variant and estimate its energy per inference (generic cells: gate-level simulation
    of its netlist on the model's vectors, a reconfigurable one after loading the model's weights) into
    ``out_dir/VARIANT``, a numbered stage line per variant on stderr."""
    from codesign.asic.energy import estimate_energy
    from codesign.asic.verify import write_config_image
    from codesign.models.store import load_encoder

    out = Path(out_dir)
    rtl = variant_rtl(model_dir, fixed_rtl, out / "rtl", variants=variants)
    image = out / "rtl" / "config_image.hex"
    if not liberty and any(parse_variant(name).reconfigurable for name in variants):
        write_config_image(*load_encoder(model_dir), image)
    rows = {}
    stages = Stages(len(variants))
    for name in variants:
        with stages.stage(f"{name}: Yosys synthesis{'' if liberty else ' and gate-level energy'}", beat=False):
            report = synthesize_asic(rtl[name], out / name, liberty, split=True)
            if not liberty:
                reconfigurable = parse_variant(name).reconfigurable
                energy = estimate_energy(out / name, rtl[name], vectors, n_wafers=energy_wafers,
                                         config_image=image if reconfigurable else None)
                report = dataclasses.replace(report, energy=energy)
                write_report(report, out / name)
        rows[name] = report
    result = AsicFlowResult(rows, provenance(model=str(model_dir)))
    write_json(out / "summary.json", result.to_dict())
    asic_summary(rows).write(out / "summary.md")
    return result


def asic_summary(rows: dict[str, AsicReport]) -> Document:
    pub = ECONT_PUBLISHED
    doc = Document("ASIC implementation (Yosys, 65 nm gate-equivalent model)")
    table = []
    for name, r in rows.items():
        e = r.energy
        energy = [f"{e.energy_nJ_per_inference:.3f}", f"{e.power_mW_at_40MHz:.1f}"] if e else ["-", "-"]
        timing = [f"{1000 / r.clock_period_ns:.0f}", str(r.latency_cycles)]
        if r.area:
            a = r.area
            table.append([name, *timing, str(a.cells), str(a.flip_flops), f"{a.gate_equivalents:.0f}",
                          f"{a.area_mm2:.3f}", *energy])
        elif r.library:
            table.append([name, *timing, str(r.library.cells), "-", "-",
                          f"{r.library.library_area_um2 / 1e6:.3f} (library)", *energy])
    table.append(["published ECON-T autoencoder block (converter, encoder, I2C)", "40", "-", "-", "-", "-",
                  str(pub.area_mm2), str(pub.energy_nJ_per_inference), str(pub.power_mW_at_40MHz)])
    doc.table(["design", "clock (MHz)", "latency (cycles)", "cells", "flip-flops", "gate equivalents", "area (mm2)",
               "energy (nJ/inference)", "power at 40 MHz (mW)"], table)
    doc.paragraph("Clock: a design with reuse factor R (suffix _rR) runs its datapath at R x 40 MHz and still takes "
                  "one wafer per 25 ns. Area: NAND2 gate equivalents x 1.44 um2 (65 nm LP NAND2X1, assumed). Energy: "
                  "bit toggles of each net of the gate-level netlist on real wafers x 5 fJ per toggle, plus 2 fJ per "
                  "flip-flop and clock cycle for the clock pins, no clock gating (assumed; see "
                  "codesign/asic/energy.py). The published figures are the ECON-T autoencoder block's (input "
                  "converter, encoder and I2C weight registers; not the whole chip), in a real 65 nm library with "
                  "its clock tree: like for like in scope, not in method.")
    for name, r in rows.items():
        if r.split and r.area:
            doc.heading(name)
            add_split(doc, r.split, r.area.um2_per_ge)
    return doc
