"""The universal codec block through the ASIC flow: what one on-chip design for every module costs.

``EntropyRtlSpec.block()`` is the entropy codec's encoder generated once for the largest shape, each module's
codec set by its configuration image (``codesign.hardware.entropy_rtl``). ``codec_block_flow`` synthesises it
with and without TMR of the configuration register (Yosys, generic cells, the project's 65 nm gate-equivalent
model), estimates the gate-level energy per inference with each chosen codec's image loaded (one bench build
per design, real wafers, frames checked against ``EntropyCodec.encode``), and sets the areas beside the fixed
encoders of the same codecs (``costs.json`` of the arena, the same Yosys flow) and the published ECON-T
autoencoder block. It writes ``summary.md`` / ``summary.json``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arena import Arena, load_arena, load_costs
from codesign.artifacts import provenance, write_json
from codesign.asic.energy import EnergyReport, estimate_energies
from codesign.asic.synth import ECONT_PUBLISHED, AsicReport, synthesize_asic
from codesign.document import Document
from codesign.econt.entropy import EntropyCodec
from codesign.errors import InputError
from codesign.hardware.entropy_rtl import EntropyRtlSpec, write_config_image, write_entropy_rtl
from codesign.hardware.sim.entropy_runner import write_entropy_vectors
from codesign.progress import Stages

DEFAULT_CODECS = ("hd:2", "ld:2", "hd:3", "ld:3", "hd:4", "ld:4", "hd:5", "ld:5")


@dataclass(frozen=True)
class BlockDesign:
    """One build of the block: its synthesis and its energy per inference with each codec's image."""

    name: str  # "block" or "block_tmr"
    synthesis: AsicReport
    energy: dict[str, EnergyReport]  # codec key ("hd:2") -> energy with that codec's image


@dataclass(frozen=True)
class CodecBlockResult:
    designs: tuple[BlockDesign, ...]
    fixed_ge: dict[str, float | None]  # codec key -> gate equivalents of its own fixed encoder (None: not measured)
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``."""
        return {"designs": {d.name: {"synthesis": d.synthesis.to_dict(),
                                     "energy": {k: e.to_dict() for k, e in d.energy.items()}} for d in self.designs},
                "fixed_ge": self.fixed_ge, "published_econt": dataclasses.asdict(ECONT_PUBLISHED), "meta": self.meta}

    def document(self) -> Document:
        doc = Document("The universal codec block")
        doc.paragraph("One `econt_entropy` design for every module, its codec set by the configuration image "
                      "(`codesign asic block`, `codesign asic config --codec`). Area: Yosys generic cells as NAND2 "
                      "gate equivalents x 1.44 um2 (65 nm LP NAND2X1, assumed). Energy: bit toggles of each net of "
                      "the gate-level netlist on real wafers x 5 fJ, plus 2 fJ per flip-flop and clock (assumed, no "
                      "clock gating).")
        rows = []
        for d in self.designs:
            area = d.synthesis.area
            assert area is not None
            energy = [f"{d.energy[k].energy_nJ_per_inference:.3f}" if k in d.energy else "-" for k in self.fixed_ge]
            rows.append([d.name, f"{area.cells:,}", f"{area.flip_flops:,}", f"{area.gate_equivalents:,.0f}",
                         f"{area.area_mm2:.3f}", *energy])
        rows.append(["published ECON-T autoencoder block", "", "", "", str(ECONT_PUBLISHED.area_mm2),
                     *(str(ECONT_PUBLISHED.energy_nJ_per_inference) for _ in self.fixed_ge)])
        doc.table(["design", "cells", "flip-flops", "gate equivalents", "area (mm2)",
                   *(f"nJ/inference, {k}" for k in self.fixed_ge)], rows)
        measured = {k: ge for k, ge in self.fixed_ge.items() if ge is not None}
        doc.paragraph("The fixed encoders of the same codecs (one design per shape, `costs.json`):")
        doc.table(["codec", "fixed encoder (GE)"],
                  [*([k, f"{ge:,.0f}" if ge is not None else "not measured"] for k, ge in self.fixed_ge.items()),
                   ["every distinct shape above, summed", f"{sum(set(measured.values())):,.0f}"]])
        return doc


def _codec(arena: Arena, key: str) -> EntropyCodec:
    codec = arena.codec_named(key)
    if codec is None:
        raise InputError(f"codec {key!r}: the arena table has none of that name (MODULE:ELINKS, e.g. hd:2)")
    return codec


def codec_block_flow(calq: np.ndarray, out_dir: str | Path, *, codecs: tuple[str, ...] = DEFAULT_CODECS,
                     arena_dir: str | Path | None = None, elinks: int = 7, tmr: tuple[bool, ...] = (False, True),
                     energy_wafers: int = 200) -> CodecBlockResult:
    """Synthesise the block (``elinks`` eLinks at most; without and with TMR as ``tmr`` lists) into
    ``out_dir/<design>``, estimate its energy per inference on ``energy_wafers`` of ``calq`` with each of
    ``codecs``' images (the arena's codecs, MODULE:ELINKS), and write ``summary.md`` / ``summary.json``."""
    arena, costs = load_arena(arena_dir), load_costs(arena_dir)
    chosen = {key: _codec(arena, key) for key in codecs}
    out = Path(out_dir)
    runs = []  # the same frames and images for the block with and without TMR
    for key, codec in chosen.items():
        tag = key.replace(":", "_")
        write_entropy_vectors(out / "vectors" / tag, codec, calq[:energy_wafers], spec=EntropyRtlSpec.block(elinks),
                              force=True)
        write_config_image(codec, EntropyRtlSpec.block(elinks), out / "images" / f"{tag}.hex")
        runs.append((out / "vectors" / tag, out / "images" / f"{tag}.hex"))
    designs = []
    stages = Stages(len(tmr))
    for with_tmr in tmr:
        spec = EntropyRtlSpec.block(elinks, tmr=with_tmr)
        name = "block_tmr" if with_tmr else "block"
        with stages.stage(f"{name}: Yosys synthesis, then gate-level energy with {len(chosen)} images", beat=False):
            write_entropy_rtl(spec, out / name / "rtl", force=True)
            synthesis = synthesize_asic(out / name / "rtl", out / name / "asic")
            energy = estimate_energies(out / name / "asic", out / name / "rtl", runs, n_wafers=energy_wafers)
        designs.append(BlockDesign(name, synthesis, dict(zip(chosen, energy, strict=True))))
    fixed = {key: costs[f"entropy:{key}elink"].on_chip_ge if f"entropy:{key}elink" in costs else None
             for key in chosen}
    result = CodecBlockResult(tuple(designs), fixed, provenance(codecs=list(codecs), elinks=elinks,
                                                                energy_wafers=energy_wafers))
    write_json(out / "summary.json", result.to_dict())
    result.document().write(out / "summary.md")
    return result
