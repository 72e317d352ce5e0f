"""The universal blocks through the ASIC flow: what one on-chip design for every module costs.

Two blocks take what differs between modules from their configuration image: the entropy codec's encoder
(``EntropyRtlSpec.block()``, ``codesign.hardware.entropy_rtl``) and the hybrid network encoder
(``econt_block``, ``codesign.hardware.block``). ``codec_block_flow`` and ``encoder_block_flow`` synthesise one
without and with TMR of the configuration register (Yosys, generic cells, the project's 65 nm gate-equivalent
model), estimate its gate-level energy per inference with each image loaded in turn (one bench build per
design, real wafers, frames checked against the golden model), and set the areas beside the fixed designs
they replace and the published ECON-T autoencoder block. Each writes ``summary.md`` / ``summary.json``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from codesign.arena import Arena, load_arena, load_costs
from codesign.artifacts import provenance, write_json
from codesign.asic.energy import EnergyReport, estimate_energies
from codesign.asic.reports import UM2_PER_GE_65NM as UM2_PER_GE
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
    """One build of a block: its synthesis and its energy per inference with each image."""

    name: str  # e.g. "block", "block_tmr", "block_tmr_r4"
    synthesis: AsicReport
    energy: dict[str, EnergyReport]  # image key (a codec "hd:2", an encoder's folder name) -> energy with it


@dataclass(frozen=True)
class BlockFlowResult:
    title: str
    about: str  # what the block is and how it is configured (the summary's first paragraph)
    images: tuple[str, ...]  # the images each design's energy was measured with
    designs: tuple[BlockDesign, ...]
    fixed_ge: dict[str, float | None]  # fixed design -> its gate equivalents (None: not measured)
    fixed_about: str  # what the fixed designs are
    meta: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``summary.json``."""
        return {"designs": {d.name: {"synthesis": d.synthesis.to_dict(),
                                     "energy": {k: e.to_dict() for k, e in d.energy.items()}} for d in self.designs},
                "fixed_ge": self.fixed_ge, "published_econt": dataclasses.asdict(ECONT_PUBLISHED), "meta": self.meta}

    def document(self) -> Document:
        doc = Document(self.title)
        doc.paragraph(f"{self.about} Area: Yosys generic cells as NAND2 gate equivalents x 1.44 um2 (65 nm LP "
                      "NAND2X1, assumed). Energy: bit toggles of each net of the gate-level netlist on real wafers x "
                      "5 fJ, plus 2 fJ per flip-flop clock pin and cycle (assumed) with clock gating of enabled "
                      "register banks (in brackets: the clock part, and the clock without gating); the image's "
                      "loading is not counted.")
        rows = []
        for d in self.designs:
            area = d.synthesis.area
            assert area is not None
            energy = [_energy_cell(d.energy[k]) if k in d.energy else "-" for k in self.images]
            rows.append([d.name, f"{area.cells:,}", f"{area.flip_flops:,}", f"{area.gate_equivalents:,.0f}",
                         f"{area.area_mm2:.3f}", *energy])
        rows.append(["published ECON-T autoencoder block", "", "", "", str(ECONT_PUBLISHED.area_mm2),
                     *(str(ECONT_PUBLISHED.energy_nJ_per_inference) for _ in self.images)])
        doc.table(["design", "cells", "flip-flops", "gate equivalents", "area (mm2)",
                   *(f"nJ/inference, {k}" for k in self.images)], rows)
        measured = {k: ge for k, ge in self.fixed_ge.items() if ge is not None}
        if self.fixed_ge:
            doc.paragraph(f"{self.fixed_about}:")
            doc.table(["fixed design", "gate equivalents", "area (mm2)"],
                      [*([k, f"{ge:,.0f}", f"{ge * UM2_PER_GE / 1e6:.3f}"] if ge is not None
                         else [k, "not measured", ""] for k, ge in self.fixed_ge.items()),
                       ["every distinct one above, summed", f"{sum(set(measured.values())):,.0f}",
                        f"{sum(set(measured.values())) * UM2_PER_GE / 1e6:.3f}"]])
        return doc


def _energy_cell(e: EnergyReport) -> str:
    return (f"{e.energy_nJ_per_inference:.3f} (clock {e.clock_nJ_per_inference:.3f}, "
            f"ungated {e.ungated_clock_nJ_per_inference:.3f})")


def _writer(write: Callable[..., object], spec: object) -> Callable[[Path], object]:
    """``write(spec, folder, force=True)`` for the folder given later."""
    return lambda folder: write(spec, folder, force=True)


def _synthesise_designs(out: Path, designs: list[tuple[str, Callable[[Path], object]]],
                        runs: dict[str, tuple[Path, Path]], *, energy_wafers: int) -> tuple[BlockDesign, ...]:
    """Each (name, writer of its RTL folder): Yosys, then the gate-level energy with every image of ``runs``
    (key -> (vectors folder, image))."""
    done, stages = [], Stages(len(designs))
    for name, write_rtl in designs:
        with stages.stage(f"{name}: Yosys synthesis, then gate-level energy with {len(runs)} images", beat=False):
            write_rtl(out / name / "rtl")
            synthesis = synthesize_asic(out / name / "rtl", out / name / "asic")
            energy = estimate_energies(out / name / "asic", out / name / "rtl", list(runs.values()),
                                       n_wafers=energy_wafers)
        done.append(BlockDesign(name, synthesis, dict(zip(runs, energy, strict=True))))
    return tuple(done)


