"""Both halves of a table system (``codesign.table_system``) as RTL: on chip the universal codec block with
one configuration image per module type, in the back end one decoder per module type (``codesign rtl --model
SYSTEM``, ``make rtl MODEL=econt_<n>elink_table``)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from codesign.artifacts import atomic_dir
from codesign.hardware.backend_model import EntropyDecoder
from codesign.hardware.backend_rtl import BRAM_SLICING, DEFAULT_SLICING, DecoderSlicing, write_backend_rtl
from codesign.hardware.entropy_rtl import EntropyRtlSpec, write_config_image, write_entropy_rtl
from codesign.hardware.rtl import RtlInfo
from codesign.table_system import TableSystem

ENCODER_DIR = "encoder"
SHARED_DECODER_SLICING = BRAM_SLICING  # a decoder time-multiplexed over several modules (docs/econt.md, session 38)


def decoder_dir(module: str) -> str:
    return f"decoder_{module}"


@dataclass(frozen=True)
class SystemRtl:
    """What ``write_system_rtl`` wrote: the block's ``encoder`` folder, its image per module type
    (``images``: path of the hex file) and each module type's ``decoders`` folder info."""

    encoder: RtlInfo
    images: dict[str, Path]
    decoders: dict[str, RtlInfo]


def write_system_rtl(system: TableSystem, out_dir: str | Path, *, slicing: DecoderSlicing | None = None,
                     modules_per_decoder: int = 1, tmr: bool = False, force: bool = False) -> SystemRtl:
    """``out_dir/encoder``: the universal codec block (7 eLinks, ``EntropyRtlSpec.block``; ``tmr``: its
    triplicated configuration) with ``<module>.hex`` (+ ``.json`` register map) per module type;
    ``out_dir/decoder_<module>``: the back end of that module type's frames (the table decoder, or the codec's
    own where the system kept the codec's rule), for ``codesign fpga synth`` and ``pnr``; ``modules_per_decoder`` > 1:
    each decoder time-multiplexed over that many modules (``time_multiplexed_rtl``;
    ``SHARED_DECODER_SLICING``, each cell's share a DSP product and its code's value from block RAM, unless
    ``slicing`` says otherwise). One folder, written atomically."""
    slicing = slicing or (SHARED_DECODER_SLICING if modules_per_decoder > 1 else DEFAULT_SLICING)
    spec = EntropyRtlSpec.block(tmr=tmr)
    with atomic_dir(out_dir, force) as tmp:
        encoder = write_entropy_rtl(spec, tmp / ENCODER_DIR)
        images, decoders = {}, {}
        for module in system.modules:
            codec = system.codec(module)
            images[module] = Path(out_dir) / ENCODER_DIR / f"{module}.hex"
            write_config_image(codec, spec, tmp / ENCODER_DIR / f"{module}.hex")
            decoders[module] = write_backend_rtl(EntropyDecoder(codec, placement=system.table(module)),
                                                 tmp / decoder_dir(module), slicing=slicing,
                                                 modules_per_decoder=modules_per_decoder)
    return SystemRtl(encoder, images, decoders)
