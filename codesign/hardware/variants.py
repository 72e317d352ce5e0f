"""The design variants the ASIC and FPGA flows build, by name, and their RTL folders (the names are parsed
without importing the generators, so that the CLI's --help stays light).

``fixed`` is the da4ml core with its weights wired into the logic; ``reconfig`` keeps the weights in a
configuration register, ``reconfig_tmr`` triplicates that register; a suffix ``_rR`` (R >= 2) shares each
multiplier of a reconfigurable core among R products (reuse factor R), e.g. ``reconfig_tmr_r4``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_VARIANTS = ("fixed", "reconfig", "reconfig_tmr")
# `make asic` / `codesign asic flow`: the designs that meet the chip's targets; the R = 1 reconfigurable ones
# (their multipliers unshared) take Yosys about 40 minutes and 5 GB more on the full encoder
ASIC_DEFAULT_VARIANTS = ("fixed", "reconfig_tmr_r4")
_NAME = re.compile(r"^(fixed|reconfig|reconfig_tmr)(?:_r([1-9]\d*))?$")


@dataclass(frozen=True)
class Variant:
    name: str
    reconfigurable: bool
    tmr: bool
    reuse: int


def parse_variant(name: str) -> Variant:
    m = _NAME.match(name)
    reuse = int(m.group(2) or 1) if m else 0
    if not m or reuse < 1 or (m.group(1) == "fixed" and m.group(2)) or m.group(2) == "1":
        raise ValueError(f"unknown design variant {name!r}: fixed, reconfig or reconfig_tmr, the reconfigurable "
                         "ones with an optional reuse factor suffix _rR (R >= 2), e.g. reconfig_tmr_r4")
    return Variant(name, m.group(1) != "fixed", m.group(1) == "reconfig_tmr", reuse)


def variant_rtl(model_dir: str | Path, fixed_rtl: str | Path, rtl_root: str | Path,
                *, variants: tuple[str, ...] = DEFAULT_VARIANTS) -> dict[str, Path]:
    """RTL folder of each requested variant: the given fixed one, and the reconfigurable ones generated
    (once) from the model's shape under ``rtl_root``."""
    from codesign.hardware.rtl import RtlInfo, write_reconfigurable_rtl
    from codesign.models.store import load_encoder_config

    parsed = [parse_variant(name) for name in variants]
    info = RtlInfo.load(fixed_rtl)
    folders = {"fixed": Path(fixed_rtl)}
    for variant in parsed:
        folder = Path(rtl_root) / variant.name
        if variant.reconfigurable and not (folder / "rtl.json").is_file():
            write_reconfigurable_rtl(load_encoder_config(model_dir), folder, info.clock_period_ns,
                                     calq_bits=info.calq_bits, tmr=variant.tmr, reuse=variant.reuse)
        folders.setdefault(variant.name, folder)
    return folders