def _codec(arena: Arena, key: str) -> EntropyCodec:
    codec = arena.codec_named(key)
    if codec is None:
        raise InputError(f"codec {key!r}: the arena table has none of that name (MODULE:ELINKS, e.g. hd:2)")
    return codec


def codec_block_flow(calq: np.ndarray, out_dir: str | Path, *, codecs: tuple[str, ...] = DEFAULT_CODECS,
                     arena_dir: str | Path | None = None, elinks: int = 7, tmr: tuple[bool, ...] = (False, True),
                     energy_wafers: int = 200) -> BlockFlowResult:
    """Synthesise the block (``elinks`` eLinks at most; without and with TMR as ``tmr`` lists) into
    ``out_dir/<design>``, estimate its energy per inference on ``energy_wafers`` of ``calq`` with each of
    ``codecs``' images (the arena's codecs, MODULE:ELINKS), and write ``summary.md`` / ``summary.json``."""
    arena, costs = load_arena(arena_dir), load_costs(arena_dir)
    chosen = {key: _codec(arena, key) for key in codecs}
    out = Path(out_dir)
    runs = {}  # the same frames and images for the block with and without TMR
    for key, codec in chosen.items():
        tag = key.replace(":", "_")
        write_entropy_vectors(out / "vectors" / tag, codec, calq[:energy_wafers], spec=EntropyRtlSpec.block(elinks),
                              force=True)
        write_config_image(codec, EntropyRtlSpec.block(elinks), out / "images" / f"{tag}.hex")
        runs[key] = (out / "vectors" / tag, out / "images" / f"{tag}.hex")
    designs = _synthesise_designs(out, [("block_tmr" if t else "block",
                                         _writer(write_entropy_rtl, EntropyRtlSpec.block(elinks, tmr=t)))
                                        for t in tmr], runs, energy_wafers=energy_wafers)
    fixed = {key: costs[f"entropy:{key}elink"].on_chip_ge if f"entropy:{key}elink" in costs else None
             for key in chosen}
    result = BlockFlowResult(
        "The universal codec block",
        "One `econt_entropy` design for every module, its codec set by the configuration image (`codesign asic "
        "block`, `codesign asic config --codec`).", tuple(chosen), designs, fixed,
        "The fixed encoders of the same codecs (one design per shape, `costs.json`)",
        provenance(codecs=list(codecs), elinks=elinks, energy_wafers=energy_wafers))
    write_json(out / "summary.json", result.to_dict())
    result.document().write(out / "summary.md")
    return result


def encoder_block_flow(calq: np.ndarray, out_dir: str | Path, *, models: Sequence[str | Path], reuse: int = 4,
                       tmr: tuple[bool, ...] = (False, True), energy_wafers: int = 200,
                       fixed: bool = True) -> BlockFlowResult:
    """Synthesise the universal encoder block that serves ``models`` at reuse factor ``reuse`` (without and
    with TMR as ``tmr`` lists) into ``out_dir/<design>``, estimate its energy per inference on
    ``energy_wafers`` of ``calq`` with each model's image, and (``fixed``) synthesise each model's own
    reconfigurable design (with TMR, the same ``reuse``) to compare; write ``summary.md`` / ``summary.json``."""
    from codesign.hardware.block import EncoderBlockSpec, write_block_image, write_encoder_block
    from codesign.hardware.rtl import write_reconfigurable_rtl
    from codesign.hardware.vectors import make_vectors, write_vectors
    from codesign.models.store import load_encoder

    out = Path(out_dir)
    encoders = {Path(m).name: load_encoder(m) for m in models}
    spec = EncoderBlockSpec.for_encoders([cfg for _, cfg in encoders.values()], reuse=reuse)
    runs = {}  # the same frames and images for the block with and without TMR
    for name, (model, cfg) in encoders.items():
        write_vectors(out / "vectors" / name, make_vectors(model, cfg, calq[:energy_wafers]), force=True)
        write_block_image(model, cfg, spec, out / "images" / f"{name}.hex")
        runs[name] = (out / "vectors" / name, out / "images" / f"{name}.hex")
    designs = _synthesise_designs(out, [(f"block{'_tmr' if t else ''}_r{reuse}",
                                         _writer(write_encoder_block, replace(spec, tmr=t))) for t in tmr],
                                  runs, energy_wafers=energy_wafers)
    fixed_ge: dict[str, float | None] = {}
    for name, (_, cfg) in encoders.items() if fixed else ():
        folder = out / "fixed" / name
        write_reconfigurable_rtl(cfg, folder / "rtl", tmr=True, reuse=reuse, force=True)
        area = synthesize_asic(folder / "rtl", folder / "asic").area
        fixed_ge[name] = None if area is None else area.gate_equivalents
    result = BlockFlowResult(
        "The universal encoder block",
        f"One `econt_block` design for the {len(encoders)} encoders below, each set by its configuration image "
        "(`codesign asic rtl --universal`, `codesign asic config --model M --universal`): weights, latent format, "
        "sparse selector and frame layout.", tuple(encoders), designs, fixed_ge,
        f"Each encoder's own reconfigurable design (weights loaded, the rest fixed at generation; TMR, R = {reuse})",
        provenance(models=[str(m) for m in models], reuse=reuse, energy_wafers=energy_wafers))
    write_json(out / "summary.json", result.to_dict())
    result.document().write(out / "summary.md")
    return result
